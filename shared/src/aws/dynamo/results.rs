//! Results and their transitions: per resource, an optimistic transaction writes what changed with
//! its history and outbox rows; the outbox is read back after writing and cleared once published.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::super::port_error;
use super::rows::{
    corrupt, evaluated_at, get, invalid, iso, number, pending_sk, recorded_of, resource_pk, result_item, s,
    transitions_pk, Item, PENDING,
};
use super::DynamoStore;
use crate::app::ports::{LastReport, PortError, ReportedResource, ResultStore};
use crate::domain::state::{self, Delivery, EvalKey, PendingTransition, Recorded, Transition};

/// When a result row was written and the evidence it was computed from read.
struct Written {
    at: Option<DateTime<Utc>>,
    evidence_at: Option<DateTime<Utc>>,
}
use crate::domain::vocab::{Compliance, Evaluation, Plan};

/// The sort key prefix of what a rule last reported for a resource (`REPORTED#<rule>`, in the
/// resource's partition).
const REPORTED: &str = "REPORTED#";

/// The sort key of a run's progress row (`PK = RUN#<run>`).
const PROGRESS_SK: &str = "PROGRESS";
/// How long a run's progress is kept (TTL): longer than any run's continuations and retries
/// (SQS keeps a message four days by default; Config's periodic runs are at most daily).
const PROGRESS_KEPT_SECONDS: i64 = 7 * 24 * 3600;

/// The partition of a run's progress row.
fn run_pk(run: &str) -> String {
    format!("RUN#{run}")
}

impl DynamoStore {
    /// One result as recorded now, and when it was written (`None`: not recorded, or expired),
    /// read consistently: what the Security Hub findings are built from.
    pub async fn recorded(&self, key: &EvalKey) -> Result<Option<(Recorded, Option<DateTime<Utc>>)>, PortError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK = :sk")
            .expression_attribute_values(
                ":pk",
                s(resource_pk(
                    &key.account_id,
                    &key.aws_region,
                    &key.resource_type,
                    &key.resource_id,
                )),
            )
            .expression_attribute_values(":sk", s(format!("CHECK#{}", key.check_id)))
            .consistent_read(true);
        let now = Utc::now().timestamp();
        match self.query_all(q).await?.first() {
            // TTL deletes lazily: an expired row is gone.
            Some(item) if (1..=now).contains(&(number(item, "expiresAt") as i64)) => Ok(None),
            Some(item) => Ok(Some((recorded_of(item)?.1, evaluated_at(item)))),
            None => Ok(None),
        }
    }

    /// A resource's recorded results, and when each was written and its evidence read.
    async fn resource_state(
        &self,
        pk: &str,
    ) -> Result<(HashMap<EvalKey, Recorded>, HashMap<EvalKey, Written>), PortError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":c", s("CHECK#"))
            .consistent_read(true);
        let mut state = HashMap::new();
        let mut written = HashMap::new();
        for item in self.query_all(q).await? {
            let (k, r) = recorded_of(&item)?;
            written.insert(
                k.clone(),
                Written {
                    at: evaluated_at(&item),
                    evidence_at: get(&item, "evidenceAt")
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.with_timezone(&Utc)),
                },
            );
            state.insert(k, r);
        }
        Ok((state, written))
    }

    fn history_item(&self, pk: &str, t: &Transition, at: DateTime<Utc>) -> Item {
        let when = iso(at);
        let mut item = Item::new();
        item.insert("PK".into(), s(pk));
        item.insert("SK".into(), s(format!("HIST#{when}#{}", t.key.check_id)));
        item.insert("GSI2PK".into(), s(transitions_pk(pk)));
        item.insert(
            "GSI2SK".into(),
            s(format!(
                "{when}#{}#{}#{}#{}",
                t.key.account_id, t.key.check_id, t.key.resource_type, t.key.resource_id
            )),
        );
        item.insert("accountId".into(), s(&t.key.account_id));
        item.insert("awsRegion".into(), s(&t.key.aws_region));
        item.insert("resourceType".into(), s(&t.key.resource_type));
        item.insert("resourceId".into(), s(&t.key.resource_id));
        item.insert("checkId".into(), s(&t.key.check_id));
        item.insert("plan".into(), s(t.plan.as_str()));
        item.insert("previous".into(), s(t.previous.map_or("", Compliance::as_str)));
        item.insert("current".into(), s(t.current.map_or("", Compliance::as_str)));
        item.insert("annotation".into(), s(&t.annotation));
        item.insert("at".into(), s(when));
        item.insert(
            "expiresAt".into(),
            AttributeValue::N((at.timestamp() + self.history_days * 86_400).to_string()),
        );
        item
    }

    /// The outbox row of a transition: the history row's fields under `PENDING#`, deleted once
    /// its event is published. Reading the outbox is then a Query over the unpublished rows only,
    /// whatever the length of the history.
    fn pending_item(&self, pk: &str, t: &Transition, at: DateTime<Utc>, origin: &str) -> Item {
        let mut item = self.history_item(pk, t, at);
        item.remove("GSI2PK");
        item.remove("GSI2SK");
        // Kept until published, whatever the history's TTL: an outbox row must not expire
        // unpublished.
        item.remove("expiresAt");
        item.insert("origin".into(), s(origin));
        item.insert("SK".into(), s(pending_sk(at, &t.key.check_id)));
        item
    }

    /// Transitions of a resource whose event was not published yet (its outbox rows).
    async fn pending(&self, pk: &str) -> Result<Vec<PendingTransition>, PortError> {
        const OP: &str = "dynamodb:Query";
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :h)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":h", s(PENDING))
            .consistent_read(true);
        let mut out = Vec::new();
        for item in self.query_all(q).await? {
            let field = |k: &str| get(&item, k).ok_or_else(|| corrupt(OP, format!("history row without {k}")));
            let compliance = |k: &str| -> Result<Option<Compliance>, PortError> {
                let v = field(k)?;
                if v.is_empty() {
                    return Ok(None);
                }
                Compliance::parse(v)
                    .map(Some)
                    .ok_or_else(|| corrupt(OP, format!("bad {k} `{v}`")))
            };
            let at = DateTime::parse_from_rfc3339(field("at")?)
                .map_err(|e| corrupt(OP, e.to_string()))?
                .with_timezone(&Utc);
            out.push(PendingTransition {
                transition: Transition {
                    key: EvalKey {
                        account_id: field("accountId")?.to_owned().into(),
                        aws_region: field("awsRegion")?.to_owned().into(),
                        resource_type: field("resourceType")?.to_owned().into(),
                        resource_id: field("resourceId")?.to_owned().into(),
                        check_id: field("checkId")?.to_owned().into(),
                    },
                    plan: Plan::parse(field("plan")?).ok_or_else(|| corrupt(OP, "bad plan".into()))?,
                    previous: compliance("previous")?,
                    current: compliance("current")?,
                    annotation: field("annotation")?.to_owned().into(),
                },
                at,
                origin: get(&item, "origin").unwrap_or("").to_owned(),
            });
        }
        Ok(out)
    }

    /// Records one resource's results. `false`: a concurrent writer changed the rows read (the
    /// caller re-reads and tries again).
    async fn record_resource(
        &self,
        pk: &str,
        evals: &[Evaluation],
        now: DateTime<Utc>,
        delivery: &Delivery,
    ) -> Result<bool, PortError> {
        let (previous, written) = self.resource_state(pk).await?;
        let mut d = state::diff(&previous, evals, &BTreeSet::new(), None);
        // Of two results of the same capture, the one from evidence read later stays (a writer
        // whose facts are older cannot commit last).
        let older: BTreeSet<EvalKey> = d
            .upserts
            .iter()
            .filter(|(k, r)| {
                previous.get(k).is_some_and(|old| {
                    state::older_evidence(
                        r.capture_time,
                        delivery.evidence_at,
                        old.capture_time,
                        written.get(k).and_then(|w| w.evidence_at),
                    )
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        d.upserts.retain(|(k, _)| !older.contains(k));
        d.transitions.retain(|t| !older.contains(&t.key));
        if d.upserts.is_empty() {
            return Ok(true);
        }
        let mut actions = Vec::new();
        for (k, r) in &d.upserts {
            // Optimistic: the row is still what was read (or still absent).
            let mut put = Put::builder()
                .table_name(&self.table)
                // `evaluatedAt` is the row's version (the rollup waits until its index shows it):
                // strictly increasing per row, whatever the writers' clocks.
                .set_item(Some({
                    let mut item = result_item(
                        k,
                        r,
                        written
                            .get(k)
                            .and_then(|w| w.at)
                            .map_or(now, |at| now.max(at + chrono::Duration::milliseconds(1))),
                        self.history_days,
                    );
                    item.insert("evidenceAt".into(), s(iso(delivery.evidence_at)));
                    item
                }));
            put = match previous.get(k) {
                None => put.condition_expression("attribute_not_exists(PK)"),
                Some(old) => put
                    .condition_expression("compliance = :oc AND annotation = :oa AND captureTime = :ot")
                    .expression_attribute_values(":oc", s(old.compliance.as_str()))
                    .expression_attribute_values(":oa", s(&old.annotation))
                    .expression_attribute_values(":ot", s(old.capture_time.map(iso).unwrap_or_default())),
            };
            actions.push(TransactWriteItem::builder().put(put.build().map_err(invalid)?).build());
        }
        // History is keyed by when the change was recorded: a dependency's change (a role)
        // flips an instance's result while the instance's own capture time stays the same.
        for t in &d.transitions {
            for item in [
                self.history_item(pk, t, now),
                self.pending_item(pk, t, now, &delivery.origin),
            ] {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(SK)")
                    .build()
                    .map_err(invalid)?;
                actions.push(TransactWriteItem::builder().put(put).build());
            }
        }
        for chunk in actions.chunks(100) {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(e) = res {
                // Cancelled: a condition failed (a concurrent writer changed the rows read) or a
                // row was throttled. Both are worth re-reading and trying again.
                if e.as_service_error()
                    .is_some_and(|se| se.is_transaction_canceled_exception())
                {
                    return Ok(false);
                }
                return Err(port_error("dynamodb:TransactWriteItems", e));
            }
        }
        Ok(true)
    }
}

impl DynamoStore {
    /// Records one resource's results (re-read and retried when a concurrent writer wins), then
    /// returns the transitions delivery `origin` is to publish: those it recorded, and any
    /// another delivery left unpublished for longer than [`state::ORPHANED_AFTER`]. Those a
    /// concurrent delivery just recorded are that delivery's to publish.
    async fn record_one(
        &self,
        pk: &str,
        evals: &[Evaluation],
        first: DateTime<Utc>,
        delivery: &Delivery,
    ) -> Result<Vec<PendingTransition>, PortError> {
        let mut now = first;
        for attempt in 1..=8u32 {
            if self.record_resource(pk, evals, now, delivery).await? {
                // Read after writing: this write's transitions, those of an attempt whose reply
                // was lost (it was applied, the retry then found the rows changed and wrote
                // nothing) or of an earlier attempt of this delivery, and orphans.
                let current = Utc::now();
                let mut pending = self.pending(pk).await?;
                pending.retain(|p| p.to_publish(&delivery.origin, current));
                return Ok(pending);
            }
            // A concurrent writer won: back off with jitter so writers do not retry in lockstep,
            // and take a new time so this attempt's history rows cannot collide with theirs.
            let jitter = u64::from(Utc::now().timestamp_subsec_micros() % 20_000);
            tokio::time::sleep(std::time::Duration::from_micros((10_000 << attempt.min(5)) + jitter)).await;
            now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3).max(now + chrono::Duration::milliseconds(1));
        }
        Err(PortError {
            operation: "dynamodb:TransactWriteItems",
            message: format!("{pk}: concurrent writers kept winning after 8 attempts"),
            retryable: true,
        })
    }
}

impl DynamoStore {
    /// Every result of one plan in one account (one Query on GSI1, paged), a page at a time.
    async fn fold_plan_results<F: FnMut(Evaluation, Option<DateTime<Utc>>)>(
        &self,
        account: &str,
        plan: Plan,
        f: &mut F,
    ) -> Result<(), PortError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :p")
            .expression_attribute_values(":p", s(format!("{account}#{plan}")));
        loop {
            let resp = q.clone().send().await.map_err(|e| port_error("dynamodb:Query", e))?;
            for item in resp.items() {
                let (k, r) = recorded_of(item)?;
                f(r.into_evaluation(k), evaluated_at(item));
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => q = q.set_exclusive_start_key(Some(k.clone())),
                _ => return Ok(()),
            }
        }
    }
}

impl ResultStore for DynamoStore {
    async fn record(
        &self,
        evaluations: &[Evaluation],
        delivery: &Delivery,
    ) -> Result<Vec<PendingTransition>, PortError> {
        let mut by_resource: BTreeMap<String, Vec<Evaluation>> = BTreeMap::new();
        for e in evaluations {
            by_resource
                .entry(resource_pk(
                    &e.account_id,
                    &e.aws_region,
                    &e.resource_type,
                    &e.resource_id,
                ))
                .or_default()
                .push(e.clone());
        }
        // Resources are independent: record up to CONCURRENCY of them at once. Each is dated when
        // its recording starts (a periodic run records some minutes after others), in
        // millisecond ISO strings: keep the time exactly representable.
        const CONCURRENCY: usize = 8;
        let mut work = by_resource.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let spawn = |set: &mut tokio::task::JoinSet<_>, (pk, evals): (String, Vec<Evaluation>)| {
            let this = self.clone();
            let delivery = delivery.clone();
            set.spawn(async move {
                let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
                this.record_one(&pk, &evals, now, &delivery).await
            });
        };
        for job in work.by_ref().take(CONCURRENCY) {
            spawn(&mut running, job);
        }
        let mut transitions: Vec<PendingTransition> = Vec::new();
        while let Some(done) = running.join_next().await {
            let done = done.map_err(|e| PortError {
                operation: "dynamodb:TransactWriteItems",
                message: format!("recording task failed: {e}"),
                retryable: true,
            })??;
            for p in done {
                if !transitions.contains(&p) {
                    transitions.push(p);
                }
            }
            if let Some(job) = work.next() {
                spawn(&mut running, job);
            }
        }
        transitions.sort_by(|a, b| (&a.transition.key, a.at).cmp(&(&b.transition.key, b.at)));
        Ok(transitions)
    }

    async fn mark_published(&self, transitions: &[PendingTransition]) -> Result<(), PortError> {
        const OP: &str = "dynamodb:BatchWriteItem";
        // Delete the outbox rows, 25 per BatchWriteItem (its limit). Deleting a row that is
        // already gone (a retried batch) is a no-op; a request may not name one key twice.
        let keys: BTreeSet<(String, String)> = transitions
            .iter()
            .map(|p| {
                let k = &p.transition.key;
                (
                    resource_pk(&k.account_id, &k.aws_region, &k.resource_type, &k.resource_id),
                    pending_sk(p.at, &k.check_id),
                )
            })
            .collect();
        let keys: Vec<_> = keys.into_iter().collect();
        for chunk in keys.chunks(25) {
            let mut requests = chunk
                .iter()
                .map(|(pk, sk)| {
                    let delete = aws_sdk_dynamodb::types::DeleteRequest::builder()
                        .key("PK", s(pk))
                        .key("SK", s(sk))
                        .build()
                        .map_err(invalid)?;
                    Ok(aws_sdk_dynamodb::types::WriteRequest::builder()
                        .delete_request(delete)
                        .build())
                })
                .collect::<Result<Vec<_>, PortError>>()?;
            // Unprocessed deletes (throttling) are sent again with backoff.
            for attempt in 0..=5u32 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| port_error(OP, e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(PortError {
                    operation: OP,
                    message: format!("{} outbox deletes still unprocessed after 6 attempts", requests.len()),
                    retryable: true,
                });
            }
        }
        Ok(())
    }

    async fn account_results(&self, account: &str) -> Result<Vec<Evaluation>, PortError> {
        let mut out = Vec::new();
        self.fold_results(account, |e, _| out.push(e)).await?;
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }

    async fn written_at(&self, key: &EvalKey) -> Result<Option<DateTime<Utc>>, PortError> {
        Ok(self.recorded(key).await?.and_then(|(_, at)| at))
    }

    async fn reported(&self, rule: &str, resources: &[ReportedResource]) -> Result<Vec<Option<LastReport>>, PortError> {
        const OP: &str = "dynamodb:BatchGetItem";
        let key = |r: &ReportedResource| {
            (
                resource_pk(&r.account_id, &r.aws_region, &r.resource_type, &r.resource_id),
                format!("{REPORTED}{rule}"),
            )
        };
        let mut found: HashMap<(String, String), LastReport> = HashMap::new();
        let keys: BTreeSet<(String, String)> = resources.iter().map(key).collect();
        let keys: Vec<_> = keys.into_iter().collect();
        // 100 keys per BatchGetItem (its limit); keys it leaves unprocessed are asked again.
        for chunk in keys.chunks(100) {
            let mut ask: Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> = chunk
                .iter()
                .map(|(pk, sk)| HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))]))
                .collect();
            for attempt in 0.. {
                if ask.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(PortError {
                        operation: OP,
                        message: "keys left unprocessed after 8 attempts".into(),
                        retryable: true,
                    });
                }
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(ask.clone()))
                    .consistent_read(true)
                    .build()
                    .map_err(invalid)?;
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| port_error(OP, e))?;
                for item in resp.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    let (Some(pk), Some(sk), Some(c), Some(at)) = (
                        get(item, "PK"),
                        get(item, "SK"),
                        get(item, "compliance"),
                        get(item, "reportedAt"),
                    ) else {
                        return Err(corrupt(OP, "a report row without its fields".into()));
                    };
                    let report = LastReport {
                        compliance: Compliance::parse(c)
                            .ok_or_else(|| corrupt(OP, "a report row's compliance".into()))?,
                        annotation: get(item, "annotation").unwrap_or_default().to_owned(),
                        at: DateTime::parse_from_rfc3339(at)
                            .map_err(|_| corrupt(OP, "a report row's time".into()))?
                            .with_timezone(&Utc),
                    };
                    found.insert((pk.to_owned(), sk.to_owned()), report);
                }
                ask = resp
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                    .unwrap_or_default();
                if !ask.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
                }
            }
        }
        Ok(resources.iter().map(|r| found.get(&key(r)).cloned()).collect())
    }

    async fn mark_reported(&self, rule: &str, reports: &[(ReportedResource, LastReport)]) -> Result<(), PortError> {
        const OP: &str = "dynamodb:BatchWriteItem";
        let mut rows: BTreeMap<(String, String), Item> = BTreeMap::new();
        for (r, l) in reports {
            let pk = resource_pk(&r.account_id, &r.aws_region, &r.resource_type, &r.resource_id);
            let sk = format!("{REPORTED}{rule}");
            let mut item = Item::new();
            item.insert("PK".into(), s(&pk));
            item.insert("SK".into(), s(&sk));
            item.insert("compliance".into(), s(l.compliance.as_str()));
            item.insert("annotation".into(), s(&l.annotation));
            item.insert("reportedAt".into(), s(iso(l.at)));
            // Gone with the resource's other rows: kept as long as transition history.
            let expires = l.at.timestamp() + self.history_days * 86_400;
            item.insert(
                "expiresAt".into(),
                aws_sdk_dynamodb::types::AttributeValue::N(expires.to_string()),
            );
            rows.insert((pk, sk), item);
        }
        let rows: Vec<Item> = rows.into_values().collect();
        for chunk in rows.chunks(25) {
            let mut requests: Vec<aws_sdk_dynamodb::types::WriteRequest> = chunk
                .iter()
                .map(|item| {
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|p| aws_sdk_dynamodb::types::WriteRequest::builder().put_request(p).build())
                        .map_err(invalid)
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0.. {
                if requests.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(PortError {
                        operation: OP,
                        message: "items left unprocessed after 8 attempts".into(),
                        retryable: true,
                    });
                }
                let resp = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests.clone())
                    .send()
                    .await
                    .map_err(|e| port_error(OP, e))?;
                requests = resp
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
                }
            }
        }
        Ok(())
    }

    async fn progress(&self, run: &str) -> Result<Option<String>, PortError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK = :sk")
            .expression_attribute_values(":pk", s(run_pk(run)))
            .expression_attribute_values(":sk", s(PROGRESS_SK))
            .consistent_read(true);
        Ok(self
            .query_all(q)
            .await?
            .first()
            .and_then(|item| get(item, "cursor"))
            .map(str::to_owned))
    }

    async fn advance(&self, run: &str, from: Option<&str>, to: &str) -> Result<bool, PortError> {
        let expires = Utc::now().timestamp() + PROGRESS_KEPT_SECONDS;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(run_pk(run)))
            .item("SK", s(PROGRESS_SK))
            .item("cursor", s(to))
            .item(
                "expiresAt",
                aws_sdk_dynamodb::types::AttributeValue::N(expires.to_string()),
            );
        let put = match from {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(c) => put
                .condition_expression("#c = :from")
                .expression_attribute_names("#c", "cursor")
                .expression_attribute_values(":from", s(c)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(port_error("dynamodb:PutItem", e)),
        }
    }

    async fn fold_results<F: FnMut(Evaluation, Option<DateTime<Utc>>) + Send>(
        &self,
        account: &str,
        mut f: F,
    ) -> Result<(), PortError> {
        // One plan after the other: only one page is held at a time.
        for plan in Plan::ALL {
            self.fold_plan_results(account, plan, &mut f).await?;
        }
        Ok(())
    }
}

//! The DynamoDB state table. One table, keys in `PK`/`SK`, two GSIs, TTL on `expiresAt`:
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK |
//! |---|---|---|---|---|
//! | result | `RES#<acct>#<region>#<type>#<id>` | `CHECK#<check>` | `<acct>#<plan>` / `<COMPLIANCE>#<region>#<type>#<id>#<check>` | |
//! | transition | same as its result | `HIST#<time>#<check>` | | `TRANSITIONS` / `<time>#<acct>#<check>#<type>#<id>` |
//! | unpublished transition (outbox) | same as its result | `PENDING#<time>#<check>` | | |
//! | plan readiness | `PLANS` | `<acct>#<region>#<plan>` | | |
//! | readiness transition | `PLANHIST#<acct>#<region>#<plan>` | `HIST#<time>` | | `TRANSITIONS` / `<time>#<acct>#plan:<plan>` |

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::port_error;
use crate::app::ports::{PortError, ReadinessReader, ReadinessStore, ResultStore};
use crate::domain::plans::{PlanReadiness, PlanStatus};
use crate::domain::state::{self, EvalKey, PendingTransition, PlanTransition, Recorded, Transition};
use crate::domain::vocab::{Compliance, Evaluation, Plan};

/// Sort-key prefix of the outbox rows.
const PENDING: &str = "PENDING#";

fn pending_sk(at: DateTime<Utc>, check_id: &str) -> String {
    format!("{PENDING}{}#{check_id}", iso(at))
}

/// How long transition history is kept (TTL), by default.
pub const DEFAULT_HISTORY_DAYS: i64 = 90;

/// [`ResultStore`], [`ReadinessStore`] and [`ReadinessReader`] over one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    history_days: i64,
}

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn get<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A number attribute, 0 when absent or unreadable.
fn number(item: &Item, k: &str) -> u64 {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The key fields of a plan readiness row (`PK = PLANS`): region, plan, status.
fn plan_row<'a>(item: &'a Item, operation: &'static str) -> Result<(&'a str, Plan, PlanStatus), PortError> {
    match (
        get(item, "awsRegion"),
        get(item, "plan").and_then(Plan::parse),
        get(item, "status").and_then(PlanStatus::parse),
    ) {
        (Some(region), Some(plan), Some(status)) => Ok((region, plan, status)),
        _ => Err(corrupt(
            operation,
            "plan item without a readable awsRegion/plan/status".into(),
        )),
    }
}

fn corrupt(operation: &'static str, what: String) -> PortError {
    PortError {
        operation,
        message: format!("unexpected item in the table: {what}"),
        retryable: false,
    }
}

/// The partition key of a resource's results.
pub fn resource_pk(account: &str, region: &str, resource_type: &str, resource_id: &str) -> String {
    format!("RES#{account}#{region}#{resource_type}#{resource_id}")
}

fn result_item(k: &EvalKey, r: &Recorded, now: DateTime<Utc>) -> Item {
    let mut item = Item::new();
    item.insert(
        "PK".into(),
        s(resource_pk(
            &k.account_id,
            &k.aws_region,
            &k.resource_type,
            &k.resource_id,
        )),
    );
    item.insert("SK".into(), s(format!("CHECK#{}", k.check_id)));
    item.insert("GSI1PK".into(), s(format!("{}#{}", k.account_id, r.plan)));
    item.insert(
        "GSI1SK".into(),
        s(format!(
            "{}#{}#{}#{}#{}",
            r.compliance, k.aws_region, k.resource_type, k.resource_id, k.check_id
        )),
    );
    item.insert("accountId".into(), s(&k.account_id));
    item.insert("awsRegion".into(), s(&k.aws_region));
    item.insert("resourceType".into(), s(&k.resource_type));
    item.insert("resourceId".into(), s(&k.resource_id));
    item.insert("checkId".into(), s(&k.check_id));
    item.insert("plan".into(), s(r.plan.as_str()));
    item.insert("compliance".into(), s(r.compliance.as_str()));
    item.insert("annotation".into(), s(&r.annotation));
    item.insert("captureTime".into(), s(r.capture_time.map(iso).unwrap_or_default()));
    item.insert("evaluatedAt".into(), s(iso(now)));
    item
}

fn recorded_of(item: &Item) -> Result<(EvalKey, Recorded), PortError> {
    const OP: &str = "dynamodb:Query";
    let field = |k: &str| get(item, k).ok_or_else(|| corrupt(OP, format!("missing {k}")));
    let key = EvalKey {
        account_id: field("accountId")?.to_owned(),
        aws_region: field("awsRegion")?.to_owned(),
        resource_type: field("resourceType")?.to_owned(),
        resource_id: field("resourceId")?.to_owned(),
        check_id: field("checkId")?.to_owned(),
    };
    let plan = Plan::parse(field("plan")?).ok_or_else(|| corrupt(OP, "bad plan".into()))?;
    let compliance = Compliance::parse(field("compliance")?).ok_or_else(|| corrupt(OP, "bad compliance".into()))?;
    let capture = field("captureTime")?;
    let capture_time = if capture.is_empty() {
        None
    } else {
        Some(
            DateTime::parse_from_rfc3339(capture)
                .map_err(|e| corrupt(OP, e.to_string()))?
                .with_timezone(&Utc),
        )
    };
    Ok((
        key,
        Recorded {
            plan,
            compliance,
            annotation: field("annotation")?.to_owned(),
            capture_time,
        },
    ))
}

impl DynamoStore {
    /// The IAM actions recording results needs (table and its indexes).
    pub const RECORD_PERMISSIONS: &'static [&'static str] = &[
        "dynamodb:Query",
        "dynamodb:TransactWriteItems",
        "dynamodb:BatchWriteItem",
    ];
    /// The IAM actions the readiness rollup needs (table and its indexes).
    pub const ROLLUP_PERMISSIONS: &'static [&'static str] =
        &["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"];
}

impl DynamoStore {
    /// Wraps a client built once per cold start; `table` from the function's environment.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            history_days: DEFAULT_HISTORY_DAYS,
        }
    }

    /// Sets how many days transition history is kept.
    pub fn with_history_days(mut self, days: i64) -> Self {
        self.history_days = days;
        self
    }

    async fn query_all(
        &self,
        mut q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, PortError> {
        let mut out = Vec::new();
        loop {
            let resp = q.clone().send().await.map_err(|e| port_error("dynamodb:Query", e))?;
            out.extend(resp.items().iter().cloned());
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => q = q.set_exclusive_start_key(Some(k.clone())),
                _ => return Ok(out),
            }
        }
    }

    async fn resource_state(&self, pk: &str) -> Result<HashMap<EvalKey, Recorded>, PortError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":c", s("CHECK#"))
            .consistent_read(true);
        self.query_all(q).await?.iter().map(recorded_of).collect()
    }

    fn history_item(&self, pk: &str, t: &Transition, at: DateTime<Utc>) -> Item {
        let when = iso(at);
        let mut item = Item::new();
        item.insert("PK".into(), s(pk));
        item.insert("SK".into(), s(format!("HIST#{when}#{}", t.key.check_id)));
        item.insert("GSI2PK".into(), s("TRANSITIONS"));
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
    fn pending_item(&self, pk: &str, t: &Transition, at: DateTime<Utc>) -> Item {
        let mut item = self.history_item(pk, t, at);
        item.remove("GSI2PK");
        item.remove("GSI2SK");
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
                        account_id: field("accountId")?.to_owned(),
                        aws_region: field("awsRegion")?.to_owned(),
                        resource_type: field("resourceType")?.to_owned(),
                        resource_id: field("resourceId")?.to_owned(),
                        check_id: field("checkId")?.to_owned(),
                    },
                    plan: Plan::parse(field("plan")?).ok_or_else(|| corrupt(OP, "bad plan".into()))?,
                    previous: compliance("previous")?,
                    current: compliance("current")?,
                    annotation: field("annotation")?.to_owned(),
                },
                at,
            });
        }
        Ok(out)
    }

    /// Records one resource's results. `false`: a concurrent writer changed the rows read (the
    /// caller re-reads and tries again).
    async fn record_resource(&self, pk: &str, evals: &[Evaluation], now: DateTime<Utc>) -> Result<bool, PortError> {
        let previous = self.resource_state(pk).await?;
        let d = state::diff(&previous, evals, &BTreeSet::new(), None);
        if d.upserts.is_empty() {
            return Ok(true);
        }
        let mut actions = Vec::new();
        for (k, r) in &d.upserts {
            // Optimistic: the row is still what was read (or still absent).
            let mut put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(result_item(k, r, now)));
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
            for item in [self.history_item(pk, t, now), self.pending_item(pk, t, now)] {
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
    /// Records one resource: its pending transitions, then its results (re-read and retried
    /// when a concurrent writer wins).
    async fn record_one(
        &self,
        pk: &str,
        evals: &[Evaluation],
        first: DateTime<Utc>,
    ) -> Result<Vec<PendingTransition>, PortError> {
        let mut now = first;
        for attempt in 1..=8u32 {
            if self.record_resource(pk, evals, now).await? {
                // Everything not yet published, read after writing: this write's transitions,
                // any an earlier invocation left, and those of an attempt whose reply was lost
                // (it was applied, the retry then found the rows changed and wrote nothing).
                return self.pending(pk).await;
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
    /// Every result of one plan in one account (one Query on GSI1, paged).
    async fn plan_results(&self, account: &str, plan: Plan) -> Result<Vec<Evaluation>, PortError> {
        let mut out = Vec::new();
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :p")
            .expression_attribute_values(":p", s(format!("{account}#{plan}")));
        for item in self.query_all(q).await? {
            let (k, r) = recorded_of(&item)?;
            out.push(Evaluation {
                account_id: k.account_id,
                aws_region: k.aws_region,
                resource_type: k.resource_type,
                resource_id: k.resource_id,
                check_id: k.check_id,
                plan: r.plan,
                compliance: r.compliance,
                annotation: r.annotation,
                capture_time: r.capture_time,
            });
        }
        Ok(out)
    }
}

fn invalid(e: impl std::fmt::Display) -> PortError {
    PortError {
        operation: "dynamodb:TransactWriteItems",
        message: e.to_string(),
        retryable: false,
    }
}

impl ResultStore for DynamoStore {
    async fn record(&self, evaluations: &[Evaluation]) -> Result<Vec<PendingTransition>, PortError> {
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
        // Stored times are millisecond ISO strings: keep `now` exactly representable.
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        // Resources are independent: record up to CONCURRENCY of them at once.
        const CONCURRENCY: usize = 8;
        let mut work = by_resource.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let spawn = |set: &mut tokio::task::JoinSet<_>, (pk, evals): (String, Vec<Evaluation>)| {
            let this = self.clone();
            set.spawn(async move { this.record_one(&pk, &evals, now).await });
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
        // One Query per plan, all at once.
        let mut running = tokio::task::JoinSet::new();
        for plan in Plan::ALL {
            let (this, account) = (self.clone(), account.to_owned());
            running.spawn(async move { this.plan_results(&account, plan).await });
        }
        let mut out = Vec::new();
        while let Some(done) = running.join_next().await {
            out.extend(done.map_err(|e| PortError {
                operation: "dynamodb:Query",
                message: format!("query task failed: {e}"),
                retryable: true,
            })??);
        }
        out.sort_by(|a, b| {
            (&a.aws_region, &a.resource_type, &a.resource_id, &a.check_id).cmp(&(
                &b.aws_region,
                &b.resource_type,
                &b.resource_id,
                &b.check_id,
            ))
        });
        Ok(out)
    }
}

impl ReadinessStore for DynamoStore {
    async fn record_plans(&self, account: &str, plans: &[PlanReadiness]) -> Result<Vec<PlanTransition>, PortError> {
        const OP: &str = "dynamodb:Query";
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :a)")
            .expression_attribute_values(":pk", s("PLANS"))
            .expression_attribute_values(":a", s(format!("{account}#")))
            .consistent_read(true);
        let mut stored: BTreeMap<(String, Plan), StoredPlan> = BTreeMap::new();
        for item in self.query_all(q).await? {
            let (region, plan, status) = plan_row(&item, OP)?;
            let announced = match get(&item, "announced").unwrap_or("") {
                "" => None,
                a => Some(PlanStatus::parse(a).ok_or_else(|| corrupt(OP, format!("bad announced status {a}")))?),
            };
            let version = number(&item, "version");
            stored.insert(
                (region.to_owned(), plan),
                StoredPlan {
                    status,
                    blockers: get(&item, "blockers").unwrap_or("").to_owned(),
                    announced,
                    version,
                },
            );
        }
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        let mut transitions = Vec::new();
        for p in plans {
            let before = stored.get(&(p.aws_region.clone(), p.plan));
            let blockers = serde_json::to_string(&p.blockers).map_err(invalid)?;
            let announced = before.and_then(|b| b.announced);
            if before.is_none_or(|b| b.status != p.status || b.blockers != blockers) {
                self.put_plan(p, &blockers, announced, before.map(|b| b.version), now)
                    .await?;
                if before.is_none_or(|b| b.status != p.status) {
                    self.put_plan_history(p, before.map(|b| b.status), now).await?;
                }
            }
            if announced != Some(p.status) {
                transitions.push(PlanTransition {
                    account_id: p.account_id.clone(),
                    aws_region: p.aws_region.clone(),
                    plan: p.plan,
                    previous: announced,
                    current: p.status,
                });
            }
        }
        Ok(transitions)
    }

    async fn mark_plans_announced(&self, transitions: &[PlanTransition]) -> Result<(), PortError> {
        for t in transitions {
            let done = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s("PLANS"))
                .key("SK", s(format!("{}#{}#{}", t.account_id, t.aws_region, t.plan)))
                .update_expression("SET announced = :c")
                // A newer rollup may have changed the status since: it announces that itself.
                .condition_expression("#st = :c")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":c", s(t.current.as_str()))
                .send()
                .await;
            match done {
                Ok(_) => {}
                Err(e) if is_conditional_failure(&e) => {}
                Err(e) => return Err(port_error("dynamodb:UpdateItem", e)),
            }
        }
        Ok(())
    }
}

impl ReadinessReader for DynamoStore {
    async fn readiness(&self) -> Result<Vec<crate::domain::plans::ReadinessRow>, PortError> {
        self.readiness_rows().await
    }

    async fn results(&self, account: &str) -> Result<Vec<Evaluation>, PortError> {
        self.account_results(account).await
    }
}

/// A stored plan readiness row.
struct StoredPlan {
    status: PlanStatus,
    blockers: String,
    announced: Option<PlanStatus>,
    version: u64,
}

fn is_conditional_failure<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(aws_sdk_dynamodb::operation::update_item::UpdateItemError::is_conditional_check_failed_exception)
}

impl DynamoStore {
    /// Writes a plan row if nobody else wrote it since it was read (`version`).
    async fn put_plan(
        &self,
        p: &PlanReadiness,
        blockers: &str,
        announced: Option<PlanStatus>,
        version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut item = Item::new();
        item.insert("PK".into(), s("PLANS"));
        item.insert("SK".into(), s(format!("{}#{}#{}", p.account_id, p.aws_region, p.plan)));
        item.insert("accountId".into(), s(&p.account_id));
        item.insert("awsRegion".into(), s(&p.aws_region));
        item.insert("plan".into(), s(p.plan.as_str()));
        item.insert("status".into(), s(p.status.as_str()));
        item.insert("blockers".into(), s(blockers));
        item.insert("announced".into(), s(announced.map_or("", PlanStatus::as_str)));
        item.insert("unverified".into(), AttributeValue::N(p.unverified.len().to_string()));
        item.insert("evaluatedAt".into(), s(iso(now)));
        item.insert(
            "version".into(),
            AttributeValue::N((version.unwrap_or(0) + 1).to_string()),
        );
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = match version {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
                ) =>
            {
                Err(PortError {
                    operation: "dynamodb:PutItem",
                    message: format!(
                        "{}#{}#{}: another rollup wrote this plan's readiness concurrently",
                        p.account_id, p.aws_region, p.plan
                    ),
                    retryable: true,
                })
            }
            Err(e) => Err(port_error("dynamodb:PutItem", e)),
        }
    }

    /// Appends a readiness history row (TTL'd).
    async fn put_plan_history(
        &self,
        p: &PlanReadiness,
        previous: Option<PlanStatus>,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let when = iso(now);
        let mut item = Item::new();
        item.insert(
            "PK".into(),
            s(format!("PLANHIST#{}#{}#{}", p.account_id, p.aws_region, p.plan)),
        );
        item.insert("SK".into(), s(format!("HIST#{when}")));
        item.insert("GSI2PK".into(), s("TRANSITIONS"));
        item.insert("GSI2SK".into(), s(format!("{when}#{}#plan:{}", p.account_id, p.plan)));
        item.insert("accountId".into(), s(&p.account_id));
        item.insert("awsRegion".into(), s(&p.aws_region));
        item.insert("plan".into(), s(p.plan.as_str()));
        item.insert("previous".into(), s(previous.map_or("", PlanStatus::as_str)));
        item.insert("current".into(), s(p.status.as_str()));
        item.insert("at".into(), s(when));
        item.insert(
            "expiresAt".into(),
            AttributeValue::N((now.timestamp() + self.history_days * 86_400).to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", e))?;
        Ok(())
    }
}

impl DynamoStore {
    /// The recorded readiness of every account × region × plan (one Query).
    pub async fn readiness_rows(&self) -> Result<Vec<crate::domain::plans::ReadinessRow>, PortError> {
        const OP: &str = "dynamodb:Query";
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s("PLANS"));
        let mut out = Vec::new();
        for item in self.query_all(q).await? {
            let (region, plan, status) = plan_row(&item, OP)?;
            let field = |k: &str| get(&item, k).ok_or_else(|| corrupt(OP, format!("plan item without {k}")));
            out.push(crate::domain::plans::ReadinessRow {
                account_id: field("accountId")?.to_owned(),
                aws_region: region.to_owned(),
                plan,
                status,
                blockers: serde_json::from_str(field("blockers")?)
                    .map_err(|e| corrupt(OP, format!("blockers: {e}")))?,
                unverified: usize::try_from(number(&item, "unverified")).unwrap_or(usize::MAX),
            });
        }
        Ok(out)
    }
}

impl DynamoStore {
    /// Creates the table (on-demand, both GSIs, TTL on `expiresAt`, a stream of new and old images) as the SAM template does:
    /// for local runs and tests.
    pub async fn create_table(&self) -> Result<(), PortError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
            ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
        };
        let bad = |e: aws_sdk_dynamodb::error::BuildError| PortError {
            operation: "dynamodb:CreateTable",
            message: e.to_string(),
            retryable: false,
        };
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(bad)
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(bad)
        };
        let gsi = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex, PortError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(bad)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"]
                    .iter()
                    .map(|n| attr(n))
                    .collect::<Result<_, _>>()?,
            ))
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi("GSI1", "GSI1PK", "GSI1SK")?)
            .global_secondary_indexes(gsi("GSI2", "GSI2PK", "GSI2SK")?)
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| port_error("dynamodb:CreateTable", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expiresAt")
                    .enabled(true)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| port_error("dynamodb:UpdateTimeToLive", e))?;
        Ok(())
    }
}

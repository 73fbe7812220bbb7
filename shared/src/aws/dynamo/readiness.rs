//! Plan readiness rows (conditional on the version read) with their announcement outbox, and the
//! readiness the report reads.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::super::port_error;
use super::rows::{
    all_plans_pks, all_transitions_pks, corrupt, get, invalid, iso, number, plan_row, plans_pk, s, transitions_pk, Item,
};
use super::DynamoStore;
use crate::app::ports::{PlanRow, PlanRows, PortError, ReadinessReader, ReadinessStore, ResultStore};
use crate::domain::plans::{PlanReadiness, PlanStatus};
use crate::domain::state::PlanTransition;
use crate::domain::vocab::{Evaluation, Plan};

/// How many blockers a plan row keeps (`blockerCount` has them all).
pub const BLOCKERS_STORED: usize = crate::app::record::BLOCKERS_KEPT;

/// The partition key of an account's rollup version row.
fn rollup_pk(account: &str) -> String {
    format!("ROLLUP#{account}")
}

/// What a plan row says, to compare with a new readiness without rewriting an unchanged row.
fn digest(status: PlanStatus, blockers: &str, blocker_count: u64, unverified_count: u64) -> String {
    format!("{}|{blocker_count}|{unverified_count}|{blockers}", status.as_str())
}

/// The blockers a plan row lists, as stored.
fn listed_blockers(p: &PlanReadiness) -> Result<String, PortError> {
    // A plan row holds the first blockers and their count, never all of a large account's
    // (DynamoDB items are capped at 400 KB; every blocked result is its own row anyway).
    serde_json::to_string(&p.blockers[..p.blockers.len().min(BLOCKERS_STORED)]).map_err(invalid)
}

impl ReadinessStore for DynamoStore {
    async fn plan_rows(&self, account: &str) -> Result<PlanRows, PortError> {
        const OP: &str = "dynamodb:Query";
        // The version first: rows written after it was read belong to a later version.
        let v = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(rollup_pk(account)))
            .key("SK", s("VERSION"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", e))?;
        let version = v.item().map_or(0, |i| number(i, "version"));
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :a)")
            .expression_attribute_values(":pk", s(plans_pk(account)))
            .expression_attribute_values(":a", s(format!("{account}#")))
            .consistent_read(true);
        let mut rows = BTreeMap::new();
        for item in self.query_all(q).await? {
            let (region, plan, status) = plan_row(&item, OP)?;
            let announced = match get(&item, "announced").unwrap_or("") {
                "" => None,
                a => Some(PlanStatus::parse(a).ok_or_else(|| corrupt(OP, format!("bad announced status {a}")))?),
            };
            rows.insert(
                (region.to_owned(), plan),
                PlanRow {
                    status,
                    announced,
                    digest: digest(
                        status,
                        get(&item, "blockers").unwrap_or(""),
                        number(&item, "blockerCount"),
                        number(&item, "unverified"),
                    ),
                },
            );
        }
        Ok(PlanRows { version, rows })
    }

    async fn record_plans(
        &self,
        account: &str,
        plans: &[PlanReadiness],
        read: &PlanRows,
    ) -> Result<Option<Vec<PlanTransition>>, PortError> {
        let version = read.version + 1;
        if !self.claim_rollup(account, read.version).await? {
            return Ok(None);
        }
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        let mut transitions = Vec::new();
        for p in plans.iter().filter(|p| p.account_id == account) {
            let before = read.rows.get(&(p.aws_region.clone(), p.plan));
            let blockers = listed_blockers(p)?;
            let announced = before.and_then(|b| b.announced);
            let changed = before.is_none_or(|b| {
                b.digest != digest(p.status, &blockers, p.blocker_count as u64, p.unverified_count as u64)
            });
            // Each row only over an older version's: a later rollup read newer results.
            let mine = if changed {
                self.put_plan(p, &blockers, announced, version, now).await?
            } else if announced != Some(p.status) {
                self.touch_plan(p, version).await?
            } else {
                true
            };
            if !mine {
                continue;
            }
            if changed && before.is_none_or(|b| b.status != p.status) {
                self.put_plan_history(p, before.map(|b| b.status), now).await?;
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
        Ok(Some(transitions))
    }

    async fn mark_plans_announced(&self, transitions: &[PlanTransition]) -> Result<(), PortError> {
        for t in transitions {
            let done = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(plans_pk(&t.account_id)))
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

    async fn changes(&self, since: DateTime<Utc>) -> Result<Vec<crate::domain::state::RecordedChange>, PortError> {
        const OP: &str = "dynamodb:Query";
        let now = Utc::now().timestamp();
        let mut out = Vec::new();
        let queries = all_transitions_pks().into_iter().map(|pk| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name("GSI2")
                .key_condition_expression("GSI2PK = :pk AND GSI2SK >= :since")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":since", s(iso(since)))
        });
        let items = self.query_partitions(queries.collect()).await?;
        for item in items {
            // TTL deletes lazily: an expired row is history no longer kept.
            if item.contains_key("expiresAt") && i64::try_from(number(&item, "expiresAt")).unwrap_or(0) < now {
                continue;
            }
            let field = |k: &str| get(&item, k).ok_or_else(|| corrupt(OP, format!("transition without {k}")));
            let at = chrono::DateTime::parse_from_rfc3339(field("at")?)
                .map_err(|e| corrupt(OP, e.to_string()))?
                .with_timezone(&Utc);
            let plan = Plan::parse(field("plan")?).ok_or_else(|| corrupt(OP, "bad plan".into()))?;
            let result = match get(&item, "checkId") {
                Some(check) => Some((
                    field("resourceType")?.to_owned(),
                    field("resourceId")?.to_owned(),
                    check.to_owned(),
                )),
                None => None,
            };
            out.push(crate::domain::state::RecordedChange {
                at,
                account_id: field("accountId")?.to_owned(),
                aws_region: field("awsRegion")?.to_owned(),
                plan,
                result,
                previous: get(&item, "previous").unwrap_or("").to_owned(),
                current: get(&item, "current").unwrap_or("").to_owned(),
            });
        }
        Ok(out)
    }
}

fn is_conditional_failure<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(aws_sdk_dynamodb::operation::update_item::UpdateItemError::is_conditional_check_failed_exception)
}

impl DynamoStore {
    /// Claims the account's next rollup version over the one read (`false`: another rollup
    /// claimed it first).
    async fn claim_rollup(&self, account: &str, read: u64) -> Result<bool, PortError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(rollup_pk(account)))
            .key("SK", s("VERSION"))
            .update_expression("SET version = :n")
            .expression_attribute_values(":n", AttributeValue::N((read + 1).to_string()));
        let update = if read == 0 {
            update.condition_expression("attribute_not_exists(PK)")
        } else {
            update
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(read.to_string()))
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(port_error("dynamodb:UpdateItem", e)),
        }
    }

    /// Writes a plan row computed by rollup `version` while that version is still the account's
    /// latest claim (`false` otherwise). A later rollup that found the row unchanged writes
    /// nothing to it, so the row's own `basis` cannot tell that a later rollup confirmed it: the
    /// claim row can (its version moved on), checked in the same transaction.
    async fn put_plan(
        &self,
        p: &PlanReadiness,
        blockers: &str,
        announced: Option<PlanStatus>,
        version: u64,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
        let mut item = Item::new();
        item.insert("PK".into(), s(plans_pk(&p.account_id)));
        item.insert("SK".into(), s(format!("{}#{}#{}", p.account_id, p.aws_region, p.plan)));
        item.insert("accountId".into(), s(&p.account_id));
        item.insert("awsRegion".into(), s(&p.aws_region));
        item.insert("plan".into(), s(p.plan.as_str()));
        item.insert("status".into(), s(p.status.as_str()));
        item.insert("blockers".into(), s(blockers));
        item.insert("blockerCount".into(), AttributeValue::N(p.blocker_count.to_string()));
        item.insert("announced".into(), s(announced.map_or("", PlanStatus::as_str)));
        item.insert("unverified".into(), AttributeValue::N(p.unverified_count.to_string()));
        item.insert("evaluatedAt".into(), s(iso(now)));
        item.insert("basis".into(), AttributeValue::N(version.to_string()));
        let v = AttributeValue::N(version.to_string());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(basis) OR basis < :v")
            .expression_attribute_values(":v", v.clone())
            .build()
            .map_err(invalid)?;
        let claim = ConditionCheck::builder()
            .table_name(&self.table)
            .key("PK", s(rollup_pk(&p.account_id)))
            .key("SK", s("VERSION"))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", v)
            .build()
            .map_err(invalid)?;
        let done = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().condition_check(claim).build())
            .send()
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) => {
                // Cancelled because a condition failed: a later rollup claimed the account or
                // wrote the row, and announces what it found. Any other cancellation (a
                // conflicting transaction, throttling) is worth a retry.
                // `Some(by a condition)` when the transaction was cancelled.
                let cancelled = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed")))
                    }
                    _ => None,
                });
                match cancelled {
                    Some(true) => Ok(false),
                    Some(false) => {
                        let mut err = port_error("dynamodb:TransactWriteItems", e);
                        err.retryable = true;
                        Err(err)
                    }
                    None => Err(port_error("dynamodb:TransactWriteItems", e)),
                }
            }
        }
    }

    /// Marks an unchanged plan row as confirmed by rollup `version` before its status is
    /// announced, unless a later version wrote it (`false`: that one announces).
    async fn touch_plan(&self, p: &PlanReadiness, version: u64) -> Result<bool, PortError> {
        let done = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(plans_pk(&p.account_id)))
            .key("SK", s(format!("{}#{}#{}", p.account_id, p.aws_region, p.plan)))
            .update_expression("SET basis = :v")
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(basis) OR basis < :v)")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(port_error("dynamodb:UpdateItem", e)),
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
        let pk = format!("PLANHIST#{}#{}#{}", p.account_id, p.aws_region, p.plan);
        let mut item = Item::new();
        item.insert("GSI2PK".into(), s(transitions_pk(&pk)));
        item.insert("PK".into(), s(pk));
        item.insert("SK".into(), s(format!("HIST#{when}")));
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
    /// The recorded readiness of every account × region × plan: one Query per shard
    /// ([`super::SHARDS`]), at most four at a time.
    pub async fn readiness_rows(&self) -> Result<Vec<crate::domain::plans::ReadinessRow>, PortError> {
        const OP: &str = "dynamodb:Query";
        let items = self
            .query_partitions(
                all_plans_pks()
                    .into_iter()
                    .map(|pk| {
                        self.client
                            .query()
                            .table_name(&self.table)
                            .key_condition_expression("PK = :pk")
                            .expression_attribute_values(":pk", s(pk))
                    })
                    .collect(),
            )
            .await?;
        let mut out = Vec::new();
        for item in items {
            let (region, plan, status) = plan_row(&item, OP)?;
            let field = |k: &str| get(&item, k).ok_or_else(|| corrupt(OP, format!("plan item without {k}")));
            out.push(crate::domain::plans::ReadinessRow {
                account_id: field("accountId")?.to_owned(),
                aws_region: region.to_owned(),
                plan,
                status,
                blockers: serde_json::from_str(field("blockers")?)
                    .map_err(|e| corrupt(OP, format!("blockers: {e}")))?,
                blocker_count: usize::try_from(number(&item, "blockerCount")).unwrap_or(usize::MAX),
                unverified: usize::try_from(number(&item, "unverified")).unwrap_or(usize::MAX),
            });
        }
        // In the order of their sort keys (`<acct>#<region>#<plan>`), as one partition returned them.
        out.sort_by(|a, b| {
            (&a.account_id, &a.aws_region, a.plan.as_str()).cmp(&(&b.account_id, &b.aws_region, b.plan.as_str()))
        });
        Ok(out)
    }
}

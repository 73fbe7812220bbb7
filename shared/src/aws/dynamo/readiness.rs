//! Plan readiness rows (conditional on the version read) with their announcement outbox, and the
//! readiness the report reads.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::super::port_error;
use super::rows::{corrupt, get, invalid, iso, number, plan_row, s, Item};
use super::DynamoStore;
use crate::app::ports::{PortError, ReadinessReader, ReadinessStore, ResultStore};
use crate::domain::plans::{PlanReadiness, PlanStatus};
use crate::domain::state::PlanTransition;
use crate::domain::vocab::{Evaluation, Plan};

/// How many blockers a plan row keeps (`blockerCount` has them all).
pub const BLOCKERS_STORED: usize = 100;

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
                    blocker_count: number(&item, "blockerCount"),
                    announced,
                    version,
                },
            );
        }
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        let mut transitions = Vec::new();
        for p in plans {
            let before = stored.get(&(p.aws_region.clone(), p.plan));
            // A plan row holds the first blockers and their count, never all of a large account's
            // (DynamoDB items are capped at 400 KB; every blocked result is its own row anyway).
            let listed = &p.blockers[..p.blockers.len().min(BLOCKERS_STORED)];
            let blockers = serde_json::to_string(listed).map_err(invalid)?;
            let count = p.blockers.len() as u64;
            let announced = before.and_then(|b| b.announced);
            if before.is_none_or(|b| b.status != p.status || b.blockers != blockers || b.blocker_count != count) {
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
    blocker_count: u64,
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
        item.insert("blockerCount".into(), AttributeValue::N(p.blockers.len().to_string()));
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

//! The DynamoDB state table. One table, keys in `PK`/`SK`, two GSIs, TTL on `expiresAt`:
//!
//! | item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK |
//! |---|---|---|---|---|
//! | result | `RES#<acct>#<region>#<type>#<id>` | `CHECK#<check>` | `<acct>#<plan>` / `<COMPLIANCE>#<region>#<type>#<id>#<check>` | |
//! | transition | same as its result | `HIST#<time>#<check>` | | `TRANSITIONS#<shard of PK>` / `<time>#<acct>#<check>#<type>#<id>` |
//! | unpublished transition (outbox) | same as its result | `PENDING#<time>#<check>` | | |
//! | plan readiness | `PLANS#<shard of acct>` | `<acct>#<region>#<plan>` | | |
//! | readiness transition | `PLANHIST#<acct>#<region>#<plan>` | `HIST#<time>` | | `TRANSITIONS#<shard of PK>` / `<time>#<acct>#plan:<plan>` |
//!
//! Shards: [`SHARDS`] partitions, `00`…`15` ([`rows::shard`]).
//! | rollup version of an account | `ROLLUP#<acct>` | `VERSION` | | |
//! | progress of a paged run | `RUN#<delivery origin>` | `PROGRESS` | | |
//! | what a rule last reported | the result's PK | `REPORTED#<rule id>` | | |

mod readiness;
mod results;
mod rows;
mod table;

pub use rows::{all_plans_pks, all_transitions_pks, plans_pk, resource_pk, shard, transitions_pk, SHARDS};

use aws_sdk_dynamodb::Client;

use super::port_error;
use crate::app::ports::PortError;
use rows::Item;

/// How long transition history is kept (TTL), by default.
pub const DEFAULT_HISTORY_DAYS: i64 = 90;

/// [`ResultStore`], [`ReadinessStore`] and [`ReadinessReader`] over one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    history_days: i64,
}

impl DynamoStore {
    /// The IAM actions recording results needs (table and its indexes). IAM actions, not SDK
    /// operations: a TransactWriteItems is authorized item by item as the action of each item's
    /// kind (DynamoDB developer guide, "Using IAM with DynamoDB transactions"); recording's
    /// transactions hold Puts only. Its BatchWriteItem (outbox deletes) is BatchWriteItem.
    pub const RECORD_PERMISSIONS: &'static [&'static str] =
        &["dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem"];
    /// The IAM action the periodic run's "what did this rule report last" read needs (on the
    /// table, `REPORTED#` rows in resource partitions); it writes them with BatchWriteItem.
    pub const REPORT_PERMISSIONS: &'static [&'static str] = &["dynamodb:BatchGetItem"];
    /// The IAM actions the readiness rollup needs (table and its indexes). A plan row is written
    /// in a transaction with a check of the account's rollup version: `PutItem` and
    /// `ConditionCheckItem`.
    pub const ROLLUP_PERMISSIONS: &'static [&'static str] = &[
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    ];
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

    /// Runs queries of different partitions (the shards), four at a time, every page of each.
    async fn query_partitions(
        &self,
        queries: Vec<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder>,
    ) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let mut queries = queries.into_iter();
        loop {
            let mut running = tokio::task::JoinSet::new();
            for q in queries.by_ref().take(4) {
                let this = self.clone();
                running.spawn(async move { this.query_all(q).await });
            }
            if running.is_empty() {
                return Ok(items);
            }
            while let Some(done) = running.join_next().await {
                items.extend(done.map_err(|e| PortError {
                    operation: "dynamodb:Query",
                    message: format!("query task failed: {e}"),
                    retryable: true,
                })??);
            }
        }
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
}

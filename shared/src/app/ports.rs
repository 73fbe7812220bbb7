//! Ports: what the use cases need from the outside world, as narrow traits. The AWS adapters
//! (`aws` feature) implement them over the SDK; tests use in-memory implementations.

use std::future::Future;

use crate::contracts::config_rule::ConfigEvaluation;
use crate::contracts::events::OutboundEvent;
use crate::domain::model::{ConfigurationItem, LiveFacts, Lookup};
use crate::domain::plans::{PlanReadiness, ReadinessRow};
use crate::domain::state::{PendingTransition, PlanTransition};
use crate::domain::vocab::{Evaluation, ResourceKey};

/// A failed call to an outside service.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct PortError {
    /// The operation, e.g. `config:BatchGetResourceConfig`.
    pub operation: &'static str,
    /// What went wrong.
    pub message: String,
    /// Whether retrying later can succeed (throttling, 5xx, timeouts).
    pub retryable: bool,
}

/// Reads recorded configuration (AWS Config).
pub trait ConfigReader: Sync {
    /// The current items for `keys` (missing or deleted resources are simply absent).
    fn batch_get(&self, keys: &[ResourceKey])
        -> impl Future<Output = Result<Vec<ConfigurationItem>, PortError>> + Send;
    /// Keys of the resources a lookup matches.
    fn select(&self, lookup: &Lookup) -> impl Future<Output = Result<Vec<ResourceKey>, PortError>> + Send;
    /// The newest history item of one resource (for oversized notifications).
    fn latest(&self, key: &ResourceKey) -> impl Future<Output = Result<Option<ConfigurationItem>, PortError>> + Send;
}

/// Reads the facts only service APIs know (SSM, EKS, CloudWatch Logs). A required port: the
/// functions' wiring must say where facts come from; a reader that knows none says so in its own
/// implementation ([`crate::app::memory::MemoryReader`] over a snapshot), and the checks then
/// report INSUFFICIENT_DATA.
pub trait FactReader: Sync {
    /// Facts for some of `items`, by index.
    fn facts(
        &self,
        items: &[ConfigurationItem],
    ) -> impl Future<Output = Result<Vec<(usize, LiveFacts)>, PortError>> + Send;
}

/// Reports evaluations to AWS Config.
pub trait EvaluationReporter: Sync {
    /// Sends one PutEvaluations call (at most 100 evaluations). Returns the evaluations Config
    /// reported as failed.
    fn put(
        &self,
        result_token: &str,
        test_mode: bool,
        evaluations: &[ConfigEvaluation],
    ) -> impl Future<Output = Result<Vec<ConfigEvaluation>, PortError>> + Send;
}

/// Per resource × check results, their transition history and its outbox.
pub trait ResultStore: Sync {
    /// Records results: writes only what is new or changed (never over a newer capture), with
    /// their history rows, atomically per resource. Returns the transitions not yet published:
    /// the new ones and any left pending by an earlier invocation for the same resources.
    fn record(
        &self,
        evaluations: &[Evaluation],
    ) -> impl Future<Output = Result<Vec<PendingTransition>, PortError>> + Send;
    /// Marks transitions as published (clears the outbox).
    fn mark_published(&self, transitions: &[PendingTransition]) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every recorded result of an account (the input of its plan rollup).
    fn account_results(&self, account: &str) -> impl Future<Output = Result<Vec<Evaluation>, PortError>> + Send;
}

/// Per account × region × plan readiness and its announcement outbox.
pub trait ReadinessStore: Sync {
    /// Records an account's plan readiness (never over a concurrent writer's: a conflict is a
    /// retryable error). Returns, for every plan whose status differs from the one last
    /// announced, the transition from the announced status to the current one.
    fn record_plans(
        &self,
        account: &str,
        plans: &[PlanReadiness],
    ) -> impl Future<Output = Result<Vec<PlanTransition>, PortError>> + Send;
    /// Marks transitions announced (their events were published).
    fn mark_plans_announced(
        &self,
        transitions: &[PlanTransition],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// What a report reads from any store: the local SQLite database, the deployed DynamoDB table,
/// or memory.
pub trait ReadinessReader {
    /// Every recorded readiness row.
    fn readiness(&self) -> impl Future<Output = Result<Vec<ReadinessRow>, PortError>>;
    /// Every recorded result of one account.
    fn results(&self, account: &str) -> impl Future<Output = Result<Vec<Evaluation>, PortError>>;
}

/// Publishes events (EventBridge).
pub trait EventPublisher: Sync {
    /// Publishes every event or fails; partial failures are retried inside.
    fn publish(&self, events: &[OutboundEvent]) -> impl Future<Output = Result<(), PortError>> + Send;
}

//! Ports: what the use cases need from the outside world, as narrow traits. The AWS adapters
//! (`aws` feature) implement them over the SDK; tests use in-memory implementations.

use std::future::Future;

use crate::live::Lookup;
use crate::model::ConfigurationItem;
use crate::rule::ConfigEvaluation;

/// A resource by type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
}

impl ResourceKey {
    /// A key.
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
        }
    }
}

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

    /// Facts only service APIs know (SSM, EKS, CloudWatch Logs) for some of `items`, by index.
    /// The default knows none: the checks then report INSUFFICIENT_DATA, as for a snapshot.
    fn facts(
        &self,
        items: &[ConfigurationItem],
    ) -> impl Future<Output = Result<Vec<(usize, crate::model::LiveFacts)>, PortError>> + Send {
        let _ = items;
        async { Ok(Vec::new()) }
    }
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

/// Per resource × check compliance state, plan readiness and transition history.
pub trait StateStore: Sync {
    /// Records results: writes only what is new or changed (never over a newer capture), with
    /// their history rows, atomically per resource. Returns the transitions not yet published:
    /// the new ones and any left pending by an earlier invocation for the same resources.
    fn record(
        &self,
        evaluations: &[crate::engine::Evaluation],
    ) -> impl Future<Output = Result<Vec<PendingTransition>, PortError>> + Send;
    /// Marks transitions as published (clears the outbox).
    fn mark_published(&self, transitions: &[PendingTransition]) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every recorded result of an account (the input of its plan rollup).
    fn account_results(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<crate::engine::Evaluation>, PortError>> + Send;
    /// Records an account's plan readiness (never over a concurrent writer's: a conflict is a
    /// retryable error). Returns, for every plan whose status differs from the one last
    /// announced, the transition from the announced status to the current one.
    fn record_plans(
        &self,
        account: &str,
        plans: &[crate::plans::PlanReadiness],
    ) -> impl Future<Output = Result<Vec<crate::state::PlanTransition>, PortError>> + Send;
    /// Marks transitions announced (their events were published).
    fn mark_plans_announced(
        &self,
        transitions: &[crate::state::PlanTransition],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A recorded compliance transition whose event may not have been published yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransition {
    /// What changed.
    pub transition: crate::state::Transition,
    /// When (the capture time of the configuration that caused it, else the evaluation time).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One event for subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundEvent {
    /// `DetailType`.
    pub detail_type: &'static str,
    /// `Detail`.
    pub detail: serde_json::Value,
    /// `Time`.
    pub time: chrono::DateTime<chrono::Utc>,
}

/// Publishes events (EventBridge).
pub trait EventPublisher: Sync {
    /// Publishes every event or fails; partial failures are retried inside.
    fn publish(&self, events: &[OutboundEvent]) -> impl Future<Output = Result<(), PortError>> + Send;
}

//! Ports: what the use cases need from the outside world, as narrow traits. The AWS adapters
//! (`aws` feature) implement them over the SDK; tests use in-memory implementations.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::contracts::config_rule::ConfigEvaluation;
use crate::contracts::events::OutboundEvent;
use crate::domain::model::{ConfigurationItem, LiveFacts, Lookup};
use crate::domain::plans::{PlanReadiness, PlanStatus, ReadinessRow};
use crate::domain::state::{Delivery, EvalKey, PendingTransition, PlanTransition};
use crate::domain::vocab::{Evaluation, Plan, ResourceKey};

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

/// The operation a [`PortError`] names when a member account's role could not be assumed (a
/// central deployment reads and reports for member accounts through it).
pub const ASSUME_ROLE: &str = "sts:AssumeRole";

/// A resource a Config rule reports: where its results are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportedResource {
    /// Account.
    pub account_id: String,
    /// Region of its results (`global` for IAM types).
    pub aws_region: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
}

/// What a rule last reported for a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReport {
    /// `ComplianceType` reported.
    pub compliance: crate::domain::vocab::Compliance,
    /// `Annotation` reported.
    pub annotation: String,
    /// When.
    pub at: DateTime<Utc>,
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
    /// One page (at most `limit`, at most 100) of the keys of every recorded resource of
    /// `resource_type`, from `token` (`None`: the first page), and the token of the next page
    /// (`None`: this was the last). A periodic run walks an account a page at a time with it. By
    /// default: one page of everything.
    fn list_page(
        &self,
        resource_type: &'static str,
        limit: usize,
        token: Option<String>,
    ) -> impl Future<Output = Result<(Vec<ResourceKey>, Option<String>), PortError>> + Send {
        async move {
            let _ = (token, limit);
            Ok((self.select(&Lookup::AllOfType(resource_type)).await?, None))
        }
    }
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
    /// Records results for `delivery`: writes only what is new or changed (never over a newer
    /// capture, nor over a result of the same capture from evidence read later), with their
    /// history rows, atomically per resource. Returns the transitions this delivery is to
    /// publish: those it recorded (now or in an earlier attempt) and any another delivery left
    /// unpublished for longer than [`crate::domain::state::ORPHANED_AFTER`].
    fn record(
        &self,
        evaluations: &[Evaluation],
        delivery: &Delivery,
    ) -> impl Future<Output = Result<Vec<PendingTransition>, PortError>> + Send;
    /// Marks transitions as published (clears the outbox).
    fn mark_published(&self, transitions: &[PendingTransition]) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every recorded result of an account.
    fn account_results(&self, account: &str) -> impl Future<Output = Result<Vec<Evaluation>, PortError>> + Send;
    /// When one result was last written (`None`: it is not recorded), read consistently.
    fn written_at(&self, key: &EvalKey) -> impl Future<Output = Result<Option<DateTime<Utc>>, PortError>> + Send;
    /// Where a piece of work split over invocations got to (`run`: its delivery's identity):
    /// the cursor [`ResultStore::advance`] recorded, if any.
    fn progress(&self, run: &str) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// Moves `run`'s cursor from `from` (`None`: not started) to `to`, only if it is still at
    /// `from`. `false`: another invocation of the same run moved it first (and carries on).
    fn advance(&self, run: &str, from: Option<&str>, to: &str) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// What `rule` last reported to AWS Config for each of `resources` (PutEvaluations), and
    /// when: the periodic run reports a resource again only when that changed or grew old.
    fn reported(
        &self,
        rule: &str,
        resources: &[ReportedResource],
    ) -> impl Future<Output = Result<Vec<Option<LastReport>>, PortError>> + Send;
    /// Records what `rule` reported (each resource's entry replaces the last).
    fn mark_reported(
        &self,
        rule: &str,
        reports: &[(ReportedResource, LastReport)],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Calls `f` with every recorded result of an account and when it was written, a page at a
    /// time (the input of its plan rollup: memory stays bounded by a page, not by the account).
    fn fold_results<F: FnMut(Evaluation, Option<DateTime<Utc>>) + Send>(
        &self,
        account: &str,
        f: F,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A recorded plan readiness row, as a rollup read it before reading the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// The recorded status.
    pub status: PlanStatus,
    /// The status last announced.
    pub announced: Option<PlanStatus>,
    /// What the row says, in the store's terms (to skip writing what did not change).
    pub digest: String,
}

/// An account's plan readiness as a rollup read it, before reading the results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanRows {
    /// The account's rollup version: every rollup that records claims the next one, and only
    /// over the version it read, so rollups of one account are recorded one after the other,
    /// each from results read after the previous one was recorded.
    pub version: u64,
    /// The rows, by region and plan.
    pub rows: BTreeMap<(String, Plan), PlanRow>,
}

/// Per account × region × plan readiness and its announcement outbox.
pub trait ReadinessStore: Sync {
    /// An account's plan readiness rows, read before its results (consistently).
    fn plan_rows(&self, account: &str) -> impl Future<Output = Result<PlanRows, PortError>> + Send;
    /// Records an account's plan readiness, computed from results read after `read`: claims the
    /// next version of the account's rollup (`None`: another rollup claimed it since `read`;
    /// read again and recompute), then writes the rows that changed, each only if no later
    /// version wrote it. Returns, for every plan whose status differs
    /// from the one last announced, the transition from the announced status to the current one.
    fn record_plans(
        &self,
        account: &str,
        plans: &[PlanReadiness],
        read: &PlanRows,
    ) -> impl Future<Output = Result<Option<Vec<PlanTransition>>, PortError>> + Send;
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
    /// The changes recorded since `since` (readiness and results), in any order.
    fn changes(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<crate::domain::state::RecordedChange>, PortError>>;
}

/// Hands the rest of a run to a fresh invocation of the same function (a message on the
/// function's continuation queue, carrying the event it was invoked with): a periodic run or a
/// change's dependants larger than one invocation's time go on there, from where
/// [`ResultStore::progress`] says they got to.
pub trait Continuation: Sync {
    /// Sends the continuation.
    fn hand_off(&self) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Publishes events (EventBridge).
pub trait EventPublisher: Sync {
    /// Publishes every event or fails; partial failures are retried inside.
    fn publish(&self, events: &[OutboundEvent]) -> impl Future<Output = Result<(), PortError>> + Send;
}

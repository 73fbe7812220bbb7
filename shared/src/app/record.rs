//! Recording results and telling subscribers: how the evaluating flows end, and the readiness rollup.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;

use crate::app::ports::{EventPublisher, PortError, ReadinessStore, ResultStore};
use crate::contracts::events::{compliance_event, readiness_event, OutboundEvent};
use crate::domain::plans;
use crate::domain::settings::Settings;
use crate::domain::state::PendingTransition;
use crate::domain::vocab::{Evaluation, GLOBAL_REGION};

/// What one recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Results given.
    pub evaluations: usize,
    /// Compliance transitions published (new ones and ones left pending before).
    pub transitions: usize,
}

/// Records `evaluations`, publishes every compliance transition, then clears the outbox. A
/// failure anywhere fails the whole call, and a retry publishes what an earlier attempt left
/// pending. Plan readiness is not recomputed here: the rollup function does it from the table's
/// stream ([`roll_up`]).
pub async fn record_and_publish<S: ResultStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    evaluations: &[Evaluation],
) -> Result<Summary, PortError> {
    let pending = store.record(evaluations).await?;
    let transitions = publish_pending(store, publisher, &pending).await?;
    Ok(Summary {
        evaluations: evaluations.len(),
        transitions,
    })
}

/// Publishes recorded transitions, then clears them from the outbox. Returns how many.
pub async fn publish_pending<S: ResultStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    pending: &[PendingTransition],
) -> Result<usize, PortError> {
    let events: Vec<OutboundEvent> = pending.iter().map(compliance_event).collect();
    publisher.publish(&events).await?;
    store.mark_published(pending).await?;
    Ok(pending.len())
}

/// The regions an account's readiness is computed for: every region it has results in (the
/// global pseudo-region only when there is nothing else).
pub fn account_regions(results: &[Evaluation]) -> Vec<String> {
    let mut regions: Vec<String> = results
        .iter()
        .map(|e| e.aws_region.clone())
        .filter(|r| r != GLOBAL_REGION)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if regions.is_empty() {
        regions.push(GLOBAL_REGION.to_owned());
    }
    regions
}

/// Recomputes the account × region × plan readiness of `accounts` from the recorded results,
/// records it, publishes a "Plan Readiness Changed" event for every plan whose status differs
/// from the one last announced, then marks those announced. A retry after a failure anywhere
/// announces what is still unannounced: nothing is lost, and subscribers see the net change.
/// Returns the number of readiness events published and the readiness as embedded-metric
/// records ([`crate::contracts::metrics::readiness`]).
pub async fn roll_up<S: ResultStore + ReadinessStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    accounts: &BTreeSet<String>,
) -> Result<(usize, Vec<String>), PortError> {
    let mut published = 0;
    let mut metrics = Vec::new();
    for account in accounts {
        let results = store.account_results(account).await?;
        let regions = BTreeMap::from([(account.clone(), account_regions(&results))]);
        let rollup = plans::rollup(&results, &regions, settings);
        let transitions = store.record_plans(account, &rollup).await?;
        let events: Vec<OutboundEvent> = transitions
            .iter()
            .filter_map(|t| {
                rollup
                    .iter()
                    .find(|p| p.aws_region == t.aws_region && p.plan == t.plan)
                    .map(|now| readiness_event(t, now))
            })
            .collect();
        publisher.publish(&events).await?;
        store.mark_plans_announced(&transitions).await?;
        published += events.len();
        metrics.extend(crate::contracts::metrics::readiness(
            &rollup,
            &results,
            Utc::now().timestamp_millis(),
        ));
    }
    Ok((published, metrics))
}

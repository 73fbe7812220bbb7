//! Recording results and telling subscribers: the use case both functions end with.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use serde_json::json;

use crate::engine::Evaluation;
use crate::model::GLOBAL_REGION;
use crate::plans::{self, PlanReadiness};
use crate::ports::{EventPublisher, OutboundEvent, PendingTransition, PortError, StateStore};
use crate::settings::Settings;
use crate::state::PlanTransition;

/// `detail-type` of a compliance transition.
pub const COMPLIANCE_CHANGED: &str = "Prerequisite Compliance Changed";
/// `detail-type` of a plan readiness transition.
pub const READINESS_CHANGED: &str = "Plan Readiness Changed";

/// What one recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Results given.
    pub evaluations: usize,
    /// Compliance transitions published (new ones and ones left pending before).
    pub transitions: usize,
    /// Plan readiness transitions published.
    pub plan_transitions: usize,
}

/// The event of a compliance transition (schema: `schemas/prerequisite-compliance-changed.json`).
pub fn compliance_event(p: &PendingTransition) -> OutboundEvent {
    let t = &p.transition;
    OutboundEvent {
        detail_type: COMPLIANCE_CHANGED,
        detail: json!({
            "accountId": t.key.account_id, "awsRegion": t.key.aws_region,
            "resourceType": t.key.resource_type, "resourceId": t.key.resource_id,
            "checkId": t.key.check_id, "plan": t.plan,
            "previous": t.previous, "current": t.current, "annotation": t.annotation,
            "at": p.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
        time: p.at,
    }
}

/// The event of a readiness transition (schema: `schemas/plan-readiness-changed.json`).
pub fn readiness_event(t: &PlanTransition, now: &PlanReadiness) -> OutboundEvent {
    OutboundEvent {
        detail_type: READINESS_CHANGED,
        detail: json!({
            "accountId": t.account_id, "awsRegion": t.aws_region, "plan": t.plan,
            "previous": t.previous, "current": t.current, "blockers": now.blockers,
        }),
        time: Utc::now(),
    }
}

/// Records `evaluations`, recomputes the readiness of the accounts they touch, publishes every
/// transition, then clears the outbox. A failure anywhere fails the whole call, and a retry
/// publishes what an earlier attempt left pending.
pub async fn record_and_publish<S: StateStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    evaluations: &[Evaluation],
) -> Result<Summary, PortError> {
    let pending = store.record(evaluations).await?;
    let accounts: BTreeSet<&str> = evaluations.iter().map(|e| e.account_id.as_str()).collect();
    let mut events: Vec<OutboundEvent> = pending.iter().map(compliance_event).collect();
    let mut plan_transitions = 0;
    for account in accounts {
        let results = store.account_results(account).await?;
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
        let rollup = plans::rollup(&results, &BTreeMap::from([(account.to_owned(), regions)]), settings);
        for t in store.record_plans(account, &rollup).await? {
            if let Some(now) = rollup.iter().find(|p| p.aws_region == t.aws_region && p.plan == t.plan) {
                events.push(readiness_event(&t, now));
                plan_transitions += 1;
            }
        }
    }
    publisher.publish(&events).await?;
    store.mark_published(&pending).await?;
    Ok(Summary {
        evaluations: evaluations.len(),
        transitions: pending.len(),
        plan_transitions,
    })
}

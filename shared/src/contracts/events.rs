//! The events we publish to the bus: one for every compliance transition of a resource × check,
//! one for every readiness transition of an account × region × plan. Their JSON Schemas are in
//! `schemas/`.

use chrono::Utc;
use serde_json::json;

use crate::domain::plans::PlanReadiness;
use crate::domain::state::{PendingTransition, PlanTransition};

/// `detail-type` of a compliance transition.
pub const COMPLIANCE_CHANGED: &str = "Prerequisite Compliance Changed";

/// `detail-type` of a plan readiness transition.
pub const READINESS_CHANGED: &str = "Plan Readiness Changed";

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

/// How many unverified checks a readiness event lists (`unverifiedCount` has them all).
pub const UNVERIFIED_LISTED: usize = 20;

/// The event of a readiness transition: the new status, what blocks it, and what could not be
/// verified (schema: `schemas/plan-readiness-changed.json`).
pub fn readiness_event(t: &PlanTransition, now: &PlanReadiness) -> OutboundEvent {
    OutboundEvent {
        detail_type: READINESS_CHANGED,
        detail: json!({
            "accountId": t.account_id, "awsRegion": t.aws_region, "plan": t.plan,
            "previous": t.previous, "current": t.current, "blockers": now.blockers,
            "unverified": now.unverified.iter().take(UNVERIFIED_LISTED).collect::<Vec<_>>(),
            "unverifiedCount": now.unverified.len(),
        }),
        time: Utc::now(),
    }
}

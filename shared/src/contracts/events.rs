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

/// How many blockers a readiness event lists (`blockerCount` has them all): an account with
/// thousands of blocked instances still fits one event (PutEvents takes 256 KB an entry).
pub const BLOCKERS_LISTED: usize = 20;

/// The event of a readiness transition: the new status, what blocks it, and what could not be
/// verified (schema: `schemas/plan-readiness-changed.json`).
pub fn readiness_event(t: &PlanTransition, now: &PlanReadiness) -> OutboundEvent {
    OutboundEvent {
        detail_type: READINESS_CHANGED,
        detail: json!({
            "accountId": t.account_id, "awsRegion": t.aws_region, "plan": t.plan,
            "previous": t.previous, "current": t.current,
            "blockers": now.blockers.iter().take(BLOCKERS_LISTED).collect::<Vec<_>>(),
            "blockerCount": now.blocker_count,
            "unverified": now.unverified.iter().take(UNVERIFIED_LISTED).collect::<Vec<_>>(),
            "unverifiedCount": now.unverified_count,
        }),
        time: Utc::now(),
    }
}

#[cfg(test)]
mod readiness_tests {
    use super::*;
    use crate::domain::plans::{Blocker, PlanStatus};
    use crate::domain::vocab::Plan;

    #[test]
    fn a_readiness_event_of_thousands_of_blockers_fits_one_entry() {
        let blockers: Vec<Blocker> = (0..5000)
            .map(|n| Blocker::Check {
                check_id: "servers.instance-profile".into(),
                resource_type: "AWS::EC2::Instance".into(),
                resource_id: format!("i-{n:017}").into(),
                annotation: "no IAM instance profile attached (the connector's 30-day automation only fixes instances that existed when its stack was created)".into(),
            })
            .collect();
        let now = PlanReadiness {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            plan: Plan::Servers,
            status: PlanStatus::Blocked,
            blocker_count: blockers.len(),
            blockers,
            unverified: vec!["x".into(); 3000],
            unverified_count: 3000,
            non_compliant_resources: 5000,
        };
        let t = PlanTransition {
            account_id: now.account_id.clone(),
            aws_region: now.aws_region.clone(),
            plan: now.plan,
            previous: Some(PlanStatus::Ready),
            current: PlanStatus::Blocked,
        };
        let e = readiness_event(&t, &now);
        assert!(
            e.detail.to_string().len() < 64 * 1024,
            "{} bytes",
            e.detail.to_string().len()
        );
        assert_eq!(e.detail["blockers"].as_array().unwrap().len(), BLOCKERS_LISTED);
        assert_eq!(e.detail["blockerCount"], 5000);
        assert_eq!(e.detail["unverifiedCount"], 3000);
    }
}

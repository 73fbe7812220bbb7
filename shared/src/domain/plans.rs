//! Defender plans, their dependency graph and the per account × region × plan readiness rollup.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::settings::Settings;
use crate::domain::vocab::{Compliance, Evaluation, Plan, GLOBAL_REGION};

/// Readiness of a plan in one account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanStatus {
    /// No prerequisite is NON_COMPLIANT (see `unverified` for the ones the input could not show).
    Ready,
    /// At least one prerequisite is NON_COMPLIANT, or a plan it needs is blocked.
    Blocked,
    /// The plan is not declared, or nothing in this region is in its scope.
    NotApplicable,
}

impl PlanStatus {
    /// Every status.
    pub const ALL: [PlanStatus; 3] = [PlanStatus::Ready, PlanStatus::Blocked, PlanStatus::NotApplicable];

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::Blocked => "BLOCKED",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// Why a plan is blocked: a NON_COMPLIANT check on a resource, or a blocked plan it needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase", tag = "kind")]
pub enum Blocker {
    /// A check is NON_COMPLIANT.
    #[serde(rename = "check")]
    Check {
        /// The check id.
        check_id: String,
        /// The resource type.
        resource_type: String,
        /// The resource id.
        resource_id: String,
        /// Why.
        annotation: String,
    },
    /// A plan this one needs is blocked in the same account and region.
    #[serde(rename = "plan")]
    Plan {
        /// The blocked plan.
        plan: Plan,
    },
}

/// A recorded readiness, as stores keep it (the unverified checks as a count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessRow {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// READY / BLOCKED / NOT_APPLICABLE.
    pub status: PlanStatus,
    /// Why it is blocked.
    pub blockers: Vec<Blocker>,
    /// How many checks the input could not decide.
    pub unverified: usize,
}

/// The rollup of one plan in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReadiness {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// READY / BLOCKED / NOT_APPLICABLE.
    pub status: PlanStatus,
    /// Why it is blocked (empty unless BLOCKED).
    pub blockers: Vec<Blocker>,
    /// Checks whose result the input could not decide (`checkId resourceType resourceId`).
    pub unverified: Vec<String>,
}

/// Rolls evaluations up per account × region × plan. Regions are those with regional items;
/// account-level and IAM (`global`) results count in every region of their account. A region's
/// plan is NOT_APPLICABLE when the plan is not declared, or (for plans other than the connector)
/// when no regional resource is in its scope.
pub fn rollup(
    evaluations: &[Evaluation],
    regions_by_account: &BTreeMap<String, Vec<String>>,
    settings: &Settings,
) -> Vec<PlanReadiness> {
    #[derive(Default)]
    struct Acc {
        blockers: BTreeSet<Blocker>,
        unverified: BTreeSet<String>,
        in_scope: bool,
    }
    let mut acc: BTreeMap<(&str, &str, Plan), Acc> = BTreeMap::new();
    let empty = Vec::new();
    for e in evaluations {
        let regions: Vec<&str> = if e.aws_region == GLOBAL_REGION {
            regions_by_account
                .get(&e.account_id)
                .unwrap_or(&empty)
                .iter()
                .map(String::as_str)
                .collect()
        } else {
            vec![e.aws_region.as_str()]
        };
        for region in regions {
            let a = acc.entry((e.account_id.as_str(), region, e.plan)).or_default();
            if e.aws_region != GLOBAL_REGION && e.compliance != Compliance::NotApplicable {
                a.in_scope = true;
            }
            match e.compliance {
                Compliance::NonCompliant => {
                    a.blockers.insert(Blocker::Check {
                        check_id: e.check_id.clone(),
                        resource_type: e.resource_type.clone(),
                        resource_id: e.resource_id.clone(),
                        annotation: e.annotation.clone(),
                    });
                }
                Compliance::InsufficientData => {
                    a.unverified
                        .insert(format!("{} {} {}", e.check_id, e.resource_type, e.resource_id));
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for (account, regions) in regions_by_account {
        for region in regions {
            let mut statuses: BTreeMap<Plan, PlanStatus> = BTreeMap::new();
            for plan in Plan::ALL {
                let a = acc
                    .remove(&(account.as_str(), region.as_str(), plan))
                    .unwrap_or_default();
                let mut blockers: Vec<Blocker> = a.blockers.into_iter().collect();
                if let Some(req) = plan.requires() {
                    if statuses.get(&req) == Some(&PlanStatus::Blocked) {
                        blockers.insert(0, Blocker::Plan { plan: req });
                    }
                }
                let status = if !settings.plan_declared(plan) || (plan != Plan::Cspm && !a.in_scope) {
                    blockers.clear();
                    PlanStatus::NotApplicable
                } else if blockers.is_empty() {
                    PlanStatus::Ready
                } else {
                    PlanStatus::Blocked
                };
                statuses.insert(plan, status);
                let unverified = if status == PlanStatus::NotApplicable {
                    Vec::new()
                } else {
                    a.unverified.into_iter().collect()
                };
                out.push(PlanReadiness {
                    account_id: account.clone(),
                    aws_region: region.clone(),
                    plan,
                    status,
                    blockers,
                    unverified,
                });
            }
        }
    }
    out
}

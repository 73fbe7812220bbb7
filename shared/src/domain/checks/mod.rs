//! The prerequisite check catalog. Each check is declared once, as a `pub static` [`Check`] in its
//! plan's module, with a pure `evaluate` over the resource graph; [`ALL`] is the explicit registry.
//!
//! Outcomes never turn a missing fact into NON_COMPLIANT: when the input does not show what a
//! check needs (a type the recorder does not record, an API-only fact), the outcome is
//! INSUFFICIENT_DATA with an annotation saying what is missing and where to get it.

/// Early return for the scope helpers: `or_return!(scope(ctx))` yields the value, or returns the
/// outcome (NOT_APPLICABLE / INSUFFICIENT_DATA) that takes the resource out of the check.
macro_rules! or_return {
    ($scope:expr) => {
        match $scope {
            Ok(v) => v,
            Err(outcome) => return outcome,
        }
    };
}

pub mod containers;
pub mod cspm;
pub mod oss;
pub mod servers;
pub mod sql;
mod support;

use crate::domain::graph::ResourceGraph;
use crate::domain::model::ConfigurationItem;
use crate::domain::settings::Settings;
use crate::domain::vocab::{Compliance, Plan};

/// The result of evaluating one check on one resource: compliance plus why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The compliance.
    pub compliance: Compliance,
    /// Why, in one sentence a person can act on.
    pub annotation: String,
}

impl Outcome {
    /// COMPLIANT because `why`.
    pub fn compliant(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::Compliant,
            annotation: why.into(),
        }
    }
    /// NON_COMPLIANT because `why`.
    pub fn non_compliant(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::NonCompliant,
            annotation: why.into(),
        }
    }
    /// NOT_APPLICABLE because `why`.
    pub fn not_applicable(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::NotApplicable,
            annotation: why.into(),
        }
    }
    /// INSUFFICIENT_DATA because `why`.
    pub fn unknown(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::InsufficientData,
            annotation: why.into(),
        }
    }
}

/// What makes a check worth re-running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A Config configuration-item change of this resource type.
    ConfigChange(&'static str),
    /// A CloudTrail management event (`eventSource`, `eventName`) via EventBridge.
    /// IAM and Organizations events are delivered in us-east-1.
    CloudTrail(&'static str, &'static str),
    /// "EC2 Instance State-change Notification".
    Ec2StateChange,
    /// Periodic re-evaluation (API-only data).
    Periodic,
}

/// What a check looks at when it runs.
pub struct Ctx<'a> {
    /// Every resource of the input, with its indexes.
    pub graph: &'a ResourceGraph,
    /// The resource being evaluated.
    pub item: &'a ConfigurationItem,
    /// The settings (Azure-side facts and inferred constants).
    pub settings: &'a Settings,
}

impl<'a> Ctx<'a> {
    /// The same context, for another resource (checks that follow a dependency use it).
    pub fn with_item(&self, item: &'a ConfigurationItem) -> Self {
        Self {
            graph: self.graph,
            item,
            settings: self.settings,
        }
    }
}

/// One prerequisite check, declared once.
pub struct Check {
    /// Public, stable id (`servers.ssm-core-policy`).
    pub id: &'static str,
    /// The plan it belongs to.
    pub plan: Plan,
    /// One line.
    pub title: &'static str,
    /// Resource types it reports on (`AWS::::Account` for account-level results).
    pub resource_types: &'static [&'static str],
    /// Changes that can alter its result.
    pub triggers: &'static [Trigger],
    /// What to do when it is NON_COMPLIANT. Inferred parts say so.
    pub remediation: &'static str,
    /// AWS permissions needed to gather its facts live (beyond reading the item itself).
    pub permissions: &'static [&'static str],
    /// Whether any part of its logic is an inference ([I] in the catalog).
    pub inferred: bool,
    /// The compliance values it can produce (the fixtures must show each).
    pub outcomes: &'static [Compliance],
    /// The pure predicate.
    pub evaluate: fn(&Ctx<'_>) -> Outcome,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl Check {
    /// Whether the check reports on `resource_type`.
    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.resource_types.contains(&resource_type)
    }
}

/// Every check, sorted by id: the registry.
pub static ALL: &[&Check] = &[
    &containers::audit_pipeline::CHECK,
    &containers::ecr_repo::CHECK,
    &containers::eks_access_entry::CHECK,
    &containers::eks_api_reachable::CHECK,
    &containers::eks_audit_logging::CHECK,
    &containers::eks_auth_mode::CHECK,
    &containers::eks_version::CHECK,
    &containers::fargate::CHECK,
    &containers::node_os::CHECK,
    &containers::sensor_egress::CHECK,
    &cspm::feature_roles::CHECK,
    &cspm::monitor_role::CHECK,
    &cspm::oidc_provider::CHECK,
    &cspm::scp_no_deny::CHECK,
    &cspm::stack_healthy::CHECK,
    &cspm::sts_regions::CHECK,
    &oss::applicable::CHECK,
    &oss::audit_params::CHECK,
    &oss::cw_exports::CHECK,
    &oss::multiaz_cluster::CHECK,
    &oss::param_in_sync::CHECK,
    &oss::plugin_version::CHECK,
    &oss::quota::CHECK,
    &oss::role::CHECK,
    &oss::running::CHECK,
    &servers::agentless_eligible::CHECK,
    &servers::applicable::CHECK,
    &servers::arc_autoprov_role::CHECK,
    &servers::arc_egress::CHECK,
    &servers::instance_profile::CHECK,
    &servers::os_supported::CHECK,
    &servers::ssm_agent_online::CHECK,
    &servers::ssm_core_policy::CHECK,
    &servers::ssm_network::CHECK,
    &servers::tagging_allowed::CHECK,
    &sql::egress::CHECK,
    &sql::os_version::CHECK,
    &sql::rds_custom::CHECK,
    &sql::servers_chain::CHECK,
    &sql::target::CHECK,
];

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    ALL.iter().copied().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_unique() {
        let ids: Vec<_> = ALL.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}

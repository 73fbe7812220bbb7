//! The prerequisite check catalog. Each check is declared once, in its own file
//! (`<plan>/<name>.rs`), as a `pub static CHECK` [`Check`] with a pure `evaluate` over the resource
//! graph; the `registry!` below is the only list, and [`ALL`] its result.
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
    /// Whether it gates its plan: a NON_COMPLIANT result blocks the plan and an INSUFFICIENT_DATA
    /// one leaves it UNVERIFIED. Advisory checks are reported per resource and gate nothing.
    pub gating: bool,
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

/// The registry, the only list of checks: one line per check, grouped by plan, sorted by id. Each
/// line declares the check's module (`<plan>/<name>.rs`) and enters its `CHECK` in [`ALL`].
macro_rules! registry {
    ($($(#[$doc:meta])* $plan:ident: [$($check:ident),* $(,)?]),* $(,)?) => {
        $($(#[$doc])* pub mod $plan { $(pub mod $check;)* })*

        /// Every check, sorted by id.
        pub static ALL: &[&Check] = &[$($(&$plan::$check::CHECK,)*)*];
    };
}

registry! {
    /// The Azure half of the connector (CSPM plan): read from Azure Resource Manager and Microsoft Graph.
    azure: [
        connector,
        connector_health,
        offering_roles,
        rbac_ciem,
        rbac_operate,
        rbac_owner,
    ],
    /// Defender for Containers on EKS and ECR.
    containers: [
        audit_pipeline,
        ecr_repo,
        eks_access_entry,
        eks_api_reachable,
        eks_audit_logging,
        eks_auth_mode,
        eks_version,
        fargate,
        node_os,
        sensor_egress,
    ],
    /// Connector / Defender CSPM: the root every plan needs.
    cspm: [
        feature_roles,
        monitor_role,
        oidc_provider,
        scp_no_deny,
        stack_healthy,
        sts_regions,
    ],
    /// Defender for open-source relational databases (RDS PostgreSQL, MySQL, MariaDB and Aurora).
    oss: [
        applicable,
        audit_params,
        cw_exports,
        multiaz_cluster,
        param_in_sync,
        plugin_version,
        quota,
        role,
        running,
    ],
    /// Defender for Servers (EC2): SSM reachability and Arc auto-provisioning prerequisites.
    servers: [
        agentless_eligible,
        applicable,
        arc_autoprov_role,
        arc_egress,
        instance_profile,
        os_supported,
        ssm_agent_online,
        ssm_core_policy,
        ssm_network,
        tagging_allowed,
    ],
    /// Defender for SQL on EC2 and RDS Custom: needs the Servers pipeline (Arc comes from it).
    sql: [
        egress,
        os_version,
        rds_custom,
        servers_chain,
        target,
    ],
}

/// The check with this id (the registry is sorted by id: `registry_is_sorted_and_unique`).
pub fn by_id(id: &str) -> Option<&'static Check> {
    ALL.binary_search_by(|c| c.id.cmp(id)).ok().map(|at| ALL[at])
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

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

mod containers;
mod cspm;
mod oss;
mod servers;
mod sql;

use crate::domain::graph::ResourceGraph;
use crate::domain::model::types::iam;
use crate::domain::model::ConfigurationItem;
use crate::domain::settings::Settings;
use crate::domain::vocab::{version_at_least, version_parts, Compliance, Plan};

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
    &containers::AUDIT_PIPELINE,
    &containers::ECR_REPO,
    &containers::EKS_ACCESS_ENTRY,
    &containers::EKS_API_REACHABLE,
    &containers::EKS_AUDIT_LOGGING,
    &containers::EKS_AUTH_MODE,
    &containers::EKS_VERSION,
    &containers::FARGATE,
    &containers::NODE_OS,
    &containers::SENSOR_EGRESS,
    &cspm::FEATURE_ROLES,
    &cspm::MONITOR_ROLE,
    &cspm::OIDC_PROVIDER,
    &cspm::SCP_NO_DENY,
    &cspm::STACK_HEALTHY,
    &cspm::STS_REGIONS,
    &oss::APPLICABLE,
    &oss::AUDIT_PARAMS,
    &oss::CW_EXPORTS,
    &oss::MULTIAZ_CLUSTER,
    &oss::PARAM_IN_SYNC,
    &oss::PLUGIN_VERSION,
    &oss::QUOTA,
    &oss::ROLE,
    &oss::RUNNING,
    &servers::AGENTLESS_ELIGIBLE,
    &servers::APPLICABLE,
    &servers::ARC_AUTOPROV_ROLE,
    &servers::ARC_EGRESS,
    &servers::INSTANCE_PROFILE,
    &servers::OS_SUPPORTED,
    &servers::SSM_AGENT_ONLINE,
    &servers::SSM_CORE_POLICY,
    &servers::SSM_NETWORK,
    &servers::TAGGING_ALLOWED,
    &sql::EGRESS,
    &sql::OS_VERSION,
    &sql::RDS_CUSTOM,
    &sql::SERVERS_CHAIN,
    &sql::TARGET,
];

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    ALL.iter().copied().find(|c| c.id == id)
}

/// Shared by the checks that require a connector role: the role must trust the Defender OIDC
/// provider through `sts:AssumeRoleWithWebIdentity`.
fn role_trusts_provider(ctx: &Ctx<'_>, role: &crate::domain::model::IamRole) -> Result<(), String> {
    let provider = ctx.settings.oidc.provider_arn(&ctx.item.account_id);
    match &role.assume_role_policy_document {
        Some(doc) if doc.trusts_federated(&provider) => Ok(()),
        Some(doc) => {
            let trusted = doc.federated_principals();
            Err(if trusted.is_empty() {
                format!("its trust policy does not let {provider} assume it with sts:AssumeRoleWithWebIdentity")
            } else {
                format!(
                    "its trust policy trusts {} instead of {provider} (sts:AssumeRoleWithWebIdentity)",
                    trusted.join(", ")
                )
            })
        }
        None => Err("its trust policy is not in the configuration item".to_owned()),
    }
}

/// A set of accepted names for one required role.
struct RoleRequirement<'s> {
    what: &'static str,
    names: &'s [String],
}

/// Evaluates required connector roles at account level: every requirement met by a role that
/// trusts the provider is COMPLIANT; a missing role is NON_COMPLIANT only if the input records
/// IAM roles for the account.
fn account_roles_outcome(
    ctx: &Ctx<'_>,
    reqs: &[RoleRequirement<'_>],
    extra: fn(&crate::domain::model::IamRole) -> Option<String>,
) -> Outcome {
    let account = &ctx.item.account_id;
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for req in reqs {
        match req.names.iter().find_map(|n| ctx.graph.role_by_name(account, n)) {
            Some(item) => {
                let crate::domain::model::Resource::IamRole(role) = &item.resource else {
                    continue;
                };
                let name = role.role_name.as_deref().unwrap_or(&item.resource_id);
                if let Err(e) = role_trusts_provider(&ctx.with_item(item), role) {
                    problems.push(format!("role {name} ({}): {e}", req.what));
                } else if let Some(e) = extra(role) {
                    problems.push(format!("role {name} ({}): {e}", req.what));
                } else {
                    found.push(name.to_owned());
                }
            }
            None => problems.push(format!("role {} ({}) does not exist", req.names.join(" or "), req.what)),
        }
    }
    if problems.is_empty() {
        return Outcome::compliant(format!(
            "required roles present and trusting the Defender provider: {}",
            found.join(", ")
        ));
    }
    if !ctx.graph.records(account, iam::ROLE.name) {
        return Outcome::unknown(format!(
            "no AWS::IAM::Role items for account {account} in the input (IAM is recorded in one region only); cannot confirm: {}",
            problems.join("; ")
        ));
    }
    Outcome::non_compliant(problems.join("; "))
}

/// Evaluates one role item against named requirements: NOT_APPLICABLE unless its name is one of
/// them.
fn role_item_outcome(
    ctx: &Ctx<'_>,
    reqs: &[RoleRequirement<'_>],
    extra: fn(&crate::domain::model::IamRole) -> Option<String>,
) -> Outcome {
    let crate::domain::model::Resource::IamRole(role) = &ctx.item.resource else {
        return Outcome::not_applicable("not an IAM role");
    };
    let name = role
        .role_name
        .as_deref()
        .unwrap_or(ctx.item.resource_name.as_deref().unwrap_or(""));
    let Some(req) = reqs
        .iter()
        .find(|r| r.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    else {
        return Outcome::not_applicable(format!("role {name} is not a role this check requires"));
    };
    if let Err(e) = role_trusts_provider(ctx, role) {
        return Outcome::non_compliant(format!("role {name} ({}): {e}", req.what));
    }
    if let Some(e) = extra(role) {
        return Outcome::non_compliant(format!("role {name} ({}): {e}", req.what));
    }
    Outcome::compliant(format!("role {name} ({}) trusts the Defender provider", req.what))
}

fn no_extra(_: &crate::domain::model::IamRole) -> Option<String> {
    None
}

/// Outcome of a declared fact: COMPLIANT if declared true, NON_COMPLIANT if false, unknown if absent.
fn declared(fact: Option<bool>, what: &str, key: &str, how: &str) -> Outcome {
    match fact {
        Some(true) => Outcome::compliant(format!("declared: {what} (settings facts.{key})")),
        Some(false) => Outcome::non_compliant(format!("declared not met: {what} (settings facts.{key})")),
        None => Outcome::unknown(format!("not declared: {what}; {how}, then set facts.{key} in settings")),
    }
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

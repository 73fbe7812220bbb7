//! Connector and feature roles: the triggers and permissions of role checks, and how a role is judged (it exists, trusts the Defender OIDC provider, and has what its check asks).

use crate::domain::checks::support::IAM;
use crate::domain::checks::{Ctx, Outcome, Trigger};
use crate::domain::model::types::iam;
use crate::domain::vocab::GLOBAL_REGION;

/// Trust-policy and policy changes of a connector role.
pub(crate) const ROLE_TRIGGERS: &[Trigger] = &[
    Trigger::ConfigChange(iam::ROLE.name),
    Trigger::CloudTrail(IAM, "CreateRole"),
    Trigger::CloudTrail(IAM, "DeleteRole"),
    Trigger::CloudTrail(IAM, "UpdateAssumeRolePolicy"),
    Trigger::CloudTrail(IAM, "AttachRolePolicy"),
    Trigger::CloudTrail(IAM, "DetachRolePolicy"),
    Trigger::CloudTrail(IAM, "PutRolePolicy"),
    Trigger::CloudTrail(IAM, "DeleteRolePolicy"),
    Trigger::CloudTrail(IAM, "PutRolePermissionsBoundary"),
];

/// Permissions to read a role live.
pub(crate) const ROLE_PERMISSIONS: &[&str] = &[
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
];

/// Shared by the checks that require a connector role: the role must trust the Defender OIDC
/// provider through `sts:AssumeRoleWithWebIdentity`.
pub(crate) fn role_trusts_provider(ctx: &Ctx<'_>, role: &crate::domain::model::IamRole) -> Result<(), String> {
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
pub(crate) struct RoleRequirement<'s> {
    pub(crate) what: &'static str,
    pub(crate) names: &'s [String],
}

/// Evaluates required connector roles at account level: every requirement met by a role that
/// trusts the provider is COMPLIANT; a missing role is NON_COMPLIANT only if the input records
/// IAM roles for the account.
pub(crate) fn account_roles_outcome(
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
    if !ctx.graph.records(account, GLOBAL_REGION, iam::ROLE.name) {
        let needed: Vec<String> = reqs
            .iter()
            .map(|r| format!("{} ({})", r.names.join(" or "), r.what))
            .collect();
        return Outcome::unknown(format!(
            "not verified: the input holds no AWS::IAM::Role items for account {account} (AWS Config records IAM \
             in one region only, and only with global resource types); roles to verify: {}",
            needed.join("; ")
        ));
    }
    Outcome::non_compliant(problems.join("; "))
}

/// Evaluates one role item against named requirements: NOT_APPLICABLE unless its name is one of
/// them.
pub(crate) fn role_item_outcome(
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

pub(crate) fn no_extra(_: &crate::domain::model::IamRole) -> Option<String> {
    None
}

//! `cspm.monitor-role`: the CSPM monitoring role trusts the Defender provider and has a policy.

use crate::domain::checks::support::roles::{
    account_roles_outcome, role_item_outcome, RoleRequirement, ROLE_PERMISSIONS, ROLE_TRIGGERS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::model::types::iam;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

fn role_has_policy(role: &crate::domain::model::IamRole) -> Option<String> {
    (!role.has_any_policy()).then(|| "it has no attached or inline policy".to_owned())
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let names = [ctx.settings.roles.cspm_monitor.clone()];
    let reqs = [RoleRequirement {
        what: "CSPM monitoring",
        names: &names,
    }];
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, role_has_policy),
        _ => role_item_outcome(ctx, &reqs, role_has_policy),
    }
}

/// `cspm.monitor-role`: the CSPM monitoring role trusts the Defender provider and has a policy.
pub static CHECK: Check = Check {
    id: "cspm.monitor-role",
    plan: Plan::Cspm,
    title: "CSPM monitoring role trusts the Defender provider and has policies",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Redeploy the connector's CloudFormation stack: it creates the role CspmMonitorAws (confirm the \
        role name configured in the connector; set roles.cspm_monitor) trusting the Defender OIDC provider through \
        sts:AssumeRoleWithWebIdentity, with its read-only policy attached.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

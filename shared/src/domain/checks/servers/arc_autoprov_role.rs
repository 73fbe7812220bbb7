//! `servers.arc-autoprov-role`: the Arc auto-provisioning role exists and trusts the provider.

use crate::domain::checks::support::roles::{
    account_roles_outcome, no_extra, role_item_outcome, RoleRequirement, ROLE_PERMISSIONS, ROLE_TRIGGERS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::model::types::iam;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (f, r) = (&ctx.settings.features, &ctx.settings.roles);
    let mut reqs = Vec::new();
    if f.arc_autoprovisioning {
        reqs.push(RoleRequirement {
            what: "Arc auto-provisioning",
            names: std::slice::from_ref(&r.arc_autoprovisioning),
        });
    }
    if f.jit_access {
        reqs.push(RoleRequirement {
            what: "JIT network access",
            names: std::slice::from_ref(&r.servers_jit),
        });
    }
    if reqs.is_empty() {
        return Outcome::not_applicable(
            "Arc auto-provisioning is not declared (settings features.arc_autoprovisioning)",
        );
    }
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, no_extra),
        _ => role_item_outcome(ctx, &reqs, no_extra),
    }
}

/// `servers.arc-autoprov-role`: the Arc auto-provisioning role exists and trusts the provider.
pub static CHECK: Check = Check {
    id: "servers.arc-autoprov-role",
    plan: Plan::Servers,
    title: "Arc auto-provisioning role exists and trusts the Defender provider",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Update the connector's CloudFormation stack after enabling Defender for Servers so that it creates \
        DefenderForCloud-ArcAutoProvisioning (and DefenderForCloud-DefenderForServers for JIT).",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

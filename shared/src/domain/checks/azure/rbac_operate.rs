//! `azure.rbac-operate`: the principal can operate Defender for Cloud (Security Admin or Owner).
//! Advisory: it gates nothing.

use crate::domain::azure::{OWNER_ROLE, SECURITY_ADMIN_ROLE};
use crate::domain::checks::support::azure::{
    holds, principal_and_subscription, subscription_roles, AZURE_TRIGGERS, RBAC_PERMISSIONS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (principal, subscription) = or_return!(principal_and_subscription(ctx));
    let assignments = or_return!(subscription_roles(ctx, &subscription));
    let who = format!("{} ({})", principal.id, principal.source);
    match holds(&assignments, &[SECURITY_ADMIN_ROLE, OWNER_ROLE]) {
        Some(a) => Outcome::compliant(format!(
            "{who} holds {} on subscription {subscription} ({})",
            if a.role_guid().eq_ignore_ascii_case(OWNER_ROLE) { "Owner" } else { "Security Admin" },
            a.how()
        )),
        None => Outcome::non_compliant(format!(
            "{who} holds neither Security Admin nor Owner on subscription {subscription}: it cannot switch on \
             auto-provisioning, dismiss alerts or apply recommendations"
        )),
    }
}

/// `azure.rbac-operate`: the principal holds Security Admin or Owner (advisory).
pub static CHECK: Check = Check {
    id: "azure.rbac-operate",
    plan: Plan::Cspm,
    title: "The principal holds Security Admin or Owner to operate Defender for Cloud (advisory)",
    resource_types: &[ACCOUNT_TYPE],
    triggers: AZURE_TRIGGERS,
    remediation: "Assign Security Admin (or Owner) on the connector's subscription to the people who switch on \
        auto-provisioning, dismiss alerts and apply recommendations.",
    permissions: RBAC_PERMISSIONS,
    inferred: false,
    gating: false,
    outcomes: &[C, NC, U],
    evaluate,
};

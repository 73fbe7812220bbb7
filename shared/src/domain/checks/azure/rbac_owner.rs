//! `azure.rbac-owner`: whoever enables a plan not yet on the connector holds Owner on the
//! subscription, directly or inherited from a management group.

use crate::domain::azure::{Coverage, OWNER_ROLE};
use crate::domain::checks::support::azure::{
    holds, principal_and_subscription, side, subscription_roles, AZURE_TRIGGERS, RBAC_PERMISSIONS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let side = or_return!(side(ctx));
    let (principal, subscription) = or_return!(principal_and_subscription(ctx));
    let account = &ctx.item.account_id;
    let (on_connector, connector) = match ctx.settings.coverage(side, account) {
        Coverage::Covered(c) => (c.offerings().plans, Some(c.name.as_str())),
        _ => (Vec::new(), None),
    };
    let to_enable: Vec<String> = ctx
        .settings
        .plans
        .iter()
        .filter(|p| !on_connector.contains(p))
        .map(|p| p.to_string())
        .collect();
    let assignments = or_return!(subscription_roles(ctx, &subscription));
    let owner = holds(&assignments, &[OWNER_ROLE]);
    let who = format!("{} ({})", principal.id, principal.source);
    if to_enable.is_empty() {
        return Outcome::not_applicable(format!(
            "every declared plan is on connector {} already; Owner is needed only to enable another (advisory: {who} {} \
             Owner on subscription {subscription})",
            connector.unwrap_or("?"),
            if owner.is_some() { "holds" } else { "does not hold" }
        ));
    }
    let what = match connector {
        Some(c) => format!("to enable {} on connector {c}", to_enable.join(", ")),
        None => format!("to create the connector with {}", to_enable.join(", ")),
    };
    match owner {
        Some(a) => Outcome::compliant(format!("{who} holds Owner on subscription {subscription} ({}), needed {what}", a.how())),
        None => Outcome::non_compliant(format!(
            "{who} holds no Owner on subscription {subscription} (directly, through a group or inherited from a management \
             group), needed {what}"
        )),
    }
}

/// `azure.rbac-owner`: the enabling principal holds Owner on the subscription.
pub static CHECK: Check = Check {
    id: "azure.rbac-owner",
    plan: Plan::Cspm,
    title: "The enabling principal holds Owner on the connector's subscription",
    resource_types: &[ACCOUNT_TYPE],
    triggers: AZURE_TRIGGERS,
    remediation: "Assign the Owner role on the subscription that holds (or will hold) the connector to whoever enables \
        the plans (Access control (IAM) > Add role assignment), or have an Owner enable them. Only plans not yet on \
        the connector need it; settings azure.principal_id names the principal to judge.",
    permissions: RBAC_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

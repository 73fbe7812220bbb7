//! `azure.connector`: a Defender for Cloud security connector in Azure covers the account.

use crate::domain::azure::Coverage;
use crate::domain::checks::support::azure::{side, AZURE_TRIGGERS, CONNECTOR_PERMISSIONS};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let side = or_return!(side(ctx));
    let account = &ctx.item.account_id;
    match ctx.settings.coverage(side, account) {
        Coverage::Covered(c) => {
            let how = if c.properties.hierarchy_identifier.as_deref() == Some(account.as_str()) {
                "its own connector".to_owned()
            } else {
                format!(
                    "the organization connector of management account {}",
                    c.properties.hierarchy_identifier.as_deref().unwrap_or("?")
                )
            };
            let offerings = c.offerings().types.join(", ");
            Outcome::compliant(format!(
                "covered by {how}: {} in subscription {} (offerings: {})",
                c.name,
                c.subscription().unwrap_or("?"),
                if offerings.is_empty() { "none" } else { &offerings }
            ))
        }
        Coverage::Excluded(why) => Outcome::non_compliant(format!("no connector covers account {account}: {why}")),
        Coverage::None { subscriptions } => Outcome::non_compliant(format!(
            "no AWS security connector in the subscriptions read ({}{}) covers account {account}",
            subscriptions.join(", "),
            if side.all_subscriptions { ": every subscription the identity can see" } else { "" }
        )),
        Coverage::Unknown { errors } => Outcome::unknown(format!(
            "no connector read covers account {account}, and some subscriptions could not be read: {}",
            errors.join("; ")
        )),
        Coverage::Ambiguous { candidates } => {
            Outcome::unknown(crate::domain::checks::support::azure::ambiguous(account, &candidates))
        }
        Coverage::NotRead => Outcome::unknown(crate::domain::azure::NOT_READ),
    }
}

/// `azure.connector`: a Defender for Cloud security connector in Azure covers the account.
pub static CHECK: Check = Check {
    id: "azure.connector",
    plan: Plan::Cspm,
    title: "A Defender for Cloud AWS connector in Azure covers the account",
    resource_types: &[ACCOUNT_TYPE],
    triggers: AZURE_TRIGGERS,
    remediation: "In Defender for Cloud, Environment settings > Add environment > Amazon Web Services: connect this \
        account, or the organization's management account as an organization connector without this account in its \
        excluded accounts, then deploy the CloudFormation template it generates.",
    permissions: CONNECTOR_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, U],
    evaluate,
};

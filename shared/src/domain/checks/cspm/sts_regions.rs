//! `cspm.sts-regions`: STS is active in every connector region.

use crate::domain::checks::support::declared::declared;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings
            .facts_for(&ctx.item.account_id)
            .sts_active_in_connector_regions,
        "AWS STS is active in every connector region",
        "sts_active_in_connector_regions",
        "call sts:GetCallerIdentity against each regional STS endpoint (IAM > Account settings)",
    )
}

/// `cspm.sts-regions`: STS is active in every connector region.
pub static CHECK: Check = Check {
    id: "cspm.sts-regions",
    plan: Plan::Cspm,
    title: "AWS STS is active in every connector region",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[Trigger::Periodic],
    remediation: "In IAM > Account settings, activate the STS regional endpoint of every region the connector \
        covers. Checking each regional endpoint with sts:GetCallerIdentity is inferred.",
    permissions: &["sts:GetCallerIdentity"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, U],
    evaluate,
};

//! `servers.tagging-allowed`: policies allow the tags Defender writes on instances.

use crate::domain::checks::support::declared::declared;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).defender_tags_allowed,
        "SCPs and tag policies allow Defender's tags AccountId, Cloud, InstanceId, MDFCSecurityConnector",
        "defender_tags_allowed",
        "review your tag policies and SCPs (organizations:DescribeEffectivePolicy)",
    )
}

/// `servers.tagging-allowed`: policies allow the tags Defender writes on instances.
pub static CHECK: Check = Check {
    id: "servers.tagging-allowed",
    plan: Plan::Servers,
    title: "Tag policies and SCPs allow Defender's instance tags",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[Trigger::Periodic],
    remediation: "Allow the tag keys AccountId, Cloud, InstanceId and MDFCSecurityConnector on EC2 instances in \
        your tag policies and SCPs.",
    permissions: &["organizations:DescribeEffectivePolicy"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, U],
    evaluate,
};

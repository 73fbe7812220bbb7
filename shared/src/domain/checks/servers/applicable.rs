//! `servers.applicable`: whether the instance is in Defender for Servers' scope.

use crate::domain::checks::support::ec2::instance_or_na;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let _ = or_return!(instance_or_na(ctx));
    Outcome::compliant("running instance in a connector region: in Defender for Servers' scope")
}

/// `servers.applicable`: whether the instance is in Defender for Servers' scope.
pub static CHECK: Check = Check {
    id: "servers.applicable",
    plan: Plan::Servers,
    title: "Instance is in Defender for Servers' scope (running, not excluded, connector region)",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[Trigger::ConfigChange(ec2::INSTANCE.name), Trigger::Ec2StateChange],
    remediation: "Nothing to fix: stopped, excluded or out-of-region instances are reported NOT_APPLICABLE. The \
        scope rule is inferred; set servers.exclusion_tags and connector_regions in settings.",
    permissions: &["ec2:DescribeInstances"],
    inferred: true,
    gating: true,
    outcomes: &[C, NA, U],
    evaluate,
};

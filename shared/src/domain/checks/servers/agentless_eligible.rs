//! `servers.agentless-eligible`: the instance can be scanned agentlessly.

use crate::domain::checks::support::ec2::instance_or_na;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    if !ctx.settings.features.agentless_scanning {
        return Outcome::not_applicable("agentless scanning is not declared (settings features.agentless_scanning)");
    }
    let marketplace = inst
        .product_codes
        .iter()
        .any(|p| p.product_code_type.as_deref() == Some("marketplace"));
    if marketplace {
        return Outcome::not_applicable(
            "Marketplace AMI with third-party licensing: not scanned agentlessly (inferred)",
        );
    }
    Outcome::compliant("eligible for agentless scanning (unencrypted, PMK and CMK EBS volumes are all supported)")
}

/// `servers.agentless-eligible`: the instance can be scanned agentlessly.
pub static CHECK: Check = Check {
    id: "servers.agentless-eligible",
    plan: Plan::Servers,
    title: "Instance is eligible for agentless scanning",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[Trigger::ConfigChange(ec2::INSTANCE.name)],
    remediation: "Nothing to fix: instances from Marketplace AMIs that need third-party licensing are skipped by \
        agentless scanning. Detecting them through productCodeType=marketplace is inferred.",
    permissions: &["ec2:DescribeInstances"],
    inferred: true,
    gating: true,
    outcomes: &[C, NA, U],
    evaluate,
};

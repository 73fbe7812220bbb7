//! `servers.instance-profile`: the instance has an IAM instance profile.

use crate::domain::checks::support::ec2::instance_or_na;
use crate::domain::checks::support::EC2;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    match inst.iam_instance_profile.as_ref().and_then(|p| p.arn.as_deref()) {
        Some(arn) => Outcome::compliant(format!("instance profile {arn} attached")),
        None => Outcome::non_compliant(
            "no IAM instance profile attached (the connector's 30-day automation only fixes instances that existed \
             when its stack was created)",
        ),
    }
}

/// `servers.instance-profile`: the instance has an IAM instance profile.
pub static CHECK: Check = Check {
    id: "servers.instance-profile",
    plan: Plan::Servers,
    title: "Instance has an IAM instance profile",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::CloudTrail(EC2, "AssociateIamInstanceProfile"),
        Trigger::CloudTrail(EC2, "DisassociateIamInstanceProfile"),
        Trigger::CloudTrail(EC2, "ReplaceIamInstanceProfileAssociation"),
        Trigger::Ec2StateChange,
    ],
    remediation: "Attach an instance profile whose role has AmazonSSMManagedInstanceCore: \
        aws ec2 associate-iam-instance-profile --instance-id <id> --iam-instance-profile Name=<profile>.",
    permissions: &["ec2:DescribeInstances", "ec2:DescribeIamInstanceProfileAssociations"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

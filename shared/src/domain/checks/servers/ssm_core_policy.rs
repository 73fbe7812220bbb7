//! `servers.ssm-core-policy`: the instance profile's role has AmazonSSMManagedInstanceCore.

use crate::domain::vocab::GLOBAL_REGION;
use crate::domain::checks::support::ec2::instance_or_na;
use crate::domain::checks::support::IAM;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, iam};
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

/// Actions an inline policy must allow to stand in for AmazonSSMManagedInstanceCore.
const SSM_CORE_ACTIONS: &[&str] = &[
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:GetMessages",
];

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    let s = &ctx.settings.servers;
    if s.default_host_management {
        return Outcome::compliant(
            "Default Host Management Configuration declared on (settings servers.default_host_management; DHMC, not \
             MS-documented)",
        );
    }
    let Some(profile) = inst.iam_instance_profile.as_ref().and_then(|p| p.arn.as_deref()) else {
        return Outcome::non_compliant("no instance profile, so no role grants AmazonSSMManagedInstanceCore");
    };
    let Some(role_item) = ctx.graph.role_for_profile(profile) else {
        if ctx.graph.records(&ctx.item.account_id, GLOBAL_REGION, iam::ROLE.name) {
            return Outcome::non_compliant(format!("no recorded IAM role belongs to instance profile {profile}"));
        }
        return Outcome::unknown(format!(
            "the role of instance profile {profile} is not in the input (no AWS::IAM::Role items for this account)"
        ));
    };
    let Resource::IamRole(role) = &role_item.resource else {
        return Outcome::unknown("the instance profile's role could not be read");
    };
    let name = role.role_name.as_deref().unwrap_or(&role_item.resource_id);
    if role.has_managed_policy(&s.ssm_core_policy_arn) {
        return Outcome::compliant(format!("role {name} has AmazonSSMManagedInstanceCore"));
    }
    if s.accept_equivalent_inline_policy && SSM_CORE_ACTIONS.iter().all(|a| role.inline_allows(a)) {
        return Outcome::compliant(format!(
            "role {name} has an inline policy equivalent to AmazonSSMManagedInstanceCore (accepted by settings; inferred)"
        ));
    }
    Outcome::non_compliant(format!(
        "role {name} (instance profile {profile}) lacks {}",
        s.ssm_core_policy_arn
    ))
}

/// `servers.ssm-core-policy`: the instance profile's role has AmazonSSMManagedInstanceCore.
pub static CHECK: Check = Check {
    id: "servers.ssm-core-policy",
    plan: Plan::Servers,
    title: "Instance profile role has AmazonSSMManagedInstanceCore",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail(IAM, "AttachRolePolicy"),
        Trigger::CloudTrail(IAM, "DetachRolePolicy"),
        Trigger::CloudTrail(IAM, "AddRoleToInstanceProfile"),
        Trigger::CloudTrail(IAM, "RemoveRoleFromInstanceProfile"),
        Trigger::CloudTrail(IAM, "DeleteInstanceProfile"),
        Trigger::CloudTrail("ssm.amazonaws.com", "UpdateServiceSetting"),
    ],
    remediation: "aws iam attach-role-policy --role-name <role> --policy-arn \
        arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore. Accepting an equivalent inline policy and Default Host \
        Management Configuration are inferred (settings servers.accept_equivalent_inline_policy, \
        servers.default_host_management).",
    permissions: &[
        "iam:GetInstanceProfile",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "ssm:GetServiceSetting",
    ],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

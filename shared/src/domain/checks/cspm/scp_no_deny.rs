//! `cspm.scp-no-deny`: no SCP or boundary denies the Defender roles' actions.

use crate::domain::checks::support::declared::declared;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).no_scp_denies_defender,
        "no SCP or permissions boundary denies the Defender roles' actions",
        "no_scp_denies_defender",
        "review organizations:ListPoliciesForTarget / DescribePolicy (or iam:SimulatePrincipalPolicy)",
    )
}

/// `cspm.scp-no-deny`: no SCP or boundary denies the Defender roles' actions.
pub static CHECK: Check = Check {
    id: "cspm.scp-no-deny",
    plan: Plan::Cspm,
    title: "No SCP or permissions boundary denies the Defender roles",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[
        Trigger::Periodic,
        Trigger::CloudTrail("organizations.amazonaws.com", "AttachPolicy"),
        Trigger::CloudTrail("organizations.amazonaws.com", "UpdatePolicy"),
    ],
    remediation: "Exempt the Defender roles (CspmMonitorAws and the DefenderForCloud-* / MDCContainers* roles) from \
        service control policies and permissions boundaries that deny sts, iam, ec2, eks, rds or ssm actions. How to \
        verify it through Organizations or the policy simulator is inferred.",
    permissions: &[
        "organizations:ListPoliciesForTarget",
        "organizations:DescribePolicy",
        "iam:SimulatePrincipalPolicy",
    ],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, U],
    evaluate,
};

//! `oss.quota`: room under the parameter/option group quotas.

use crate::domain::checks::support::declared::declared;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).rds_group_quota_ok,
        "RDS parameter- and option-group quotas leave room for the groups Defender creates",
        "rds_group_quota_ok",
        "compare rds:DescribeDBParameterGroups / DescribeOptionGroups counts with Service Quotas",
    )
}

/// `oss.quota`: room under the parameter/option group quotas.
pub static CHECK: Check = Check {
    id: "oss.quota",
    plan: Plan::Oss,
    title: "Parameter/option group quotas leave room for Defender's groups (advisory)",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[Trigger::Periodic],
    remediation: "Delete unused parameter/option groups or raise the RDS quotas when Defender reports it failed to \
        create a parameter or option group.",
    permissions: &[
        "rds:DescribeDBParameterGroups",
        "rds:DescribeOptionGroups",
        "servicequotas:GetServiceQuota",
    ],
    inferred: false,
    gating: false,
    outcomes: &[C, NC, U],
    evaluate,
};

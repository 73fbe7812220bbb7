//! `oss.role`: the DataThreatProtectionDB role exists with its 18 RDS actions.

use crate::domain::checks::support::roles::{
    account_roles_outcome, role_item_outcome, RoleRequirement, ROLE_PERMISSIONS, ROLE_TRIGGERS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::model::types::iam;
use crate::domain::model::{IamRole, Resource};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

/// The 18 RDS actions the role needs (enable-defender-for-databases-aws).
const OSS_ACTIONS: &[&str] = &[
    "rds:AddTagsToResource",
    "rds:DescribeDBClusterParameters",
    "rds:CreateDBParameterGroup",
    "rds:ModifyOptionGroup",
    "rds:DescribeDBLogFiles",
    "rds:DescribeDBParameterGroups",
    "rds:CreateOptionGroup",
    "rds:ModifyDBParameterGroup",
    "rds:DownloadDBLogFilePortion",
    "rds:DescribeDBInstances",
    "rds:ModifyDBClusterParameterGroup",
    "rds:ModifyDBInstance",
    "rds:ModifyDBCluster",
    "rds:DescribeDBParameters",
    "rds:CreateDBClusterParameterGroup",
    "rds:DescribeDBClusters",
    "rds:DescribeDBClusterParameterGroups",
    "rds:DescribeOptionGroups",
];

fn role_actions(role: &IamRole) -> Option<String> {
    let missing: Vec<&str> = OSS_ACTIONS.iter().copied().filter(|a| !role.inline_allows(a)).collect();
    if missing.is_empty() || !role.attached_managed_policies.is_empty() {
        // Managed policy documents are not in the item: only inline policies can prove a gap.
        return None;
    }
    Some(format!("its policies do not allow {}", missing.join(", ")))
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let names = [ctx.settings.roles.oss_threat_protection.clone()];
    let reqs = [RoleRequirement {
        what: "database threat protection",
        names: &names,
    }];
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, role_actions),
        _ => role_item_outcome(ctx, &reqs, role_actions),
    }
}

/// `oss.role`: the DataThreatProtectionDB role exists with its 18 RDS actions.
pub static CHECK: Check = Check {
    id: "oss.role",
    plan: Plan::Oss,
    title: "DefenderForCloud-DataThreatProtectionDB role exists with its RDS permissions",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Update the connector's CloudFormation stack after enabling the plan: it creates \
        DefenderForCloud-DataThreatProtectionDB with the 18 rds:* actions Defender needs to manage parameter and \
        option groups and read logs.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

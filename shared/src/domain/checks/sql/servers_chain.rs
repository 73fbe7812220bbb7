//! `sql.servers-chain`: the Defender for Servers prerequisites hold on the SQL host.

use crate::domain::checks::support::sql_host::{chain, sql_instance};
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, iam, ssm};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let _ = or_return!(sql_instance(ctx));
    chain(ctx)
}

/// `sql.servers-chain`: the Defender for Servers prerequisites hold on the SQL host.
pub static CHECK: Check = Check {
    id: "sql.servers-chain",
    plan: Plan::Sql,
    title: "Servers prerequisites (profile, SSM policy, agent, network) hold on the SQL host",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
        Trigger::ConfigChange(ec2::VPC_ENDPOINT.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Fix the failing Defender for Servers checks named in the annotation: the Arc agent that Defender \
        for SQL relies on comes from the Servers auto-provisioning pipeline.",
    permissions: &[
        "ec2:DescribeInstances",
        "iam:GetInstanceProfile",
        "ssm:DescribeInstanceInformation",
        "ec2:DescribeRouteTables",
    ],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

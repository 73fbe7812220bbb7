//! `sql.target`: whether the instance runs SQL Server (scope of the SQL plan).

use crate::domain::checks::support::sql_host::sql_instance;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, ssm};
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (_, why) = or_return!(sql_instance(ctx));
    Outcome::compliant(format!("SQL Server detected: {why}"))
}

/// `sql.target`: whether the instance runs SQL Server (scope of the SQL plan).
pub static CHECK: Check = Check {
    id: "sql.target",
    plan: Plan::Sql,
    title: "Instance runs SQL Server (in Defender for SQL's scope)",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
    ],
    remediation: "Nothing to fix: instances without SQL Server are NOT_APPLICABLE. Detection through platformDetails, \
        SSM inventory or the tag in settings sql.target_tag is inferred.",
    permissions: &["ssm:ListInventoryEntries"],
    inferred: true,
    gating: true,
    outcomes: &[C, NA, U],
    evaluate,
};

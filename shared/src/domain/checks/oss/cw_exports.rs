//! `oss.cw-exports`: informational only.

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::vocab::Compliance::{InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (db, _) = or_return!(instance(ctx));
    let exports = if db.enabled_cloudwatch_logs_exports.is_empty() {
        "none".to_owned()
    } else {
        db.enabled_cloudwatch_logs_exports.join(", ")
    };
    Outcome::not_applicable(format!(
        "informational, not a prerequisite: Defender reads logs through the RDS log-file APIs (CloudWatch exports: {exports})"
    ))
}

/// `oss.cw-exports`: informational only.
pub static CHECK: Check = Check {
    id: "oss.cw-exports",
    plan: Plan::Oss,
    title: "CloudWatch log exports (informational, not a prerequisite)",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Nothing to fix: Defender reads database logs with rds:DownloadDBLogFilePortion, not from \
        CloudWatch. That exports are not needed is inferred from the role's permissions.",
    permissions: &["rds:DescribeDBInstances"],
    inferred: true,
    gating: false,
    outcomes: &[NA, U],
    evaluate,
};

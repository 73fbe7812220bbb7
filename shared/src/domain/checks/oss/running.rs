//! `oss.running`: the instance is available.

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::support::RDS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (db, _) = or_return!(instance(ctx));
    match db.db_instance_status.as_deref() {
        Some("available") => Outcome::compliant("instance is available"),
        Some(
            s @ ("stopped"
            | "stopping"
            | "storage-full"
            | "failed"
            | "inaccessible-encryption-credentials"
            | "incompatible-parameters"
            | "incompatible-network"
            | "incompatible-option-group"
            | "restore-error"),
        ) => Outcome::non_compliant(format!(
            "instance is {s}: Defender cannot apply or read its audit configuration"
        )),
        Some(s) => Outcome::unknown(format!("instance is {s} (transitional)")),
        None => Outcome::unknown("dBInstanceStatus is not in the configuration item"),
    }
}

/// `oss.running`: the instance is available.
pub static CHECK: Check = Check {
    id: "oss.running",
    plan: Plan::Oss,
    title: "DB instance is available (not stopped)",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(rds::DB_INSTANCE.name),
        Trigger::CloudTrail(RDS, "StopDBInstance"),
        Trigger::CloudTrail(RDS, "StartDBInstance"),
        Trigger::CloudTrail(RDS, "StopDBCluster"),
    ],
    remediation:
        "Start the instance (aws rds start-db-instance) so Defender can apply its parameter and option groups.",
    permissions: &["rds:DescribeDBInstances"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

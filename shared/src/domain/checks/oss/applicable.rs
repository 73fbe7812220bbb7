//! `oss.applicable`: the instance's engine and region are supported.

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (db, engine) = or_return!(instance(ctx));
    let replica = if db.read_replica_source.is_some() {
        " (read replica, evaluated on its own)"
    } else {
        ""
    };
    Outcome::compliant(format!(
        "{engine} in {} is in the plan's scope{replica}",
        ctx.item.region
    ))
}

/// `oss.applicable`: the instance's engine and region are supported.
pub static CHECK: Check = Check {
    id: "oss.applicable",
    plan: Plan::Oss,
    title: "DB instance engine and region are supported",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Nothing to fix: other engines and the excluded regions (il-central-1, eu-south-1, ap-southeast-3, \
        eu-south-2, me-south-1) are NOT_APPLICABLE. The Config engine strings are inferred (oss.engines).",
    permissions: &["rds:DescribeDBInstances"],
    inferred: true,
    gating: true,
    outcomes: &[C, NA, U],
    evaluate,
};

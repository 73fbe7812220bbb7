//! `oss.multiaz-cluster`: Multi-AZ DB clusters (readable standbys) are unsupported.

use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{Compliant as C, InsufficientData as U, NotApplicable as NA};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let Resource::RdsCluster(c) = &ctx.item.resource else {
        return Outcome::not_applicable("not an RDS DB cluster");
    };
    match c.engine.as_deref() {
        Some(e) if e.starts_with("aurora") => Outcome::compliant(format!(
            "Aurora cluster ({e}): its instances are evaluated individually"
        )),
        Some(e @ ("mysql" | "postgres")) => Outcome::not_applicable(format!(
            "Multi-AZ DB cluster with readable standbys ({e}) is not supported by the plan"
        )),
        Some(e) => Outcome::not_applicable(format!("engine {e} is not supported by the plan")),
        None => Outcome::unknown("engine is not in the configuration item"),
    }
}

/// `oss.multiaz-cluster`: Multi-AZ DB clusters (readable standbys) are unsupported.
pub static CHECK: Check = Check {
    id: "oss.multiaz-cluster",
    plan: Plan::Oss,
    title: "DB cluster is Aurora (Multi-AZ DB clusters are unsupported)",
    resource_types: &[rds::DB_CLUSTER.name],
    triggers: &[Trigger::ConfigChange(rds::DB_CLUSTER.name)],
    remediation: "Nothing to fix: Multi-AZ DB clusters with readable standbys are not protected; use Aurora or \
        Multi-AZ DB instances. Telling them apart by a non-Aurora engine on AWS::RDS::DBCluster is inferred.",
    permissions: &["rds:DescribeDBClusters"],
    inferred: true,
    gating: true,
    outcomes: &[C, NA, U],
    evaluate,
};

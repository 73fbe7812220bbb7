//! `oss.param-in-sync`: parameter and option groups are applied (no pending reboot).

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::support::RDS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (db, engine) = or_return!(instance(ctx));
    if db.db_parameter_groups.is_empty() {
        return Outcome::unknown("dBParameterGroups is not in the configuration item");
    }
    let mut problems = Vec::new();
    let mut pending = false;
    for g in &db.db_parameter_groups {
        let name = g.name.as_deref().unwrap_or("?");
        match g.parameter_apply_status.as_deref() {
            Some("in-sync") | None => {}
            Some(s) => {
                pending = true;
                problems.push(format!("parameter group {name} is {s}"));
            }
        }
        if ctx.settings.oss.default_group_is_blocker && name.starts_with("default.") && !engine.starts_with("aurora") {
            problems.push(format!(
                "still on default parameter group {name}, which cannot be changed: attach a custom group \
                 (Defender creates defenderfordatabases*)"
            ));
        }
    }
    for og in &db.option_group_memberships {
        match og.status.as_deref() {
            Some("in-sync") | None => {}
            Some(s) => problems.push(format!("option group {} is {s}", og.name.as_deref().unwrap_or("?"))),
        }
    }
    if let Some(cluster_id) = db.db_cluster_identifier.as_deref() {
        let ident = db.db_instance_identifier.as_deref().unwrap_or(&ctx.item.resource_id);
        if let Some(Resource::RdsCluster(c)) = ctx
            .graph
            .rds_cluster(&ctx.item.account_id, &ctx.item.region, cluster_id)
            .map(|i| &i.resource)
        {
            if let Some(m) = c.members.iter().find(|m| {
                m.instance_identifier
                    .as_deref()
                    .is_some_and(|i| i.eq_ignore_ascii_case(ident))
            }) {
                match m.parameter_group_status.as_deref() {
                    Some("in-sync") | None => {}
                    Some(s) => {
                        pending = true;
                        problems.push(format!(
                            "cluster parameter group of {cluster_id} is {s} on this instance"
                        ));
                    }
                }
            }
            if ctx.settings.oss.default_group_is_blocker {
                if let Some(pg) = c.parameter_group.as_deref().filter(|p| p.starts_with("default.")) {
                    problems.push(format!(
                        "cluster {cluster_id} still on default cluster parameter group {pg}"
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Outcome::compliant("parameter and option groups in sync")
    } else if pending {
        Outcome::non_compliant(format!("{} (reboot to apply pending changes)", problems.join("; ")))
    } else {
        Outcome::non_compliant(problems.join("; "))
    }
}

/// `oss.param-in-sync`: parameter and option groups are applied (no pending reboot).
pub static CHECK: Check = Check {
    id: "oss.param-in-sync",
    plan: Plan::Oss,
    title: "Parameter and option groups are applied and not the defaults",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(rds::DB_INSTANCE.name),
        Trigger::ConfigChange(rds::DB_CLUSTER.name),
        Trigger::CloudTrail(RDS, "ModifyDBInstance"),
        Trigger::CloudTrail(RDS, "RebootDBInstance"),
        Trigger::CloudTrail(RDS, "ModifyDBCluster"),
    ],
    remediation: "A pending group change: reboot the instance (aws rds reboot-db-instance). Still on a default.* \
        parameter group (instance or cluster): a default group cannot be changed, so let Defender attach its \
        defenderfordatabases* group (it needs the DefenderForCloud-DataThreatProtectionDB role) or attach a custom \
        group with the audit settings, then reboot. Treating a remaining default.* group as a blocker is inferred \
        (oss.default_group_is_blocker).",
    permissions: &["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

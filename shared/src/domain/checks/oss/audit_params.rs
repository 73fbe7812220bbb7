//! `oss.audit-params`: the engine's audit logging is configured.

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::support::RDS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

fn contains_token(list: Option<&String>, token: &str) -> bool {
    list.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (db, engine) = or_return!(instance(ctx));
    if engine == "postgres" || engine == "aurora-postgresql" {
        let Some(p) = &db.live_parameters else {
            return Outcome::unknown("parameter values need rds:DescribeDBParameters (live scan)");
        };
        let off: Vec<&str> = ["log_connections", "log_disconnections"]
            .into_iter()
            .filter(|k| p.get(*k).map(String::as_str) != Some("1"))
            .collect();
        return if off.is_empty() {
            Outcome::compliant("log_connections and log_disconnections are 1")
        } else {
            Outcome::non_compliant(format!("{} not set to 1", off.join(", ")))
        };
    }
    if engine.starts_with("aurora") {
        let Some(p) = &db.live_parameters else {
            return Outcome::unknown("cluster parameter values need rds:DescribeDBClusterParameters (live scan)");
        };
        let mut problems = Vec::new();
        if p.get("server_audit_logging").map(String::as_str) != Some("1") {
            problems.push("server_audit_logging is not 1".to_owned());
        }
        for ev in ["CONNECT", "QUERY"] {
            if !contains_token(p.get("server_audit_events"), ev) {
                problems.push(format!("server_audit_events lacks {ev}"));
            }
        }
        if !contains_token(p.get("server_audit_excl_users"), "rdsadmin") {
            problems.push("server_audit_excl_users lacks rdsadmin".to_owned());
        }
        return if problems.is_empty() {
            Outcome::compliant("Aurora MySQL advanced auditing configured")
        } else {
            Outcome::non_compliant(problems.join("; "))
        };
    }
    // mysql, mariadb: MARIADB_AUDIT_PLUGIN in an option group.
    let mut unknown_groups = Vec::new();
    for m in &db.option_group_memberships {
        let Some(name) = m.name.as_deref() else { continue };
        let Some(og_item) = ctx.graph.option_group(&ctx.item.account_id, &ctx.item.region, name) else {
            unknown_groups.push(name);
            continue;
        };
        let Resource::RdsOptionGroup(og) = &og_item.resource else {
            continue;
        };
        let Some(plugin) = og
            .option_configurations
            .iter()
            .find(|o| o.option_name.as_deref() == Some("MARIADB_AUDIT_PLUGIN"))
        else {
            continue;
        };
        let setting = |n: &str| {
            plugin
                .option_settings
                .iter()
                .find(|s| s.name.as_deref() == Some(n))
                .and_then(|s| s.value.as_ref())
        };
        let mut problems = Vec::new();
        if !contains_token(setting("SERVER_AUDIT_EVENTS"), "CONNECT") {
            problems.push("SERVER_AUDIT_EVENTS lacks CONNECT");
        }
        let incl = setting("SERVER_AUDIT_INCL_USERS").filter(|v| !v.trim().is_empty());
        if incl.is_none() && !contains_token(setting("SERVER_AUDIT_EXCL_USERS"), "rdsadmin") {
            problems.push("SERVER_AUDIT_EXCL_USERS lacks rdsadmin");
        }
        return if problems.is_empty() {
            Outcome::compliant(format!("option group {name} has MARIADB_AUDIT_PLUGIN configured"))
        } else {
            Outcome::non_compliant(format!("option group {name}: {}", problems.join("; ")))
        };
    }
    if !unknown_groups.is_empty() {
        return Outcome::unknown(format!(
            "option group(s) {} not in the input (record AWS::RDS::OptionGroup)",
            unknown_groups.join(", ")
        ));
    }
    Outcome::non_compliant("no option group with MARIADB_AUDIT_PLUGIN is attached")
}

/// `oss.audit-params`: the engine's audit logging is configured.
pub static CHECK: Check = Check {
    id: "oss.audit-params",
    plan: Plan::Oss,
    title: "Audit parameters or MARIADB_AUDIT_PLUGIN are configured",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(rds::OPTION_GROUP.name),
        Trigger::ConfigChange(rds::DB_INSTANCE.name),
        Trigger::CloudTrail(RDS, "ModifyDBParameterGroup"),
        Trigger::CloudTrail(RDS, "ResetDBParameterGroup"),
        Trigger::CloudTrail(RDS, "ModifyDBClusterParameterGroup"),
        Trigger::CloudTrail(RDS, "ResetDBClusterParameterGroup"),
        Trigger::CloudTrail(RDS, "ModifyOptionGroup"),
    ],
    remediation: "Let Defender configure them (it needs the DefenderForCloud-DataThreatProtectionDB role): \
        PostgreSQL log_connections=1 and log_disconnections=1; Aurora MySQL server_audit_logging=1, \
        server_audit_events ⊇ CONNECT,QUERY, server_audit_excl_users ∋ rdsadmin; MySQL/MariaDB option group with \
        MARIADB_AUDIT_PLUGIN, SERVER_AUDIT_EVENTS ∋ CONNECT, SERVER_AUDIT_EXCL_USERS ∋ rdsadmin. Reboot if needed.",
    permissions: &[
        "rds:DescribeDBParameters",
        "rds:DescribeDBClusterParameters",
        "rds:DescribeOptionGroups",
    ],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

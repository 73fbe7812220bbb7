//! Defender for open-source relational databases (RDS PostgreSQL, MySQL, MariaDB and Aurora).

use super::cspm::{ROLE_PERMISSIONS, ROLE_TRIGGERS};
use super::{
    account_roles_outcome, declared, role_item_outcome, version_at_least, version_parts, Check, Compliance, Ctx,
    Outcome, RoleRequirement, Trigger,
};
use crate::domain::model::{IamRole, RdsInstance, Resource};
use crate::domain::vocab::Plan;

use crate::domain::model::types::{iam, rds};
use crate::domain::vocab::ACCOUNT_TYPE;
use Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA};

const RDS: &str = "rds.amazonaws.com";

fn instance<'a>(ctx: &Ctx<'a>) -> Result<(&'a RdsInstance, &'a str), Outcome> {
    let Resource::RdsInstance(db) = &ctx.item.resource else {
        return Err(Outcome::not_applicable("not an RDS DB instance"));
    };
    let Some(engine) = db.engine.as_deref() else {
        return Err(Outcome::unknown("engine is not in the configuration item"));
    };
    let s = &ctx.settings.oss;
    if !s.engines.iter().any(|e| e == engine) {
        return Err(Outcome::not_applicable(format!(
            "engine {engine} is not supported by the plan"
        )));
    }
    if s.excluded_regions.contains(&ctx.item.region) {
        return Err(Outcome::not_applicable(format!(
            "the plan is not available in {}",
            ctx.item.region
        )));
    }
    Ok((db, engine))
}

fn applicable(ctx: &Ctx<'_>) -> Outcome {
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
pub static APPLICABLE: Check = Check {
    id: "oss.applicable",
    plan: Plan::Oss,
    title: "DB instance engine and region are supported",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Nothing to fix: other engines and the excluded regions (il-central-1, eu-south-1, ap-southeast-3, \
        eu-south-2, me-south-1) are NOT_APPLICABLE. The Config engine strings are inferred (oss.engines).",
    permissions: &["rds:DescribeDBInstances"],
    inferred: true,
    outcomes: &[C, NA, U],
    evaluate: applicable,
};

fn multiaz_cluster(ctx: &Ctx<'_>) -> Outcome {
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
pub static MULTIAZ_CLUSTER: Check = Check {
    id: "oss.multiaz-cluster",
    plan: Plan::Oss,
    title: "DB cluster is Aurora (Multi-AZ DB clusters are unsupported)",
    resource_types: &[rds::DB_CLUSTER.name],
    triggers: &[Trigger::ConfigChange(rds::DB_CLUSTER.name)],
    remediation: "Nothing to fix: Multi-AZ DB clusters with readable standbys are not protected; use Aurora or \
        Multi-AZ DB instances. Telling them apart by a non-Aurora engine on AWS::RDS::DBCluster is inferred.",
    permissions: &["rds:DescribeDBClusters"],
    inferred: true,
    outcomes: &[C, NA, U],
    evaluate: multiaz_cluster,
};

fn running(ctx: &Ctx<'_>) -> Outcome {
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
pub static RUNNING: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: running,
};

fn param_in_sync(ctx: &Ctx<'_>) -> Outcome {
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
                "still on default parameter group {name} (Defender creates defenderfordatabases*)"
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
pub static PARAM_IN_SYNC: Check = Check {
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
    remediation: "Reboot the instance to apply pending parameter-group changes (aws rds reboot-db-instance). Treating \
        a remaining default.* group as a blocker is inferred (oss.default_group_is_blocker).",
    permissions: &["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    inferred: true,
    outcomes: &[C, NC, NA, U],
    evaluate: param_in_sync,
};

fn contains_token(list: Option<&String>, token: &str) -> bool {
    list.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

fn audit_params(ctx: &Ctx<'_>) -> Outcome {
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
        if incl.is_none() && !contains_token(setting("SERVER_AUDIT_EXCL_USER"), "rdsadmin") {
            problems.push("SERVER_AUDIT_EXCL_USER lacks rdsadmin");
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
pub static AUDIT_PARAMS: Check = Check {
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
        MARIADB_AUDIT_PLUGIN, SERVER_AUDIT_EVENTS ∋ CONNECT, SERVER_AUDIT_EXCL_USER ∋ rdsadmin. Reboot if needed.",
    permissions: &[
        "rds:DescribeDBParameters",
        "rds:DescribeDBClusterParameters",
        "rds:DescribeOptionGroups",
    ],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: audit_params,
};

fn plugin_version(ctx: &Ctx<'_>) -> Outcome {
    let (db, engine) = or_return!(instance(ctx));
    let s = &ctx.settings.oss;
    let min = match engine {
        "mysql" => &s.mysql_min_80,
        "mariadb" => &s.mariadb_min,
        _ => return Outcome::not_applicable(format!("{engine} does not use MARIADB_AUDIT_PLUGIN")),
    };
    let Some(v) = db.engine_version.as_deref() else {
        return Outcome::unknown("engineVersion is not in the configuration item");
    };
    let (Some(have), Some(want)) = (version_parts(v), version_parts(min)) else {
        return Outcome::unknown(format!("engine version `{v}` could not be read"));
    };
    let ok = if engine == "mysql" && have.starts_with(&[5, 7]) {
        true
    } else {
        version_at_least(&have, &want)
    };
    if ok {
        Outcome::compliant(format!("{engine} {v} supports MARIADB_AUDIT_PLUGIN"))
    } else {
        Outcome::non_compliant(format!(
            "{engine} {v} does not support MARIADB_AUDIT_PLUGIN (needs {}{min})",
            if engine == "mysql" { "5.7 or " } else { "" }
        ))
    }
}

/// `oss.plugin-version`: MySQL/MariaDB versions support the audit plugin.
pub static PLUGIN_VERSION: Check = Check {
    id: "oss.plugin-version",
    plan: Plan::Oss,
    title: "MySQL/MariaDB version supports MARIADB_AUDIT_PLUGIN",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Upgrade MySQL to 5.7 or 8.0.28+ (AWS's figure; Microsoft says 8.0.25+) or MariaDB to 10.3+ \
        (Microsoft says 10.2+). Thresholds are configurable (oss.mysql_min_80, oss.mariadb_min).",
    permissions: &["rds:DescribeDBInstances"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: plugin_version,
};

fn quota(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).rds_group_quota_ok,
        "RDS parameter- and option-group quotas leave room for the groups Defender creates",
        "rds_group_quota_ok",
        "compare rds:DescribeDBParameterGroups / DescribeOptionGroups counts with Service Quotas",
    )
}

/// `oss.quota`: room under the parameter/option group quotas.
pub static QUOTA: Check = Check {
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
    outcomes: &[C, NC, U],
    evaluate: quota,
};

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

fn role(ctx: &Ctx<'_>) -> Outcome {
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
pub static ROLE: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: role,
};

fn cw_exports(ctx: &Ctx<'_>) -> Outcome {
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
pub static CW_EXPORTS: Check = Check {
    id: "oss.cw-exports",
    plan: Plan::Oss,
    title: "CloudWatch log exports (informational, not a prerequisite)",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Nothing to fix: Defender reads database logs with rds:DownloadDBLogFilePortion, not from \
        CloudWatch. That exports are not needed is inferred from the role's permissions.",
    permissions: &["rds:DescribeDBInstances"],
    inferred: true,
    outcomes: &[NA, U],
    evaluate: cw_exports,
};

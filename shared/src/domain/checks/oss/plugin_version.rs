//! `oss.plugin-version`: MySQL/MariaDB versions support the audit plugin.

use crate::domain::checks::support::rds::instance;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::rds;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{version_at_least, version_parts, Plan};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
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
pub static CHECK: Check = Check {
    id: "oss.plugin-version",
    plan: Plan::Oss,
    title: "MySQL/MariaDB version supports MARIADB_AUDIT_PLUGIN",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[Trigger::ConfigChange(rds::DB_INSTANCE.name)],
    remediation: "Upgrade MySQL to 5.7 or 8.0.28+ (AWS's figure; Microsoft says 8.0.25+) or MariaDB to 10.3+ \
        (Microsoft says 10.2+). Thresholds are configurable (oss.mysql_min_80, oss.mariadb_min).",
    permissions: &["rds:DescribeDBInstances"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

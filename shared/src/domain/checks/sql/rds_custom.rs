//! `sql.rds-custom`: the EC2 host of an RDS Custom for SQL Server instance passes the Servers chain.

use crate::domain::checks::support::ec2::{ec2_instance, scope};
use crate::domain::checks::support::sql_host::chain;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, rds};
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let Resource::RdsInstance(db) = &ctx.item.resource else {
        return Outcome::not_applicable("not an RDS DB instance");
    };
    let engine = db.engine.as_deref().unwrap_or_default();
    if !engine.starts_with("custom-sqlserver-") {
        return Outcome::not_applicable(format!("engine {engine} is not RDS Custom for SQL Server"));
    }
    let ident = db.db_instance_identifier.as_deref().unwrap_or(&ctx.item.resource_id);
    let host_name = format!("{}{ident}", ctx.settings.sql.rds_custom_host_name_prefix);
    let Some(host) = ctx
        .graph
        .instance_by_name(&ctx.item.account_id, &ctx.item.region, &host_name)
    else {
        return Outcome::unknown(format!(
            "RDS Custom host not found (no EC2 instance tagged Name={host_name}; the naming is inferred, set \
             sql.rds_custom_host_name_prefix)"
        ));
    };
    let hctx = ctx.with_item(host);
    if let Some(o) = ec2_instance(&hctx).and_then(|i| scope(&hctx, i)) {
        return Outcome::unknown(format!("RDS Custom host {}: {}", host.resource_id, o.annotation));
    }
    let o = chain(&hctx);
    Outcome {
        compliance: o.compliance,
        annotation: format!("host {}: {}", host.resource_id, o.annotation),
    }
}

/// `sql.rds-custom`: the EC2 host of an RDS Custom for SQL Server instance passes the Servers chain.
pub static CHECK: Check = Check {
    id: "sql.rds-custom",
    plan: Plan::Sql,
    title: "RDS Custom for SQL Server host passes the Servers prerequisites",
    resource_types: &[rds::DB_INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(rds::DB_INSTANCE.name),
        Trigger::ConfigChange(ec2::INSTANCE.name),
    ],
    remediation: "Give the RDS Custom host EC2 instance an instance profile with AmazonSSMManagedInstanceCore and a \
        path to SSM. Finding the host through its Name tag is inferred (sql.rds_custom_host_name_prefix).",
    permissions: &["rds:DescribeDBInstances", "ec2:DescribeInstances"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

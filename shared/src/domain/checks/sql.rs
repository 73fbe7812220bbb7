//! Defender for SQL on EC2 and RDS Custom: needs the Servers pipeline (Arc comes from it).

use super::servers::{self, ec2, os_of};
use super::{Check, Compliance, Ctx, Outcome, Trigger};
use crate::domain::model::{Ec2Instance, Resource};
use crate::domain::vocab::Plan;

use crate::domain::model::types::{ec2, iam, rds, ssm};
use Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA};

/// Why the instance runs SQL Server, if it does.
fn sql_evidence(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<String> {
    if inst
        .platform_details
        .as_deref()
        .is_some_and(|p| p.contains("SQL Server"))
    {
        return Some(format!(
            "platformDetails `{}`",
            inst.platform_details.as_deref().unwrap_or_default()
        ));
    }
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    if let Some(app) = sql_application(ctx, id) {
        return Some(format!("SSM inventory lists {}", app.0));
    }
    let tag = &ctx.settings.sql.target_tag;
    ctx.item.tags.contains_key(tag).then(|| format!("tag {tag}"))
}

/// The SQL Server application (name, version) SSM inventory lists for the instance.
fn sql_application(ctx: &Ctx<'_>, instance_id: &str) -> Option<(String, Option<String>)> {
    let inv = ctx.graph.inventory_for(instance_id)?;
    let Resource::SsmInventory(inv) = &inv.resource else {
        return None;
    };
    inv.applications()
        .iter()
        .find(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.starts_with("Microsoft SQL Server") && !n.contains("Management Studio"))
        })
        .map(|a| (a.name.clone().unwrap_or_default(), a.version.clone()))
}

/// The in-scope SQL instance, or the outcome to report instead.
fn sql_instance<'a>(ctx: &Ctx<'a>) -> Result<(&'a Ec2Instance, String), Outcome> {
    let inst = ec2(ctx).ok_or_else(|| Outcome::not_applicable("not an EC2 instance"))?;
    if let Some(o) = servers::scope(ctx, inst) {
        return Err(o);
    }
    match sql_evidence(ctx, inst) {
        Some(why) => Ok((inst, why)),
        None => Err(Outcome::not_applicable(
            "no SQL Server detected (platformDetails, SSM inventory or tag)",
        )),
    }
}

fn target(ctx: &Ctx<'_>) -> Outcome {
    let (_, why) = or_return!(sql_instance(ctx));
    Outcome::compliant(format!("SQL Server detected: {why}"))
}

/// `sql.target`: whether the instance runs SQL Server (scope of the SQL plan).
pub static TARGET: Check = Check {
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
    outcomes: &[C, NA, U],
    evaluate: target,
};

fn os_version(ctx: &Ctx<'_>) -> Outcome {
    let (inst, _) = or_return!(sql_instance(ctx));
    let Some(os) = os_of(ctx, inst) else {
        return Outcome::unknown("the operating system is not in the input");
    };
    if !os.windows {
        return Outcome::non_compliant(format!(
            "{}: Defender for SQL on machines supports SQL Server on Windows only",
            os.name
        ));
    }
    match os.windows_year {
        Some(y) if y < 2012 || (y == 2012 && !os.r2) => {
            return Outcome::non_compliant(format!("{} is older than Windows Server 2012 R2", os.name));
        }
        Some(_) => {}
        None => return Outcome::unknown(format!("{}: Windows version not known (needs SSM inventory)", os.name)),
    }
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    match sql_application(ctx, id) {
        Some((name, version)) => {
            let major = version
                .as_deref()
                .and_then(crate::domain::vocab::version_parts)
                .and_then(|v| v.first().copied());
            match major {
                // SQL Server 2012 is version 11.
                Some(m) if m < 11 => Outcome::non_compliant(format!("{name} is older than SQL Server 2012")),
                _ => Outcome::compliant(format!("{} with {name}", os.name)),
            }
        }
        None => Outcome::compliant(format!("{} (SQL Server version from inventory not available)", os.name)),
    }
}

/// `sql.os-version`: Windows Server 2012 R2+ with SQL Server 2012+.
pub static OS_VERSION: Check = Check {
    id: "sql.os-version",
    plan: Plan::Sql,
    title: "SQL Server runs on Windows Server 2012 R2+ and is SQL Server 2012+",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
    ],
    remediation: "Upgrade to Windows Server 2012 R2 or later and SQL Server 2012 or later; SQL Server on Linux is \
        not supported by Defender for SQL on machines.",
    permissions: &["ssm:DescribeInstanceInformation", "ssm:ListInventoryEntries"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: os_version,
};

/// The Servers prerequisites Arc needs, combined: NON_COMPLIANT if any is, unknown if any is.
fn chain(ctx: &Ctx<'_>) -> Outcome {
    let parts = [
        ("servers.instance-profile", servers::instance_profile(ctx)),
        ("servers.ssm-core-policy", servers::ssm_core_policy(ctx)),
        ("servers.ssm-agent-online", servers::ssm_agent_online(ctx)),
        ("servers.ssm-network", servers::ssm_network(ctx)),
    ];
    let failing: Vec<String> = parts
        .iter()
        .filter(|(_, o)| o.compliance == Compliance::NonCompliant)
        .map(|(id, o)| format!("{id}: {}", o.annotation))
        .collect();
    if !failing.is_empty() {
        return Outcome::non_compliant(format!(
            "Arc cannot come from the Servers pipeline: {}",
            failing.join("; ")
        ));
    }
    let unknown: Vec<&str> = parts
        .iter()
        .filter(|(_, o)| o.compliance != Compliance::Compliant)
        .map(|(id, _)| *id)
        .collect();
    if !unknown.is_empty() {
        return Outcome::unknown(format!("Servers prerequisites not verified: {}", unknown.join(", ")));
    }
    Outcome::compliant("instance profile, SSM core policy, SSM agent and SSM network are all in place")
}

fn servers_chain(ctx: &Ctx<'_>) -> Outcome {
    let _ = or_return!(sql_instance(ctx));
    chain(ctx)
}

/// `sql.servers-chain`: the Defender for Servers prerequisites hold on the SQL host.
pub static SERVERS_CHAIN: Check = Check {
    id: "sql.servers-chain",
    plan: Plan::Sql,
    title: "Servers prerequisites (profile, SSM policy, agent, network) hold on the SQL host",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
        Trigger::ConfigChange(ec2::VPC_ENDPOINT.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Fix the failing Defender for Servers checks named in the annotation: the Arc agent that Defender \
        for SQL relies on comes from the Servers auto-provisioning pipeline.",
    permissions: &[
        "ec2:DescribeInstances",
        "iam:GetInstanceProfile",
        "ssm:DescribeInstanceInformation",
        "ec2:DescribeRouteTables",
    ],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: servers_chain,
};

fn rds_custom(ctx: &Ctx<'_>) -> Outcome {
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
    if let Some(o) = ec2(&hctx).and_then(|i| servers::scope(&hctx, i)) {
        return Outcome::unknown(format!("RDS Custom host {}: {}", host.resource_id, o.annotation));
    }
    let o = chain(&hctx);
    Outcome {
        compliance: o.compliance,
        annotation: format!("host {}: {}", host.resource_id, o.annotation),
    }
}

/// `sql.rds-custom`: the EC2 host of an RDS Custom for SQL Server instance passes the Servers chain.
pub static RDS_CUSTOM: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: rds_custom,
};

fn egress(ctx: &Ctx<'_>) -> Outcome {
    let (inst, _) = or_return!(sql_instance(ctx));
    let facts = ctx.settings.facts_for(&ctx.item.account_id);
    let both = match (facts.arc_egress_allowed, facts.sql_egress_allowed) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    };
    servers::declared_egress(
        ctx,
        inst,
        both,
        &format!(
            "outbound 443 to the Arc endpoints and *.{}.arcdataservices.com (no Arc proxy)",
            ctx.item.region
        ),
        "sql_egress_allowed",
    )
}

/// `sql.egress`: the SQL host can reach Arc and the Arc data services.
pub static EGRESS: Check = Check {
    id: "sql.egress",
    plan: Plan::Sql,
    title: "SQL host can reach Azure Arc and *.<region>.arcdataservices.com",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::Periodic,
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Allow outbound 443 to the Azure Arc endpoints and *.<region>.arcdataservices.com without the Arc \
        proxy (unsupported for SQL), then declare facts.arc_egress_allowed and facts.sql_egress_allowed.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: egress,
};

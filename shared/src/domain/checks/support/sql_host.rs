//! SQL Server hosts: how an instance is known to run SQL Server, and the Servers prerequisites its Arc agent needs.

use crate::domain::checks::support::ec2::{ec2_instance, scope};
use crate::domain::checks::{Ctx, Outcome};
use crate::domain::model::{Ec2Instance, Resource};
use crate::domain::vocab::Compliance;

/// Why the instance runs SQL Server, if it does.
pub(crate) fn sql_evidence(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<String> {
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
pub(crate) fn sql_application(ctx: &Ctx<'_>, instance_id: &str) -> Option<(String, Option<String>)> {
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
        .map(|a| {
            (
                a.name.as_deref().unwrap_or_default().to_owned(),
                a.version.as_deref().map(str::to_owned),
            )
        })
}

/// The in-scope SQL instance, or the outcome to report instead.
pub(crate) fn sql_instance<'a>(ctx: &Ctx<'a>) -> Result<(&'a Ec2Instance, String), Outcome> {
    let inst = ec2_instance(ctx).ok_or_else(|| Outcome::not_applicable("not an EC2 instance"))?;
    if let Some(o) = scope(ctx, inst) {
        return Err(o);
    }
    match sql_evidence(ctx, inst) {
        Some(why) => Ok((inst, why)),
        None if ctx.graph.is_unreadable(
            crate::domain::model::types::ssm::INVENTORY.name,
            inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id),
        ) =>
        {
            Err(Outcome::unknown(
                "the instance's SSM inventory is in the input but could not be read, so whether SQL Server runs \
                 here is not known",
            ))
        }
        None => Err(Outcome::not_applicable(
            "no SQL Server detected (platformDetails, SSM inventory or tag)",
        )),
    }
}

/// The Servers prerequisites Arc needs, combined: NON_COMPLIANT if any is, unknown if any is.
pub(crate) fn chain(ctx: &Ctx<'_>) -> Outcome {
    let parts = [
        (
            "servers.instance-profile",
            crate::domain::checks::servers::instance_profile::evaluate(ctx),
        ),
        (
            "servers.ssm-core-policy",
            crate::domain::checks::servers::ssm_core_policy::evaluate(ctx),
        ),
        (
            "servers.ssm-agent-online",
            crate::domain::checks::servers::ssm_agent_online::evaluate(ctx),
        ),
        (
            "servers.ssm-network",
            crate::domain::checks::servers::ssm_network::evaluate(ctx),
        ),
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

//! `servers.ssm-agent-online`: the SSM agent is registered and online.

use crate::domain::checks::support::ec2::instance_or_na;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, ssm};
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

fn status_outcome(status: &str, agent: Option<&str>) -> Outcome {
    let agent = agent.map(|a| format!(" (agent {a})")).unwrap_or_default();
    match status {
        "Online" | "Active" => Outcome::compliant(format!("SSM agent {status}{agent}")),
        "" => Outcome::non_compliant("instance is not registered with AWS Systems Manager"),
        s => Outcome::non_compliant(format!("SSM agent is {s}{agent}: Arc cannot be auto-provisioned")),
    }
}

/// An inventory item's status: `supplementaryConfiguration.instanceStatus`, else the content's
/// `InstanceStatus`. An inventory without either shows the instance is managed (an association
/// wrote it), not that the agent is online now; the annotation says which it is.
fn inventory_outcome(inv: &crate::domain::model::SsmInventory) -> Outcome {
    let info = inv.info();
    let agent = info.and_then(|i| i.agent_version.as_deref());
    let status = inv
        .instance_status
        .as_deref()
        .or(info.and_then(|i| i.instance_status.as_deref()));
    match status {
        Some(s) => status_outcome(s, agent),
        None => Outcome::compliant(format!(
            "an SSM inventory is recorded for this instance{}, so Systems Manager manages it (as AWS's \
             ec2-instance-managed-by-systems-manager rule judges); its current PingStatus is not in the item",
            agent.map(|a| format!(" (agent {a})")).unwrap_or_default()
        )),
    }
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    if let Resource::SsmInventory(inv) = &ctx.item.resource {
        return inventory_outcome(inv);
    }
    let inst = or_return!(instance_or_na(ctx));
    if let Some(ping) = inst.live.ssm_ping_status.as_deref() {
        return status_outcome(ping, None);
    }
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    match ctx.graph.inventory_for(id) {
        Some(inv_item) => match &inv_item.resource {
            Resource::SsmInventory(inv) => inventory_outcome(inv),
            _ => Outcome::unknown("SSM inventory could not be read"),
        },
        None => Outcome::unknown(
            "no SSM inventory item for this instance; its PingStatus needs ssm:DescribeInstanceInformation (a live \
             scan) or an SSM Inventory association recorded by Config",
        ),
    }
}

/// `servers.ssm-agent-online`: the SSM agent is registered and online.
pub static CHECK: Check = Check {
    id: "servers.ssm-agent-online",
    plan: Plan::Servers,
    title: "SSM agent is registered and online",
    resource_types: &[ec2::INSTANCE.name, ssm::INVENTORY.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
        Trigger::Periodic,
    ],
    remediation: "Install or start the SSM agent (preinstalled on most AWS AMIs), give the instance a role with \
        AmazonSSMManagedInstanceCore and a network path to SSM, then check Fleet Manager. Without SSM, Defender \
        cannot auto-provision the Azure Arc agent.",
    permissions: &["ssm:DescribeInstanceInformation"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

//! `servers.arc-egress`: the instance can reach Azure Arc.

use crate::domain::checks::support::ec2::{declared_egress, instance_or_na};
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    let fact = ctx.settings.facts_for(&ctx.item.account_id).arc_egress_allowed;
    declared_egress(
        ctx,
        inst,
        fact,
        "outbound 443 to the Azure Arc endpoints",
        "arc_egress_allowed",
    )
}

/// `servers.arc-egress`: the instance can reach Azure Arc.
pub static CHECK: Check = Check {
    id: "servers.arc-egress",
    plan: Plan::Servers,
    title: "Instance can reach the Azure Arc endpoints",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::Periodic,
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Allow outbound 443 to aka.ms, download.microsoft.com, packages.microsoft.com, login.windows.net, \
        login.microsoftonline.com, pas.windows.net, management.azure.com, *.his.arc.azure.com, \
        *.guestconfiguration.azure.com, *.guestnotificationservice.azure.com, azgn*.servicebus.windows.net and \
        *.blob.core.windows.net, then declare it with facts.arc_egress_allowed.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

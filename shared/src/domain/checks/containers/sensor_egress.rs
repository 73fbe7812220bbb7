//! `containers.sensor-egress`: nodes reach the Defender sensor endpoints.

use crate::domain::checks::support::declared::declared;
use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let _ = or_return!(cluster(ctx));
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).sensor_egress_allowed,
        "nodes reach *.cloud.defender.microsoft.com:443 and the Arc-enabled Kubernetes endpoints without a \
         TLS-inspecting proxy",
        "sensor_egress_allowed",
        "check the node subnets' routes and firewall",
    )
}

/// `containers.sensor-egress`: nodes reach the Defender sensor endpoints.
pub static CHECK: Check = Check {
    id: "containers.sensor-egress",
    plan: Plan::Containers,
    title: "Nodes reach *.cloud.defender.microsoft.com:443",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[Trigger::Periodic],
    remediation: "Allow outbound 443 from the nodes to *.cloud.defender.microsoft.com and the Arc-enabled Kubernetes \
        endpoints; a proxy with no or basic authentication works, a certificate-inspecting proxy does not.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

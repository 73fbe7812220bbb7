//! `containers.node-os`: node operating systems can run the Defender sensor.

use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::support::EKS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    let Some(types) = &c.live.nodegroup_ami_types else {
        return Outcome::unknown("node group AMI types need eks:ListNodegroups / eks:DescribeNodegroup (live scan)");
    };
    if types.is_empty() {
        return Outcome::unknown("no managed node groups (self-managed nodes are not visible to this check)");
    }
    let windows: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("WINDOWS"))
        .collect();
    if !windows.is_empty() {
        return Outcome::non_compliant(format!(
            "Windows node groups ({}) cannot run the Defender sensor",
            windows.join(", ")
        ));
    }
    let unverified: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("AL2023") || *t == "CUSTOM")
        .collect();
    if !unverified.is_empty() {
        return Outcome::unknown(format!(
            "sensor support unverified for {} (not in the support matrix)",
            unverified.join(", ")
        ));
    }
    let bottlerocket = types.iter().any(|t| t.starts_with("BOTTLEROCKET"));
    Outcome::compliant(if bottlerocket {
        format!(
            "node AMIs {} supported (Bottlerocket: Helm install only)",
            types.join(", ")
        )
    } else {
        format!("node AMIs {} supported", types.join(", "))
    })
}

/// `containers.node-os`: node operating systems can run the Defender sensor.
pub static CHECK: Check = Check {
    id: "containers.node-os",
    plan: Plan::Containers,
    title: "Node operating systems can run the Defender sensor",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::CloudTrail(EKS, "CreateNodegroup"),
        Trigger::CloudTrail(EKS, "UpdateNodegroupVersion"),
        Trigger::Periodic,
    ],
    remediation: "Run nodes on Amazon Linux 2 (kernel 5.4+), Bottlerocket (Helm install), Ubuntu 16.04–22.04, \
        Debian 10/11 or RHEL 8; Windows nodes are not supported and AL2023 is not listed.",
    permissions: &["eks:ListNodegroups", "eks:DescribeNodegroup"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

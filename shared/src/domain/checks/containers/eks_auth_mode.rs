//! `containers.eks-auth-mode`: the cluster accepts access entries.

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
    match c.access_config.as_ref().and_then(|a| a.authentication_mode.as_deref()) {
        Some(m @ ("API" | "API_AND_CONFIG_MAP")) => {
            Outcome::compliant(format!("authentication mode {m} allows access entries"))
        }
        Some(m) => Outcome::non_compliant(format!(
            "authentication mode {m}: access entries are unavailable (Defender switches it to API_AND_CONFIG_MAP if \
             permitted)"
        )),
        None => {
            Outcome::unknown("AccessConfig is not in the Config item: read it with eks:DescribeCluster (live scan)")
        }
    }
}

/// `containers.eks-auth-mode`: the cluster accepts access entries.
pub static CHECK: Check = Check {
    id: "containers.eks-auth-mode",
    plan: Plan::Containers,
    title: "EKS authentication mode allows access entries",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[Trigger::CloudTrail(EKS, "UpdateClusterConfig"), Trigger::Periodic],
    remediation: "aws eks update-cluster-config --name <cluster> --access-config authenticationMode=API_AND_CONFIG_MAP",
    permissions: &["eks:DescribeCluster"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

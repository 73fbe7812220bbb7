//! `containers.eks-version`: the cluster runs a vendor-supported Kubernetes version.

use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::support::EKS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{version_at_least, version_parts, Plan};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    let min = &ctx.settings.containers.min_eks_version;
    let Some(v) = c.version.as_deref() else {
        return Outcome::unknown("Version is not in the configuration item");
    };
    match (version_parts(v), version_parts(min)) {
        (Some(have), Some(want)) if version_at_least(&have, &want) => {
            Outcome::compliant(format!("EKS {v} is supported (oldest supported: {min})"))
        }
        (Some(_), Some(_)) => Outcome::non_compliant(format!(
            "EKS {v} is older than the oldest AWS-supported version {min}; Defender supports vendor-supported versions only"
        )),
        _ => Outcome::unknown(format!("EKS version `{v}` could not be read")),
    }
}

/// `containers.eks-version`: the cluster runs a vendor-supported Kubernetes version.
pub static CHECK: Check = Check {
    id: "containers.eks-version",
    plan: Plan::Containers,
    title: "EKS cluster runs a vendor-supported Kubernetes version",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::ConfigChange(eks::CLUSTER.name),
        Trigger::CloudTrail(EKS, "UpdateClusterVersion"),
    ],
    remediation: "Upgrade the cluster (aws eks update-cluster-version). The oldest supported version changes as AWS \
        retires versions: keep containers.min_eks_version current (default 1.31, inferred).",
    permissions: &["eks:DescribeCluster"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

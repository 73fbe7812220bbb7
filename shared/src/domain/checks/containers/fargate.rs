//! `containers.fargate`: advisory on Fargate profiles.

use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::NotApplicable as NA;
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let cluster = match &ctx.item.resource {
        Resource::EksFargateProfile(p) => p.cluster_name.clone().unwrap_or_default(),
        _ => return Outcome::not_applicable("not a Fargate profile"),
    };
    Outcome::not_applicable(format!(
        "advisory: pods of cluster {cluster} on Fargate cannot run the sensor DaemonSet; audit-log detections still apply"
    ))
}

/// `containers.fargate`: advisory on Fargate profiles.
pub static CHECK: Check = Check {
    id: "containers.fargate",
    plan: Plan::Containers,
    title: "Fargate pods are covered by audit-log detections only (advisory)",
    resource_types: &[eks::FARGATE_PROFILE.name],
    triggers: &[Trigger::ConfigChange(eks::FARGATE_PROFILE.name)],
    remediation: "Nothing to fix: run workloads that need runtime protection on EC2 nodes. The Fargate limitation is \
        inferred from the sensor being a DaemonSet.",
    permissions: &["eks:DescribeFargateProfile"],
    inferred: true,
    gating: false,
    outcomes: &[NA],
    evaluate,
};

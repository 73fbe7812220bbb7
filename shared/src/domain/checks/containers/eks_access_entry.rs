//! `containers.eks-access-entry`: Defender's discovery role has an access entry.

use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::support::EKS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

fn has_role(principals: &[String], names: &[String]) -> bool {
    principals.iter().any(|arn| {
        names
            .iter()
            .any(|n| arn.rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(n)))
    })
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    if !ctx.settings.features.k8s_api_access {
        return Outcome::not_applicable("Kubernetes API access is not declared (settings features.k8s_api_access)");
    }
    let names = &ctx.settings.roles.containers_k8s_discovery;
    match &c.live.access_entry_principals {
        Some(p) if has_role(p, names) => Outcome::compliant(format!("access entry for {} present", names.join(" or "))),
        Some(_) => Outcome::non_compliant(format!("no access entry for {} on the cluster", names.join(" or "))),
        None => Outcome::unknown("access entries need eks:ListAccessEntries (live scan)"),
    }
}

/// `containers.eks-access-entry`: Defender's discovery role has an access entry.
pub static CHECK: Check = Check {
    id: "containers.eks-access-entry",
    plan: Plan::Containers,
    title: "Defender's discovery role has an EKS access entry",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::CloudTrail(EKS, "CreateAccessEntry"),
        Trigger::CloudTrail(EKS, "DeleteAccessEntry"),
        Trigger::CloudTrail(EKS, "AssociateAccessPolicy"),
        Trigger::CloudTrail(EKS, "DisassociateAccessPolicy"),
        Trigger::Periodic,
    ],
    remediation: "Let Defender create the access entry (it needs authentication mode API or API_AND_CONFIG_MAP), or \
        create one for MDCContainersAgentlessDiscoveryK8sRole yourself with aws eks create-access-entry.",
    permissions: &["eks:ListAccessEntries", "eks:ListAssociatedAccessPolicies"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

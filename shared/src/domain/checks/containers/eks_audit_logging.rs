//! `containers.eks-audit-logging`: control-plane audit logs are on.

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
    let Some(logging) = c.logging.as_ref().and_then(|l| l.cluster_logging.as_ref()) else {
        return Outcome::unknown("Logging.ClusterLogging is not in the configuration item");
    };
    let enabled: Vec<&str> = logging
        .enabled_types
        .iter()
        .filter_map(|t| t.r#type.as_deref())
        .collect();
    let missing: Vec<&str> = ctx
        .settings
        .containers
        .required_log_types
        .iter()
        .map(String::as_str)
        .filter(|t| !enabled.contains(t))
        .collect();
    if missing.is_empty() {
        Outcome::compliant(format!("control-plane logging on for {}", enabled.join(", ")))
    } else {
        Outcome::non_compliant(format!(
            "control-plane log types off: {} (control-plane detections need them)",
            missing.join(", ")
        ))
    }
}

/// `containers.eks-audit-logging`: control-plane audit logs are on.
pub static CHECK: Check = Check {
    id: "containers.eks-audit-logging",
    plan: Plan::Containers,
    title: "EKS control-plane audit logging is enabled",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::ConfigChange(eks::CLUSTER.name),
        Trigger::CloudTrail(EKS, "UpdateClusterConfig"),
    ],
    remediation: "aws eks update-cluster-config --name <cluster> --logging \
        '{\"clusterLogging\":[{\"types\":[\"audit\",\"authenticator\"],\"enabled\":true}]}'",
    permissions: &["eks:DescribeCluster"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

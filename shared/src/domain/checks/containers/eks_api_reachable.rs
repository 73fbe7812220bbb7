//! `containers.eks-api-reachable`: Defender can reach the API server.

use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::support::EKS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::eks;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = s.split_once('/')?;
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(ip), len))
}

fn cidr_within(inner: &str, outer: &str) -> bool {
    let (Some((ia, il)), Some((oa, ol))) = (parse_cidr(inner), parse_cidr(outer)) else {
        return false;
    };
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
    ol <= il && (ia & mask) == (oa & mask)
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    let Some(vpc) = c.resources_vpc_config.as_ref() else {
        return Outcome::unknown("ResourcesVpcConfig is not in the configuration item");
    };
    match vpc.endpoint_public_access {
        None => Outcome::unknown("EndpointPublicAccess is not in the configuration item"),
        Some(false) => Outcome::non_compliant(
            "the API server endpoint is private: Defender reaches it from Azure (private clusters are only in preview \
             through the Helm install)",
        ),
        Some(true) => {
            let Some(cidrs) = vpc.public_access_cidrs.as_ref().filter(|c| !c.is_empty()) else {
                return Outcome::unknown("PublicAccessCidrs is not in the configuration item");
            };
            let missing: Vec<&str> = ctx
                .settings
                .containers
                .api_server_cidrs
                .iter()
                .map(String::as_str)
                .filter(|want| !cidrs.iter().any(|have| cidr_within(want, have)))
                .collect();
            if missing.is_empty() {
                Outcome::compliant(format!("public endpoint open to {}", cidrs.join(", ")))
            } else {
                Outcome::non_compliant(format!(
                    "PublicAccessCidrs does not include Defender's {} (Defender adds them with UpdateClusterConfig: it \
                     failed or was reverted)",
                    missing.join(", ")
                ))
            }
        }
    }
}

/// `containers.eks-api-reachable`: Defender can reach the API server.
pub static CHECK: Check = Check {
    id: "containers.eks-api-reachable",
    plan: Plan::Containers,
    title: "EKS API server is reachable from Defender's source ranges",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::ConfigChange(eks::CLUSTER.name),
        Trigger::CloudTrail(EKS, "UpdateClusterConfig"),
    ],
    remediation: "Enable the public endpoint and add 172.212.245.192/28 and 48.209.1.192/28 to PublicAccessCidrs \
        (aws eks update-cluster-config --resources-vpc-config ...). Ranges are configurable \
        (containers.api_server_cidrs).",
    permissions: &["eks:DescribeCluster"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

#[cfg(test)]
mod tests {
    use super::cidr_within;

    #[test]
    fn cidr_containment() {
        assert!(cidr_within("172.212.245.192/28", "0.0.0.0/0"));
        assert!(cidr_within("172.212.245.192/28", "172.212.0.0/16"));
        assert!(!cidr_within("48.209.1.192/28", "172.212.0.0/16"));
        assert!(!cidr_within("172.212.0.0/16", "172.212.245.192/28"));
        assert!(!cidr_within("garbage", "0.0.0.0/0"));
    }
}

//! Defender for Containers on EKS and ECR.

use super::cspm::ROLE_PERMISSIONS;
use super::{declared, version_at_least, version_parts, Check, Compliance, Ctx, Outcome, Trigger};
use crate::domain::model::{EksCluster, Resource};
use crate::domain::vocab::Plan;

use crate::domain::model::types::{ecr, eks, iam};
use Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA};

const EKS: &str = "eks.amazonaws.com";

fn cluster<'a>(ctx: &Ctx<'a>) -> Result<&'a EksCluster, Outcome> {
    let Resource::EksCluster(c) = &ctx.item.resource else {
        return Err(Outcome::not_applicable("not an EKS cluster"));
    };
    match c.cluster_status.as_deref() {
        Some(s @ ("CREATING" | "DELETING")) => Err(Outcome::not_applicable(format!("cluster is {s}"))),
        _ => Ok(c),
    }
}

fn eks_version(ctx: &Ctx<'_>) -> Outcome {
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
pub static EKS_VERSION: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: eks_version,
};

fn eks_audit_logging(ctx: &Ctx<'_>) -> Outcome {
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
pub static EKS_AUDIT_LOGGING: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: eks_audit_logging,
};

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

fn eks_api_reachable(ctx: &Ctx<'_>) -> Outcome {
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
pub static EKS_API_REACHABLE: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: eks_api_reachable,
};

fn eks_auth_mode(ctx: &Ctx<'_>) -> Outcome {
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
pub static EKS_AUTH_MODE: Check = Check {
    id: "containers.eks-auth-mode",
    plan: Plan::Containers,
    title: "EKS authentication mode allows access entries",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[Trigger::CloudTrail(EKS, "UpdateClusterConfig"), Trigger::Periodic],
    remediation: "aws eks update-cluster-config --name <cluster> --access-config authenticationMode=API_AND_CONFIG_MAP",
    permissions: &["eks:DescribeCluster"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: eks_auth_mode,
};

fn has_role(principals: &[String], names: &[String]) -> bool {
    principals.iter().any(|arn| {
        names
            .iter()
            .any(|n| arn.rsplit('/').next().is_some_and(|last| last.eq_ignore_ascii_case(n)))
    })
}

fn eks_access_entry(ctx: &Ctx<'_>) -> Outcome {
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
pub static EKS_ACCESS_ENTRY: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: eks_access_entry,
};

fn audit_pipeline(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    let account = &ctx.item.account_id;
    let missing: Vec<String> = ctx
        .settings
        .roles
        .containers_pipeline
        .iter()
        .filter(|alts| !alts.iter().any(|n| ctx.graph.role_by_name(account, n).is_some()))
        .map(|alts| alts.join(" or "))
        .collect();
    if !missing.is_empty() {
        if !ctx.graph.records(account, iam::ROLE.name) {
            return Outcome::unknown(
                "the audit-log pipeline roles cannot be confirmed: no AWS::IAM::Role items in the input",
            );
        }
        return Outcome::non_compliant(format!("audit-log pipeline roles missing: {}", missing.join("; ")));
    }
    let name = c.name.as_deref().unwrap_or(&ctx.item.resource_id);
    match c.live.audit_log_subscription {
        Some(true) => Outcome::compliant(format!(
            "pipeline roles present; /aws/eks/{name}/cluster is subscribed to Firehose"
        )),
        Some(false) => Outcome::non_compliant(format!(
            "/aws/eks/{name}/cluster has no subscription filter to Kinesis Data Firehose"
        )),
        None => Outcome::unknown(format!(
            "pipeline roles present; the subscription filter on /aws/eks/{name}/cluster needs \
             logs:DescribeSubscriptionFilters (live scan)"
        )),
    }
}

/// `containers.audit-pipeline`: the CloudWatch → Firehose → S3 → SQS audit-log pipeline exists.
pub static AUDIT_PIPELINE: Check = Check {
    id: "containers.audit-pipeline",
    plan: Plan::Containers,
    title: "Audit-log pipeline (CloudWatch → Firehose → S3 → SQS) and its roles exist",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::ConfigChange("AWS::KinesisFirehose::DeliveryStream"),
        Trigger::ConfigChange("AWS::SQS::Queue"),
        Trigger::ConfigChange("AWS::S3::Bucket"),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail("logs.amazonaws.com", "DeleteSubscriptionFilter"),
        Trigger::CloudTrail("firehose.amazonaws.com", "DeleteDeliveryStream"),
        Trigger::CloudTrail("sqs.amazonaws.com", "DeleteQueue"),
        Trigger::CloudTrail("s3.amazonaws.com", "DeleteBucket"),
        Trigger::Periodic,
    ],
    remediation: "Update the connector's CloudFormation stack with Containers enabled (it creates \
        MDCContainersK8sRole, MDCContainersK8sDataCollectionRole, MDCContainersK8sCloudWatchToKinesisRole and \
        MDCContainersK8sKinesisToS3Role) and leave room in your quotas for the SQS queue, Firehose stream and S3 \
        bucket Defender creates in the cluster's region. The log-group name is inferred.",
    permissions: &[
        "logs:DescribeSubscriptionFilters",
        "iam:GetRole",
        "firehose:DescribeDeliveryStream",
    ],
    inferred: true,
    outcomes: &[C, NC, NA, U],
    evaluate: audit_pipeline,
};

fn node_os(ctx: &Ctx<'_>) -> Outcome {
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
pub static NODE_OS: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: node_os,
};

fn fargate(ctx: &Ctx<'_>) -> Outcome {
    let cluster = match &ctx.item.resource {
        Resource::EksFargateProfile(p) => p.cluster_name.clone().unwrap_or_default(),
        _ => return Outcome::not_applicable("not a Fargate profile"),
    };
    Outcome::not_applicable(format!(
        "advisory: pods of cluster {cluster} on Fargate cannot run the sensor DaemonSet; audit-log detections still apply"
    ))
}

/// `containers.fargate`: advisory on Fargate profiles.
pub static FARGATE: Check = Check {
    id: "containers.fargate",
    plan: Plan::Containers,
    title: "Fargate pods are covered by audit-log detections only (advisory)",
    resource_types: &[eks::FARGATE_PROFILE.name],
    triggers: &[Trigger::ConfigChange(eks::FARGATE_PROFILE.name)],
    remediation: "Nothing to fix: run workloads that need runtime protection on EC2 nodes. The Fargate limitation is \
        inferred from the sensor being a DaemonSet.",
    permissions: &["eks:DescribeFargateProfile"],
    inferred: true,
    outcomes: &[NA],
    evaluate: fargate,
};

fn sensor_egress(ctx: &Ctx<'_>) -> Outcome {
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
pub static SENSOR_EGRESS: Check = Check {
    id: "containers.sensor-egress",
    plan: Plan::Containers,
    title: "Nodes reach *.cloud.defender.microsoft.com:443",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[Trigger::Periodic],
    remediation: "Allow outbound 443 from the nodes to *.cloud.defender.microsoft.com and the Arc-enabled Kubernetes \
        endpoints; a proxy with no or basic authentication works, a certificate-inspecting proxy does not.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: sensor_egress,
};

/// Managed policies that grant ECR image reads.
const ECR_READ_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess",
    "arn:aws:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly",
];

fn ecr_repo(ctx: &Ctx<'_>) -> Outcome {
    let repo = match &ctx.item.resource {
        Resource::EcrPublicRepository(_) => {
            return Outcome::not_applicable(
                "public repositories are not supported by registry vulnerability assessment",
            );
        }
        Resource::EcrRepository(r) => r,
        _ => return Outcome::not_applicable("not an ECR repository"),
    };
    if !ctx.settings.features.registry_access {
        return Outcome::not_applicable("registry access is not declared (settings features.registry_access)");
    }
    let account = &ctx.item.account_id;
    let names = &ctx.settings.roles.containers_image_assessment;
    let Some(role_item) = names.iter().find_map(|n| ctx.graph.role_by_name(account, n)) else {
        if ctx.graph.records(account, iam::ROLE.name) {
            return Outcome::non_compliant(format!("role {} does not exist", names.join(" or ")));
        }
        return Outcome::unknown(format!(
            "role {} cannot be confirmed: no AWS::IAM::Role items in the input",
            names.join(" or ")
        ));
    };
    let Resource::IamRole(role) = &role_item.resource else {
        return Outcome::unknown("the image assessment role could not be read");
    };
    let role_name = role.role_name.as_deref().unwrap_or(&role_item.resource_id);
    let role_arn = role
        .arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{role_name}"));
    let reads = ECR_READ_POLICIES.iter().any(|p| role.has_managed_policy(p)) || role.inline_allows("ecr:BatchGetImage");
    if !reads {
        if role.attached_managed_policies.is_empty() {
            return Outcome::non_compliant(format!("role {role_arn} has no policy granting ecr:BatchGetImage"));
        }
        return Outcome::unknown(format!(
            "role {role_arn} has customer-managed policies whose documents are not in the input; cannot confirm ECR read"
        ));
    }
    let name = repo.repository_name.as_deref().unwrap_or(&ctx.item.resource_id);
    if let Some(doc) = &repo.repository_policy_text {
        for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"] {
            if doc.denies(&role_arn, action) {
                return Outcome::non_compliant(format!("repository {name}'s policy denies {action} to {role_arn}"));
            }
        }
    }
    Outcome::compliant(format!("repository {name} is readable by {role_arn}"))
}

/// `containers.ecr-repo`: the image assessment role can read the repository.
pub static ECR_REPO: Check = Check {
    id: "containers.ecr-repo",
    plan: Plan::Containers,
    title: "ECR repository is readable by Defender's image assessment role",
    resource_types: &[ecr::REPOSITORY.name, ecr::PUBLIC_REPOSITORY.name],
    triggers: &[
        Trigger::ConfigChange(ecr::REPOSITORY.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail("ecr.amazonaws.com", "SetRepositoryPolicy"),
        Trigger::CloudTrail("ecr.amazonaws.com", "DeleteRepositoryPolicy"),
    ],
    remediation: "Update the connector stack with registry access enabled (MDCContainersImageAssessmentRole) and \
        remove repository-policy Deny statements that cover that role.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: ecr_repo,
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

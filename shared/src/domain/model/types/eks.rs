//! Amazon EKS: clusters and Fargate profiles.

use serde::Deserialize;

use super::super::resources::nullable;
use super::{typed, Recording, TrailRef, TypeInfo};
use crate::domain::model::{ConfigurationItem, Lookup, Needs, Resource};
use crate::domain::settings::Settings;

/// `AWS::EKS::Cluster`: what Defender for Containers protects.
pub const CLUSTER: TypeInfo = TypeInfo {
    name: "AWS::EKS::Cluster",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::EksCluster(Box::new(typed(json)?))),
    joins: super::none,
    neighbourhood: connector_roles,
    dependants: super::nothing,
    trail: &[
        TrailRef::Name {
            source: "eks.amazonaws.com",
            keys: &["name", "clusterName"],
        },
        // The audit-log pipeline: log subscriptions, Firehose, SQS and S3.
        TrailRef::Every {
            source: "logs.amazonaws.com",
            name_contains: "",
        },
        TrailRef::Every {
            source: "firehose.amazonaws.com",
            name_contains: "",
        },
        TrailRef::Every {
            source: "sqs.amazonaws.com",
            name_contains: "",
        },
        TrailRef::Every {
            source: "s3.amazonaws.com",
            name_contains: "",
        },
    ],
};

/// `AWS::EKS::FargateProfile`: Fargate pods, which the sensor cannot run on.
pub const FARGATE_PROFILE: TypeInfo = TypeInfo {
    name: "AWS::EKS::FargateProfile",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::EksFargateProfile(typed(json)?)),
    joins: super::none,
    neighbourhood: super::nothing,
    dependants: super::nothing,
    trail: &[],
};

/// The containers checks read the connector's roles by name.
pub(crate) fn connector_roles(_: &ConfigurationItem, s: &Settings) -> Needs {
    let mut n = Needs::default();
    n.lookup(Lookup::Named(super::iam::ROLE.name, super::connector_role_names(s)));
    n
}

/// `AWS::EKS::Cluster` configuration (PascalCase, per the Config resource schema).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksCluster {
    /// `Name`.
    #[serde(alias = "name")]
    pub name: Option<String>,
    /// `Version`, e.g. `1.31`.
    #[serde(alias = "version")]
    pub version: Option<String>,
    /// `ClusterStatus` (`ACTIVE`, `CREATING`, ...).
    #[serde(alias = "Status", alias = "status")]
    pub cluster_status: Option<String>,
    /// `Logging`.
    #[serde(alias = "logging")]
    pub logging: Option<EksLogging>,
    /// `ResourcesVpcConfig`.
    #[serde(alias = "resourcesVpcConfig")]
    pub resources_vpc_config: Option<EksVpcConfig>,
    /// `AccessConfig` (not in the Config schema of 2025; present in the CloudFormation shape).
    #[serde(alias = "accessConfig")]
    pub access_config: Option<EksAccessConfig>,
    /// Facts only EKS/Logs APIs know.
    #[serde(skip)]
    pub live: EksLiveFacts,
}

/// EKS facts that only service APIs know (filled by live readers; `None` = not known).
#[derive(Debug, Clone, Default)]
pub struct EksLiveFacts {
    /// Principal ARNs of the cluster's access entries (`eks:ListAccessEntries`).
    pub access_entry_principals: Option<Vec<String>>,
    /// AMI types of the cluster's node groups (`eks:DescribeNodegroup`).
    pub nodegroup_ami_types: Option<Vec<String>>,
    /// Whether `/aws/eks/<name>/cluster` has a subscription filter to Firehose.
    pub audit_log_subscription: Option<bool>,
}

/// `Logging`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksLogging {
    /// `ClusterLogging`.
    #[serde(alias = "clusterLogging")]
    pub cluster_logging: Option<EksClusterLogging>,
}

/// `ClusterLogging`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksClusterLogging {
    /// `EnabledTypes` (`[{"Type":"audit"}]`).
    #[serde(alias = "enabledTypes", deserialize_with = "nullable")]
    pub enabled_types: Vec<EksLogType>,
}

/// One enabled log type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksLogType {
    /// `Type`: api, audit, authenticator, controllerManager, scheduler.
    #[serde(alias = "type")]
    pub r#type: Option<String>,
}

/// `ResourcesVpcConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksVpcConfig {
    /// `EndpointPublicAccess`.
    #[serde(alias = "endpointPublicAccess")]
    pub endpoint_public_access: Option<bool>,
    /// `EndpointPrivateAccess`.
    #[serde(alias = "endpointPrivateAccess")]
    pub endpoint_private_access: Option<bool>,
    /// `PublicAccessCidrs`.
    #[serde(alias = "publicAccessCidrs")]
    pub public_access_cidrs: Option<Vec<String>>,
}

/// `AccessConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksAccessConfig {
    /// `AuthenticationMode`: `API`, `API_AND_CONFIG_MAP`, `CONFIG_MAP`.
    #[serde(alias = "authenticationMode")]
    pub authentication_mode: Option<String>,
}

/// `AWS::EKS::FargateProfile` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EksFargateProfile {
    /// `ClusterName`.
    #[serde(alias = "clusterName")]
    pub cluster_name: Option<String>,
}

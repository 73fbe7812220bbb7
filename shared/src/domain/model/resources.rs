//! Typed configurations of the resource types the checks read.
//!
//! Field names follow what Config delivers (see `../shared/catalog.md` §3): camelCase for EC2, IAM
//! roles, VPC endpoints, route tables and RDS instances; PascalCase for EKS, ECR, CloudFormation and
//! option groups; RDS clusters use their own `dbcluster...` casing. Aliases accept the other
//! spellings seen in API results. Unknown fields are ignored; a field of the wrong type is an error
//! naming its path.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::policy::PolicyDocument;

/// Deserialises `null` as the default value (Config writes `null` for some empty lists).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Resource types some check reads (everything else parses as [`Resource::Other`]).
pub const KNOWN_TYPES: &[&str] = &[
    "AWS::CloudFormation::Stack",
    "AWS::EC2::Instance",
    "AWS::EC2::RouteTable",
    "AWS::EC2::VPCEndpoint",
    "AWS::ECR::PublicRepository",
    "AWS::ECR::Repository",
    "AWS::EKS::Cluster",
    "AWS::EKS::FargateProfile",
    "AWS::IAM::OIDCProvider",
    "AWS::IAM::Role",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::RDS::OptionGroup",
    "AWS::SSM::ManagedInstanceInventory",
];

/// The typed configuration of a configuration item.
#[derive(Debug, Clone)]
pub enum Resource {
    /// `AWS::EC2::Instance`.
    Ec2Instance(Box<Ec2Instance>),
    /// `AWS::IAM::Role`.
    IamRole(Box<IamRole>),
    /// `AWS::IAM::OIDCProvider`.
    OidcProvider(OidcProvider),
    /// `AWS::CloudFormation::Stack`.
    CfnStack(CfnStack),
    /// `AWS::EC2::VPCEndpoint`.
    VpcEndpoint(VpcEndpoint),
    /// `AWS::EC2::RouteTable`.
    RouteTable(RouteTable),
    /// `AWS::SSM::ManagedInstanceInventory`.
    SsmInventory(Box<SsmInventory>),
    /// `AWS::EKS::Cluster`.
    EksCluster(Box<EksCluster>),
    /// `AWS::EKS::FargateProfile`.
    EksFargateProfile(EksFargateProfile),
    /// `AWS::ECR::Repository`.
    EcrRepository(EcrRepository),
    /// `AWS::ECR::PublicRepository`.
    EcrPublicRepository(EcrRepository),
    /// `AWS::RDS::DBInstance`.
    RdsInstance(Box<RdsInstance>),
    /// `AWS::RDS::DBCluster`.
    RdsCluster(Box<RdsCluster>),
    /// `AWS::RDS::OptionGroup`.
    RdsOptionGroup(RdsOptionGroup),
    /// The synthetic `AWS::::Account` resource account-level checks report on.
    Account,
    /// Any other type, and deleted or unrecorded items.
    Other,
}

type FieldError = (String, String);

fn typed<T: DeserializeOwned>(json: &str) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "configuration".to_owned()
        } else {
            format!("configuration.{path}")
        };
        (field, crate::domain::error::redacted(&e.into_inner()))
    })
}

impl Resource {
    /// Parses `configuration` for `resource_type`. The API delivers `configuration` as a JSON
    /// string holding the object; both forms are accepted.
    pub(crate) fn parse(
        resource_type: &str,
        configuration: Option<&RawValue>,
        supplementary: Option<&RawValue>,
    ) -> Result<Self, FieldError> {
        if !KNOWN_TYPES.contains(&resource_type) {
            return Ok(Self::Other);
        }
        let raw = configuration
            .map(RawValue::get)
            .filter(|s| *s != "null")
            .ok_or_else(|| {
                (
                    "configuration".to_owned(),
                    "missing for a resource that exists".to_owned(),
                )
            })?;
        let owned;
        let json = if raw.starts_with('"') {
            owned = serde_json::from_str::<String>(raw)
                .map_err(|e| ("configuration".to_owned(), crate::domain::error::redacted(&e)))?;
            owned.as_str()
        } else {
            raw
        };
        Ok(match resource_type {
            "AWS::EC2::Instance" => Self::Ec2Instance(Box::new(typed(json)?)),
            "AWS::IAM::Role" => Self::IamRole(Box::new(typed(json)?)),
            "AWS::IAM::OIDCProvider" => Self::OidcProvider(typed(json)?),
            "AWS::CloudFormation::Stack" => Self::CfnStack(typed(json)?),
            "AWS::EC2::VPCEndpoint" => Self::VpcEndpoint(typed(json)?),
            "AWS::EC2::RouteTable" => Self::RouteTable(typed(json)?),
            "AWS::SSM::ManagedInstanceInventory" => {
                let mut inv: SsmInventory = typed(json)?;
                if let Some(s) = supplementary.map(RawValue::get).filter(|s| *s != "null") {
                    let sup: SsmSupplementary = serde_json::from_str(s).map_err(|e| {
                        (
                            "supplementaryConfiguration".to_owned(),
                            crate::domain::error::redacted(&e),
                        )
                    })?;
                    inv.instance_status = sup.instance_status;
                }
                Self::SsmInventory(Box::new(inv))
            }
            "AWS::EKS::Cluster" => Self::EksCluster(Box::new(typed(json)?)),
            "AWS::EKS::FargateProfile" => Self::EksFargateProfile(typed(json)?),
            "AWS::ECR::Repository" => Self::EcrRepository(typed(json)?),
            "AWS::ECR::PublicRepository" => Self::EcrPublicRepository(typed(json)?),
            "AWS::RDS::DBInstance" => Self::RdsInstance(Box::new(typed(json)?)),
            "AWS::RDS::DBCluster" => Self::RdsCluster(Box::new(typed(json)?)),
            "AWS::RDS::OptionGroup" => Self::RdsOptionGroup(typed(json)?),
            _ => Self::Other,
        })
    }
}

/// Facts that only service APIs know, attached to an item by a live reader (or a test):
/// `ssm:DescribeInstanceInformation`, `eks:ListAccessEntries`, `eks:DescribeNodegroup`,
/// `logs:DescribeSubscriptionFilters`, `rds:DescribeDBParameters`. Absent = not known.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveFacts {
    /// EC2: SSM `PingStatus` (`""` when not registered).
    pub ssm_ping_status: Option<String>,
    /// EKS: access entry principal ARNs.
    pub access_entry_principals: Option<Vec<String>>,
    /// EKS: node group AMI types.
    pub nodegroup_ami_types: Option<Vec<String>>,
    /// EKS: whether the cluster's log group is subscribed to Firehose.
    pub audit_log_subscription: Option<bool>,
    /// EKS: `accessConfig.authenticationMode` from DescribeCluster.
    pub authentication_mode: Option<String>,
    /// RDS: parameter values of the instance's (or its cluster's) parameter group.
    pub parameters: Option<BTreeMap<String, String>>,
}

impl Resource {
    /// Attaches live facts to the resource types they belong to; `Err` names a fact given for
    /// a type it does not describe.
    pub fn apply_live(&mut self, f: LiveFacts) -> Result<(), String> {
        let misplaced = |what: &str| Err(format!("live fact `{what}` does not apply to this resource type"));
        match self {
            Self::Ec2Instance(i) => {
                if f.access_entry_principals.is_some()
                    || f.nodegroup_ami_types.is_some()
                    || f.audit_log_subscription.is_some()
                    || f.authentication_mode.is_some()
                {
                    return misplaced("EKS facts");
                }
                if f.parameters.is_some() {
                    return misplaced("parameters");
                }
                if f.ssm_ping_status.is_some() {
                    i.live.ssm_ping_status = f.ssm_ping_status;
                }
            }
            Self::EksCluster(c) => {
                if f.ssm_ping_status.is_some() || f.parameters.is_some() {
                    return misplaced("EC2/RDS facts");
                }
                c.live.access_entry_principals = f.access_entry_principals.or(c.live.access_entry_principals.take());
                c.live.nodegroup_ami_types = f.nodegroup_ami_types.or(c.live.nodegroup_ami_types.take());
                c.live.audit_log_subscription = f.audit_log_subscription.or(c.live.audit_log_subscription);
                if let Some(mode) = f.authentication_mode {
                    c.access_config.get_or_insert_with(Default::default).authentication_mode = Some(mode);
                }
            }
            Self::RdsInstance(db) => {
                if f != (LiveFacts {
                    parameters: f.parameters.clone(),
                    ..LiveFacts::default()
                }) {
                    return misplaced("EC2/EKS facts");
                }
                if f.parameters.is_some() {
                    db.live_parameters = f.parameters;
                }
            }
            _ if f == LiveFacts::default() => {}
            _ => return misplaced("any"),
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- EC2

/// `AWS::EC2::Instance` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ec2Instance {
    /// `instanceId`.
    #[serde(alias = "InstanceId")]
    pub instance_id: Option<String>,
    /// `state` (`{code, name}`).
    #[serde(alias = "State")]
    pub state: Option<InstanceState>,
    /// `subnetId`.
    #[serde(alias = "SubnetId")]
    pub subnet_id: Option<String>,
    /// `vpcId`.
    #[serde(alias = "VpcId")]
    pub vpc_id: Option<String>,
    /// `architecture` (`x86_64`, `arm64`, ...).
    #[serde(alias = "Architecture")]
    pub architecture: Option<String>,
    /// `platform` (`windows` or absent).
    #[serde(alias = "Platform")]
    pub platform: Option<String>,
    /// `platformDetails` (`Linux/UNIX`, `Windows with SQL Server Standard`, ...).
    #[serde(alias = "PlatformDetails")]
    pub platform_details: Option<String>,
    /// `productCodes`.
    #[serde(alias = "ProductCodes", deserialize_with = "nullable")]
    pub product_codes: Vec<ProductCode>,
    /// `iamInstanceProfile` (absent when the instance has none).
    #[serde(alias = "IamInstanceProfile")]
    pub iam_instance_profile: Option<InstanceProfileRef>,
    /// `publicIpAddress`.
    #[serde(alias = "PublicIpAddress")]
    pub public_ip_address: Option<String>,
    /// `tags` inside the configuration (`[{key, value}]`): the only tags BatchGetResourceConfig returns.
    #[serde(alias = "Tags", deserialize_with = "nullable")]
    pub tags: Vec<ConfigTag>,
    /// Facts read from service APIs rather than Config (filled by live readers; `None` = not known).
    #[serde(skip)]
    pub live: Ec2LiveFacts,
}

/// EC2 facts that only service APIs know.
#[derive(Debug, Clone, Default)]
pub struct Ec2LiveFacts {
    /// `ssm:DescribeInstanceInformation` `PingStatus` (`Online`, `ConnectionLost`, `Inactive`), or
    /// `Some("")` when the instance is not registered with SSM.
    pub ssm_ping_status: Option<String>,
}

/// A tag inside a configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigTag {
    /// Key.
    #[serde(alias = "Key")]
    pub key: String,
    /// Value.
    #[serde(alias = "Value")]
    pub value: Option<String>,
}

/// `state` of an instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceState {
    /// `name`: pending, running, stopping, stopped, shutting-down, terminated.
    #[serde(alias = "Name")]
    pub name: Option<String>,
}

/// One product code of the AMI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProductCode {
    /// `productCodeId`.
    #[serde(alias = "ProductCodeId")]
    pub product_code_id: Option<String>,
    /// `productCodeType` (`marketplace`, `devpay`).
    #[serde(alias = "ProductCodeType")]
    pub product_code_type: Option<String>,
}

/// `iamInstanceProfile` of an instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceProfileRef {
    /// The instance profile's ARN.
    #[serde(alias = "Arn")]
    pub arn: Option<String>,
    /// The instance profile's id (`AIPA...`).
    #[serde(alias = "Id")]
    pub id: Option<String>,
}

/// `AWS::EC2::VPCEndpoint` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VpcEndpoint {
    /// `serviceName`, e.g. `com.amazonaws.us-east-1.ssm`.
    #[serde(alias = "ServiceName")]
    pub service_name: Option<String>,
    /// `vpcId`.
    #[serde(alias = "VpcId")]
    pub vpc_id: Option<String>,
    /// `vpcEndpointType` (`Interface`, `Gateway`, ...).
    #[serde(alias = "VpcEndpointType")]
    pub vpc_endpoint_type: Option<String>,
    /// `privateDnsEnabled`.
    #[serde(alias = "PrivateDnsEnabled")]
    pub private_dns_enabled: Option<bool>,
    /// `state` (`available`, `pending`, ...).
    #[serde(alias = "State")]
    pub state: Option<String>,
}

/// `AWS::EC2::RouteTable` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteTable {
    /// `vpcId`.
    #[serde(alias = "VpcId")]
    pub vpc_id: Option<String>,
    /// `associations`.
    #[serde(alias = "Associations", deserialize_with = "nullable")]
    pub associations: Vec<RouteTableAssociation>,
    /// `routes`.
    #[serde(alias = "Routes", deserialize_with = "nullable")]
    pub routes: Vec<Route>,
}

/// A subnet (or main) association of a route table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteTableAssociation {
    /// `main`: the VPC's main route table.
    #[serde(alias = "Main")]
    pub main: Option<bool>,
    /// `subnetId`.
    #[serde(alias = "SubnetId")]
    pub subnet_id: Option<String>,
}

/// One route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Route {
    /// `destinationCidrBlock`.
    #[serde(alias = "DestinationCidrBlock")]
    pub destination_cidr_block: Option<String>,
    /// `gatewayId` (`igw-...`, `vgw-...`, `local`).
    #[serde(alias = "GatewayId")]
    pub gateway_id: Option<String>,
    /// `natGatewayId`.
    #[serde(alias = "NatGatewayId")]
    pub nat_gateway_id: Option<String>,
    /// `transitGatewayId`.
    #[serde(alias = "TransitGatewayId")]
    pub transit_gateway_id: Option<String>,
    /// `instanceId` (a NAT instance).
    #[serde(alias = "InstanceId")]
    pub instance_id: Option<String>,
    /// `networkInterfaceId` (an appliance).
    #[serde(alias = "NetworkInterfaceId")]
    pub network_interface_id: Option<String>,
    /// `state` (`active`, `blackhole`).
    #[serde(alias = "State")]
    pub state: Option<String>,
}

// ---------------------------------------------------------------- IAM

/// `AWS::IAM::Role` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IamRole {
    /// `roleName`.
    #[serde(alias = "RoleName")]
    pub role_name: Option<String>,
    /// `arn`.
    #[serde(alias = "Arn")]
    pub arn: Option<String>,
    /// `assumeRolePolicyDocument` (object or URL-encoded string).
    #[serde(alias = "AssumeRolePolicyDocument")]
    pub assume_role_policy_document: Option<PolicyDocument>,
    /// `attachedManagedPolicies`.
    #[serde(alias = "AttachedManagedPolicies", deserialize_with = "nullable")]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// `rolePolicyList` (inline policies).
    #[serde(alias = "RolePolicyList", deserialize_with = "nullable")]
    pub role_policy_list: Vec<InlinePolicy>,
    /// `instanceProfileList`.
    #[serde(alias = "InstanceProfileList", deserialize_with = "nullable")]
    pub instance_profile_list: Vec<InstanceProfile>,
}

/// One attached managed policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttachedPolicy {
    /// `policyArn`.
    #[serde(alias = "PolicyArn")]
    pub policy_arn: Option<String>,
    /// `policyName`.
    #[serde(alias = "PolicyName")]
    pub policy_name: Option<String>,
}

/// One inline policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InlinePolicy {
    /// `policyName`.
    #[serde(alias = "PolicyName")]
    pub policy_name: Option<String>,
    /// `policyDocument` (URL-encoded string in Config items).
    #[serde(alias = "PolicyDocument")]
    pub policy_document: Option<PolicyDocument>,
}

/// One instance profile the role belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceProfile {
    /// `arn`.
    #[serde(alias = "Arn")]
    pub arn: Option<String>,
    /// `instanceProfileName`.
    #[serde(alias = "InstanceProfileName")]
    pub instance_profile_name: Option<String>,
}

impl IamRole {
    /// Whether any attached or inline policy exists.
    pub fn has_any_policy(&self) -> bool {
        !self.attached_managed_policies.is_empty() || !self.role_policy_list.is_empty()
    }

    /// Whether the managed policy `arn` is attached.
    pub fn has_managed_policy(&self, arn: &str) -> bool {
        self.attached_managed_policies
            .iter()
            .any(|p| p.policy_arn.as_deref() == Some(arn))
    }

    /// Whether an inline policy allows `action`.
    pub fn inline_allows(&self, action: &str) -> bool {
        self.role_policy_list
            .iter()
            .filter_map(|p| p.policy_document.as_ref())
            .any(|d| d.allows(action))
    }
}

/// `AWS::IAM::OIDCProvider` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OidcProvider {
    /// `Url` (IAM stores it without the scheme).
    #[serde(alias = "url")]
    pub url: Option<String>,
    /// `ClientIdList`: the audiences.
    #[serde(alias = "clientIdList", alias = "clientIDList", deserialize_with = "nullable")]
    pub client_id_list: Vec<String>,
    /// `ThumbprintList`.
    #[serde(alias = "thumbprintList", deserialize_with = "nullable")]
    pub thumbprint_list: Vec<String>,
    /// `Arn`.
    #[serde(alias = "arn")]
    pub arn: Option<String>,
}

// ---------------------------------------------------------------- CloudFormation, SSM

/// `AWS::CloudFormation::Stack` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CfnStack {
    /// `StackName`.
    #[serde(alias = "stackName")]
    pub stack_name: Option<String>,
    /// `StackStatus`.
    #[serde(alias = "stackStatus")]
    pub stack_status: Option<String>,
}

/// `AWS::SSM::ManagedInstanceInventory` configuration (only exists where an inventory association runs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SsmInventory {
    /// `AWS:InstanceInformation`.
    #[serde(rename = "AWS:InstanceInformation")]
    pub instance_information: Option<InventorySection<InstanceInformation>>,
    /// `AWS:Application`.
    #[serde(rename = "AWS:Application")]
    pub applications: Option<InventorySection<Application>>,
    /// `supplementaryConfiguration.instanceStatus`.
    #[serde(skip)]
    pub instance_status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SsmSupplementary {
    instance_status: Option<String>,
}

/// An inventory section: `Content` keyed by an id (or, from some sources, a plain list).
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct InventorySection<T> {
    /// `Content`.
    #[serde(rename = "Content", default = "Vec::new", deserialize_with = "content")]
    pub content: Vec<T>,
}

fn content<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Content<T> {
        Map(BTreeMap<String, T>),
        List(Vec<T>),
    }
    Ok(match Option::<Content<T>>::deserialize(d)? {
        None => Vec::new(),
        Some(Content::Map(m)) => m.into_values().collect(),
        Some(Content::List(l)) => l,
    })
}

/// `AWS:InstanceInformation` content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceInformation {
    /// `AgentVersion`.
    pub agent_version: Option<String>,
    /// `PlatformName`, e.g. `Microsoft Windows Server 2019 Datacenter`, `Ubuntu`.
    pub platform_name: Option<String>,
    /// `PlatformType` (`Windows`, `Linux`, `MacOS`).
    pub platform_type: Option<String>,
    /// `PlatformVersion`, e.g. `10.0.17763`, `22.04`.
    pub platform_version: Option<String>,
    /// `InstanceStatus` (`Active`, `Stopped`, `Terminated`, `ConnectionLost`).
    pub instance_status: Option<String>,
}

/// `AWS:Application` content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Application {
    /// `Name`.
    pub name: Option<String>,
    /// `Version`.
    pub version: Option<String>,
}

impl SsmInventory {
    /// The instance-information entry, if recorded.
    pub fn info(&self) -> Option<&InstanceInformation> {
        self.instance_information.as_ref().and_then(|s| s.content.first())
    }

    /// The recorded applications.
    pub fn applications(&self) -> &[Application] {
        self.applications
            .as_ref()
            .map(|s| s.content.as_slice())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------- EKS, ECR

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

/// `AWS::ECR::Repository` / `AWS::ECR::PublicRepository` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EcrRepository {
    /// `RepositoryName`.
    #[serde(alias = "repositoryName")]
    pub repository_name: Option<String>,
    /// `RepositoryPolicyText` (object or JSON string).
    #[serde(alias = "repositoryPolicyText")]
    pub repository_policy_text: Option<PolicyDocument>,
}

// ---------------------------------------------------------------- RDS

/// `AWS::RDS::DBInstance` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RdsInstance {
    /// `dBInstanceIdentifier`.
    #[serde(
        rename = "dBInstanceIdentifier",
        alias = "dbInstanceIdentifier",
        alias = "DBInstanceIdentifier"
    )]
    pub db_instance_identifier: Option<String>,
    /// `engine`.
    #[serde(alias = "Engine")]
    pub engine: Option<String>,
    /// `engineVersion`.
    #[serde(rename = "engineVersion", alias = "EngineVersion")]
    pub engine_version: Option<String>,
    /// `dBInstanceStatus`.
    #[serde(rename = "dBInstanceStatus", alias = "dbInstanceStatus", alias = "DBInstanceStatus")]
    pub db_instance_status: Option<String>,
    /// `dBClusterIdentifier` (Aurora members).
    #[serde(
        rename = "dBClusterIdentifier",
        alias = "dbClusterIdentifier",
        alias = "DBClusterIdentifier"
    )]
    pub db_cluster_identifier: Option<String>,
    /// `dBParameterGroups`.
    #[serde(
        rename = "dBParameterGroups",
        alias = "dbParameterGroups",
        alias = "DBParameterGroups",
        deserialize_with = "nullable"
    )]
    pub db_parameter_groups: Vec<RdsParameterGroupStatus>,
    /// `optionGroupMemberships`.
    #[serde(
        rename = "optionGroupMemberships",
        alias = "OptionGroupMemberships",
        deserialize_with = "nullable"
    )]
    pub option_group_memberships: Vec<RdsOptionGroupMembership>,
    /// `enabledCloudwatchLogsExports`.
    #[serde(
        rename = "enabledCloudwatchLogsExports",
        alias = "EnabledCloudwatchLogsExports",
        deserialize_with = "nullable"
    )]
    pub enabled_cloudwatch_logs_exports: Vec<String>,
    /// `readReplicaSourceDBInstanceIdentifier`.
    #[serde(
        rename = "readReplicaSourceDBInstanceIdentifier",
        alias = "ReadReplicaSourceDBInstanceIdentifier"
    )]
    pub read_replica_source: Option<String>,
    /// Parameter values of the instance's (or its cluster's) parameter groups, from
    /// `rds:DescribeDBParameters` / `DescribeDBClusterParameters` (filled by live readers).
    #[serde(skip)]
    pub live_parameters: Option<BTreeMap<String, String>>,
}

/// One `dBParameterGroups` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RdsParameterGroupStatus {
    /// `dBParameterGroupName`.
    #[serde(
        rename = "dBParameterGroupName",
        alias = "dbParameterGroupName",
        alias = "DBParameterGroupName"
    )]
    pub name: Option<String>,
    /// `parameterApplyStatus` (`in-sync`, `pending-reboot`, `applying`).
    #[serde(rename = "parameterApplyStatus", alias = "ParameterApplyStatus")]
    pub parameter_apply_status: Option<String>,
}

/// One `optionGroupMemberships` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RdsOptionGroupMembership {
    /// `optionGroupName`.
    #[serde(rename = "optionGroupName", alias = "OptionGroupName")]
    pub name: Option<String>,
    /// `status` (`in-sync`, `pending-apply`, ...).
    #[serde(alias = "Status")]
    pub status: Option<String>,
}

/// `AWS::RDS::DBCluster` configuration (its own casing: `dbclusterParameterGroup`, `dbclusterMembers`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RdsCluster {
    /// `dbclusterIdentifier`.
    #[serde(
        rename = "dbclusterIdentifier",
        alias = "dBClusterIdentifier",
        alias = "dbClusterIdentifier",
        alias = "DBClusterIdentifier"
    )]
    pub identifier: Option<String>,
    /// `engine`.
    #[serde(alias = "Engine")]
    pub engine: Option<String>,
    /// `engineMode` (`provisioned`, `serverless`, ...).
    #[serde(rename = "engineMode", alias = "EngineMode")]
    pub engine_mode: Option<String>,
    /// `status`.
    #[serde(alias = "Status")]
    pub status: Option<String>,
    /// `dbclusterParameterGroup`.
    #[serde(
        rename = "dbclusterParameterGroup",
        alias = "dBClusterParameterGroup",
        alias = "DBClusterParameterGroup"
    )]
    pub parameter_group: Option<String>,
    /// `dbclusterMembers`.
    #[serde(
        rename = "dbclusterMembers",
        alias = "dBClusterMembers",
        alias = "DBClusterMembers",
        deserialize_with = "nullable"
    )]
    pub members: Vec<RdsClusterMember>,
}

/// One cluster member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RdsClusterMember {
    /// `dbinstanceIdentifier`.
    #[serde(
        rename = "dbinstanceIdentifier",
        alias = "dBInstanceIdentifier",
        alias = "DBInstanceIdentifier"
    )]
    pub instance_identifier: Option<String>,
    /// `dbclusterParameterGroupStatus` (`in-sync`, `pending-reboot`).
    #[serde(
        rename = "dbclusterParameterGroupStatus",
        alias = "dBClusterParameterGroupStatus",
        alias = "DBClusterParameterGroupStatus"
    )]
    pub parameter_group_status: Option<String>,
}

/// `AWS::RDS::OptionGroup` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RdsOptionGroup {
    /// `OptionGroupName`.
    #[serde(alias = "optionGroupName")]
    pub option_group_name: Option<String>,
    /// `OptionConfigurations`.
    #[serde(
        alias = "optionConfigurations",
        alias = "Options",
        alias = "options",
        deserialize_with = "nullable"
    )]
    pub option_configurations: Vec<RdsOption>,
}

/// One option of an option group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RdsOption {
    /// `OptionName`, e.g. `MARIADB_AUDIT_PLUGIN`.
    #[serde(alias = "optionName")]
    pub option_name: Option<String>,
    /// `OptionSettings`.
    #[serde(alias = "optionSettings", deserialize_with = "nullable")]
    pub option_settings: Vec<RdsOptionSetting>,
}

/// One option setting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RdsOptionSetting {
    /// `Name`.
    #[serde(alias = "name")]
    pub name: Option<String>,
    /// `Value`.
    #[serde(alias = "value")]
    pub value: Option<String>,
}

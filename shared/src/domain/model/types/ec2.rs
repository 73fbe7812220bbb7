//! Amazon EC2: instances, route tables and VPC endpoints.

use serde::Deserialize;

use super::super::resources::nullable;
use super::{typed, JoinKey, Recording, TrailRef, TypeInfo};
use crate::domain::model::{ConfigurationItem, Lookup, Needs, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::ResourceKey;

/// `AWS::EC2::Instance`: what Defender for Servers and SQL on EC2 run on.
pub const INSTANCE: TypeInfo = TypeInfo {
    name: "AWS::EC2::Instance",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::Ec2Instance(Box::new(typed(json)?))),
    joins: |item| {
        let name = item.tags.get("Name");
        name.map(|n| JoinKey::InstanceNamed {
            account: item.account_id.clone(),
            region: item.region.clone(),
            name: n.clone(),
        })
        .into_iter()
        .collect()
    },
    neighbourhood: instance_neighbourhood,
    dependants: instance_dependants,
    trail: &[
        TrailRef::IdPrefix("i-"),
        TrailRef::InstanceProfile {
            source: "iam.amazonaws.com",
            key: "instanceProfileName",
        },
        TrailRef::Every {
            source: "ssm.amazonaws.com",
            name_contains: "UpdateServiceSetting",
        },
    ],
};

/// An instance needs the role in its instance profile, its SSM inventory, and its VPC's route
/// tables and endpoints.
fn instance_neighbourhood(item: &ConfigurationItem, _: &Settings) -> Needs {
    let mut n = Needs::default();
    let Resource::Ec2Instance(i) = &item.resource else {
        return n;
    };
    if let Some(arn) = i.iam_instance_profile.as_ref().and_then(|p| p.arn.clone()) {
        n.lookup(Lookup::RolesInProfiles(vec![arn]));
    }
    let id = i.instance_id.clone().unwrap_or_else(|| item.resource_id.clone());
    n.key(ResourceKey::new(super::ssm::INVENTORY.name, id));
    if let Some(vpc) = &i.vpc_id {
        n.lookup(Lookup::RelatedTo(
            vec![ROUTE_TABLE.name, VPC_ENDPOINT.name],
            vec![vpc.clone()],
        ));
    }
    n
}

/// An instance that hosts RDS Custom (its `Name` tag is the configured prefix and the DB
/// instance identifier) changes that DB instance's results.
fn instance_dependants(item: &ConfigurationItem, settings: &Settings) -> Needs {
    let mut n = Needs::default();
    let prefix = &settings.sql.rds_custom_host_name_prefix;
    if let Some(db) = item.tags.get("Name").and_then(|n| n.strip_prefix(prefix.as_str())) {
        n.lookup(Lookup::Named(super::rds::DB_INSTANCE.name, vec![db.to_owned()]));
    }
    n
}

/// `AWS::EC2::RouteTable`: decides whether an instance's subnet reaches the internet.
pub const ROUTE_TABLE: TypeInfo = TypeInfo {
    name: "AWS::EC2::RouteTable",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::RouteTable(typed(json)?)),
    joins: |item| {
        let Resource::RouteTable(rt) = &item.resource else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for a in &rt.associations {
            if let Some(subnet) = &a.subnet_id {
                keys.push(JoinKey::SubnetRouteTable(subnet.clone()));
            }
            if a.main == Some(true) {
                keys.extend(rt.vpc_id.clone().map(JoinKey::MainRouteTable));
            }
        }
        keys
    },
    neighbourhood: super::nothing,
    dependants: |item, _| {
        let mut n = Needs::default();
        let Resource::RouteTable(rt) = &item.resource else {
            return n;
        };
        // Subnet associations, and the whole VPC for a main table.
        let mut ids: Vec<String> = rt.associations.iter().filter_map(|a| a.subnet_id.clone()).collect();
        if rt.associations.iter().any(|a| a.main == Some(true)) {
            ids.extend(rt.vpc_id.clone());
        }
        if !ids.is_empty() {
            n.lookup(Lookup::RelatedTo(vec![INSTANCE.name], ids));
        }
        n
    },
    trail: &[TrailRef::IdPrefix("rtb-")],
};

/// `AWS::EC2::VPCEndpoint`: private paths to SSM and the other services agents call.
pub const VPC_ENDPOINT: TypeInfo = TypeInfo {
    name: "AWS::EC2::VPCEndpoint",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::VpcEndpoint(typed(json)?)),
    joins: |item| match &item.resource {
        Resource::VpcEndpoint(ep) => ep.vpc_id.clone().map(JoinKey::EndpointIn).into_iter().collect(),
        _ => Vec::new(),
    },
    neighbourhood: super::nothing,
    dependants: |item, _| {
        let mut n = Needs::default();
        if let Resource::VpcEndpoint(ep) = &item.resource {
            if let Some(vpc) = &ep.vpc_id {
                n.lookup(Lookup::RelatedTo(vec![INSTANCE.name], vec![vpc.clone()]));
            }
        }
        n
    },
    trail: &[TrailRef::IdPrefix("vpce-")],
};

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

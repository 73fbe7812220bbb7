//! The typed configuration of a configuration item ([`Resource`]), parsed by its type's
//! description ([`super::types`]), and the facts live readers attach to it.
//!
//! Field names follow what Config delivers (see `../shared/catalog.md` §3): camelCase for EC2, IAM
//! roles, VPC endpoints, route tables and RDS instances; PascalCase for EKS, ECR, CloudFormation and
//! option groups; RDS clusters use their own `dbcluster...` casing. Aliases accept the other
//! spellings seen in API results. Unknown fields are ignored; a field of the wrong type is an error
//! naming its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{
    CfnStack, Ec2Instance, EcrRepository, EksCluster, EksFargateProfile, IamRole, OidcProvider, RdsCluster,
    RdsInstance, RdsOptionGroup, RouteTable, SsmInventory, VpcEndpoint,
};

/// Deserialises a list, `null` as an empty one (Config writes `null` for some empty lists),
/// without the room it grew into while being read (a hundred thousand items each kept up to
/// three unused places per list: 23 MB of a 100,000-item scan).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut list = Option::<Vec<T>>::deserialize(d)?.unwrap_or_default();
    list.shrink_to_fit();
    Ok(list)
}

/// The typed configuration of a configuration item.
#[derive(Debug, Clone)]
pub enum Resource {
    /// `AWS::EC2::Instance`.
    Ec2Instance(Box<Ec2Instance>),
    /// `AWS::IAM::Role`.
    IamRole(Box<IamRole>),
    /// `AWS::IAM::OIDCProvider`.
    OidcProvider(Box<OidcProvider>),
    /// `AWS::CloudFormation::Stack`.
    CfnStack(Box<CfnStack>),
    /// `AWS::EC2::VPCEndpoint`.
    VpcEndpoint(Box<VpcEndpoint>),
    /// `AWS::EC2::RouteTable`.
    RouteTable(Box<RouteTable>),
    /// `AWS::SSM::ManagedInstanceInventory`.
    SsmInventory(Box<SsmInventory>),
    /// `AWS::EKS::Cluster`.
    EksCluster(Box<EksCluster>),
    /// `AWS::EKS::FargateProfile`.
    EksFargateProfile(Box<EksFargateProfile>),
    /// `AWS::ECR::Repository`.
    EcrRepository(Box<EcrRepository>),
    /// `AWS::ECR::PublicRepository`.
    EcrPublicRepository(Box<EcrRepository>),
    /// `AWS::RDS::DBInstance`.
    RdsInstance(Box<RdsInstance>),
    /// `AWS::RDS::DBCluster`.
    RdsCluster(Box<RdsCluster>),
    /// `AWS::RDS::OptionGroup`.
    RdsOptionGroup(Box<RdsOptionGroup>),
    /// The synthetic `AWS::::Account` resource account-level checks report on.
    Account,
    /// Any other type, and deleted or unrecorded items.
    Other,
}

impl Resource {
    /// Parses `configuration` for `resource_type`. The API delivers `configuration` as a JSON
    /// string holding the object; both forms are accepted.
    pub(crate) fn parse(
        resource_type: &str,
        configuration: Option<&RawValue>,
        supplementary: Option<&RawValue>,
    ) -> Result<Self, super::types::FieldError> {
        let Some(info) = super::types::by_name(resource_type).filter(|t| super::types::is_recorded_type(t.name)) else {
            return Ok(Self::Other);
        };
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
        (info.parse)(json, supplementary)
    }
}

/// Facts that only service APIs know, attached to an item by a live reader (or a test):
/// `ssm:DescribeInstanceInformation`, `eks:ListAccessEntries`, `eks:DescribeNodegroup`,
/// `logs:DescribeSubscriptionFilters`, `rds:DescribeDBParameters`. Absent = not known.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveFacts {
    /// EC2: SSM `PingStatus` (`""` when not registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm_ping_status: Option<String>,
    /// EKS: access entry principal ARNs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_entry_principals: Option<Vec<String>>,
    /// EKS: node group AMI types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodegroup_ami_types: Option<Vec<String>>,
    /// EKS: whether the cluster's log group is subscribed to Firehose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_log_subscription: Option<bool>,
    /// EKS: `accessConfig.authenticationMode` from DescribeCluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<String>,
    /// RDS: parameter values of the instance's (or its cluster's) parameter group.
    #[serde(skip_serializing_if = "Option::is_none")]
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

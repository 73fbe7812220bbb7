//! One description per resource type the checks read, in the spirit of Cloud Custodian's
//! `TypeInfo`: its AWS Config type name, how its configuration is parsed, the keys the resource
//! graph indexes it under for the joins checks make, the related resources a check on it needs
//! (its neighbourhood), the resources whose results can change when it changes (its dependants),
//! how CloudTrail events name it, and whether AWS Config records it per region or once per
//! account (which decides where its absence can be evidence).
//!
//! The resource graph, live collection, CloudTrail routing, the functions' default recorded types
//! and the template tests all read these descriptions; nothing else knows a type's relations. A
//! new AWS service is one new module here plus one line in [`ALL`].

pub mod account;
pub mod cloudformation;
pub mod ec2;
pub mod ecr;
pub mod eks;
pub mod iam;
pub mod rds;
pub mod ssm;

use serde_json::value::RawValue;

use super::{ConfigurationItem, Needs, Resource};
use crate::domain::settings::Settings;

/// A field path and what was wrong with it, from parsing a configuration.
pub type FieldError = (String, String);

/// How AWS Config records a type, which decides where the absence of such a resource can mean
/// that it does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Recorded in every region the recorder runs in.
    Regional,
    /// A global type (IAM): recorded in one region only, and only when the recorder includes
    /// global resource types. Never assumed recorded.
    Global,
    /// Not recorded by AWS Config: built by this tool (the account pseudo-resource).
    Synthetic,
}

/// A key under which the resource graph indexes an item, for the joins checks make. Keys carry
/// the account (and region) where the name alone is not unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JoinKey {
    /// An IAM role by lower-case name (IAM names are case-insensitive).
    RoleName {
        /// Account id.
        account: String,
        /// Lower-case role name.
        name: String,
    },
    /// The IAM role in an instance profile, by the profile's ARN.
    RoleInProfile(String),
    /// The OIDC providers of an account.
    OidcProvider {
        /// Account id.
        account: String,
    },
    /// The SSM inventory of an EC2 instance, by instance id.
    InventoryOf(String),
    /// The VPC endpoints of a VPC, by VPC id.
    EndpointIn(String),
    /// The route table explicitly associated with a subnet, by subnet id.
    SubnetRouteTable(String),
    /// The main route table of a VPC, by VPC id.
    MainRouteTable(String),
    /// An EC2 instance by its `Name` tag.
    InstanceNamed {
        /// Account id.
        account: String,
        /// Region.
        region: String,
        /// The tag value.
        name: String,
    },
    /// An RDS cluster by lower-case identifier.
    RdsCluster {
        /// Account id.
        account: String,
        /// Region.
        region: String,
        /// Lower-case identifier.
        id: String,
    },
    /// An RDS option group by lower-case name.
    OptionGroup {
        /// Account id.
        account: String,
        /// Region.
        region: String,
        /// Lower-case name.
        name: String,
    },
}

/// How a CloudTrail management event names resources of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailRef {
    /// A value with this prefix followed by 8 to 17 hex digits, under any key of any service's
    /// request or response, is the resource id (EC2 ids: `i-`, `vpce-`, `rtb-`).
    IdPrefix(&'static str),
    /// In this service's events, the value of one of these keys is the resource's name.
    Name {
        /// `eventSource`.
        source: &'static str,
        /// Request or response keys.
        keys: &'static [&'static str],
    },
    /// In this service's events, the value of this key names an IAM instance profile; the
    /// resources of the type that use it are touched (EC2 instances).
    InstanceProfile {
        /// `eventSource`.
        source: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A successful call of this service whose name contains `name_contains` (any, when empty)
    /// can change every resource of the type in the account.
    Every {
        /// `eventSource`.
        source: &'static str,
        /// Part of `eventName`.
        name_contains: &'static str,
    },
}

/// What a resource of some type needs fetched or re-evaluated, given the settings.
pub type NeedsFn = fn(&ConfigurationItem, &Settings) -> Needs;

/// Everything the rest of the crate knows about one resource type.
pub struct TypeInfo {
    /// The AWS Config resource type, e.g. `AWS::EC2::Instance`.
    pub name: &'static str,
    /// How AWS Config records it.
    pub recording: Recording,
    /// Parses its `configuration` (a JSON object) and `supplementaryConfiguration`.
    pub parse: fn(&str, Option<&RawValue>) -> Result<Resource, FieldError>,
    /// The keys the graph indexes an item of this type under.
    pub joins: fn(&ConfigurationItem) -> Vec<JoinKey>,
    /// What must be fetched besides an item of this type to evaluate its checks.
    pub neighbourhood: NeedsFn,
    /// The resources whose results can change when an item of this type changes.
    pub dependants: NeedsFn,
    /// How CloudTrail events name it.
    pub trail: &'static [TrailRef],
}

impl std::fmt::Debug for TypeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeInfo")
            .field("name", &self.name)
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

/// Every described type, sorted by name (the synthetic account first).
pub static ALL: &[&TypeInfo] = &[
    &account::ACCOUNT,
    &cloudformation::STACK,
    &ec2::INSTANCE,
    &ec2::ROUTE_TABLE,
    &ec2::VPC_ENDPOINT,
    &ecr::PUBLIC_REPOSITORY,
    &ecr::REPOSITORY,
    &eks::CLUSTER,
    &eks::FARGATE_PROFILE,
    &iam::OIDC_PROVIDER,
    &iam::ROLE,
    &rds::DB_CLUSTER,
    &rds::DB_INSTANCE,
    &rds::OPTION_GROUP,
    &ssm::INVENTORY,
];

/// The description of `name`, if the checks read that type.
pub fn by_name(name: &str) -> Option<&'static TypeInfo> {
    ALL.iter().copied().find(|t| t.name == name)
}

/// Whether some check reads resources of type `name` recorded by AWS Config.
pub fn is_recorded_type(name: &str) -> bool {
    by_name(name).is_some_and(|t| t.recording != Recording::Synthetic)
}

/// Every type AWS Config records (all but the synthetic account).
pub fn recorded() -> impl Iterator<Item = &'static TypeInfo> {
    ALL.iter().copied().filter(|t| t.recording != Recording::Synthetic)
}

/// The types AWS Config records in every region (the default assumption of what a region's
/// recorder covers; global types are left out, see [`Recording::Global`]).
pub fn regional() -> impl Iterator<Item = &'static TypeInfo> {
    ALL.iter().copied().filter(|t| t.recording == Recording::Regional)
}

/// What one AWS Config recorder records (its recording group), as DescribeConfigurationRecorders
/// says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingScope {
    /// Every supported type (`allSupported`); the IAM bundle (users, groups, roles, customer
    /// managed policies) only with `includeGlobalResourceTypes`.
    AllSupported {
        /// `includeGlobalResourceTypes`.
        include_global: bool,
    },
    /// Only these types (`INCLUSION_BY_RESOURCE_TYPES`).
    Only(Vec<String>),
    /// Every supported type, global ones included, but these (`EXCLUSION_BY_RESOURCE_TYPES`).
    AllExcept(Vec<String>),
}

/// The described types a region's recorders record: the union over its recorders. Where a type's
/// recording is uncertain (IAM OIDC providers under "all supported", recorded only in IAM's home
/// region), it counts as not recorded, so its absence is never taken as evidence.
pub fn recorded_by(scopes: &[RecordingScope]) -> Vec<&'static str> {
    let records = |t: &TypeInfo, s: &RecordingScope| match s {
        RecordingScope::AllSupported { include_global } => match t.recording {
            Recording::Regional => true,
            Recording::Global => *include_global && t.name == iam::ROLE.name,
            Recording::Synthetic => false,
        },
        RecordingScope::Only(types) => types.iter().any(|x| x == t.name),
        RecordingScope::AllExcept(types) => !types.iter().any(|x| x == t.name),
    };
    recorded()
        .filter(|t| scopes.iter().any(|s| records(t, s)))
        .map(|t| t.name)
        .collect()
}

/// Deserialises a typed configuration, naming the failing field's path.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, FieldError> {
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

/// The description for the item's own type (an item of an undescribed type has none).
pub fn of(item: &ConfigurationItem) -> Option<&'static TypeInfo> {
    by_name(&item.resource_type)
}

/// No joins, no neighbourhood, no dependants: for types that are only ever read, not joined.
pub(crate) fn none(_: &ConfigurationItem) -> Vec<JoinKey> {
    Vec::new()
}

/// Needs nothing.
pub(crate) fn nothing(_: &ConfigurationItem, _: &Settings) -> Needs {
    Needs::default()
}

/// Every role name the checks look up by name (connector and feature roles from settings).
pub(crate) fn connector_role_names(s: &Settings) -> Vec<String> {
    let r = &s.roles;
    let mut names: Vec<String> = [
        &r.cspm_monitor,
        &r.agentless_scanner,
        &r.arc_autoprovisioning,
        &r.servers_jit,
        &r.oss_threat_protection,
    ]
    .into_iter()
    .cloned()
    .chain(r.data_discovery.iter().cloned())
    .chain(r.ciem.iter().cloned())
    .chain(r.containers_k8s_discovery.iter().cloned())
    .chain(r.containers_image_assessment.iter().cloned())
    .chain(r.containers_pipeline.iter().flatten().cloned())
    .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_sorted_unique_and_complete() {
        let names: Vec<&str> = ALL.iter().map(|t| t.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for t in ALL {
            assert_eq!(by_name(t.name).map(|b| b.name), Some(t.name));
        }
        assert!(regional().all(|t| !t.name.starts_with("AWS::IAM::")));
        assert!(is_recorded_type("AWS::EC2::Instance") && !is_recorded_type(account::ACCOUNT.name));
    }

    #[test]
    fn what_a_recorder_records() {
        let all = recorded_by(&[RecordingScope::AllSupported { include_global: false }]);
        assert!(all.contains(&"AWS::EC2::Instance") && !all.contains(&"AWS::IAM::Role"));
        let global = recorded_by(&[RecordingScope::AllSupported { include_global: true }]);
        assert!(global.contains(&"AWS::IAM::Role") && !global.contains(&"AWS::IAM::OIDCProvider"));
        let only = recorded_by(&[RecordingScope::Only(vec!["AWS::EC2::Instance".into()])]);
        assert_eq!(only, ["AWS::EC2::Instance"]);
        let except = recorded_by(&[RecordingScope::AllExcept(vec!["AWS::EC2::VPCEndpoint".into()])]);
        assert!(except.contains(&"AWS::IAM::Role") && except.contains(&"AWS::IAM::OIDCProvider"));
        assert!(!except.contains(&"AWS::EC2::VPCEndpoint"));
        assert!(recorded_by(&[]).is_empty());
    }
}

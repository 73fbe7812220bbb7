//! AWS Systems Manager: the managed-instance inventory.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::{typed, JoinKey, Recording, TypeInfo};
use crate::domain::model::{ConfigurationItem, Needs, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::ResourceKey;

/// `AWS::SSM::ManagedInstanceInventory`: the OS, agent and applications of a managed instance
/// (exists only where an inventory association runs).
pub const INVENTORY: TypeInfo = TypeInfo {
    name: "AWS::SSM::ManagedInstanceInventory",
    recording: Recording::Regional,
    parse: |json, supplementary| {
        let mut inv: SsmInventory = typed(json)?;
        if let Some(s) = supplementary
            .map(serde_json::value::RawValue::get)
            .filter(|s| *s != "null")
        {
            let sup: SsmSupplementary = serde_json::from_str(s).map_err(|e| {
                (
                    "supplementaryConfiguration".to_owned(),
                    crate::domain::error::redacted(&e),
                )
            })?;
            inv.instance_status = sup.instance_status;
        }
        Ok(Resource::SsmInventory(Box::new(inv)))
    },
    joins: |item| vec![JoinKey::InventoryOf(inventory_instance(item).to_owned())],
    neighbourhood: instance_of,
    dependants: instance_of,
    trail: &[],
};

/// The EC2 instance an inventory item describes: its relationship, else its own id (which
/// Config sets to the instance id).
pub fn inventory_instance(item: &ConfigurationItem) -> &str {
    item.relationships
        .iter()
        .find(|r| r.resource_type.as_deref() == Some(super::ec2::INSTANCE.name))
        .and_then(|r| r.resource_id.as_deref())
        .unwrap_or(&item.resource_id)
}

fn instance_of(item: &ConfigurationItem, _: &Settings) -> Needs {
    let mut n = Needs::default();
    n.key(ResourceKey::new(super::ec2::INSTANCE.name, inventory_instance(item)));
    n
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

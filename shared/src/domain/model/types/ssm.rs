//! AWS Systems Manager: the managed-instance inventory.

use serde::{Deserialize, Deserializer};

use super::{typed, JoinKey, Recording, TypeInfo};
use crate::domain::model::{ConfigurationItem, Needs, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::{ResourceKey, Text};

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

/// An inventory section: `Content` as AWS Config records it, an object keyed by id or name whose
/// values are one entry or, for a name installed in several versions (two kernels, two SQL Server
/// builds), a list of entries; some sources deliver a plain list.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
pub struct InventorySection<T> {
    /// `Content`, flattened to its entries.
    #[serde(rename = "Content", default = "Vec::new", deserialize_with = "content")]
    pub content: Vec<T>,
}

fn content<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    use serde::de::Error;
    use serde_json::Value;
    let entry = |v: Value, at: &str| {
        serde_json::from_value::<T>(v)
            .map_err(|e| D::Error::custom(format!("{at}: {}", crate::domain::error::redacted(&e))))
    };
    let entries = |v: Value, at: &str| -> Result<Vec<T>, D::Error> {
        match v {
            Value::Array(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, x)| entry(x, &format!("{at}[{i}]")))
                .collect(),
            Value::Object(_) => Ok(vec![entry(v, at)?]),
            Value::Null => Ok(Vec::new()),
            _ => Err(D::Error::custom(format!(
                "{at}: expected an entry (an object) or a list of entries"
            ))),
        }
    };
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => entries(Value::Array(list), "Content"),
        Some(Value::Object(m)) => {
            let mut out = Vec::new();
            for (key, v) in m {
                out.extend(entries(v, &format!("Content.{key}"))?);
            }
            Ok(out)
        }
        Some(_) => Err(D::Error::custom(
            "Content: expected an object keyed by id or name, or a list of entries",
        )),
    }
}

/// `AWS:InstanceInformation` content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceInformation {
    /// `AgentVersion`.
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub agent_version: Option<Text>,
    /// `PlatformName`, e.g. `Microsoft Windows Server 2019 Datacenter`, `Ubuntu`.
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub platform_name: Option<Text>,
    /// `PlatformType` (`Windows`, `Linux`, `MacOS`).
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub platform_type: Option<Text>,
    /// `PlatformVersion`, e.g. `10.0.17763`, `22.04`.
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub platform_version: Option<Text>,
    /// `InstanceStatus` (`Active`, `Stopped`, `Terminated`, `ConnectionLost`).
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub instance_status: Option<Text>,
}

/// `AWS:Application` content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Application {
    /// `Name`.
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub name: Option<Text>,
    /// `Version`.
    #[serde(deserialize_with = "crate::domain::model::item::shared_text")]
    pub version: Option<Text>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(content: &str) -> Result<SsmInventory, String> {
        serde_json::from_str(&format!(
            r#"{{"AWS:Application": {{"SchemaVersion": "1.0", "Content": {content}}}}}"#
        ))
        .map_err(|e| e.to_string())
    }

    #[test]
    fn application_content_as_a_map_of_entries_or_lists_or_as_a_list() {
        // A name installed in two versions is a list under that name.
        let inv = inventory(
            r#"{"kernel": [{"Name": "kernel", "Version": "5.10.220"}, {"Name": "kernel", "Version": "5.10.223"}],
                "Microsoft SQL Server 2019 (64-bit)": {"Name": "Microsoft SQL Server 2019 (64-bit)", "Version": "15.0.2000.5"}}"#,
        )
        .unwrap();
        let names: Vec<_> = inv
            .applications()
            .iter()
            .map(|a| (a.name.as_deref().unwrap(), a.version.as_deref().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("Microsoft SQL Server 2019 (64-bit)", "15.0.2000.5"),
                ("kernel", "5.10.220"),
                ("kernel", "5.10.223")
            ]
        );
        let inv = inventory(r#"[{"Name": "EC2ConfigService", "Version": "3.19.1153.0"}]"#).unwrap();
        assert_eq!(inv.applications().len(), 1);
        assert!(inventory("null").unwrap().applications().is_empty());
    }

    #[test]
    fn a_wrong_shape_names_where_and_quotes_nothing() {
        let e = inventory(r#"{"kernel": [{"Name": "kernel", "Version": 7}]}"#).unwrap_err();
        assert!(e.contains("Content.kernel[0]") && !e.contains('7'), "{e}");
        let e = inventory(r#"{"kernel": "s3cr3t"}"#).unwrap_err();
        assert!(e.contains("Content.kernel") && !e.contains("s3cr3t"), "{e}");
    }
}

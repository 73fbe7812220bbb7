//! Amazon RDS: DB instances, clusters and option groups.
use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::resources::nullable;
use super::{typed, JoinKey, Recording, TrailRef, TypeInfo};
use crate::domain::model::{ConfigurationItem, Lookup, Needs, Resource};
use crate::domain::settings::Settings;

/// `AWS::RDS::DBInstance`: open-source databases and RDS Custom for SQL Server.
pub const DB_INSTANCE: TypeInfo = TypeInfo {
    name: "AWS::RDS::DBInstance",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::RdsInstance(Box::new(typed(json)?))),
    joins: super::none,
    neighbourhood: db_instance_neighbourhood,
    dependants: super::nothing,
    trail: &[
        TrailRef::Name {
            source: "rds.amazonaws.com",
            keys: &["dBInstanceIdentifier", "dbInstanceIdentifier"],
        },
        TrailRef::Every {
            source: "rds.amazonaws.com",
            name_contains: "ParameterGroup",
        },
    ],
};

/// A DB instance needs its cluster, its option groups and, for RDS Custom for SQL Server, the EC2
/// host named after it.
fn db_instance_neighbourhood(item: &ConfigurationItem, settings: &Settings) -> Needs {
    let mut n = Needs::default();
    let Resource::RdsInstance(db) = &item.resource else {
        return n;
    };
    if let Some(c) = &db.db_cluster_identifier {
        n.lookup(Lookup::Named(DB_CLUSTER.name, vec![c.clone()]));
    }
    let groups: Vec<String> = db
        .option_group_memberships
        .iter()
        .filter_map(|m| m.name.clone())
        .collect();
    if !groups.is_empty() {
        n.lookup(Lookup::Named(OPTION_GROUP.name, groups));
    }
    if db.engine.as_deref().is_some_and(|e| e.starts_with("custom-sqlserver-")) {
        let ident = db.db_instance_identifier.as_deref().unwrap_or(&item.resource_id);
        n.lookup(Lookup::InstanceNamed(format!(
            "{}{ident}",
            settings.sql.rds_custom_host_name_prefix
        )));
    }
    n
}

/// `AWS::RDS::DBCluster`: Aurora and Multi-AZ DB clusters.
pub const DB_CLUSTER: TypeInfo = TypeInfo {
    name: "AWS::RDS::DBCluster",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::RdsCluster(Box::new(typed(json)?))),
    joins: |item| match &item.resource {
        Resource::RdsCluster(c) => vec![JoinKey::RdsCluster {
            account: item.account_id.clone(),
            region: item.region.clone(),
            id: c
                .identifier
                .as_deref()
                .unwrap_or(&item.resource_id)
                .to_ascii_lowercase(),
        }],
        _ => Vec::new(),
    },
    neighbourhood: super::nothing,
    dependants: |item, _| {
        let mut n = Needs::default();
        if let Resource::RdsCluster(c) = &item.resource {
            let members: Vec<String> = c.members.iter().filter_map(|m| m.instance_identifier.clone()).collect();
            if !members.is_empty() {
                n.lookup(Lookup::Named(DB_INSTANCE.name, members));
            }
        }
        n
    },
    trail: &[TrailRef::Name {
        source: "rds.amazonaws.com",
        keys: &["dBClusterIdentifier", "dbClusterIdentifier"],
    }],
};

/// `AWS::RDS::OptionGroup`: carries the MariaDB/MySQL audit plugin settings.
pub const OPTION_GROUP: TypeInfo = TypeInfo {
    name: "AWS::RDS::OptionGroup",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::RdsOptionGroup(typed(json)?)),
    joins: |item| match &item.resource {
        Resource::RdsOptionGroup(og) => vec![JoinKey::OptionGroup {
            account: item.account_id.clone(),
            region: item.region.clone(),
            name: option_group_name(item, og).to_ascii_lowercase(),
        }],
        _ => Vec::new(),
    },
    neighbourhood: super::nothing,
    dependants: |item, _| {
        let mut n = Needs::default();
        if let Resource::RdsOptionGroup(og) = &item.resource {
            n.lookup(Lookup::InOptionGroup(option_group_name(item, og).to_owned()));
        }
        n
    },
    trail: &[TrailRef::Name {
        source: "rds.amazonaws.com",
        keys: &["optionGroupName"],
    }],
};

fn option_group_name<'a>(item: &'a ConfigurationItem, og: &'a RdsOptionGroup) -> &'a str {
    og.option_group_name
        .as_deref()
        .or(item.resource_name.as_deref())
        .unwrap_or(&item.resource_id)
}

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

//! Lookups: the ways a resource's related resources are found. A lookup is rendered to a
//! SelectResourceConfig expression for AWS Config (`contracts::config_query`) and evaluated
//! directly over items everywhere else ([`Lookup::matches`]): the resource graph and the in-memory
//! reader answer exactly what Config would.

use super::{ConfigurationItem, Resource};
use crate::domain::vocab::ResourceKey;

/// A way to find related resources, rendered to SelectResourceConfig SQL by the Config adapter
/// ([`Lookup::to_sql`]) and evaluated directly by in-memory readers ([`Lookup::matches`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// Roles in any of these instance profiles.
    RolesInProfiles(Vec<String>),
    /// Instances using any of these instance profiles.
    InstancesWithProfiles(Vec<String>),
    /// Resources of these types related to any of these resource ids (VPC, subnet).
    RelatedTo(Vec<&'static str>, Vec<String>),
    /// Resources of this type with any of these names.
    Named(&'static str, Vec<String>),
    /// Every resource of this type.
    AllOfType(&'static str),
    /// EC2 instances whose `Name` tag is this value.
    InstanceNamed(String),
    /// RDS instances that belong to this option group.
    InOptionGroup(String),
}

impl Lookup {
    /// Whether `item` matches (what SelectResourceConfig would answer).
    pub fn matches(&self, item: &ConfigurationItem) -> bool {
        let name = item.resource_name.as_deref().unwrap_or(&item.resource_id);
        match (self, &item.resource) {
            (Self::RolesInProfiles(arns), Resource::IamRole(r)) => r
                .instance_profile_list
                .iter()
                .any(|p| p.arn.as_ref().is_some_and(|a| arns.contains(a))),
            (Self::InstancesWithProfiles(arns), Resource::Ec2Instance(i)) => i
                .iam_instance_profile
                .as_ref()
                .and_then(|p| p.arn.as_ref())
                .is_some_and(|a| arns.contains(a)),
            (Self::RelatedTo(types, ids), _) => {
                types.contains(&item.resource_type.as_str())
                    && item
                        .relationships
                        .iter()
                        .any(|r| r.resource_id.as_ref().is_some_and(|id| ids.contains(id)))
            }
            (Self::Named(t, names), _) => item.resource_type == *t && names.iter().any(|n| n == name),
            (Self::AllOfType(t), _) => item.resource_type == *t,
            (Self::InstanceNamed(n), Resource::Ec2Instance(_)) => item.tags.get("Name") == Some(n),
            (Self::InOptionGroup(n), Resource::RdsInstance(db)) => {
                db.option_group_memberships.iter().any(|m| m.name.as_ref() == Some(n))
            }
            _ => false,
        }
    }
}

/// What to fetch to answer a question about a resource: resources known by key, and lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Resources by type and id (in the asking resource's account).
    pub keys: Vec<ResourceKey>,
    /// Resources found by lookup (in the asking resource's account).
    pub lookups: Vec<Lookup>,
}

impl Needs {
    /// Adds a lookup unless an equal one is there.
    pub fn lookup(&mut self, l: Lookup) {
        if !self.lookups.contains(&l) {
            self.lookups.push(l);
        }
    }

    /// Adds a key unless an equal one is there.
    pub fn key(&mut self, k: ResourceKey) {
        if !self.keys.contains(&k) {
            self.keys.push(k);
        }
    }

    /// Adds everything `other` needs.
    pub fn extend(&mut self, other: Needs) {
        other.keys.into_iter().for_each(|k| self.key(k));
        other.lookups.into_iter().for_each(|l| self.lookup(l));
    }
}

//! AWS Config's query language: the SelectResourceConfig expression of a [`Lookup`].

use crate::domain::model::lookup::Lookup;
use crate::domain::model::types::{ec2, iam, rds};

fn quoted(values: &[String]) -> Option<String> {
    // Resource ids, names and ARNs never contain quotes; refuse rather than escape.
    if values.is_empty() || values.iter().any(|v| v.contains('\'') || v.contains('\\')) {
        return None;
    }
    Some(values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", "))
}

/// The SelectResourceConfig expression, or `None` when a value cannot be quoted safely.
pub fn select_expression(lookup: &Lookup) -> Option<String> {
    const SELECT: &str = "SELECT resourceType, resourceId WHERE";
    Some(match lookup {
        Lookup::RolesInProfiles(arns) => format!(
            "{SELECT} resourceType = '{}' AND configuration.instanceProfileList.arn IN ({})",
            iam::ROLE.name,
            quoted(arns)?
        ),
        Lookup::InstancesWithProfiles(arns) => format!(
            "{SELECT} resourceType = '{}' AND configuration.iamInstanceProfile.arn IN ({})",
            ec2::INSTANCE.name,
            quoted(arns)?
        ),
        Lookup::RelatedTo(types, ids) => {
            let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
            format!(
                "{SELECT} resourceType IN ({}) AND relationships.resourceId IN ({})",
                quoted(&types)?,
                quoted(ids)?
            )
        }
        Lookup::Named(t, names) => format!("{SELECT} resourceType = '{t}' AND resourceName IN ({})", quoted(names)?),
        Lookup::AllOfType(t) => format!("{SELECT} resourceType = '{t}'"),
        Lookup::InstanceNamed(name) => {
            format!(
                "{SELECT} resourceType = '{}' AND tags.tag = {}",
                ec2::INSTANCE.name,
                quoted(&[format!("Name={name}")])?
            )
        }
        Lookup::InOptionGroup(name) => format!(
            "{SELECT} resourceType = '{}' AND configuration.optionGroupMemberships.optionGroupName = {}",
            rds::DB_INSTANCE.name,
            quoted(std::slice::from_ref(name))?
        ),
    })
}

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

/// The longest expression SelectResourceConfig takes (its `Expression` is 1 to 4,096 characters).
pub const MAX_EXPRESSION: usize = 4096;

/// The SelectResourceConfig expressions of a lookup, each within [`MAX_EXPRESSION`]: a lookup over
/// many values (a route table's 150 subnets) is split into several queries whose results together
/// are the lookup's. `None` when a value cannot be quoted safely or one value alone is too long.
pub fn select_expressions(lookup: &Lookup) -> Option<Vec<String>> {
    let whole = select_expression(lookup)?;
    if whole.len() <= MAX_EXPRESSION {
        return Some(vec![whole]);
    }
    type Rebuild<'a> = Box<dyn Fn(Vec<String>) -> Lookup + 'a>;
    let (values, rebuild): (&[String], Rebuild<'_>) = match lookup {
        Lookup::RolesInProfiles(v) => (v, Box::new(Lookup::RolesInProfiles)),
        Lookup::InstancesWithProfiles(v) => (v, Box::new(Lookup::InstancesWithProfiles)),
        Lookup::RelatedTo(types, v) => (v, Box::new(move |ids| Lookup::RelatedTo(types.clone(), ids))),
        Lookup::Named(t, v) => (v, Box::new(move |names| Lookup::Named(t, names))),
        Lookup::AllOfType(_) | Lookup::InstanceNamed(_) | Lookup::InOptionGroup(_) => return None,
    };
    let mut out = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    for v in values {
        chunk.push(v.clone());
        if select_expression(&rebuild(chunk.clone()))?.len() > MAX_EXPRESSION {
            let last = chunk.pop()?;
            if chunk.is_empty() {
                return None;
            }
            out.push(select_expression(&rebuild(std::mem::take(&mut chunk)))?);
            chunk.push(last);
        }
    }
    if !chunk.is_empty() {
        let e = select_expression(&rebuild(chunk))?;
        if e.len() > MAX_EXPRESSION {
            return None;
        }
        out.push(e);
    }
    Some(out)
}

/// The resource types `lookup` can answer, to list in full and filter with [`Lookup::matches`]
/// when [`select_expressions`] cannot express it (a value holding a quote: EC2 tags and IAM paths
/// may hold any character, and AWS Config's query language documents no escape for one).
pub fn listed_types(lookup: &Lookup) -> Vec<&'static str> {
    match lookup {
        Lookup::RolesInProfiles(_) => vec![iam::ROLE.name],
        Lookup::InstancesWithProfiles(_) | Lookup::InstanceNamed(_) => vec![ec2::INSTANCE.name],
        Lookup::InOptionGroup(_) => vec![rds::DB_INSTANCE.name],
        Lookup::Named(t, _) | Lookup::AllOfType(t) => vec![t],
        Lookup::RelatedTo(types, _) => types.clone(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_with_a_quote_is_never_put_into_a_query_and_its_superset_is() {
        for lookup in [
            Lookup::InstanceNamed("O'Brien's box".into()),
            Lookup::RolesInProfiles(vec!["arn:aws:iam::1:instance-profile/o'p/web".into()]),
            Lookup::InstancesWithProfiles(vec!["arn:aws:iam::1:instance-profile/o'p/web".into()]),
        ] {
            assert_eq!(select_expressions(&lookup), None, "{lookup:?}");
            let all: Vec<String> = listed_types(&lookup)
                .into_iter()
                .map(|t| select_expression(&Lookup::AllOfType(t)).unwrap())
                .collect();
            assert!(
                all.iter().all(|e| !e.contains("O'Brien") && !e.contains("o'p")),
                "{all:?}"
            );
        }
    }

    #[test]
    fn a_lookup_over_many_values_is_split_into_queries_that_fit() {
        // A route table associated with 150 subnets: one query would be 4,300+ characters.
        let subnets: Vec<String> = (0..150).map(|n| format!("subnet-0{n:016x}")).collect();
        let lookup = Lookup::RelatedTo(vec![crate::domain::model::types::ec2::INSTANCE.name], subnets.clone());
        assert!(select_expression(&lookup).unwrap().len() > MAX_EXPRESSION);
        let parts = select_expressions(&lookup).unwrap();
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|e| e.len() <= MAX_EXPRESSION));
        // Together they name every subnet exactly once.
        let named: Vec<&str> = parts
            .iter()
            .flat_map(|e| e.split('\'').skip(1).step_by(2))
            .filter(|v| v.starts_with("subnet-"))
            .collect();
        assert_eq!(named, subnets.iter().map(String::as_str).collect::<Vec<_>>());
        // A short lookup stays one query, unchanged.
        let one = Lookup::RolesInProfiles(vec!["arn:aws:iam::1:instance-profile/p".into()]);
        assert_eq!(
            select_expressions(&one).unwrap(),
            vec![select_expression(&one).unwrap()]
        );
    }
}

//! Names beside ids: AWS Config identifies an RDS instance by its resource id (`db-3FF6...`) and an
//! IAM role by its unique id (`AROA...`), which nobody recognises. The outputs show, beside the
//! id, the name Config records (`resourceName`: the DB identifier, the role name) or, for an EC2
//! instance, its `Name` tag; where the name is the id (EKS clusters, accounts) nothing is added.

use std::collections::HashMap;

use shared::domain::graph::ResourceGraph;

/// Resource names by account, resource type and resource id, where they differ from the id.
/// Nested so that a lookup (one per result printed) borrows its keys instead of copying them.
#[derive(Debug, Default)]
pub struct Names(HashMap<String, HashMap<String, HashMap<String, String>>>);

impl Names {
    /// Adds the names of the graph's items.
    pub fn add(&mut self, graph: &ResourceGraph) {
        let names = &mut self.0;
        for item in graph.items() {
            let name = item
                .resource_name
                .as_deref()
                .filter(|n| !n.is_empty() && *n != item.resource_id)
                .or_else(|| {
                    (item.resource_type == "AWS::EC2::Instance")
                        .then(|| item.tags.get("Name").map(String::as_str))
                        .flatten()
                        .filter(|n| !n.is_empty())
                });
            if let Some(n) = name {
                names
                    .entry(item.account_id.clone())
                    .or_default()
                    .entry(item.resource_type.clone())
                    .or_default()
                    .insert(item.resource_id.clone(), n.to_owned());
            }
        }
    }

    /// The name of a resource, when it has one other than its id.
    pub fn get(&self, account: &str, resource_type: &str, resource_id: &str) -> Option<&str> {
        self.0
            .get(account)?
            .get(resource_type)?
            .get(resource_id)
            .map(String::as_str)
    }
}

//! Evaluating resources from live AWS Config data rather than a snapshot: which related
//! resources a resource needs (its neighbourhood), which resources depend on it, and collecting
//! both through a [`ConfigReader`] into a [`ResourceGraph`].

use std::collections::{BTreeSet, HashSet};

use crate::app::ports::{ConfigReader, PortError};
use crate::domain::engine::evaluate_item;
use crate::domain::graph::{ItemId, ResourceGraph};
use crate::domain::model::{ConfigurationItem, Lookup, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::{Evaluation, ResourceKey, ACCOUNT_TYPE};

/// Every role name the checks look up by name.
fn connector_role_names(s: &Settings) -> Vec<String> {
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

fn account_context(s: &Settings) -> Vec<Lookup> {
    vec![
        Lookup::Named("AWS::IAM::Role", connector_role_names(s)),
        Lookup::AllOfType("AWS::IAM::OIDCProvider"),
    ]
}

/// What must be fetched besides `item` to evaluate its checks.
pub fn neighbourhood(item: &ConfigurationItem, settings: &Settings) -> (Vec<ResourceKey>, Vec<Lookup>) {
    let mut keys = Vec::new();
    let mut lookups = Vec::new();
    match &item.resource {
        Resource::Ec2Instance(i) => {
            if let Some(arn) = i.iam_instance_profile.as_ref().and_then(|p| p.arn.clone()) {
                lookups.push(Lookup::RolesInProfiles(vec![arn]));
            }
            let id = i.instance_id.clone().unwrap_or_else(|| item.resource_id.clone());
            keys.push(ResourceKey::new("AWS::SSM::ManagedInstanceInventory", id));
            if let Some(vpc) = &i.vpc_id {
                lookups.push(Lookup::RelatedTo(
                    vec!["AWS::EC2::RouteTable", "AWS::EC2::VPCEndpoint"],
                    vec![vpc.clone()],
                ));
            }
        }
        Resource::SsmInventory(_) => keys.push(ResourceKey::new("AWS::EC2::Instance", item.resource_id.clone())),
        Resource::IamRole(_) | Resource::OidcProvider(_) | Resource::Account => {
            lookups.extend(account_context(settings))
        }
        Resource::EksCluster(_) | Resource::EcrRepository(_) => {
            lookups.push(Lookup::Named("AWS::IAM::Role", connector_role_names(settings)));
        }
        Resource::RdsInstance(db) => {
            if let Some(c) = &db.db_cluster_identifier {
                lookups.push(Lookup::Named("AWS::RDS::DBCluster", vec![c.clone()]));
            }
            let groups: Vec<String> = db
                .option_group_memberships
                .iter()
                .filter_map(|m| m.name.clone())
                .collect();
            if !groups.is_empty() {
                lookups.push(Lookup::Named("AWS::RDS::OptionGroup", groups));
            }
            if db.engine.as_deref().is_some_and(|e| e.starts_with("custom-sqlserver-")) {
                let ident = db.db_instance_identifier.as_deref().unwrap_or(&item.resource_id);
                lookups.push(Lookup::InstanceNamed(format!(
                    "{}{ident}",
                    settings.sql.rds_custom_host_name_prefix
                )));
            }
        }
        _ => {}
    }
    (keys, lookups)
}

/// Resources whose results can change when `item` changes (the live counterpart of
/// [`ResourceGraph::dependants`]).
pub fn dependants(item: &ConfigurationItem, settings: &Settings) -> (Vec<ResourceKey>, Vec<Lookup>) {
    let mut keys = Vec::new();
    let mut lookups = Vec::new();
    let account = || ResourceKey::new(ACCOUNT_TYPE, item.account_id.clone());
    match &item.resource {
        Resource::IamRole(r) => {
            let arns: Vec<String> = r.instance_profile_list.iter().filter_map(|p| p.arn.clone()).collect();
            if !arns.is_empty() {
                lookups.push(Lookup::InstancesWithProfiles(arns));
            }
            keys.push(account());
            // Containers checks read connector roles by name.
            lookups.push(Lookup::AllOfType("AWS::EKS::Cluster"));
            lookups.push(Lookup::AllOfType("AWS::ECR::Repository"));
        }
        Resource::OidcProvider(_) => keys.push(account()),
        Resource::SsmInventory(_) => keys.push(ResourceKey::new("AWS::EC2::Instance", item.resource_id.clone())),
        Resource::VpcEndpoint(ep) => {
            if let Some(vpc) = &ep.vpc_id {
                lookups.push(Lookup::RelatedTo(vec!["AWS::EC2::Instance"], vec![vpc.clone()]));
            }
        }
        Resource::RouteTable(rt) => {
            // Subnet associations, and the whole VPC for a main table.
            let mut ids: Vec<String> = rt.associations.iter().filter_map(|a| a.subnet_id.clone()).collect();
            if rt.associations.iter().any(|a| a.main == Some(true)) {
                ids.extend(rt.vpc_id.clone());
            }
            if !ids.is_empty() {
                lookups.push(Lookup::RelatedTo(vec!["AWS::EC2::Instance"], ids));
            }
        }
        Resource::RdsCluster(c) => {
            let members: Vec<String> = c.members.iter().filter_map(|m| m.instance_identifier.clone()).collect();
            if !members.is_empty() {
                lookups.push(Lookup::Named("AWS::RDS::DBInstance", members));
            }
        }
        Resource::RdsOptionGroup(og) => {
            let name = og.option_group_name.clone().unwrap_or_else(|| item.resource_id.clone());
            lookups.push(Lookup::InOptionGroup(name));
        }
        Resource::Ec2Instance(_) => {
            let prefix = &settings.sql.rds_custom_host_name_prefix;
            if let Some(db) = item.tags.get("Name").and_then(|n| n.strip_prefix(prefix.as_str())) {
                lookups.push(Lookup::Named("AWS::RDS::DBInstance", vec![db.to_owned()]));
            }
        }
        _ => {}
    }
    (keys, lookups)
}

/// The graph of what was collected and which of its items to evaluate.
#[derive(Debug)]
pub struct Collected {
    /// Every item fetched (targets and their neighbourhoods).
    pub graph: ResourceGraph,
    /// The items to evaluate: the changed ones and, when asked, their dependants.
    pub targets: Vec<ItemId>,
}

async fn fetch<R: ConfigReader>(
    reader: &R,
    keys: Vec<ResourceKey>,
    lookups: Vec<Lookup>,
    seen: &mut HashSet<ResourceKey>,
) -> Result<Vec<ConfigurationItem>, PortError> {
    let mut wanted: BTreeSet<ResourceKey> = keys.into_iter().collect();
    let unique: Vec<Lookup> = lookups.into_iter().fold(Vec::new(), |mut acc, l| {
        if !acc.contains(&l) {
            acc.push(l);
        }
        acc
    });
    for l in &unique {
        wanted.extend(reader.select(l).await?);
    }
    // The synthetic account item is built by the graph, not fetched.
    let wanted: Vec<ResourceKey> = wanted
        .into_iter()
        .filter(|k| k.resource_type != ACCOUNT_TYPE && seen.insert(k.clone()))
        .collect();
    let mut items = Vec::new();
    for chunk in wanted.chunks(100) {
        items.extend(reader.batch_get(chunk).await?);
    }
    Ok(items)
}

/// Collects `changed` items, their dependants (when `with_dependants`) and everything those need,
/// then builds the graph. `recorded_types` are the types the recorder records (from its recording
/// group): for those, a resource that was not found is known to be absent.
pub async fn collect<R: ConfigReader>(
    reader: &R,
    changed: Vec<ConfigurationItem>,
    settings: &Settings,
    with_dependants: bool,
    recorded_types: &[String],
) -> Result<Collected, PortError> {
    let mut seen: HashSet<ResourceKey> = changed
        .iter()
        .map(|i| ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    let mut target_keys: BTreeSet<(String, String, String)> = changed
        .iter()
        .map(|i| (i.account_id.clone(), i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    let mut items = changed;
    if with_dependants {
        let (mut keys, mut lookups) = (Vec::new(), Vec::new());
        for i in &items {
            let (k, l) = dependants(i, settings);
            for key in &k {
                target_keys.insert((i.account_id.clone(), key.resource_type.clone(), key.resource_id.clone()));
            }
            keys.extend(k);
            lookups.extend(l);
        }
        let deps = fetch(reader, keys, lookups, &mut seen).await?;
        target_keys.extend(
            deps.iter()
                .map(|d| (d.account_id.clone(), d.resource_type.clone(), d.resource_id.clone())),
        );
        items.extend(deps);
    }
    // Two hops cover every join the checks make (RDS Custom → host → its role and network).
    let mut frontier: Vec<usize> = (0..items.len()).collect();
    for _ in 0..2 {
        let (mut keys, mut lookups) = (Vec::new(), Vec::new());
        for &i in &frontier {
            let (k, l) = neighbourhood(&items[i], settings);
            keys.extend(k);
            lookups.extend(l);
        }
        let start = items.len();
        items.extend(fetch(reader, keys, lookups, &mut seen).await?);
        frontier = (start..items.len()).collect();
        if frontier.is_empty() {
            break;
        }
    }
    for (i, f) in reader.facts(&items).await? {
        if let Some(item) = items.get_mut(i) {
            item.resource.apply_live(f).map_err(|message| PortError {
                operation: "facts",
                message,
                retryable: false,
            })?;
        }
    }
    let mut graph = ResourceGraph::build(items);
    let accounts: Vec<String> = graph.accounts().into_iter().map(str::to_owned).collect();
    for account in &accounts {
        for t in recorded_types {
            graph.mark_recorded(account, t);
        }
    }
    let targets = target_keys
        .iter()
        .filter_map(|(a, t, id)| graph.find(a, t, id))
        .collect();
    Ok(Collected { graph, targets })
}

/// Evaluates the collected targets.
pub fn evaluate_targets(c: &Collected, settings: &Settings) -> Vec<Evaluation> {
    c.targets
        .iter()
        .flat_map(|&id| evaluate_item(&c.graph, id, settings))
        .collect()
}

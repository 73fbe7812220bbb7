//! Collecting from live AWS Config data rather than a snapshot: a changed resource, the resources
//! that depend on it and what each of them needs (their neighbourhoods), as their types'
//! descriptions say ([`crate::domain::model::types`]), fetched through a [`ConfigReader`] into a
//! [`ResourceGraph`].

use std::collections::{BTreeSet, HashSet};

use crate::app::ports::{ConfigReader, FactReader, PortError};
use crate::domain::engine::evaluate_item;
use crate::domain::graph::{ItemId, ResourceGraph};
use crate::domain::model::types::{self, NeedsFn, TypeInfo};
use crate::domain::model::{ConfigurationItem, Lookup};
use crate::domain::settings::Settings;
use crate::domain::vocab::{Evaluation, ResourceKey, ACCOUNT_TYPE};

/// What an item's type description says it needs, split into keys and lookups.
fn needs(
    item: &ConfigurationItem,
    settings: &Settings,
    which: fn(&TypeInfo) -> NeedsFn,
) -> (Vec<ResourceKey>, Vec<Lookup>) {
    match types::of(item) {
        Some(info) => {
            let n = which(info)(item, settings);
            (n.keys, n.lookups)
        }
        None => (Vec::new(), Vec::new()),
    }
}

/// The graph of what was collected and which of its items to evaluate.
#[derive(Debug)]
pub struct Collected {
    /// Every item fetched (targets and their neighbourhoods).
    pub graph: ResourceGraph,
    /// The items to evaluate: the changed ones and, when asked, their dependants.
    pub targets: Vec<ItemId>,
}

async fn fetch<R: ConfigReader + FactReader>(
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

/// Each item as an event carried it, or as AWS Config records it now when that capture is newer:
/// an event delivered late (or out of order) then never evaluates the resource, nor the resources
/// that depend on it, from an older capture than one already seen. Only for items an event
/// carries: items read from Config are already its current ones.
pub async fn newest_of<R: ConfigReader>(
    reader: &R,
    changed: Vec<ConfigurationItem>,
) -> Result<Vec<ConfigurationItem>, PortError> {
    let keys: Vec<ResourceKey> = changed
        .iter()
        .filter(|i| i.resource_type != ACCOUNT_TYPE)
        .map(|i| ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    if keys.is_empty() {
        return Ok(changed);
    }
    let mut current = reader.batch_get(&keys).await?;
    Ok(changed
        .into_iter()
        .map(|item| {
            let newer = current.iter().position(|c| {
                c.account_id == item.account_id
                    && c.resource_type == item.resource_type
                    && c.resource_id == item.resource_id
                    && c.capture_time > item.capture_time
            });
            match newer {
                Some(n) => current.swap_remove(n),
                None => item,
            }
        })
        .collect())
}

/// The keys of the resources that depend on `changed` (the instances using a changed role, every
/// instance of an account after an SSM setting changes, ...), as their types' descriptions say,
/// without `changed` themselves, in key order.
pub async fn dependant_keys<R: ConfigReader>(
    reader: &R,
    changed: &[ConfigurationItem],
    settings: &Settings,
) -> Result<Vec<ResourceKey>, PortError> {
    let (mut keys, mut lookups) = (Vec::new(), Vec::new());
    for i in changed {
        let (k, l) = needs(i, settings, |t| t.dependants);
        keys.extend(k);
        lookups.extend(l);
    }
    let mut wanted: BTreeSet<ResourceKey> = keys.into_iter().collect();
    let mut done: Vec<Lookup> = Vec::new();
    for l in lookups {
        if !done.contains(&l) {
            wanted.extend(reader.select(&l).await?);
            done.push(l);
        }
    }
    for i in changed {
        wanted.remove(&ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()));
    }
    Ok(wanted.into_iter().filter(|k| k.resource_type != ACCOUNT_TYPE).collect())
}

/// The accounts whose own (account-level) results depend on `changed`, as their types'
/// descriptions say (an account's roles and OIDC providers move its account-level checks).
pub fn dependant_accounts(changed: &[ConfigurationItem], settings: &Settings) -> BTreeSet<String> {
    changed
        .iter()
        .flat_map(|i| needs(i, settings, |t| t.dependants).0)
        .filter(|k| k.resource_type == ACCOUNT_TYPE)
        .map(|k| k.resource_id)
        .collect()
}

/// Collects `changed` items, their dependants (when `with_dependants`) and everything those need,
/// then builds the graph. `recorded_types` are the types the recorder records (from its recording
/// group): for those, a resource that was not found is known to be absent.
pub async fn collect<R: ConfigReader + FactReader>(
    reader: &R,
    changed: Vec<ConfigurationItem>,
    settings: &Settings,
    with_dependants: bool,
    recorded_types: &[String],
) -> Result<Collected, PortError> {
    let mut targets = changed;
    let mut accounts = BTreeSet::new();
    if with_dependants {
        accounts = dependant_accounts(&targets, settings);
        let keys = dependant_keys(reader, &targets, settings).await?;
        let mut deps = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            deps.extend(reader.batch_get(chunk).await?);
        }
        targets.extend(deps);
    }
    let mut c = collect_with(reader, targets, Vec::new(), settings, recorded_types).await?;
    for a in accounts {
        if let Some(id) = c.graph.account(&a) {
            if !c.targets.contains(&id) {
                c.targets.push(id);
            }
        }
    }
    Ok(c)
}

/// Collects what `targets` need (their neighbourhoods) besides `context`, items already known
/// that are not to be evaluated (a change's resources, while a page of their dependants is),
/// then builds the graph.
pub async fn collect_with<R: ConfigReader + FactReader>(
    reader: &R,
    targets: Vec<ConfigurationItem>,
    context: Vec<ConfigurationItem>,
    settings: &Settings,
    recorded_types: &[String],
) -> Result<Collected, PortError> {
    let target_keys: BTreeSet<(String, String, String)> = targets
        .iter()
        .map(|i| (i.account_id.clone(), i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    let mut items = targets;
    let mut seen: HashSet<ResourceKey> = HashSet::new();
    for i in &items {
        seen.insert(ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()));
    }
    for i in context {
        if seen.insert(ResourceKey::new(i.resource_type.clone(), i.resource_id.clone())) {
            items.push(i);
        }
    }
    // Two hops cover every join the checks make (RDS Custom → host → its role and network).
    let mut frontier: Vec<usize> = (0..items.len()).collect();
    for _ in 0..2 {
        let (mut keys, mut lookups) = (Vec::new(), Vec::new());
        for &i in &frontier {
            let (k, l) = needs(&items[i], settings, |t| t.neighbourhood);
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
    graph.mark_recorded(recorded_types);
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

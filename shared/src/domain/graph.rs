//! The resource graph: every configuration item of an input, indexed under the join keys its type's
//! description declares ([`types::TypeInfo::joins`]) for the cross-resource joins the checks make
//! (instance → instance profile → role, instance → SSM inventory, subnet → route table, VPC →
//! endpoints, RDS instance → cluster / option group / RDS Custom host), and answering the reverse
//! question the event-driven functions ask (which resources depend on this one) from the same
//! descriptions.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::domain::model::types::{self, JoinKey};
use crate::domain::model::{ConfigurationItem, Needs, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::{ACCOUNT_TYPE, GLOBAL_REGION};

/// Index of an item in [`ResourceGraph::items`].
pub type ItemId = usize;

/// Items plus indexes. Build it once per input with [`ResourceGraph::build`].
#[derive(Debug, Default)]
pub struct ResourceGraph {
    items: Vec<ConfigurationItem>,
    by_key: ByKey,
    /// (account, region key, type) of every item: what a complete input shows recorded.
    recorded: HashSet<(String, String, String)>,
    joins: HashMap<JoinKey, Vec<ItemId>>,
    unreadable: HashSet<(String, String)>,
    /// (account, type) declared recorded in every region of the account.
    declared_recorded: HashSet<(String, String)>,
    /// (account, region key, type) of the complete recordings declared with `mark_complete`.
    complete: HashSet<(String, String, String)>,
    partial: bool,
    account_item: HashMap<String, ItemId>,
    regions_by_account: HashMap<String, BTreeSet<String>>,
}

fn key3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

/// The items by (account, type, id): their indexes, hashed and compared through the items' own
/// strings (a key of three owned strings was three allocations and an 80-byte slot per item, a
/// tenth of a large account's graph).
#[derive(Debug, Default)]
struct ByKey {
    table: hashbrown::HashTable<ItemId>,
    state: std::hash::RandomState,
}

impl ByKey {
    fn hash(state: &std::hash::RandomState, account: &str, resource_type: &str, resource_id: &str) -> u64 {
        std::hash::BuildHasher::hash_one(state, (account, resource_type, resource_id))
    }

    /// The index of the item of `account`, `resource_type` and `resource_id` among `items`.
    fn find(
        &self,
        items: &[ConfigurationItem],
        account: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Option<ItemId> {
        let hash = Self::hash(&self.state, account, resource_type, resource_id);
        self.table
            .find(hash, |&id| {
                let i = &items[id];
                i.resource_id == resource_id && i.resource_type == resource_type && i.account_id == account
            })
            .copied()
    }

    /// Indexes `items[id]`, whose key is not indexed yet.
    fn insert(&mut self, items: &[ConfigurationItem], id: ItemId) {
        let Self { table, state } = self;
        let of = |id: &ItemId| {
            let i = &items[*id];
            Self::hash(state, &i.account_id, &i.resource_type, &i.resource_id)
        };
        table.insert_unique(of(&id), id, of);
    }
}

/// The region under which AWS Config records a resource of `resource_type` seen in `region`:
/// [`GLOBAL_REGION`] for global types (IAM), which one region's recorder records for the account.
pub fn region_key<'a>(resource_type: &str, region: &'a str) -> &'a str {
    match types::by_name(resource_type) {
        Some(t) if t.recording == types::Recording::Global => GLOBAL_REGION,
        _ => region,
    }
}

impl ResourceGraph {
    /// Builds the graph. When the same resource appears more than once, the item with the latest
    /// capture time wins. One synthetic `AWS::::Account` item is added per account seen.
    pub fn build(mut items: Vec<ConfigurationItem>) -> Self {
        let mut g = Self::default();
        // Empty: nothing is rehashed.
        g.by_key.table.reserve(items.len() + 1, |_| 0);
        // The newest item of each resource, kept in place in the vector given (a second vector
        // of a large account's items would be its size again): `kept` items are first, the rest
        // are older captures of them, dropped.
        let mut kept = 0;
        for at in 0..items.len() {
            let it = &items[at];
            match g
                .by_key
                .find(&items, &it.account_id, &it.resource_type, &it.resource_id)
            {
                Some(existing) => {
                    if items[at].capture_time >= items[existing].capture_time {
                        items.swap(existing, at);
                    }
                }
                None => {
                    items.swap(kept, at);
                    g.by_key.insert(&items, kept);
                    kept += 1;
                }
            }
        }
        items.truncate(kept);
        g.items = items;
        let accounts: BTreeSet<String> = g.items.iter().map(|i| i.account_id.clone()).collect();
        for account in accounts {
            if g.by_key.find(&g.items, &account, ACCOUNT_TYPE, &account).is_some() {
                continue;
            }
            let capture_time = g
                .items
                .iter()
                .filter(|i| i.account_id == account)
                .filter_map(|i| i.capture_time)
                .max();
            g.items.push(ConfigurationItem::account(&account, capture_time));
            g.by_key.insert(&g.items, g.items.len() - 1);
        }
        g.index();
        g
    }

    fn index(&mut self) {
        for (id, item) in self.items.iter().enumerate() {
            let acct = item.account_id.as_str();
            let region = item.region.as_str();
            self.recorded
                .insert(key3(acct, region_key(&item.resource_type, region), &item.resource_type));
            if region != GLOBAL_REGION {
                self.regions_by_account
                    .entry(acct.to_owned())
                    .or_default()
                    .insert(region.to_owned());
            }
            if !item.status.is_evaluable() {
                continue;
            }
            if matches!(item.resource, Resource::Account) {
                self.account_item.insert(acct.to_owned(), id);
            }
            if let Some(info) = types::of(item) {
                for key in (info.joins)(item) {
                    self.joins.entry(key).or_default().push(id);
                }
            }
        }
    }

    fn joined(&self, key: &JoinKey) -> impl Iterator<Item = &ConfigurationItem> {
        self.joins.get(key).into_iter().flatten().map(|&i| &self.items[i])
    }

    /// The item a single-valued join names (the last one indexed, as in the input order).
    fn joined_one(&self, key: &JoinKey) -> Option<&ConfigurationItem> {
        self.joins.get(key).and_then(|v| v.last()).map(|&i| &self.items[i])
    }

    /// Declares that the recorders of every account the graph holds record `resource_types`, so
    /// that the absence of such a resource is meaningful even when none was fetched (live
    /// collection, or types declared in the settings).
    pub fn mark_recorded(&mut self, resource_types: &[String]) {
        for account in self.account_item.keys() {
            for t in resource_types {
                self.declared_recorded.insert((account.clone(), t.clone()));
            }
        }
    }

    /// Declares that the input is not a complete recording of its accounts and regions (a list of
    /// items, an event, an API output): the absence of a resource there is never evidence, whatever
    /// types it holds, unless a type was declared recorded ([`Self::mark_recorded`]).
    pub fn mark_partial(&mut self) {
        self.partial = true;
    }

    /// Declares that AWS Config's recording of `account` in `region` (a region, or
    /// [`GLOBAL_REGION`] for the global types) was complete for `resource_types` when captured: the
    /// absence of such a resource there is evidence, whatever else the graph holds. Used with
    /// [`Self::mark_partial`] for inputs merged from several recordings and partial reads.
    pub fn mark_complete<'t>(
        &mut self,
        account: &str,
        region: &str,
        resource_types: impl IntoIterator<Item = &'t str>,
    ) {
        if region != GLOBAL_REGION {
            self.regions_by_account
                .entry(account.to_owned())
                .or_default()
                .insert(region.to_owned());
        }
        for t in resource_types {
            self.complete.insert(key3(account, region_key(t, region), t));
        }
    }

    /// Declares that the input held an item of `resource_type` / `resource_id` that could not be
    /// read (skipped with keep-going): checks that would conclude from its absence must not.
    pub fn mark_unreadable(&mut self, resource_type: &str, resource_id: &str) {
        self.unreadable
            .insert((resource_type.to_owned(), resource_id.to_owned()));
    }

    /// Whether the input held this resource but it could not be read.
    pub fn is_unreadable(&self, resource_type: &str, resource_id: &str) -> bool {
        self.unreadable
            .contains(&(resource_type.to_owned(), resource_id.to_owned()))
    }

    /// All items, including the synthetic account items.
    pub fn items(&self) -> &[ConfigurationItem] {
        &self.items
    }

    /// The item at `id`.
    pub fn item(&self, id: ItemId) -> &ConfigurationItem {
        &self.items[id]
    }

    /// The item of `resource_type` / `resource_id` in `account`.
    pub fn find(&self, account: &str, resource_type: &str, resource_id: &str) -> Option<ItemId> {
        self.by_key.find(&self.items, account, resource_type, resource_id)
    }

    /// Accounts in the input, sorted.
    pub fn accounts(&self) -> BTreeSet<&str> {
        self.account_item.keys().map(String::as_str).collect()
    }

    /// Regions with regional items for `account` (empty when it has only global items).
    pub fn regions(&self, account: &str) -> Vec<&str> {
        self.regions_by_account
            .get(account)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the absence of a resource of `resource_type` in `account` and `region` is evidence
    /// that it does not exist there: the input is a complete recording of that account and region
    /// (a snapshot file, a live read) and the type is recorded there (the input holds items of it
    /// in that region, or the recorder was declared to record it). For global types the region is
    /// ignored: they are recorded once per account.
    pub fn records(&self, account: &str, region: &str, resource_type: &str) -> bool {
        let region = region_key(resource_type, region);
        if self
            .declared_recorded
            .contains(&(account.to_owned(), resource_type.to_owned()))
            || self.complete.contains(&key3(account, region, resource_type))
        {
            return true;
        }
        !self.partial && self.recorded.contains(&key3(account, region, resource_type))
    }

    /// The role named `name` (IAM names are case-insensitive).
    pub fn role_by_name(&self, account: &str, name: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::RoleName {
            account: account.to_owned(),
            name: name.to_ascii_lowercase(),
        })
    }

    /// The role in the instance profile `profile_arn`.
    pub fn role_for_profile(&self, profile_arn: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::RoleInProfile(profile_arn.to_owned()))
    }

    /// The SSM inventory item of an EC2 instance.
    pub fn inventory_for(&self, instance_id: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::InventoryOf(instance_id.to_owned()))
    }

    /// VPC endpoints in `vpc_id`.
    pub fn endpoints_in_vpc(&self, vpc_id: &str) -> impl Iterator<Item = &ConfigurationItem> {
        self.joined(&JoinKey::EndpointIn(vpc_id.to_owned()))
    }

    /// The route table of `subnet_id`: its explicit association, else the VPC's main table.
    pub fn route_table_for(&self, subnet_id: &str, vpc_id: Option<&str>) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::SubnetRouteTable(subnet_id.to_owned()))
            .or_else(|| vpc_id.and_then(|v| self.joined_one(&JoinKey::MainRouteTable(v.to_owned()))))
    }

    /// The EC2 instance whose `Name` tag is `name`.
    pub fn instance_by_name(&self, account: &str, region: &str, name: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::InstanceNamed {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The RDS cluster `identifier`.
    pub fn rds_cluster(&self, account: &str, region: &str, identifier: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::RdsCluster {
            account: account.to_owned(),
            region: region.to_owned(),
            id: identifier.to_ascii_lowercase(),
        })
    }

    /// The RDS option group `name`.
    pub fn option_group(&self, account: &str, region: &str, name: &str) -> Option<&ConfigurationItem> {
        self.joined_one(&JoinKey::OptionGroup {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_ascii_lowercase(),
        })
    }

    /// OIDC providers of `account`.
    pub fn oidc_providers(&self, account: &str) -> impl Iterator<Item = &ConfigurationItem> {
        self.joined(&JoinKey::OidcProvider {
            account: account.to_owned(),
        })
    }

    /// The synthetic account item of `account`.
    pub fn account(&self, account: &str) -> Option<ItemId> {
        self.account_item.get(account).copied()
    }

    /// The items of `account` that `needs` names: by key, and by lookup over the graph's items
    /// (what AWS Config would answer for the same lookups in that account).
    pub fn resolve(&self, account: &str, needs: &Needs) -> Vec<ItemId> {
        let mut out: Vec<ItemId> = needs
            .keys
            .iter()
            .filter_map(|k| self.find(account, &k.resource_type, &k.resource_id))
            .collect();
        if !needs.lookups.is_empty() {
            out.extend(
                self.items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.account_id == account && needs.lookups.iter().any(|l| l.matches(i)))
                    .map(|(n, _)| n),
            );
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Resources whose check results can change when `id` changes, not including `id` itself:
    /// what its type's description names as dependants ([`types::TypeInfo::dependants`]),
    /// resolved over this graph. The functions resolve the same description through AWS Config.
    pub fn dependants(&self, id: ItemId, settings: &Settings) -> Vec<ItemId> {
        let item = &self.items[id];
        let Some(info) = types::of(item) else {
            return Vec::new();
        };
        let mut out = self.resolve(&item.account_id, &(info.dependants)(item, settings));
        out.retain(|&d| d != id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(account: &str, id: &str, captured: &str, state: &str) -> ConfigurationItem {
        let json = format!(
            r#"{{"awsAccountId":"{account}","awsRegion":"us-east-1","resourceType":"AWS::EC2::Instance","resourceId":"{id}",
               "configurationItemStatus":"OK","configurationItemCaptureTime":"{captured}",
               "configuration":{{"instanceId":"{id}","state":{{"name":"{state}"}}}}}}"#
        );
        ConfigurationItem::from_json(&json, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn state(g: &ResourceGraph, account: &str, id: &str) -> Option<String> {
        let found = g.find(account, "AWS::EC2::Instance", id)?;
        match &g.item(found).resource {
            Resource::Ec2Instance(i) => i.state.as_ref().and_then(|s| s.name.clone()),
            _ => None,
        }
    }

    #[test]
    fn the_newest_capture_of_each_resource_is_kept_and_found_in_any_order() {
        let captures = [
            item("111122223333", "i-1", "2026-11-20T08:00:00Z", "pending"),
            item("111122223333", "i-1", "2026-11-20T09:00:00Z", "running"),
            item("111122223333", "i-2", "2026-11-20T08:00:00Z", "stopped"),
            item("444455556666", "i-1", "2026-11-20T07:00:00Z", "terminated"),
            item("111122223333", "i-1", "2026-11-20T08:30:00Z", "stopping"),
        ];
        // Every rotation of the input: the same graph.
        for start in 0..captures.len() {
            let mut items = captures.to_vec();
            items.rotate_left(start);
            let g = ResourceGraph::build(items);
            assert_eq!(
                state(&g, "111122223333", "i-1").as_deref(),
                Some("running"),
                "rotation {start}"
            );
            assert_eq!(
                state(&g, "111122223333", "i-2").as_deref(),
                Some("stopped"),
                "rotation {start}"
            );
            assert_eq!(
                state(&g, "444455556666", "i-1").as_deref(),
                Some("terminated"),
                "rotation {start}"
            );
            assert_eq!(g.find("111122223333", "AWS::EC2::Instance", "i-3"), None);
            assert_eq!(g.find("111122223333", "AWS::EC2::Volume", "i-1"), None);
            // Three instances and one account item per account.
            assert_eq!(g.items().len(), 5, "rotation {start}");
            for account in ["111122223333", "444455556666"] {
                let at = g
                    .find(account, ACCOUNT_TYPE, account)
                    .unwrap_or_else(|| panic!("{account}'s item"));
                assert!(matches!(g.item(at).resource, Resource::Account));
            }
        }
    }
}

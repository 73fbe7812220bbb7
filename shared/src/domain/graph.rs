//! The resource graph: every configuration item of an input, indexed for the cross-resource
//! joins the checks make (instance → instance profile → role, instance → SSM inventory,
//! subnet → route table, VPC → endpoints, RDS instance → cluster / option group / RDS Custom host)
//! and for the reverse question the event-driven functions ask: which resources depend on this one.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::domain::model::{ConfigurationItem, Resource};
use crate::domain::vocab::{ACCOUNT_TYPE, GLOBAL_REGION};

/// Index of an item in [`ResourceGraph::items`].
pub type ItemId = usize;

/// Items plus indexes. Build it once per input with [`ResourceGraph::build`].
#[derive(Debug, Default)]
pub struct ResourceGraph {
    items: Vec<ConfigurationItem>,
    by_key: HashMap<(String, String, String), ItemId>,
    recorded: HashSet<(String, String)>,
    roles_by_name: HashMap<(String, String), ItemId>,
    role_by_profile_arn: HashMap<String, ItemId>,
    instances_by_profile_arn: HashMap<String, Vec<ItemId>>,
    inventory_by_instance: HashMap<String, ItemId>,
    endpoints_by_vpc: HashMap<String, Vec<ItemId>>,
    route_table_by_subnet: HashMap<String, ItemId>,
    main_route_table_by_vpc: HashMap<String, ItemId>,
    instances_by_vpc: HashMap<String, Vec<ItemId>>,
    instances_by_subnet: HashMap<String, Vec<ItemId>>,
    instance_by_name_tag: HashMap<(String, String, String), ItemId>,
    rds_cluster_by_id: HashMap<(String, String, String), ItemId>,
    rds_instances_by_cluster: HashMap<(String, String, String), Vec<ItemId>>,
    option_group_by_name: HashMap<(String, String, String), ItemId>,
    rds_instances_by_option_group: HashMap<(String, String, String), Vec<ItemId>>,
    oidc_providers_by_account: HashMap<String, Vec<ItemId>>,
    account_item: HashMap<String, ItemId>,
    regions_by_account: HashMap<String, BTreeSet<String>>,
}

/// The EC2 instance an SSM inventory item describes: its relationship, else its own id (which
/// Config sets to the instance id).
fn inventory_instance(item: &ConfigurationItem) -> &str {
    item.relationships
        .iter()
        .find(|r| r.resource_type.as_deref() == Some("AWS::EC2::Instance"))
        .and_then(|r| r.resource_id.as_deref())
        .unwrap_or(&item.resource_id)
}

fn key3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

impl ResourceGraph {
    /// Builds the graph. When the same resource appears more than once, the item with the latest
    /// capture time wins. One synthetic `AWS::::Account` item is added per account seen.
    pub fn build(items: Vec<ConfigurationItem>) -> Self {
        let mut g = Self::default();
        for item in items {
            let key = key3(&item.account_id, &item.resource_type, &item.resource_id);
            match g.by_key.get(&key) {
                Some(&existing) => {
                    if item.capture_time >= g.items[existing].capture_time {
                        g.items[existing] = item;
                    }
                }
                None => {
                    g.by_key.insert(key, g.items.len());
                    g.items.push(item);
                }
            }
        }
        let accounts: BTreeSet<String> = g.items.iter().map(|i| i.account_id.clone()).collect();
        for account in accounts {
            if g.by_key.contains_key(&key3(&account, ACCOUNT_TYPE, &account)) {
                continue;
            }
            let capture_time = g
                .items
                .iter()
                .filter(|i| i.account_id == account)
                .filter_map(|i| i.capture_time)
                .max();
            g.by_key.insert(key3(&account, ACCOUNT_TYPE, &account), g.items.len());
            g.items.push(ConfigurationItem::account(&account, capture_time));
        }
        g.index();
        g
    }

    fn index(&mut self) {
        for (id, item) in self.items.iter().enumerate() {
            let acct = item.account_id.as_str();
            let region = item.region.as_str();
            self.recorded.insert((acct.to_owned(), item.resource_type.clone()));
            if region != GLOBAL_REGION {
                self.regions_by_account
                    .entry(acct.to_owned())
                    .or_default()
                    .insert(region.to_owned());
            }
            if !item.status.is_evaluable() {
                continue;
            }
            match &item.resource {
                Resource::Account => {
                    self.account_item.insert(acct.to_owned(), id);
                }
                Resource::IamRole(role) => {
                    let name = role
                        .role_name
                        .as_deref()
                        .or(item.resource_name.as_deref())
                        .unwrap_or_default();
                    self.roles_by_name
                        .insert((acct.to_owned(), name.to_ascii_lowercase()), id);
                    for p in &role.instance_profile_list {
                        if let Some(arn) = &p.arn {
                            self.role_by_profile_arn.insert(arn.clone(), id);
                        }
                    }
                }
                Resource::OidcProvider(_) => {
                    self.oidc_providers_by_account
                        .entry(acct.to_owned())
                        .or_default()
                        .push(id);
                }
                Resource::Ec2Instance(inst) => {
                    if let Some(arn) = inst.iam_instance_profile.as_ref().and_then(|p| p.arn.clone()) {
                        self.instances_by_profile_arn.entry(arn).or_default().push(id);
                    }
                    if let Some(vpc) = &inst.vpc_id {
                        self.instances_by_vpc.entry(vpc.clone()).or_default().push(id);
                    }
                    if let Some(subnet) = &inst.subnet_id {
                        self.instances_by_subnet.entry(subnet.clone()).or_default().push(id);
                    }
                    if let Some(name) = item.tags.get("Name") {
                        self.instance_by_name_tag.insert(key3(acct, region, name), id);
                    }
                }
                Resource::SsmInventory(_) => {
                    self.inventory_by_instance
                        .insert(inventory_instance(item).to_owned(), id);
                }
                Resource::VpcEndpoint(ep) => {
                    if let Some(vpc) = &ep.vpc_id {
                        self.endpoints_by_vpc.entry(vpc.clone()).or_default().push(id);
                    }
                }
                Resource::RouteTable(rt) => {
                    for a in &rt.associations {
                        if let Some(subnet) = &a.subnet_id {
                            self.route_table_by_subnet.insert(subnet.clone(), id);
                        }
                        if a.main == Some(true) {
                            if let Some(vpc) = &rt.vpc_id {
                                self.main_route_table_by_vpc.insert(vpc.clone(), id);
                            }
                        }
                    }
                }
                Resource::RdsCluster(c) => {
                    let ident = c.identifier.as_deref().unwrap_or(&item.resource_id);
                    self.rds_cluster_by_id
                        .insert(key3(acct, region, &ident.to_ascii_lowercase()), id);
                }
                Resource::RdsInstance(db) => {
                    if let Some(c) = &db.db_cluster_identifier {
                        self.rds_instances_by_cluster
                            .entry(key3(acct, region, &c.to_ascii_lowercase()))
                            .or_default()
                            .push(id);
                    }
                    for og in &db.option_group_memberships {
                        if let Some(name) = &og.name {
                            self.rds_instances_by_option_group
                                .entry(key3(acct, region, &name.to_ascii_lowercase()))
                                .or_default()
                                .push(id);
                        }
                    }
                }
                Resource::RdsOptionGroup(og) => {
                    let name = og
                        .option_group_name
                        .as_deref()
                        .or(item.resource_name.as_deref())
                        .unwrap_or(&item.resource_id);
                    self.option_group_by_name
                        .insert(key3(acct, region, &name.to_ascii_lowercase()), id);
                }
                _ => {}
            }
        }
    }

    /// Declares that the recorder records `resource_type` for `account`, so that the absence of
    /// such a resource is meaningful even when none was fetched (live collection).
    pub fn mark_recorded(&mut self, account: &str, resource_type: &str) {
        self.recorded.insert((account.to_owned(), resource_type.to_owned()));
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
        self.by_key.get(&key3(account, resource_type, resource_id)).copied()
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

    /// Whether the input holds any item of `resource_type` for `account`: the evidence that the
    /// recorder records that type, which makes the absence of a resource meaningful.
    pub fn records(&self, account: &str, resource_type: &str) -> bool {
        self.recorded.contains(&(account.to_owned(), resource_type.to_owned()))
    }

    /// The role named `name` (IAM names are case-insensitive).
    pub fn role_by_name(&self, account: &str, name: &str) -> Option<&ConfigurationItem> {
        self.roles_by_name
            .get(&(account.to_owned(), name.to_ascii_lowercase()))
            .map(|&i| &self.items[i])
    }

    /// The role in the instance profile `profile_arn`.
    pub fn role_for_profile(&self, profile_arn: &str) -> Option<&ConfigurationItem> {
        self.role_by_profile_arn.get(profile_arn).map(|&i| &self.items[i])
    }

    /// The SSM inventory item of an EC2 instance.
    pub fn inventory_for(&self, instance_id: &str) -> Option<&ConfigurationItem> {
        self.inventory_by_instance.get(instance_id).map(|&i| &self.items[i])
    }

    /// VPC endpoints in `vpc_id`.
    pub fn endpoints_in_vpc(&self, vpc_id: &str) -> impl Iterator<Item = &ConfigurationItem> {
        self.endpoints_by_vpc
            .get(vpc_id)
            .into_iter()
            .flatten()
            .map(|&i| &self.items[i])
    }

    /// The route table of `subnet_id`: its explicit association, else the VPC's main table.
    pub fn route_table_for(&self, subnet_id: &str, vpc_id: Option<&str>) -> Option<&ConfigurationItem> {
        self.route_table_by_subnet
            .get(subnet_id)
            .or_else(|| vpc_id.and_then(|v| self.main_route_table_by_vpc.get(v)))
            .map(|&i| &self.items[i])
    }

    /// The EC2 instance whose `Name` tag is `name`.
    pub fn instance_by_name(&self, account: &str, region: &str, name: &str) -> Option<&ConfigurationItem> {
        self.instance_by_name_tag
            .get(&key3(account, region, name))
            .map(|&i| &self.items[i])
    }

    /// The RDS cluster `identifier`.
    pub fn rds_cluster(&self, account: &str, region: &str, identifier: &str) -> Option<&ConfigurationItem> {
        self.rds_cluster_by_id
            .get(&key3(account, region, &identifier.to_ascii_lowercase()))
            .map(|&i| &self.items[i])
    }

    /// The RDS option group `name`.
    pub fn option_group(&self, account: &str, region: &str, name: &str) -> Option<&ConfigurationItem> {
        self.option_group_by_name
            .get(&key3(account, region, &name.to_ascii_lowercase()))
            .map(|&i| &self.items[i])
    }

    /// OIDC providers of `account`.
    pub fn oidc_providers(&self, account: &str) -> impl Iterator<Item = &ConfigurationItem> {
        self.oidc_providers_by_account
            .get(account)
            .into_iter()
            .flatten()
            .map(|&i| &self.items[i])
    }

    /// The synthetic account item of `account`.
    pub fn account(&self, account: &str) -> Option<ItemId> {
        self.account_item.get(account).copied()
    }

    /// Resources whose check results can change when `id` changes, not including `id` itself:
    /// a role's instances (through its instance profiles) and its account; an SSM inventory's
    /// instance; an endpoint's or route table's instances; an RDS cluster's members; an option
    /// group's instances; an instance hosting RDS Custom; an OIDC provider's account.
    pub fn dependants(&self, id: ItemId, settings: &crate::domain::settings::Settings) -> Vec<ItemId> {
        let item = &self.items[id];
        let acct = item.account_id.as_str();
        let region = item.region.as_str();
        let mut out: Vec<ItemId> = Vec::new();
        match &item.resource {
            Resource::IamRole(role) => {
                for p in role.instance_profile_list.iter().filter_map(|p| p.arn.as_ref()) {
                    out.extend(self.instances_by_profile_arn.get(p).into_iter().flatten());
                }
                out.extend(self.account(acct));
            }
            Resource::OidcProvider(_) => out.extend(self.account(acct)),
            Resource::SsmInventory(_) => out.extend(self.find(acct, "AWS::EC2::Instance", inventory_instance(item))),
            Resource::VpcEndpoint(ep) => {
                if let Some(vpc) = &ep.vpc_id {
                    out.extend(self.instances_by_vpc.get(vpc).into_iter().flatten());
                }
            }
            Resource::RouteTable(rt) => {
                for a in &rt.associations {
                    if let Some(s) = &a.subnet_id {
                        out.extend(self.instances_by_subnet.get(s).into_iter().flatten());
                    }
                    if a.main == Some(true) {
                        // Instances in subnets without their own table use the main one.
                        let vpc_instances = rt.vpc_id.as_ref().and_then(|v| self.instances_by_vpc.get(v));
                        out.extend(vpc_instances.into_iter().flatten().copied().filter(|&i| {
                            let Resource::Ec2Instance(inst) = &self.items[i].resource else {
                                return false;
                            };
                            inst.subnet_id
                                .as_ref()
                                .is_none_or(|s| !self.route_table_by_subnet.contains_key(s))
                        }));
                    }
                }
            }
            Resource::RdsCluster(c) => {
                let ident = c
                    .identifier
                    .as_deref()
                    .unwrap_or(&item.resource_id)
                    .to_ascii_lowercase();
                out.extend(
                    self.rds_instances_by_cluster
                        .get(&key3(acct, region, &ident))
                        .into_iter()
                        .flatten(),
                );
            }
            Resource::RdsOptionGroup(og) => {
                let name = og
                    .option_group_name
                    .as_deref()
                    .unwrap_or(&item.resource_id)
                    .to_ascii_lowercase();
                out.extend(
                    self.rds_instances_by_option_group
                        .get(&key3(acct, region, &name))
                        .into_iter()
                        .flatten(),
                );
            }
            Resource::Ec2Instance(_) => {
                // An RDS Custom host: the DB instance named in its Name tag.
                let prefix = settings.sql.rds_custom_host_name_prefix.as_str();
                if let Some(db) = item.tags.get("Name").and_then(|n| n.strip_prefix(prefix)) {
                    out.extend(
                        self.items
                            .iter()
                            .enumerate()
                            .filter(|(_, i)| {
                                i.account_id == acct
                                    && matches!(&i.resource, Resource::RdsInstance(r)
                                        if r.db_instance_identifier.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(db)))
                            })
                            .map(|(n, _)| n),
                    );
                }
            }
            _ => {}
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&d| d != id);
        out
    }
}

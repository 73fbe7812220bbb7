//! The engine: selects the checks that report on each resource, applies the generic rules
//! (plan not declared, resource deleted, region outside the connector) and runs the pure checks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::azure::Coverage;
use crate::domain::checks::{Check, Ctx, Outcome, ALL};
use crate::domain::graph::{ItemId, ResourceGraph};
use crate::domain::model::types;
use crate::domain::model::ConfigurationItem;
use crate::domain::plans::{self, PlanReadiness, PlanStatus};
use crate::domain::settings::Settings;
use crate::domain::vocab::{
    truncate_annotation, Compliance, Evaluation, Plan, Text, ACCOUNT_TYPE, GLOBAL_REGION, MAX_ANNOTATION,
};

/// The id prefix of the checks that read the Azure half.
pub const AZURE_PREFIX: &str = "azure.";

/// Runs `check` on `item`, with the generic rules first, under the settings as they hold for the
/// item's account ([`Settings::for_account`]).
pub fn evaluate_check(check: &Check, graph: &ResourceGraph, item: &ConfigurationItem, settings: &Settings) -> Outcome {
    let settings = &*settings.for_account(&item.account_id);
    if !settings.plan_declared(check.plan) {
        return Outcome::not_applicable(format!("plan `{}` is not declared in settings.plans", check.plan));
    }
    if item.status.is_deleted() {
        return Outcome::not_applicable(crate::domain::state::RESOURCE_DELETED);
    }
    if !item.status.is_evaluable() {
        return Outcome::not_applicable("the resource type is not recorded by AWS Config");
    }
    if !settings.region_in_connector(&item.region) {
        return Outcome::not_applicable(format!("region {} is not covered by the connector", item.region));
    }
    (check.evaluate)(&Ctx { graph, item, settings })
}

/// Evaluates every check that reports on the item `id`.
pub fn evaluate_item(graph: &ResourceGraph, id: ItemId, settings: &Settings) -> Vec<Evaluation> {
    let mut out = Vec::new();
    evaluate_item_into(graph, id, settings, &mut out);
    out
}

/// [`evaluate_item`], appending to `out`.
pub fn evaluate_item_into(graph: &ResourceGraph, id: ItemId, settings: &Settings, out: &mut Vec<Evaluation>) {
    evaluate_item_shared(graph, id, settings, out, &mut Texts::default());
}

/// The texts the results of one scan share: each distinct account, region, type, check id and
/// annotation once.
#[derive(Default)]
pub struct Texts(std::collections::HashSet<Text>);

impl Texts {
    /// The one copy of `s`.
    pub fn get(&mut self, s: &str) -> Text {
        if let Some(t) = self.0.get(s) {
            return t.clone();
        }
        let t = Text::from(s);
        self.0.insert(t.clone());
        t
    }
}

/// [`evaluate_item_into`], the results sharing the texts of `texts`.
pub fn evaluate_item_shared(
    graph: &ResourceGraph,
    id: ItemId,
    settings: &Settings,
    out: &mut Vec<Evaluation>,
    texts: &mut Texts,
) {
    let item = graph.item(id);
    let settings = &*settings.for_account(&item.account_id);
    // Azure is asked for but not read in this run (the deployed functions' event paths): the
    // run that reads it decides the `azure.*` results, and this one leaves them as recorded.
    let azure_elsewhere = settings.azure_requested() && settings.azure_side.is_none();
    let (account, region, resource_type) = (
        texts.get(&item.account_id),
        texts.get(&item.region),
        texts.get(&item.resource_type),
    );
    // The resource's id is its own: one copy for its results, not kept in `texts`.
    let resource_id = Text::from(&item.resource_id);
    for check in ALL
        .iter()
        .filter(|c| c.applies_to(&item.resource_type))
        .filter(|c| !(azure_elsewhere && c.id.starts_with(AZURE_PREFIX)))
    {
        let outcome = evaluate_check(check, graph, item, settings);
        out.push(Evaluation {
            account_id: account.clone(),
            aws_region: region.clone(),
            resource_type: resource_type.clone(),
            resource_id: resource_id.clone(),
            check_id: texts.get(check.id),
            plan: check.plan,
            compliance: outcome.compliance,
            annotation: texts.get(&truncate_annotation(outcome.annotation, MAX_ANNOTATION)),
            capture_time: item.capture_time,
        });
    }
}

/// How many results a scan of the graph's items gives at most (every check that applies to each
/// item's type): the capacity its results are given at once, instead of doubling as they come.
pub fn evaluations_at_most(graph: &ResourceGraph) -> usize {
    evaluations_at_most_of(graph.items(), 0)
}

/// [`evaluations_at_most`] for `items` before their graph is built, which adds one
/// `AWS::::Account` item to each of their `accounts`.
pub fn evaluations_at_most_of<'a>(items: impl IntoIterator<Item = &'a ConfigurationItem>, accounts: usize) -> usize {
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    let mut of = |t: &'a str| {
        *per_type
            .entry(t)
            .or_insert_with(|| ALL.iter().filter(|c| c.applies_to(t)).count())
    };
    let account = of(ACCOUNT_TYPE);
    items.into_iter().map(|item| of(&item.resource_type)).sum::<usize>() + accounts * account
}

/// Everything a scan produces.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// One entry per resource × check that reports on it.
    pub evaluations: Vec<Evaluation>,
    /// One entry per account × region × plan.
    pub plans: Vec<PlanReadiness>,
    /// Items whose type no check reads, counted by type.
    #[serde(skip)]
    pub ignored_types: BTreeMap<String, usize>,
    /// Configuration items read.
    #[serde(skip)]
    pub items: usize,
    /// Per account, the Azure half beside the AWS half (when Azure was read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub azure: Vec<AzureView>,
}

/// One account's two halves side by side: what Azure says is switched on, where the settings file
/// overrides it, and what the account is missing for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureView {
    /// Account id.
    pub account_id: String,
    /// The connector covering it, or why none is known.
    pub connector: String,
    /// The plans the connector's offerings switch on.
    pub azure_plans: Vec<Plan>,
    /// The connector features switched on.
    pub azure_features: Vec<String>,
    /// The AWS roles its offerings name.
    pub azure_roles: Vec<String>,
    /// Settings keys taken from the connector.
    pub from_azure: Vec<String>,
    /// Settings keys the settings file sets instead (they override the connector).
    pub overridden_by_settings: Vec<String>,
    /// Per plan the connector switches on: its readiness across the account's regions.
    pub aws_readiness: Vec<String>,
    /// The `azure.*` results that are not COMPLIANT: what is missing, on either side.
    pub missing: Vec<String>,
}

/// The two halves of each account, when Azure was read.
pub fn azure_views(result: &ScanResult, settings: &Settings) -> Vec<AzureView> {
    let Some(side) = settings.azure_side.as_deref() else {
        return Vec::new();
    };
    let mut accounts: Vec<&str> = result.plans.iter().map(|p| p.account_id.as_str()).collect();
    accounts.dedup();
    accounts
        .into_iter()
        .map(|account| {
            let (connector, offerings) = match settings.coverage(side, account) {
                Coverage::Covered(c) => (
                    format!("{} (subscription {})", c.name, c.subscription().unwrap_or("?")),
                    Some(c.offerings()),
                ),
                Coverage::Excluded(why) => (format!("none: {why}"), None),
                Coverage::None { subscriptions } => (format!("none in {}", subscriptions.join(", ")), None),
                Coverage::Unknown { errors } => (format!("unknown: {}", errors.join("; ")), None),
                Coverage::Ambiguous { candidates } => (
                    format!(
                        "unknown: the account's organization is not known; candidates {}",
                        candidates.join(", ")
                    ),
                    None,
                ),
                Coverage::NotRead => ("Azure not read".to_owned(), None),
            };
            let o = offerings.unwrap_or_default();
            let features = [
                ("agentless scanning", o.agentless_scanning),
                ("sensitive data discovery", o.data_discovery),
                ("CIEM", o.ciem),
                ("Kubernetes API access", o.k8s_api_access),
                ("registry access", o.registry_access),
                ("Arc auto-provisioning", o.arc_autoprovisioning),
            ];
            let (from_azure, overridden): (Vec<_>, Vec<_>) = settings
                .azure_sources(account)
                .into_iter()
                .partition(|(_, taken)| *taken);
            let aws_readiness = o
                .plans
                .iter()
                .map(|plan| {
                    let rows: Vec<&PlanReadiness> = result
                        .plans
                        .iter()
                        .filter(|p| p.account_id == account && p.plan == *plan)
                        .collect();
                    let worst = [
                        PlanStatus::Blocked,
                        PlanStatus::Unverified,
                        PlanStatus::Ready,
                        PlanStatus::NotApplicable,
                    ]
                    .into_iter()
                    .find(|s| rows.iter().any(|r| r.status == *s))
                    .unwrap_or(PlanStatus::NotApplicable);
                    let blockers: usize = rows.iter().map(|r| r.blockers.len()).sum();
                    format!(
                        "{plan}: {}{}",
                        worst.as_str(),
                        if blockers > 0 {
                            format!(" ({blockers} blockers)")
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            let missing = result
                .evaluations
                .iter()
                .filter(|e| e.account_id == account && e.check_id.starts_with("azure."))
                .filter(|e| matches!(e.compliance, Compliance::NonCompliant | Compliance::InsufficientData))
                .map(|e| format!("{} {}: {}", e.check_id, e.compliance, e.annotation))
                .collect();
            let mut roles: Vec<String> = o.roles.iter().map(|r| r.name.clone()).collect();
            roles.dedup();
            AzureView {
                account_id: account.to_owned(),
                connector,
                azure_plans: o.plans.clone(),
                azure_features: features
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(n, _)| (*n).to_owned())
                    .collect(),
                azure_roles: roles,
                from_azure: from_azure.into_iter().map(|(k, _)| k).collect(),
                overridden_by_settings: overridden.into_iter().map(|(k, _)| k).collect(),
                aws_readiness,
                missing,
            }
        })
        .collect()
}

/// Regions per account as the rollup sees them (`global` alone for an account with no regional item).
pub fn regions_by_account(graph: &ResourceGraph) -> BTreeMap<String, Vec<String>> {
    graph
        .accounts()
        .into_iter()
        .map(|a| {
            let mut regions: Vec<String> = graph.regions(a).into_iter().map(str::to_owned).collect();
            if regions.is_empty() {
                regions.push(GLOBAL_REGION.to_owned());
            }
            (a.to_owned(), regions)
        })
        .collect()
}

/// Evaluates every resource of the graph and rolls the results up per plan.
pub fn scan_graph(graph: &ResourceGraph, settings: &Settings, progress: impl FnMut(usize)) -> ScanResult {
    let mut evaluations = Vec::with_capacity(evaluations_at_most(graph));
    let (ignored_types, items) = evaluate_items(graph, settings, progress, &mut evaluations, |_| {});
    let plans = plans::rollup(&evaluations, &regions_by_account(graph), settings);
    let mut result = ScanResult {
        evaluations,
        plans,
        ignored_types,
        items,
        azure: Vec::new(),
    };
    result.azure = azure_views(&result, settings);
    result
}

/// Evaluates every item of the graph into `out` (`after` is told after each item), and says
/// which items were of types no check reads, and how many items there were.
fn evaluate_items(
    graph: &ResourceGraph,
    settings: &Settings,
    mut progress: impl FnMut(usize),
    out: &mut Vec<Evaluation>,
    mut after: impl FnMut(&mut Vec<Evaluation>),
) -> (BTreeMap<String, usize>, usize) {
    let mut ignored_types: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = 0;
    let mut per_account: BTreeMap<&str, Settings> = BTreeMap::new();
    let mut texts = Texts::default();
    for (id, item) in graph.items().iter().enumerate() {
        if item.resource_type != ACCOUNT_TYPE {
            items += 1;
            progress(items);
        }
        if item.resource_type != ACCOUNT_TYPE && !types::is_recorded_type(&item.resource_type) {
            *ignored_types.entry(item.resource_type.clone()).or_default() += 1;
            continue;
        }
        let effective = per_account
            .entry(item.account_id.as_str())
            .or_insert_with(|| settings.for_account(&item.account_id).into_owned());
        evaluate_item_shared(graph, id, effective, out, &mut texts);
        after(out);
    }
    (ignored_types, items)
}

/// [`scan_graph`], handing the results to `each` in parts of about `part` results as they come
/// instead of keeping them: the result returned holds the plans (rolled up as the results pass),
/// the Azure views and no evaluations, so that a large account's results are never all held.
/// The parts, one after another, are [`scan_graph`]'s evaluations in its order.
pub fn scan_graph_parts(
    graph: &ResourceGraph,
    settings: &Settings,
    progress: impl FnMut(usize),
    part: usize,
    mut each: impl FnMut(Vec<Evaluation>),
) -> ScanResult {
    let regions = regions_by_account(graph);
    let mut rollups: BTreeMap<&str, plans::AccountRollup> = regions
        .keys()
        .map(|a| (a.as_str(), plans::AccountRollup::new(None)))
        .collect();
    // The Azure views read the accounts' `azure.*` results: those few are kept.
    let mut azure = Vec::new();
    let part = part.max(1);
    let room = part.min(1 << 16) + ALL.len();
    let mut evaluations = Vec::with_capacity(room);
    let mut pass = |evaluations: &mut Vec<Evaluation>| {
        for e in evaluations.iter() {
            if let Some(r) = rollups.get_mut(e.account_id.as_str()) {
                r.add(e);
            }
            if e.check_id.starts_with(AZURE_PREFIX) {
                azure.push(e.clone());
            }
        }
        each(std::mem::replace(evaluations, Vec::with_capacity(room)));
    };
    let (ignored_types, items) = evaluate_items(graph, settings, progress, &mut evaluations, |evaluations| {
        if evaluations.len() >= part {
            pass(evaluations);
        }
    });
    if !evaluations.is_empty() {
        pass(&mut evaluations);
    }
    let mut plans = Vec::new();
    for (account, regions) in &regions {
        if let Some(r) = rollups.remove(account.as_str()) {
            plans.extend(r.finish(account, regions, settings));
        }
    }
    let mut result = ScanResult {
        evaluations: azure,
        plans,
        ignored_types,
        items,
        azure: Vec::new(),
    };
    result.azure = azure_views(&result, settings);
    result.evaluations = Vec::new();
    result
}

/// Parses nothing, builds the graph from `items` and scans it.
pub fn scan(items: Vec<ConfigurationItem>, settings: &Settings) -> ScanResult {
    scan_graph(&ResourceGraph::build(items), settings, |_| {})
}

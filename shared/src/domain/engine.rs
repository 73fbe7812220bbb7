//! The engine: selects the checks that report on each resource, applies the generic rules
//! (plan not declared, resource deleted, region outside the connector) and runs the pure checks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::checks::{Check, Ctx, Outcome, ALL};
use crate::domain::graph::{ItemId, ResourceGraph};
use crate::domain::model::types;
use crate::domain::model::ConfigurationItem;
use crate::domain::plans::{self, PlanReadiness};
use crate::domain::settings::Settings;
use crate::domain::vocab::{truncate_annotation, Evaluation, ACCOUNT_TYPE, GLOBAL_REGION, MAX_ANNOTATION};

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
    let item = graph.item(id);
    let settings = &*settings.for_account(&item.account_id);
    ALL.iter()
        .filter(|c| c.applies_to(&item.resource_type))
        .map(|check| {
            let outcome = evaluate_check(check, graph, item, settings);
            Evaluation {
                account_id: item.account_id.clone(),
                aws_region: item.region.clone(),
                resource_type: item.resource_type.clone(),
                resource_id: item.resource_id.clone(),
                check_id: check.id.to_owned(),
                plan: check.plan,
                compliance: outcome.compliance,
                annotation: truncate_annotation(outcome.annotation, MAX_ANNOTATION),
                capture_time: item.capture_time,
            }
        })
        .collect()
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
pub fn scan_graph(graph: &ResourceGraph, settings: &Settings, mut progress: impl FnMut(usize)) -> ScanResult {
    let mut evaluations = Vec::new();
    let mut ignored_types: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = 0;
    let mut per_account: BTreeMap<&str, Settings> = BTreeMap::new();
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
        evaluations.extend(evaluate_item(graph, id, effective));
    }
    let plans = plans::rollup(&evaluations, &regions_by_account(graph), settings);
    ScanResult {
        evaluations,
        plans,
        ignored_types,
        items,
    }
}

/// Parses nothing, builds the graph from `items` and scans it.
pub fn scan(items: Vec<ConfigurationItem>, settings: &Settings) -> ScanResult {
    scan_graph(&ResourceGraph::build(items), settings, |_| {})
}

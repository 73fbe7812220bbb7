//! Registry meta-tests and the table-driven check fixtures.
//!
//! Each check has `fixtures/<check id>.json`: `{"check", "base": [items], "cases": [{"name",
//! "settings"?, "items": [...], "expect": [{"resourceType","resourceId","compliance","annotation"?}]}]}`.
//! Items are real configuration-item JSON; missing envelope fields (`awsAccountId`, `awsRegion`,
//! `configurationItemStatus`, `configurationItemCaptureTime`) are filled with defaults.
//! `annotation` is a substring the annotation must contain. An item may carry `"liveFacts"`
//! ([`LiveFacts`]): the API-only facts a live reader would attach.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use shared::domain::checks;
use shared::domain::engine::evaluate_check;
use shared::domain::graph::ResourceGraph;
use shared::domain::model::types;
use shared::domain::model::{ConfigurationItem, LiveFacts};
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Plan};

const ACCOUNT: &str = "111122223333";

/// The check ids of `../shared/catalog.md`: a public contract.
const CATALOG_IDS: &[&str] = &[
    "cspm.oidc-provider",
    "cspm.monitor-role",
    "cspm.stack-healthy",
    "cspm.sts-regions",
    "cspm.scp-no-deny",
    "cspm.feature-roles",
    "servers.applicable",
    "servers.instance-profile",
    "servers.ssm-core-policy",
    "servers.ssm-agent-online",
    "servers.ssm-network",
    "servers.arc-egress",
    "servers.os-supported",
    "servers.arc-autoprov-role",
    "servers.tagging-allowed",
    "servers.agentless-eligible",
    "sql.target",
    "sql.os-version",
    "sql.servers-chain",
    "sql.rds-custom",
    "sql.egress",
    "containers.eks-version",
    "containers.eks-audit-logging",
    "containers.eks-api-reachable",
    "containers.eks-auth-mode",
    "containers.eks-access-entry",
    "containers.audit-pipeline",
    "containers.node-os",
    "containers.fargate",
    "containers.sensor-egress",
    "containers.ecr-repo",
    "oss.applicable",
    "oss.multiaz-cluster",
    "oss.running",
    "oss.param-in-sync",
    "oss.audit-params",
    "oss.plugin-version",
    "oss.quota",
    "oss.role",
    "oss.cw-exports",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    check: String,
    #[serde(default)]
    base: Vec<Value>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    items: Vec<Value>,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expect {
    resource_type: String,
    resource_id: String,
    compliance: Compliance,
    #[serde(default)]
    annotation: Option<String>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn with_envelope(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.entry("awsAccountId").or_insert_with(|| json!(ACCOUNT));
        let global = m
            .get("resourceType")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("AWS::IAM::"));
        m.entry("awsRegion")
            .or_insert_with(|| json!(if global { "global" } else { "us-east-1" }));
        m.entry("configurationItemStatus").or_insert_with(|| json!("OK"));
        m.entry("configurationItemCaptureTime")
            .or_insert_with(|| json!("2026-11-01T10:00:00.000Z"));
    }
    v
}

fn load(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs every case of every fixture file and returns the outcomes seen per check.
fn run_fixtures() -> BTreeMap<String, BTreeSet<Compliance>> {
    let mut seen: BTreeMap<String, BTreeSet<Compliance>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let fixture = load(&path);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        assert_eq!(
            stem,
            fixture.check,
            "{}: file name must be the check id",
            path.display()
        );
        let check = checks::by_id(&fixture.check).unwrap_or_else(|| panic!("{}: unknown check", path.display()));
        for case in &fixture.cases {
            let settings = match &case.settings {
                Some(v) => Settings::parse(&v.to_string(), false, &case.name).unwrap_or_else(|e| panic!("{e}")),
                None => Settings::default(),
            };
            let items: Vec<ConfigurationItem> = fixture
                .base
                .iter()
                .chain(&case.items)
                .enumerate()
                .map(|(i, v)| {
                    let mut v = with_envelope(v.clone());
                    let live = v.as_object_mut().and_then(|m| m.remove("liveFacts"));
                    let mut item = ConfigurationItem::from_json(&v.to_string(), Some(i))
                        .unwrap_or_else(|e| panic!("{} / {}: {e}", fixture.check, case.name));
                    if let Some(live) = live {
                        let facts: LiveFacts =
                            serde_json::from_value(live).unwrap_or_else(|e| panic!("{}: {e}", case.name));
                        item.resource
                            .apply_live(facts)
                            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
                    }
                    item
                })
                .collect();
            let graph = ResourceGraph::build(items);
            for exp in &case.expect {
                let Some(id) = graph.find(ACCOUNT, &exp.resource_type, &exp.resource_id) else {
                    failures.push(format!(
                        "{} / {}: no item {} {}",
                        fixture.check, case.name, exp.resource_type, exp.resource_id
                    ));
                    continue;
                };
                let outcome = evaluate_check(check, &graph, graph.item(id), &settings);
                seen.entry(fixture.check.clone())
                    .or_default()
                    .insert(outcome.compliance);
                let annotation_ok = exp.annotation.as_deref().is_none_or(|a| outcome.annotation.contains(a));
                if outcome.compliance != exp.compliance || !annotation_ok {
                    failures.push(format!(
                        "{} / {} / {}: expected {}{}, got {} \"{}\"",
                        fixture.check,
                        case.name,
                        exp.resource_id,
                        exp.compliance,
                        exp.annotation
                            .as_deref()
                            .map(|a| format!(" containing \"{a}\""))
                            .unwrap_or_default(),
                        outcome.compliance,
                        outcome.annotation
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    seen
}

#[test]
fn every_fixture_case_gives_the_expected_outcome() {
    run_fixtures();
}

#[test]
fn every_check_has_a_fixture_for_each_outcome_it_declares() {
    let seen = run_fixtures();
    let mut problems = Vec::new();
    for c in checks::ALL {
        let got = seen.get(c.id).cloned().unwrap_or_default();
        let declared: BTreeSet<Compliance> = c.outcomes.iter().copied().collect();
        if got != declared {
            problems.push(format!("{}: declares {:?}, fixtures show {:?}", c.id, declared, got));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn catalog_ids_are_implemented_exactly() {
    let ours: BTreeSet<&str> = checks::ALL.iter().map(|c| c.id).collect();
    let contract: BTreeSet<&str> = CATALOG_IDS.iter().copied().collect();
    assert_eq!(ours, contract);
    // The reference catalog beside the repository, when present, names the same ids.
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/catalog.md");
    if let Ok(text) = std::fs::read_to_string(catalog) {
        for id in CATALOG_IDS {
            assert!(
                text.contains(&format!("| {id} |")),
                "{id} is not in ../shared/catalog.md"
            );
        }
    }
}

#[test]
fn every_check_is_declared_completely() {
    let known: BTreeSet<&str> = types::ALL.iter().map(|t| t.name).collect();
    for c in checks::ALL {
        let plan = c.id.split('.').next().and_then(Plan::parse);
        assert_eq!(plan, Some(c.plan), "{}: id prefix must be its plan", c.id);
        assert!(!c.resource_types.is_empty(), "{}: no resource types", c.id);
        for t in c.resource_types {
            assert!(
                known.contains(t),
                "{}: resource type {t} is not parsed by the model",
                c.id
            );
        }
        assert!(!c.permissions.is_empty(), "{}: declares no AWS permission", c.id);
        for p in c.permissions {
            let (svc, action) = p
                .split_once(':')
                .unwrap_or_else(|| panic!("{}: bad permission {p}", c.id));
            assert!(
                !svc.is_empty() && action.chars().next().is_some_and(char::is_uppercase),
                "{}: bad permission {p}",
                c.id
            );
        }
        assert!(!c.triggers.is_empty(), "{}: no triggers", c.id);
        assert!(
            (10..=100).contains(&c.title.len()),
            "{}: title length {}",
            c.id,
            c.title.len()
        );
        assert!(
            (40..=700).contains(&c.remediation.len()),
            "{}: remediation length {}",
            c.id,
            c.remediation.len()
        );
        if c.inferred {
            assert!(
                c.remediation.contains("inferred"),
                "{}: an inferred check must say so in its remediation",
                c.id
            );
        }
        assert!(!c.outcomes.is_empty(), "{}: no outcomes", c.id);
    }
}

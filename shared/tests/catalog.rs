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
use shared::domain::azure::AzureSide;
use shared::domain::checks;
use shared::domain::engine::evaluate_check;
use shared::domain::graph::ResourceGraph;
use shared::domain::model::types;
use shared::domain::model::{ConfigurationItem, LiveFacts};
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Plan};

const ACCOUNT: &str = "111122223333";

/// The id prefix of the checks of the Azure half (they belong to the CSPM plan).
const AZURE_GROUP: &str = "azure";

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
    /// What a reader fetched from Azure ([`AzureSide`]: ARM and Graph payloads).
    #[serde(default)]
    azure: Option<Value>,
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
            let mut settings = match &case.settings {
                Some(v) => Settings::parse(&v.to_string(), false, &case.name).unwrap_or_else(|e| panic!("{e}")),
                None => Settings::default(),
            };
            if let Some(azure) = &case.azure {
                let side: AzureSide = serde_json::from_value(azure.clone())
                    .unwrap_or_else(|e| panic!("{} / {}: azure: {e}", fixture.check, case.name));
                settings.azure_side = Some(std::sync::Arc::new(side));
            }
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

/// The check ids of the reference catalog (`../shared/catalog.md`, beside the repository): a
/// public contract. Ids are the first cell of the checks tables; the Azure-side checks (section
/// 1f) are read from Azure and not implemented by this tool yet.
fn catalog_ids() -> Option<BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/catalog.md");
    let text = std::fs::read_to_string(path).ok()?;
    let ids = text
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split_once(" |").map(|(id, _)| id.trim()))
        .filter(|id| {
            id.split_once('.').is_some_and(|(plan, rest)| {
                (Plan::parse(plan).is_some() || plan == AZURE_GROUP)
                    && !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
        })
        .map(str::to_owned)
        .collect();
    Some(ids)
}

#[test]
fn catalog_ids_are_implemented_exactly() {
    let ours: BTreeSet<String> = checks::ALL.iter().map(|c| c.id.to_owned()).collect();
    match catalog_ids() {
        Some(contract) => {
            assert!(contract.len() >= 40, "the catalog's tables were not read: {contract:?}");
            let missing: Vec<_> = contract.difference(&ours).collect();
            let extra: Vec<_> = ours.difference(&contract).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "the registry and ../shared/catalog.md differ: not implemented {missing:?}; not in the catalog {extra:?}"
            );
        }
        // Outside a checkout with the reference material beside it there is no contract to read;
        // CI always has it.
        None => assert!(
            std::env::var_os("CI").is_none(),
            "../shared/catalog.md is missing: CI lays the reference material beside the repository"
        ),
    }
}

#[test]
fn each_check_is_one_file_named_after_its_id_and_registered_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain/checks");
    let mut files = BTreeSet::new();
    for group in Plan::ALL.iter().map(|p| p.as_str()).chain([AZURE_GROUP]) {
        for e in std::fs::read_dir(dir.join(group)).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n != "mod.rs") {
                files.insert(p);
            }
        }
    }
    let mut registered = BTreeSet::new();
    for c in checks::ALL {
        let (plan, rest) = c.id.split_once('.').unwrap();
        let path = dir.join(plan).join(format!("{}.rs", rest.replace('-', "_")));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{}: no file {}", c.id, path.display()));
        assert!(
            text.contains(&format!("id: \"{}\"", c.id)) && text.matches("Check = Check {").count() == 1,
            "{} must be the one check declared in {}",
            c.id,
            path.display()
        );
        assert!(registered.insert(path), "{} is registered twice", c.id);
    }
    let unregistered: Vec<_> = files.difference(&registered).collect();
    assert!(
        unregistered.is_empty(),
        "check files missing from checks::ALL: {unregistered:?}"
    );
}

#[test]
fn every_check_is_declared_completely() {
    let known: BTreeSet<&str> = types::ALL.iter().map(|t| t.name).collect();
    for c in checks::ALL {
        let prefix = c.id.split('.').next().unwrap_or_default();
        let plan = if prefix == AZURE_GROUP {
            Some(Plan::Cspm)
        } else {
            Plan::parse(prefix)
        };
        assert_eq!(
            plan,
            Some(c.plan),
            "{}: id prefix must be its plan (or azure, in the CSPM plan)",
            c.id
        );
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
            if prefix == AZURE_GROUP && (p.starts_with("Microsoft.") || p.starts_with("Microsoft Graph ")) {
                continue;
            }
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

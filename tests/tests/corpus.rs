//! Real AWS Config configuration items written by others (`tests/corpus/`, sources and licences
//! in its README): every one must parse through the same path `scan` uses, and scanned alone must
//! give the reviewed verdicts in `tests/corpus/verdicts.json`. `BLESS=1` rewrites that file from
//! the current code, for review.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use integration_tests::fixtures::root;
use serde_json::{json, Value};
use shared::domain::engine;
use shared::domain::graph::ResourceGraph;
use shared::domain::settings::Settings;
use shared::domain::snapshot;

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root().join("tests/corpus")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

/// The verdict of one file: per item, the compliance of every check that reports on it, or that
/// no check reads its type.
fn verdict(text: &str, name: &str) -> Value {
    let raw = snapshot::split(text, name).unwrap_or_else(|e| panic!("{e}"));
    let (items, errors) = snapshot::parse_items(&raw, false, |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(errors.is_empty());
    // As `scan` does: only a snapshot file is a complete recording.
    let mut graph = ResourceGraph::build(items.clone());
    if raw.shape != snapshot::COMPLETE_RECORDING {
        graph.mark_partial();
    }
    let result = engine::scan_graph(&graph, &Settings::default(), |_| {});
    let mut out = Vec::new();
    for item in &items {
        let checks: BTreeMap<&str, &str> = result
            .evaluations
            .iter()
            .filter(|e| e.resource_type == item.resource_type && e.resource_id == item.resource_id)
            .map(|e| (e.check_id.as_str(), e.compliance.as_str()))
            .collect();
        out.push(if checks.is_empty() {
            json!({"resourceType": item.resource_type, "read": false})
        } else {
            json!({"resourceType": item.resource_type, "read": true, "checks": checks})
        });
    }
    json!({"shape": raw.shape, "items": out})
}

#[test]
fn every_real_item_parses_and_gets_its_reviewed_verdict() {
    let files = corpus_files();
    assert!(files.len() >= 50, "the corpus holds {} files", files.len());
    let mut got = BTreeMap::new();
    for f in &files {
        let name = f
            .strip_prefix(root().join("tests/corpus"))
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(f).unwrap();
        got.insert(name.clone(), verdict(&text, &name));
    }
    let path = root().join("tests/corpus/verdicts.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let reviewed: BTreeMap<String, Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut differ = Vec::new();
    for (name, v) in &got {
        match reviewed.get(name) {
            Some(r) if r == v => {}
            Some(r) => differ.push(format!("{name}: reviewed {r}, now {v}")),
            None => differ.push(format!("{name}: no reviewed verdict")),
        }
    }
    for name in reviewed.keys().filter(|k| !got.contains_key(*k)) {
        differ.push(format!("{name}: reviewed but not in the corpus"));
    }
    assert!(differ.is_empty(), "verdicts differ:\n{}", differ.join("\n"));
    let read = got
        .values()
        .flat_map(|v| v["items"].as_array().unwrap().clone())
        .filter(|i| i["read"] == true)
        .count();
    assert!(read >= 10, "only {read} items of types the checks read");
}

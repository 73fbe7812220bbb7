//! The Python baseline of bench/ (bench/python/servers_checks.py) decides like the Rust catalog:
//! on the demo snapshot, every `servers.*` result of every EC2 instance must match, so the
//! side-by-side figures compare equivalent rules. Needs only python3 (the checks use the standard
//! library; rdklib is needed only to run the rule under the Runtime API).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use integration_tests::fixtures::root;
use std::collections::BTreeMap;

use shared::domain::engine::scan_graph;
use shared::domain::graph::ResourceGraph;
use shared::domain::settings::Settings;
use shared::domain::snapshot;

#[test]
fn the_python_baseline_decides_every_servers_check_like_the_rust_catalog() {
    let snapshot_path = root().join("events/demo-snapshot.json");
    let out = std::process::Command::new("python3")
        .arg(root().join("bench/python/scan.py"))
        .arg(&snapshot_path)
        .arg("--results")
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let python: BTreeMap<(String, String), String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: (String, String, String) = serde_json::from_str(l).unwrap();
            ((v.0, v.1), v.2)
        })
        .collect();

    // The Rust engine with default settings (the baseline implements the defaults only).
    let (items, errors) = snapshot::load(&snapshot_path, false).unwrap();
    assert!(errors.is_empty());
    let graph = ResourceGraph::build(items);
    let rust: BTreeMap<(String, String), String> = scan_graph(&graph, &Settings::default(), |_| {})
        .evaluations
        .into_iter()
        .filter(|e| {
            e.resource_type == "AWS::EC2::Instance"
                && python.contains_key(&(e.resource_id.to_string(), e.check_id.to_string()))
        })
        .map(|e| {
            (
                (e.resource_id.into(), e.check_id.into()),
                e.compliance.as_str().to_owned(),
            )
        })
        .collect();

    assert!(
        python.len() >= 35,
        "the baseline evaluated only {} results",
        python.len()
    );
    let differences: Vec<String> = python
        .iter()
        .filter(|(k, v)| rust.get(*k) != Some(*v))
        .map(|((id, check), v)| {
            format!(
                "{id} {check}: python {v}, rust {:?}",
                rust.get(&(id.clone(), check.clone()))
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "the baseline differs:\n{}",
        differences.join("\n")
    );
}

//! A whole snapshot file: split, parsed item by item (keep going), evaluated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::graph::ResourceGraph;
use shared::domain::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(raw) = shared::domain::snapshot::split(text, "fuzz") else {
        return;
    };
    let Ok((items, _errors)) = shared::domain::snapshot::parse_items(&raw, true, |_| {}) else {
        return;
    };
    let graph = ResourceGraph::build(items);
    let _ = shared::domain::engine::scan_graph(&graph, &Settings::default(), |_| {});
});

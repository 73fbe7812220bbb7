//! One configuration item: parsed, joined with the demo items and evaluated by every check.
#![no_main]

use defender_prereqs_fuzz::demo_items;
use libfuzzer_sys::fuzz_target;
use shared::domain::graph::ResourceGraph;
use shared::domain::model::ConfigurationItem;
use shared::domain::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(item) = ConfigurationItem::from_json(text, Some(0)) else {
        return;
    };
    let mut items = demo_items().to_vec();
    items.push(item);
    let graph = ResourceGraph::build(items);
    let _ = shared::domain::engine::scan_graph(&graph, &Settings::default(), |_| {});
});

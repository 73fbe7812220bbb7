//! A whole snapshot file: read an item at a time where it streams (only ever answering what
//! `split` answers), split, parsed item by item (keep going), evaluated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::graph::ResourceGraph;
use shared::domain::settings::Settings;

fuzz_target!(|data: &[u8]| {
    // Gzip is inflated by `stream` only; `split` takes text.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut streamed: Vec<(String, Option<u32>)> = Vec::new();
        let answer = shared::domain::snapshot::stream(data, "fuzz", 1 << 20, |_, text, line| {
            // As the scan's reader does: an item that is not JSON fails.
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| shared::Error::Input {
                source_name: "fuzz".into(),
                message: e.to_string(),
            })?;
            streamed.push((text.to_owned(), line));
            Ok(())
        });
        if let Ok(found) = answer {
            let text = std::str::from_utf8(data).expect("what streams is UTF-8");
            let raw = shared::domain::snapshot::split(text, "fuzz").expect("split reads what streams");
            let whole: Vec<(String, Option<u32>)> = raw
                .items
                .iter()
                .zip(&raw.lines)
                .map(|(i, l)| (i.get().to_owned(), *l))
                .collect();
            assert_eq!((found.shape, &found.snapshot_id), (raw.shape, &raw.snapshot_id));
            assert_eq!(streamed, whole);
        }
    }
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

//! A DynamoDB stream batch, as the rollup receives it: accounts extracted, each rolled up.
#![no_main]

use aws_lambda_events::event::dynamodb::Event;
use defender_prereqs_fuzz::{block_on, demo_items, Sink};
use libfuzzer_sys::fuzz_target;
use shared::app::memory::MemoryStore;
use shared::app::ports::ResultStore;
use shared::domain::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(e) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    let Ok(accounts) = readiness_rollup::accounts_of(&e) else {
        return;
    };
    let store = MemoryStore::default();
    let graph = shared::domain::graph::ResourceGraph::build(demo_items().to_vec());
    let settings = Settings::default();
    let results = shared::domain::engine::scan_graph(&graph, &settings, |_| {}).evaluations;
    let set = accounts.iter().map(|c| c.account.clone()).collect();
    let versions: Vec<_> = accounts.into_iter().flat_map(|c| c.versions).collect();
    block_on(async {
        let _ = store.record(&results, &shared::domain::state::Delivery::new("fuzz")).await;
        let _ = shared::app::flows::rollup(&store, &Sink, &settings, &set, &versions).await;
    });
});

//! What the fuzz targets share: the use cases driven with in-memory ports, so an input goes
//! through the same code a function runs, minus the network.

use std::sync::OnceLock;

use shared::app::memory::{MemoryReader, MemoryStore};
use shared::domain::model::ConfigurationItem;
use shared::app::ports::{EvaluationReporter, EventPublisher, PortError};
use shared::contracts::events::OutboundEvent;

use shared::contracts::config_rule::ConfigEvaluation;
use shared::domain::settings::Settings;
use shared::app::flows::Ports;

/// Accepts every event and every evaluation.
pub struct Sink;

impl EventPublisher for Sink {
    async fn publish(&self, _: &[OutboundEvent]) -> Result<(), PortError> {
        Ok(())
    }
}

impl EvaluationReporter for Sink {
    async fn put(&self, _: &str, _: bool, e: &[ConfigEvaluation]) -> Result<Vec<ConfigEvaluation>, PortError> {
        assert!(e.len() <= shared::contracts::config_rule::PUT_EVALUATIONS_MAX, "PutEvaluations takes at most 100");
        Ok(Vec::new())
    }
}

/// The demo snapshot's items: what the reader knows, so lookups find something.
pub fn demo_items() -> &'static [ConfigurationItem] {
    static ITEMS: OnceLock<Vec<ConfigurationItem>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        let text = include_str!("../../events/demo-snapshot.json");
        let raw = shared::domain::snapshot::split(text, "demo").expect("demo snapshot");
        shared::domain::snapshot::parse_items(&raw, true, |_| {}).expect("demo items").0
    })
}

/// Ports over the demo items, default settings and `store`.
pub fn ports(store: &MemoryStore) -> Ports<'_, MemoryReader, MemoryStore, Sink> {
    static READER: OnceLock<MemoryReader> = OnceLock::new();
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    static TYPES: OnceLock<Vec<String>> = OnceLock::new();
    Ports {
        reader: READER.get_or_init(|| MemoryReader::new(demo_items().to_vec())),
        store,
        publisher: &Sink,
        settings: SETTINGS.get_or_init(Settings::default),
        recorded_types: TYPES.get_or_init(|| {
            shared::domain::model::types::recorded().map(|t| t.name.to_owned())
                .collect()
        }),
    }
}

/// Runs a future to completion on a current-thread runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

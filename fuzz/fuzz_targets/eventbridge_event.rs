//! An EventBridge event (Config change, CloudTrail call, EC2 state change) through the whole
//! re-evaluation use case, dependants included.
#![no_main]

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use defender_prereqs_fuzz::{block_on, ports};
use shared::app::memory::MemoryStore;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::app::flows;

fuzz_target!(|data: &[u8]| {
    let Ok(e) = serde_json::from_slice::<EventBridgeEvent<Value>>(data) else {
        return;
    };
    let store = MemoryStore::default();
    let _ = block_on(flows::reevaluate(
        &ports(&store),
        &e.detail_type,
        &e.detail,
        "fuzz",
        e.region.as_deref(),
        &shared::app::pace::Pace::unbounded()));
});

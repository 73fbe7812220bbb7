//! A Config rule invocation, as Lambda delivers it, through the whole config-rule use case.
#![no_main]

use aws_lambda_events::event::config::ConfigEvent;
use defender_prereqs_fuzz::{block_on, ports, Sink};
use libfuzzer_sys::fuzz_target;
use shared::app::flows::{self, RuleInvocation};
use shared::app::memory::MemoryStore;

fuzz_target!(|data: &[u8]| {
    let Ok(e) = serde_json::from_slice::<ConfigEvent>(data) else {
        return;
    };
    let inv = RuleInvocation {
        invoking_event: e.invoking_event.as_deref(),
        rule_parameters: e.rule_parameters.as_deref(),
        result_token: e.result_token.as_deref(),
        event_left_scope: e.event_left_scope,
        region: None,
        rule: e.config_rule_arn.as_deref().and_then(|a| a.rsplit('/').next()),
    };
    let store = MemoryStore::default();
    let pace = shared::app::pace::Pace::unbounded();
    let _ = block_on(flows::config_rule(&ports(&store), &Sink, &inv, &pace));
});

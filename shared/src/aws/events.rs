//! EventBridge: publishing transition events.

use aws_sdk_eventbridge::primitives::DateTime as SdkTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::port_error;
use crate::app::ports::{EventPublisher, PortError};
use crate::contracts::events::OutboundEvent;

/// `Source` of every event.
pub const SOURCE: &str = "defender-prereqs";
/// Most entries one PutEvents call takes.
pub const MAX_ENTRIES: usize = 10;

/// [`EventPublisher`] over PutEvents on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
    max_attempts: u32,
}

impl EventBridgePublisher {
    /// The IAM actions publishing needs (on the bus).
    pub const PERMISSIONS: &'static [&'static str] = &["events:PutEvents"];
}

impl EventBridgePublisher {
    /// Publishes to `bus` (name or ARN) with a client built once per cold start.
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
            max_attempts: 5,
        }
    }
}

/// Entry error codes worth sending again.
fn retryable(code: &str) -> bool {
    matches!(
        code,
        "InternalFailure" | "ThrottlingException" | "InternalException" | "ServiceUnavailable"
    )
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PortError> {
        const OP: &str = "events:PutEvents";
        for chunk in events.chunks(MAX_ENTRIES) {
            let mut pending: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .source(SOURCE)
                        .detail_type(e.detail_type)
                        .detail(e.detail.to_string())
                        .time(SdkTime::from_millis(e.time.timestamp_millis()))
                        .event_bus_name(&self.bus)
                        .build()
                })
                .collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                let resp = self
                    .client
                    .put_events()
                    .set_entries(Some(pending.clone()))
                    .send()
                    .await
                    .map_err(|e| port_error(OP, e))?;
                if resp.failed_entry_count() == 0 {
                    break;
                }
                // Results are index-aligned with the request.
                let mut again = Vec::new();
                for (entry, result) in pending.iter().zip(resp.entries()) {
                    match result.error_code() {
                        None => {}
                        Some(code) if retryable(code) => again.push(entry.clone()),
                        Some(code) => {
                            return Err(PortError {
                                operation: OP,
                                message: format!(
                                    "entry {} rejected: {code}: {}",
                                    entry.detail_type().unwrap_or_default(),
                                    result.error_message().unwrap_or_default()
                                ),
                                retryable: false,
                            })
                        }
                    }
                }
                if attempt >= self.max_attempts {
                    return Err(PortError {
                        operation: OP,
                        message: format!("{} entries still failing after {attempt} attempts", again.len()),
                        retryable: true,
                    });
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                pending = again;
            }
        }
        Ok(())
    }
}

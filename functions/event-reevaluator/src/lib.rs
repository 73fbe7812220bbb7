//! EventBridge re-evaluation: for a Config item change, a CloudTrail API call or an EC2 state
//! change, re-evaluates the changed resources and every resource that depends on them, records
//! the results and publishes the transitions.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

pub mod wiring;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::app::error::HandlerError;
use shared::app::flows::{self, Ports};
use shared::app::pace::Pace;
use shared::app::ports::{ConfigReader, Continuation, EventPublisher, FactReader, ResultStore};
use shared::app::record::Summary;

/// What the function returns (also logged).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Results recorded.
    pub evaluations: usize,
    /// Compliance transitions published.
    pub transitions: usize,
    /// Pages of dependants done by this invocation.
    pub pages: usize,
    /// Whether the rest was handed to a fresh invocation.
    pub handed_off: bool,
}

impl From<Summary> for Response {
    fn from(s: Summary) -> Self {
        Self {
            evaluations: s.evaluations,
            transitions: s.transitions,
            pages: s.pages,
            handed_off: s.handed_off,
        }
    }
}

/// Handles one event; `pace`: how many of its dependants it evaluates before handing the rest
/// on.
pub async fn handler<R, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    event: LambdaEvent<EventBridgeEvent<Value>>,
    pace: &Pace<'_, C>,
) -> Result<Response, HandlerError>
where
    R: ConfigReader + FactReader,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    let e = event.payload;
    // The event's id identifies the delivery (EventBridge retries it with the same id); without
    // one, its content does.
    let delivery = e.id.clone().unwrap_or_else(|| e.detail.to_string());
    let out = flows::reevaluate(ports, &e.detail_type, &e.detail, &delivery, e.region.as_deref(), pace)
        .await
        .map_err(|err| {
            tracing::error!(error_type = err.kind(), error = %err, "invocation failed");
            err
        })?;
    tracing::info!(
        evaluations = out.evaluations,
        transitions = out.transitions,
        pages = out.pages,
        handed_off = out.handed_off,
        "re-evaluated"
    );
    println!(
        "{}",
        shared::contracts::metrics::invocation(
            "event-reevaluator",
            &[
                ("Evaluations", out.evaluations),
                ("Transitions", out.transitions),
                ("Pages", out.pages),
                ("HandOffs", usize::from(out.handed_off)),
            ],
            shared::contracts::metrics::now_ms(),
        )
    );
    Ok(out.into())
}

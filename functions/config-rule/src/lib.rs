//! AWS Config custom rule: evaluates the Defender for Cloud prerequisites of the resource a
//! Config rule invocation names (or of everything recorded, on a schedule), records the results
//! and reports them with PutEvaluations.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

pub mod wiring;

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::LambdaEvent;
use shared::app::error::HandlerError;
use shared::app::flows::{self, Ports, RuleInvocation, RuleSummary};
use shared::app::ports::{ConfigReader, EvaluationReporter, EventPublisher, FactReader, ResultStore};

/// Handles one invocation as Lambda delivers it: the payload is parsed here, so that one of another
/// shape fails as `MalformedEvent` without quoting it.
pub async fn handle_payload<R, E, S, P>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    event: LambdaEvent<serde_json::Value>,
) -> Result<RuleSummary, HandlerError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
{
    let event = shared::app::error::parse_invocation(event, "an AWS Config rule invocation")?;
    handler(ports, reporter, event).await
}

/// Handles one invocation.
pub async fn handler<R, E, S, P>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    event: LambdaEvent<ConfigEvent>,
) -> Result<RuleSummary, HandlerError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
{
    let e = event.payload;
    let inv = RuleInvocation {
        invoking_event: e.invoking_event.as_deref(),
        rule_parameters: e.rule_parameters.as_deref(),
        result_token: e.result_token.as_deref(),
        event_left_scope: e.event_left_scope,
    };
    let out = flows::config_rule(ports, reporter, &inv).await.map_err(|err| {
        tracing::error!(rule = e.config_rule_name.as_deref().unwrap_or(""), error_type = err.kind(), error = %err, "invocation failed");
        err
    })?;
    tracing::info!(
        reported = out.reported,
        calls = out.calls,
        transitions = out.transitions,
        "evaluated"
    );
    println!(
        "{}",
        shared::contracts::metrics::invocation(
            "config-rule",
            &[("Reported", out.reported), ("Transitions", out.transitions)],
            shared::contracts::metrics::now_ms(),
        )
    );
    Ok(out)
}

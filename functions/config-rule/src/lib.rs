//! AWS Config custom rule: evaluates the Defender for Cloud prerequisites of the resource a
//! Config rule invocation names (or of everything recorded, on a schedule), records the results
//! and reports them with PutEvaluations.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

pub mod azure;
pub mod sweep;
pub mod wiring;

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::LambdaEvent;
use shared::app::error::HandlerError;
use shared::app::flows::{self, Ports, RuleInvocation, RuleSummary};
use shared::app::pace::Pace;
use shared::app::ports::{ConfigReader, Continuation, EvaluationReporter, EventPublisher, FactReader, ResultStore};

/// The account and region an invocation is for: its `accountId` and its rule's region (an
/// organization rule's invocations come from each member account), else the configuration
/// item's (or a scheduled notification's account).
pub fn origin(e: &ConfigEvent) -> (Option<String>, Option<String>) {
    let invoking: Option<serde_json::Value> = e.invoking_event.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let field = |path: &[&str]| -> Option<String> {
        let v = invoking.as_ref()?;
        path.iter()
            .find_map(|p| v.pointer(p).and_then(|x| x.as_str()))
            .map(str::to_owned)
    };
    let account = e.account_id.clone().filter(|a| !a.is_empty()).or_else(|| {
        field(&[
            "/configurationItem/awsAccountId",
            "/configurationItemSummary/awsAccountId",
            "/awsAccountId",
        ])
    });
    let region = e
        .config_rule_arn
        .as_deref()
        .and_then(shared::aws::accounts::region_of_arn)
        .map(str::to_owned)
        .or_else(|| field(&["/configurationItem/awsRegion", "/configurationItemSummary/awsRegion"]));
    (account, region)
}

/// Handles one invocation; `pace`: how much of a periodic run it does before handing the rest on.
pub async fn handler<R, E, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    event: LambdaEvent<ConfigEvent>,
    pace: &Pace<'_, C>,
) -> Result<RuleSummary, HandlerError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    let (_, region) = origin(&event.payload);
    let e = event.payload;
    let inv = RuleInvocation {
        invoking_event: e.invoking_event.as_deref(),
        rule_parameters: e.rule_parameters.as_deref(),
        result_token: e.result_token.as_deref(),
        event_left_scope: e.event_left_scope,
        region: region.as_deref(),
        rule: e.config_rule_arn.as_deref().and_then(|a| a.rsplit('/').next()),
    };
    let out = flows::config_rule(ports, reporter, &inv, pace).await.map_err(|err| {
        tracing::error!(rule = e.config_rule_name.as_deref().unwrap_or(""), error_type = err.kind(), error = %err, "invocation failed");
        err
    })?;
    tracing::info!(
        reported = out.reported,
        calls = out.calls,
        transitions = out.transitions,
        pages = out.pages,
        handed_off = out.handed_off,
        unchanged = out.unchanged,
        "evaluated"
    );
    println!(
        "{}",
        shared::contracts::metrics::invocation(
            "config-rule",
            &[
                ("Reported", out.reported),
                ("Transitions", out.transitions),
                ("Pages", out.pages),
                ("HandOffs", usize::from(out.handed_off)),
                ("Unchanged", out.unchanged),
            ],
            shared::contracts::metrics::now_ms(),
        )
    );
    Ok(out)
}

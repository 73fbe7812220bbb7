//! The deployed function's wiring, once per cold start: settings from the environment, the AWS
//! clients, and the ports the handler runs on (AWS Config for configuration and PutEvaluations, the
//! service APIs for the facts Config does not record, the state table, the bus). Deployed
//! centrally, Config and the service APIs are those of the invocation's member account and region
//! (see `shared::aws::accounts`), and an invocation for an account outside the organization is
//! refused first (see `shared::aws::organization`). With `AZURE_CREDENTIALS_SECRET_ARN`, each periodic invocation
//! also reads the Azure half (see `crate::azure`). `main` is this.

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use shared::app::error::HandlerError;
use shared::app::flows::Ports;
use shared::app::flows::{RuleInvocation, RuleSummary};
use shared::aws::accounts::{account_of_arn, unavailable};
use shared::aws::continuation::{continuation, continued_event, enqueue_all, pace, parse_continuable};
use shared::aws::env::Adapters;

/// Whether an invocation is the periodic one (`ScheduledNotification`).
fn is_scheduled(e: &ConfigEvent) -> bool {
    e.invoking_event
        .as_deref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .is_some_and(|v| {
            matches!(
                v["messageType"].as_str(),
                Some("ScheduledNotification" | "ConfigurationSnapshotDeliveryCompleted")
            )
        })
}

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (env, adapters) = Adapters::from_env(true).await?;
    let azure = match &env.azure_secret {
        Some(arn) => {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            Some(crate::azure::AzureSource::new(&sdk, arn))
        }
        None => None,
    };
    let (env, adapters, azure) = (&env, &adapters, &azure);
    serve(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        // A continuation (its queue's message) carries the event it continues; a sweep's
        // schedule and tasks are this function's own events (see `crate::sweep`).
        let sweep = match continued_event(&event.payload) {
            Ok(Some(original)) => crate::sweep::parse(&original)?,
            Ok(None) => crate::sweep::parse(&event.payload)?,
            Err(what) => return Err(HandlerError::Malformed(what)),
        };
        if let Some(sweep) = sweep {
            let out = swept(env, adapters, sweep, event).await?;
            return Ok(serde_json::to_value(out).unwrap_or_default());
        }
        let (payload, event): (_, LambdaEvent<ConfigEvent>) =
            parse_continuable(event, "an AWS Config rule invocation")?;
        let continuation = continuation(&adapters.sqs, env, &payload);
        let pace = pace(event.context.deadline, env, &continuation);
        let (account, region) = crate::origin(&event.payload);
        let own = account_of_arn(&event.context.invoked_function_arn);
        // Any account's AWS Config may invoke an organization rule's function: one outside the
        // organization is refused before anything is read, and counted apart from failures.
        if let (Some(organization), Some(a)) = (&adapters.organization, account.as_deref()) {
            if own != Some(a) && !organization.is_member(a).await? {
                tracing::warn!(
                    rule = event.payload.config_rule_arn.as_deref().unwrap_or(""),
                    "refused: an invocation for an account outside the organization"
                );
                println!(
                    "{}",
                    shared::contracts::metrics::invocation(
                        "config-rule",
                        &[("OutsiderInvocations", 1)],
                        shared::contracts::metrics::now_ms()
                    )
                );
                let refused = RuleSummary {
                    outsider: true,
                    ..RuleSummary::default()
                };
                return Ok(serde_json::to_value(refused).unwrap_or_default());
            }
        }
        let member = adapters
            .accounts
            .for_event(own, account.as_deref(), region.as_deref())
            .await
            .map_err(|e| unavailable("config-rule", e))?;
        let ports = adapters.ports(env, &member);
        let out = match azure {
            Some(source) if is_scheduled(&event.payload) => {
                let mut settings = env.settings.clone();
                settings.azure_side = Some(source.side(&settings).await);
                let ports = Ports {
                    settings: &settings,
                    ..ports
                };
                crate::handler(&ports, &member.config, event, &pace).await?
            }
            _ => crate::handler(&ports, &member.config, event, &pace).await?,
        };
        Ok(serde_json::to_value(out).unwrap_or_default())
    }))
    .await
}

/// A sweep's schedule event (queues its tasks) or one task (runs its account × region's periodic
/// run through the member role, reporting nothing to AWS Config).
async fn swept(
    env: &shared::aws::env::FunctionEnv,
    adapters: &Adapters,
    sweep: crate::sweep::Sweep,
    event: LambdaEvent<serde_json::Value>,
) -> Result<crate::sweep::SweepSummary, HandlerError> {
    let needs =
        |what: &str| HandlerError::Malformed(format!("a sweep needs {what}: a central deployment's SweepRegions"));
    let (Some(account), Some(region)) = (sweep.account.clone(), sweep.region.clone()) else {
        let organization = adapters.organization.as_ref().ok_or_else(|| needs("ORGANIZATION_ID"))?;
        let queue = env
            .continuation_queue
            .as_deref()
            .ok_or_else(|| needs("CONTINUATION_QUEUE_URL"))?;
        let mut accounts = organization.active_accounts().await?;
        // Left out of the organization rules (the management account): left out here too.
        accounts.retain(|a| !env.excluded_accounts.contains(a));
        let tasks = crate::sweep::tasks(&sweep, &accounts);
        let queued = enqueue_all(&adapters.sqs, queue, &tasks).await?;
        tracing::info!(
            accounts = accounts.len(),
            regions = sweep.regions.len(),
            queued,
            "sweep queued"
        );
        return Ok(crate::sweep::SweepSummary { queued, run: None });
    };
    let (payload, context) = event.into_parts();
    // The task as first delivered: what a hand-off sends on.
    let task = continued_event(&payload).ok().flatten().unwrap_or(payload);
    let continuation = continuation(&adapters.sqs, env, &task);
    let pace = pace(context.deadline, env, &continuation);
    let own = account_of_arn(&context.invoked_function_arn);
    let member = adapters
        .accounts
        .for_event(own, Some(&account), Some(&region))
        .await
        .map_err(|e| unavailable("config-rule", e))?;
    let ports = adapters.ports(env, &member);
    let (token, invoking) = crate::sweep::task_invocation(&sweep, &account, &region);
    let inv = RuleInvocation {
        invoking_event: Some(&invoking),
        rule_parameters: None,
        result_token: Some(&token),
        event_left_scope: false,
        region: Some(&region),
        rule: None,
    };
    let mut run = shared::app::flows::config_rule(&ports, &crate::sweep::NoRule, &inv, &pace).await?;
    // Nothing went to AWS Config.
    run.reported = 0;
    run.calls = 0;
    tracing::info!(
        pages = run.pages,
        transitions = run.transitions,
        handed_off = run.handed_off,
        "swept"
    );
    Ok(crate::sweep::SweepSummary {
        queued: 0,
        run: Some(run),
    })
}

//! The deployed function's wiring, once per cold start: settings from the environment, the AWS
//! clients, and the ports the handler runs on (AWS Config for configuration and PutEvaluations, the
//! service APIs for the facts Config does not record, the state table, the bus). Deployed
//! centrally, Config and the service APIs are those of the invocation's member account and region
//! (see `shared::aws::accounts`), and an invocation for an account outside the organization is
//! refused first (see `shared::aws::organization`). With `AZURE_CREDENTIALS_SECRET_ARN`, each periodic invocation
//! also reads the Azure half (see `crate::azure`). `main` is this.

use std::sync::Arc;

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use shared::app::flows::Ports;
use shared::aws::accounts::{account_of_arn, unavailable};
use shared::aws::continuation::{continuation, pace, parse_continuable};
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
        // A continuation of a periodic run (its queue's message) carries the run's event.
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
                return Ok(shared::app::flows::RuleSummary {
                    outsider: true,
                    ..Default::default()
                });
            }
        }
        let member = adapters
            .accounts
            .for_event(own, account.as_deref(), region.as_deref())
            .await
            .map_err(|e| unavailable("config-rule", e))?;
        let ports = adapters.ports(env, &member);
        match azure {
            Some(source) if is_scheduled(&event.payload) => {
                let mut settings = env.settings.clone();
                settings.azure_side = Some(Arc::new(source.read(&settings).await));
                let ports = Ports {
                    settings: &settings,
                    ..ports
                };
                crate::handler(&ports, &member.config, event, &pace).await
            }
            _ => crate::handler(&ports, &member.config, event, &pace).await,
        }
    }))
    .await
}

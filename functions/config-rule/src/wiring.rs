//! The deployed function's wiring, once per cold start: settings from the environment, the AWS
//! clients, and the ports the handler runs on (AWS Config for configuration and PutEvaluations, the
//! service APIs for the facts Config does not record, the state table, the bus). Deployed
//! centrally, Config and the service APIs are those of the invocation's member account and region
//! (see `shared::aws::accounts`). `main` is this.

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use shared::aws::accounts::{account_of_arn, unavailable};
use shared::aws::env::Adapters;

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (env, adapters) = Adapters::from_env(true).await?;
    let (env, adapters) = (&env, &adapters);
    serve(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let event: LambdaEvent<ConfigEvent> =
            shared::app::error::parse_invocation(event, "an AWS Config rule invocation")?;
        let (account, region) = crate::origin(&event.payload);
        let own = account_of_arn(&event.context.invoked_function_arn);
        let member = adapters
            .accounts
            .for_event(own, account.as_deref(), region.as_deref())
            .await
            .map_err(|e| unavailable("config-rule", e))?;
        crate::handler(&adapters.ports(env, &member), &member.config, event).await
    }))
    .await
}

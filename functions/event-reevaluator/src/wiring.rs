//! The deployed function's wiring, once per cold start: settings from the environment, the AWS
//! clients, and the ports the handler runs on (AWS Config, the service APIs for the facts Config
//! does not record, the state table, the bus). Deployed centrally, Config and the service APIs are
//! those of the event's member account and region (see `shared::aws::accounts`). `main` is this.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;
use shared::aws::accounts::{account_of_arn, unavailable};
use shared::aws::continuation::{continuation, pace, parse_continuable};
use shared::aws::env::Adapters;

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (env, adapters) = Adapters::from_env(true).await?;
    let (env, adapters) = (&env, &adapters);
    serve(service_fn(move |event: LambdaEvent<Value>| async move {
        // A continuation of a change's dependants (its queue's message) carries the event.
        let (payload, event): (_, LambdaEvent<EventBridgeEvent<Value>>) =
            parse_continuable(event, "an EventBridge event")?;
        let continuation = continuation(&adapters.sqs, env, &payload);
        let pace = pace(event.context.deadline, env, &continuation);
        let own = account_of_arn(&event.context.invoked_function_arn);
        let member = adapters
            .accounts
            .for_event(own, event.payload.account.as_deref(), event.payload.region.as_deref())
            .await
            .map_err(|e| unavailable("event-reevaluator", e))?;
        crate::handler(&adapters.ports(env, &member), event, &pace).await
    }))
    .await
}

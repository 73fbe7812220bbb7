//! Lambda entry point: configuration and clients once per cold start, then the handler.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, tracing, Error, LambdaEvent};
use shared::aws::env::{Adapters, FunctionEnv};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env = FunctionEnv::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let a = Adapters::new(&sdk, &env);
    let (store, publisher, settings) = (&a.store, &a.publisher, &env.settings);
    run(service_fn(move |event: LambdaEvent<_>| async move {
        readiness_rollup::handler(store, publisher, settings, event).await
    }))
    .await
}

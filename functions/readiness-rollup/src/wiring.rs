//! The deployed function's wiring, once per cold start: settings from the environment, the state
//! table (results in, readiness out) and the bus. `main` is this.

use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use shared::aws::env::Adapters;

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (env, adapters) = Adapters::from_env(false).await?;
    let (store, publisher, settings) = (&adapters.store, &adapters.publisher, &env.settings);
    serve(service_fn(move |event: LambdaEvent<_>| async move {
        crate::handle_payload(store, publisher, settings, event).await
    }))
    .await
}

//! The deployed function's wiring, once per cold start: settings from the environment, the AWS
//! clients, and the ports the handler runs on (AWS Config, the service APIs for the facts Config
//! does not record, the state table, the bus). `main` is this.

use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use shared::aws::env::Adapters;

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (env, adapters) = Adapters::from_env().await?;
    let ports = &adapters.ports(&env);
    serve(service_fn(move |event: LambdaEvent<_>| async move {
        crate::handle_payload(ports, event).await
    }))
    .await
}

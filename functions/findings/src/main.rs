//! Lambda entry point: see `wiring` for what is built once per cold start.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    findings::wiring::run().await
}

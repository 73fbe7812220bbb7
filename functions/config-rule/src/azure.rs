//! The periodic run's Azure half: the service principal from AWS Secrets Manager, then the
//! subscriptions the settings name, read with Microsoft's SDK (`shared::azure`). What cannot be
//! read is recorded where it failed: the `azure.*` checks say INSUFFICIENT_DATA, the run goes on.
//!
//! The Azure half is the same for every account and region: a process reads it once and keeps it
//! for [`MAX_AGE`] (a failed read for [`FAILED_MAX_AGE`]), so an organization's periodic runs (one
//! per member account and region, and one per page of each) sign in to Azure once per process and
//! period, not once per invocation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use shared::domain::azure::AzureSide;
use shared::domain::settings::Settings;

/// The secret's JSON.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    tenant_id: String,
    client_id: String,
    client_secret: String,
}

/// How long a read of the Azure half is used before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// How long a read that failed anywhere is used before it is tried again.
pub const FAILED_MAX_AGE: Duration = Duration::from_secs(60);

/// Where the periodic run gets its Azure credentials, and the last read.
pub struct AzureSource {
    secrets: aws_sdk_secretsmanager::Client,
    secret_arn: String,
    last: tokio::sync::Mutex<Option<(Instant, Arc<AzureSide>)>>,
}

fn failed(settings: &Settings, why: &str) -> AzureSide {
    AzureSide::failed(&settings.azure.subscriptions, why)
}

impl AzureSource {
    /// A source reading `secret_arn` with the function's own credentials.
    pub fn new(sdk: &aws_config::SdkConfig, secret_arn: &str) -> Self {
        Self {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            secret_arn: secret_arn.to_owned(),
            last: tokio::sync::Mutex::default(),
        }
    }

    /// The Azure half: the last read while it is younger than [`MAX_AGE`] ([`FAILED_MAX_AGE`]
    /// when any part of it failed), else a new one. One read at a time per process.
    pub async fn side(&self, settings: &Settings) -> Arc<AzureSide> {
        let mut last = self.last.lock().await;
        if let Some((at, side)) = last.as_ref() {
            let failed = side.entra_error.is_some() || side.subscriptions.iter().any(|s| s.error.is_some());
            if at.elapsed() < if failed { FAILED_MAX_AGE } else { MAX_AGE } {
                return side.clone();
            }
        }
        let side = Arc::new(self.read(settings).await);
        *last = Some((Instant::now(), side.clone()));
        side
    }

    /// Reads the Azure half `settings` asks for.
    pub async fn read(&self, settings: &Settings) -> AzureSide {
        let secret = match self.secrets.get_secret_value().secret_id(&self.secret_arn).send().await {
            Ok(out) => out.secret_string,
            Err(e) => {
                let why = format!(
                    "the Azure credentials secret could not be read: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                );
                tracing::error!(error = %why, "azure");
                return failed(settings, &why);
            }
        };
        // The message names what is wrong, never the secret's text.
        let sp: ServicePrincipal = match secret.as_deref().map(serde_json::from_str) {
            Some(Ok(sp)) => sp,
            Some(Err(e)) => {
                let why = format!(
                    "the Azure credentials secret is not {{\"tenantId\",\"clientId\",\"clientSecret\"}} JSON (line {}, column {})",
                    e.line(),
                    e.column()
                );
                tracing::error!(error = %why, "azure");
                return failed(settings, &why);
            }
            None => return failed(settings, "the Azure credentials secret has no SecretString"),
        };
        let credential =
            match shared::azure::service_principal(&settings.azure, &sp.tenant_id, sp.client_id, sp.client_secret) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "azure");
                    return failed(settings, &e);
                }
            };
        let reader = shared::azure::AzureReader::new(&settings.azure, credential);
        reader.read(&settings.azure, |line| tracing::info!("{line}")).await
    }
}

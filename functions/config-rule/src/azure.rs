//! The periodic run's Azure half: the service principal from AWS Secrets Manager, then the
//! subscriptions the settings name, read with Microsoft's SDK (`shared::azure`). What cannot be
//! read is recorded where it failed: the `azure.*` checks say INSUFFICIENT_DATA, the run goes on.

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

/// Where the periodic run gets its Azure credentials.
pub struct AzureSource {
    secrets: aws_sdk_secretsmanager::Client,
    secret_arn: String,
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
        }
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

//! AWS Security Hub: findings imported with BatchImportFindings, at most 100 a call, into the
//! account and region of the client's configuration (a member account's own credentials in a
//! central deployment).

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, Partition, Recommendation, RecordState, Remediation, Resource,
    Severity, SeverityLabel,
};
use aws_sdk_securityhub::Client;

use super::port_error;
use crate::app::ports::PortError;
use crate::contracts::findings::{Finding, BATCH, FINDING_TYPE, SCHEMA_VERSION};

/// The Security Hub client.
#[derive(Debug, Clone)]
pub struct SecurityHubApi {
    client: Client,
}

/// A finding Security Hub refused: its id, and Security Hub's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The finding's id.
    pub id: String,
    /// `ErrorCode`.
    pub code: String,
    /// `ErrorMessage`.
    pub message: String,
}

fn to_sdk(f: &Finding) -> AwsSecurityFinding {
    let mut b = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.account_id)
        .types(FINDING_TYPE)
        .created_at(&f.updated_at)
        .updated_at(&f.updated_at)
        .severity(Severity::builder().label(SeverityLabel::from(f.severity)).build())
        .title(&f.title)
        .description(&f.description)
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(&f.remediation_text)
                        .url(f.remediation_url)
                        .build(),
                )
                .build(),
        )
        .resources(
            Resource::builder()
                .r#type(f.resource_type)
                .id(&f.resource_id)
                .partition(Partition::from(f.partition))
                .region(&f.region)
                .build(),
        )
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(f.compliance_status))
                .build(),
        )
        .record_state(RecordState::from(f.record_state));
    for (k, v) in &f.product_fields {
        b = b.product_fields(k, v);
    }
    b.build()
}

impl SecurityHubApi {
    /// What [`Self::import`] calls.
    pub const PERMISSIONS: &'static [&'static str] = &["securityhub:BatchImportFindings"];

    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client of `sdk`'s credentials in `region`.
    pub fn in_region(sdk: &aws_config::SdkConfig, region: &str) -> Self {
        let conf = sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        Self::new(Client::new(&conf))
    }

    /// Imports `findings` in calls of at most 100; returns the findings Security Hub refused.
    /// A call that fails (denied, throttled past the SDK's retries) fails the whole import.
    pub async fn import(&self, findings: &[Finding]) -> Result<Vec<Refused>, PortError> {
        let mut refused = Vec::new();
        for chunk in findings.chunks(BATCH) {
            let out = self
                .client
                .batch_import_findings()
                .set_findings(Some(chunk.iter().map(to_sdk).collect()))
                .send()
                .await
                .map_err(|e| port_error("securityhub:BatchImportFindings", e))?;
            refused.extend(out.failed_findings().iter().map(|e| Refused {
                id: e.id().unwrap_or_default().to_owned(),
                code: e.error_code().unwrap_or_default().to_owned(),
                message: e.error_message().unwrap_or_default().to_owned(),
            }));
        }
        Ok(refused)
    }
}

//! AWS adapters for the ports (feature `aws`): AWS Config, the service APIs behind the facts (SSM,
//! EKS, CloudWatch Logs), DynamoDB and EventBridge over the
//! AWS SDK for Rust. Clients are built once per process by the caller and passed in.

pub mod accounts;
pub mod config;
pub mod continuation;
pub mod dynamo;
pub mod env;
pub mod events;
pub mod facts;
pub mod identity;
pub mod members;
pub mod organization;
pub mod securityhub;

use aws_sdk_config::config::http::HttpResponse;
use aws_sdk_config::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::app::ports::PortError;

/// What a call says when no credentials were found (the SDK's credential chain came up empty).
pub const NO_CREDENTIALS: &str = "no AWS credentials were found: set AWS_PROFILE (after `aws configure` or \
    `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// Maps an SDK error (of any service: they share the smithy types) to a [`PortError`], marking
/// throttling, 5xx, timeouts and connection failures retryable.
pub(crate) fn port_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.as_service_error().and_then(|e| e.code()).map(str::to_owned);
    let no_credentials = matches!(err, SdkError::DispatchFailure(_)) && {
        let context = DisplayErrorContext(&err).to_string();
        context.contains("CredentialsNotLoaded") || context.contains("no providers in chain provided credentials")
    };
    if no_credentials {
        return PortError {
            operation,
            message: NO_CREDENTIALS.to_owned(),
            retryable: false,
        };
    }
    let retryable = matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
        || status.is_some_and(|s| s >= 500 || s == 429)
        || code.as_deref().is_some_and(|c| {
            c.contains("Throttl") || c == "RequestLimitExceeded" || c == "ProvisionedThroughputExceededException"
        });
    // AWS's own code and message, never the SDK's debug dump of the raw response (headers, body).
    let message = match &err {
        SdkError::ServiceError(e) => format!(
            "{}: {}",
            e.err().code().unwrap_or("error"),
            e.err().message().unwrap_or("no message")
        ),
        SdkError::ResponseError(_) => format!(
            "an answer that could not be read (HTTP {})",
            status.map_or_else(|| "?".to_owned(), |s| s.to_string())
        ),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "AWS did not answer in time".to_owned(),
        SdkError::DispatchFailure(d) if d.is_io() => {
            "AWS could not be reached (the connection failed: network, proxy or endpoint)".to_owned()
        }
        other => DisplayErrorContext(other).to_string(),
    };
    PortError {
        operation,
        message,
        retryable,
    }
}

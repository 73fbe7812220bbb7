//! How a flow fails, in the terms the functions report to Lambda.

use crate::app::ports::PortError;

/// Why an invocation failed. `Malformed` events will fail again as they are (dead-letter them);
/// port errors say whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not what the function accepts; the message names what was wrong.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A call to AWS failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

impl HandlerError {
    /// A stable error type for Lambda's error response.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Port(p) if p.retryable => "Retryable",
            Self::Port(_) => "NonRetryable",
        }
    }
}

impl From<crate::Error> for HandlerError {
    fn from(e: crate::Error) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// What Lambda reports for a failed invocation: `errorType` is [`HandlerError::kind`], the message
/// names what was wrong and quotes no value from the event.
#[cfg(feature = "lambda")]
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

//! How a flow fails, in the terms the functions report to Lambda.

use crate::app::ports::PortError;

/// Why an invocation failed. `Malformed` events will fail again as they are (dead-letter them);
/// port errors say whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not what the function accepts; the message names what was wrong.
    #[error("malformed event: {}", crate::domain::error::printable(.0))]
    Malformed(String),
    /// A call to AWS failed.
    #[error("{}", crate::domain::error::printable(&.0.to_string()))]
    Port(#[from] PortError),
}

impl HandlerError {
    /// A stable error type for Lambda's error response.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Port(p) if p.operation == crate::app::ports::ASSUME_ROLE => "MemberRoleUnavailable",
            Self::Port(p) if p.retryable => "Retryable",
            Self::Port(_) => "NonRetryable",
        }
    }
}

/// Parses an invocation's payload into the event type the function takes. A payload of another
/// shape fails as [`HandlerError::Malformed`], naming the field's path and what was expected there,
/// never quoting a value from it (so nothing of the event reaches the error response or the logs).
pub fn parse_event<T: serde::de::DeserializeOwned>(payload: serde_json::Value, what: &str) -> Result<T, HandlerError> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        HandlerError::Malformed(format!("not {what}{at}: {}", crate::domain::error::redacted(e.inner())))
    })
}

/// [`parse_event`] for an invocation as Lambda delivers it: the payload becomes the function's event
/// type and keeps its context; a payload of another shape is logged and fails as
/// [`HandlerError::Malformed`], quoting nothing.
#[cfg(feature = "lambda")]
pub fn parse_invocation<T: serde::de::DeserializeOwned>(
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
    what: &str,
) -> Result<lambda_runtime::LambdaEvent<T>, HandlerError> {
    let (payload, context) = event.into_parts();
    let payload = parse_event(payload, what).inspect_err(|err| {
        tracing::error!(error_type = err.kind(), error = %err, "invocation failed");
    })?;
    Ok(lambda_runtime::LambdaEvent::new(payload, context))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Invocation {
        #[serde(rename = "resultToken")]
        result_token: String,
        #[serde(rename = "eventLeftScope", default)]
        left_scope: bool,
    }

    #[test]
    fn a_payload_of_another_shape_is_malformed_and_quotes_nothing() {
        let e = parse_event::<Invocation>(
            serde_json::json!({"resultToken": "x", "eventLeftScope": "AKIAEXAMPLESECRET/s3cr3t"}),
            "a Config rule invocation",
        )
        .unwrap_err();
        let m = e.to_string();
        assert_eq!(e.kind(), "MalformedEvent");
        assert!(m.contains("eventLeftScope") && !m.contains("AKIAEXAMPLESECRET"), "{m}");
        // Whatever a message holds, it is one line: no forged log line, no terminal escape.
        let e = HandlerError::Malformed("a\nERROR forged\u{1b}[2J".into());
        assert_eq!(e.to_string(), "malformed event: a\\u{a}ERROR forged\\u{1b}[2J");
        let e = parse_event::<Invocation>(serde_json::Value::Null, "a Config rule invocation").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("malformed event: not a Config rule invocation"),
            "{e}"
        );
    }
}

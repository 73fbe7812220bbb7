//! The rest of a run, handed to a fresh invocation of the same function through its continuation
//! queue (SQS, `CONTINUATION_QUEUE_URL`): the message is the event the run was invoked with, and
//! the queue's event source mapping invokes the function with it (one record per invocation).
//! The run resumes where its recorded progress says ([`crate::app::pace`]).

use serde_json::Value;

use crate::app::ports::{Continuation, PortError};

/// The IAM actions a function with a continuation queue needs on it: the function sends the
/// hand-off, the queue's event source mapping (with the function's role) receives, deletes and
/// reads the queue's attributes.
pub const CONTINUE_PERMISSIONS: &[&str] = &[
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// The largest message SQS accepts (1 MiB; Amazon SQS developer guide, "Amazon SQS message
/// quotas"). An event larger than that cannot be handed on: Config's invocations and EventBridge
/// events are at most 256 KB.
pub const MESSAGE_MAX_BYTES: usize = 1024 * 1024;

/// Sends the invocation's event to the continuation queue.
#[derive(Debug)]
pub struct SqsContinuation<'a> {
    client: &'a aws_sdk_sqs::Client,
    queue_url: &'a str,
    event: &'a Value,
}

impl<'a> SqsContinuation<'a> {
    /// A continuation of the invocation of `event`.
    pub fn new(client: &'a aws_sdk_sqs::Client, queue_url: &'a str, event: &'a Value) -> Self {
        Self {
            client,
            queue_url,
            event,
        }
    }
}

impl Continuation for SqsContinuation<'_> {
    async fn hand_off(&self) -> Result<(), PortError> {
        const OP: &str = "sqs:SendMessage";
        let body = self.event.to_string();
        if body.len() > MESSAGE_MAX_BYTES {
            return Err(PortError {
                operation: OP,
                message: format!("the event is {} bytes, over SQS's {MESSAGE_MAX_BYTES}", body.len()),
                retryable: false,
            });
        }
        self.client
            .send_message()
            .queue_url(self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| super::port_error(OP, e))?;
        Ok(())
    }
}

/// Queues `events` on `queue_url`, ten to a SendMessageBatch call (SQS's limit per batch); an
/// entry SQS refuses is sent once more, then the call fails naming how many were refused. Returns
/// the number queued. (SendMessageBatch is authorized as `sqs:SendMessage`.)
pub async fn enqueue_all(client: &aws_sdk_sqs::Client, queue_url: &str, events: &[Value]) -> Result<usize, PortError> {
    const OP: &str = "sqs:SendMessage";
    for chunk in events.chunks(10) {
        let mut entries: Vec<aws_sdk_sqs::types::SendMessageBatchRequestEntry> = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            entries.push(
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(e.to_string())
                    .build()
                    .map_err(|e| PortError {
                        operation: OP,
                        message: e.to_string(),
                        retryable: false,
                    })?,
            );
        }
        for attempt in 0..2 {
            let out = client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| super::port_error(OP, e))?;
            let failed: std::collections::HashSet<&str> = out.failed().iter().map(|f| f.id()).collect();
            if failed.is_empty() {
                break;
            }
            if attempt == 1 {
                return Err(PortError {
                    operation: OP,
                    message: format!("SQS refused {} messages twice", failed.len()),
                    retryable: true,
                });
            }
            entries.retain(|e| failed.contains(e.id()));
        }
    }
    Ok(events.len())
}

/// The event a continuation message carries, when `payload` is an SQS event (the continuation
/// queue's): `Ok(None)` when it is not one. One record per invocation (the mapping's batch size).
pub fn continued_event(payload: &Value) -> Result<Option<Value>, String> {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return Ok(None);
    };
    if !records
        .iter()
        .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
    {
        return Ok(None);
    }
    let [record] = records.as_slice() else {
        return Err(format!(
            "a continuation batch of {} records (the queue's mapping delivers one at a time)",
            records.len()
        ));
    };
    let body = record
        .get("body")
        .and_then(Value::as_str)
        .ok_or("a continuation record without `body`")?;
    serde_json::from_str(body)
        .map(Some)
        .map_err(|e| format!("a continuation record whose body is not JSON: {e}"))
}

impl Continuation for Option<SqsContinuation<'_>> {
    async fn hand_off(&self) -> Result<(), PortError> {
        match self {
            Some(c) => c.hand_off().await,
            None => crate::app::pace::NoContinuation.hand_off().await,
        }
    }
}

/// Parses an invocation's event as `T`, taking it out of the continuation queue's record first when
/// it is one. Returns the event as first delivered too: what a hand-off sends on.
#[cfg(feature = "lambda")]
pub fn parse_continuable<T: serde::de::DeserializeOwned>(
    event: lambda_runtime::LambdaEvent<Value>,
    what: &str,
) -> Result<(Value, lambda_runtime::LambdaEvent<T>), crate::app::error::HandlerError> {
    let (payload, context) = event.into_parts();
    let payload = match continued_event(&payload) {
        Ok(Some(original)) => original,
        Ok(None) => payload,
        Err(what) => return Err(crate::app::error::HandlerError::Malformed(what)),
    };
    let event = crate::app::error::parse_invocation(lambda_runtime::LambdaEvent::new(payload.clone(), context), what)?;
    Ok((payload, event))
}

/// How much of a run one invocation does: with a continuation queue, pages until the margin
/// before its deadline (the Runtime API's `Lambda-Runtime-Deadline-Ms`), then hands on; without
/// one, the run goes on to its end or the invocation's timeout (a retry resumes it).
pub fn pace<'a>(
    deadline_ms: u64,
    env: &super::env::FunctionEnv,
    continuation: &'a Option<SqsContinuation<'a>>,
) -> crate::app::pace::Pace<'a, Option<SqsContinuation<'a>>> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    crate::app::pace::Pace {
        deadline: continuation.as_ref().map(|_| std::time::Instant::now() + left),
        margin: env.handoff_margin,
        page: env.page_size,
        report_refresh: env.report_refresh,
        continuation,
    }
}

/// The function's continuation of the invocation of `event` (`None` without a queue).
pub fn continuation<'a>(
    sqs: &'a aws_sdk_sqs::Client,
    env: &'a super::env::FunctionEnv,
    event: &'a Value,
) -> Option<SqsContinuation<'a>> {
    env.continuation_queue
        .as_deref()
        .map(|q| SqsContinuation::new(sqs, q, event))
}

//! PutEvents: batching by 10, partial failures retried entry by entry, rejected entries reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Utc;
use integration_tests::stub::Stub;
use serde_json::{json, Value};
use shared::app::ports::EventPublisher;
use shared::aws::events::EventBridgePublisher;
use shared::contracts::events::OutboundEvent;

fn publisher(url: &str) -> EventBridgePublisher {
    let conf = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .endpoint_url(url)
        .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    EventBridgePublisher::new(aws_sdk_eventbridge::Client::from_conf(conf), "prereqs-bus")
}

fn events(n: usize) -> Vec<OutboundEvent> {
    (0..n)
        .map(|i| OutboundEvent {
            detail_type: "Prerequisite Compliance Changed",
            detail: json!({"n": i}),
            time: Utc::now(),
        })
        .collect()
}

fn n_of(entry: &Value) -> u64 {
    serde_json::from_str::<Value>(entry["Detail"].as_str().unwrap()).unwrap()["n"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn partial_failures_are_resent_until_every_entry_is_accepted() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    // First answer: entries 1 and 3 throttled; afterwards everything succeeds.
    let stub = Stub::start(move |_, body| {
        let entries = body["Entries"].as_array().unwrap();
        let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
        let results: Vec<Value> = (0..entries.len())
            .map(|i| {
                if first && (i == 1 || i == 3) {
                    json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
                } else {
                    json!({"EventId": format!("id-{i}")})
                }
            })
            .collect();
        let failed = results.iter().filter(|r| r.get("ErrorCode").is_some()).count();
        (200, json!({"FailedEntryCount": failed, "Entries": results}).to_string())
    })
    .await;
    publisher(&stub.url).publish(&events(12)).await.unwrap();
    let bodies = stub.calls("PutEvents");
    let sizes: Vec<usize> = bodies.iter().map(|b| b["Entries"].as_array().unwrap().len()).collect();
    assert_eq!(
        sizes,
        [10, 2, 2],
        "10 per call; then only the two throttled entries again"
    );
    let resent: Vec<u64> = bodies[1]["Entries"].as_array().unwrap().iter().map(n_of).collect();
    assert_eq!(resent, [1, 3]);
    let e = &bodies[0]["Entries"][0];
    assert_eq!(
        (
            e["Source"].as_str(),
            e["DetailType"].as_str(),
            e["EventBusName"].as_str()
        ),
        (
            Some("defender-prereqs"),
            Some("Prerequisite Compliance Changed"),
            Some("prereqs-bus")
        )
    );
}

#[tokio::test]
async fn a_rejected_entry_fails_the_publish_without_retrying_it() {
    let stub = Stub::start(|_, body| {
        let n = body["Entries"].as_array().unwrap().len();
        let mut results = vec![json!({"EventId": "ok"}); n];
        results[0] = json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "bad detail"});
        (200, json!({"FailedEntryCount": 1, "Entries": results}).to_string())
    })
    .await;
    let err = publisher(&stub.url).publish(&events(3)).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("MalformedDetail"), "{err}");
    assert_eq!(stub.calls("PutEvents").len(), 1);
}

#[tokio::test]
async fn persistent_throttling_gives_up_as_retryable() {
    let stub = Stub::start(|_, body| {
        let n = body["Entries"].as_array().unwrap().len();
        let results = vec![json!({"ErrorCode": "InternalFailure", "ErrorMessage": "x"}); n];
        (200, json!({"FailedEntryCount": n, "Entries": results}).to_string())
    })
    .await;
    let err = publisher(&stub.url).publish(&events(1)).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(stub.calls("PutEvents").len(), 5);
}

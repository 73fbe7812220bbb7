//! The repository's shipped inputs, as the tests and benches read them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// A file under `events/`, parsed.
pub fn event_json(name: &str) -> Value {
    let path = root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo snapshot's configuration items, as JSON.
pub fn demo_items() -> Vec<Value> {
    event_json("demo-snapshot.json")["configurationItems"]
        .as_array()
        .expect("configurationItems")
        .clone()
}

/// `items` after AmazonSSMManagedInstanceCore was detached from the demo's web-ssm-role (the
/// role's item captured at 08:16:30, after the demo's 08:15:42): what
/// `event-reevaluator/cloudtrail-detach-role-policy.json` reports.
pub fn detached(items: Vec<Value>) -> Vec<Value> {
    items
        .into_iter()
        .map(|mut i| {
            if i["resourceName"] == "web-ssm-role" {
                if let Some(list) = i["configuration"]["attachedManagedPolicies"].as_array_mut() {
                    list.retain(|p| {
                        !p["policyArn"]
                            .as_str()
                            .unwrap_or_default()
                            .ends_with("AmazonSSMManagedInstanceCore")
                    });
                }
                i["configurationItemCaptureTime"] = "2026-11-20T08:16:30.000Z".into();
            }
            i
        })
        .collect()
}

/// The demo's items after the detach ([`detached`]).
pub fn demo_items_after_detach() -> Vec<Value> {
    detached(demo_items())
}

/// The continuation queue's message as its event source mapping delivers it: the shape of
/// `events/config-rule/sqs-continuation.json` (AWS's documented SQS event), with this body, from
/// `queue` (a queue URL) in the stack's account, 111122223333.
pub fn sqs_record(body: &str, queue: &str) -> serde_json::Value {
    let mut e = event_json("config-rule/sqs-continuation.json");
    e["Records"][0]["body"] = serde_json::json!(body);
    e["Records"][0]["eventSourceARN"] = serde_json::json!(format!(
        "arn:aws:sqs:us-east-1:111122223333:{}",
        queue.rsplit('/').next().unwrap_or_default()
    ));
    e
}

//! The findings function through its real `main` under a loopback Runtime API, with the table and
//! Security Hub on moto: a transition's SQS message (the sample in `events/findings/`) becomes the
//! finding of the result as recorded now; a resolved result archives it; a late message never
//! rolls it back; a malformed message and a denied import fail their messages (retried, then
//! dead-lettered), never silently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use integration_tests::fixtures::event_json;
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::proxy::{Fault, FaultProxy};
use integration_tests::runtime_api::RuntimeApi;
use serde_json::{json, Value};
use shared::app::ports::ResultStore;
use shared::aws::dynamo::DynamoStore;
use shared::domain::state::Delivery;
use shared::domain::vocab::{Compliance, Evaluation, Plan};

const ACCOUNT: &str = "111122223333";
const INSTANCE: &str = "i-0bat000000000002";
const CHECK: &str = "servers.instance-profile";

struct World {
    store: DynamoStore,
    table: String,
    bus: String,
}

impl World {
    async fn start() -> Self {
        let sdk = moto::sdk_config();
        let table = moto::unique("findings");
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
        store.create_table().await.unwrap();
        Self {
            store,
            table,
            bus: moto::event_bus().await,
        }
    }

    async fn record(&self, compliance: Compliance, annotation: &str) {
        let e = Evaluation {
            account_id: ACCOUNT.into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: INSTANCE.into(),
            check_id: CHECK.into(),
            plan: Plan::Servers,
            compliance,
            annotation: annotation.into(),
            capture_time: Some(chrono::Utc::now()),
        };
        self.store
            .record(&[e], &Delivery::new(&moto::unique("d")))
            .await
            .unwrap();
    }

    /// Runs the findings binary for one SQS batch; its answer.
    async fn invoke(&self, batch: &Value, env: &[(&str, &str)]) -> (bool, Value) {
        let api = RuntimeApi::start().await;
        let target = Target {
            runtime_api: &api.address,
            config_url: integration_tests::denied::endpoint(),
            table: &self.table,
            bus: &self.bus,
            settings_json: "{}",
            facts_url: None,
        };
        let _f = lambda::spawn(
            lambda::command(&lambda::function_binary("findings").await, &target)
                .env("AWS_MAX_ATTEMPTS", "1")
                // A one-account stack imports its own account's findings.
                .env("IAM_GATE_ACCOUNT", ACCOUNT)
                .envs(env.iter().copied()),
        );
        api.send(batch.to_string());
        let o = tokio::time::timeout(Duration::from_secs(60), api.outcome())
            .await
            .expect("the findings function did not answer within 60 s")
            .unwrap();
        (o.ok, serde_json::from_str(&o.body).unwrap())
    }
}

/// The sample batch with one message per (id, previous, current).
fn batch(messages: &[(&str, Value, &str)]) -> Value {
    let sample = event_json("findings/sqs-compliance-changed.json");
    let template = sample["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, previous, current)| {
            let mut r = template.clone();
            let mut body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body["detail"]["previous"] = previous.clone();
            body["detail"]["current"] = (*current).into();
            r["messageId"] = (*id).into();
            r["body"] = body.to_string().into();
            r
        })
        .collect();
    json!({ "Records": records })
}

fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_finding() -> Option<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let hub = aws_sdk_securityhub::Client::new(&moto::sdk_config());
    let id = format!("defender-prereqs/{ACCOUNT}/us-east-1/AWS::EC2::Instance/{INSTANCE}/{CHECK}");
    // Boxed: the SDK's future is large for the test thread's stack in debug builds.
    Box::pin(hub.get_findings().send())
        .await
        .unwrap()
        .findings()
        .iter()
        .find(|f| f.id() == Some(id.as_str()))
        .cloned()
}

#[tokio::test]
async fn transitions_become_findings_of_what_is_recorded() {
    let w = World::start().await;

    // NON_COMPLIANT recorded: an active FAILED finding with plan, check and the fix.
    w.record(Compliance::NonCompliant, "the instance has no IAM instance profile")
        .await;
    let (ok, answer) = w.invoke(&batch(&[("m1", Value::Null, "NON_COMPLIANT")]), &[]).await;
    assert!(ok, "{answer}");
    assert!(failures(&answer).is_empty(), "{answer}");
    let f = the_finding().await.expect("no finding imported");
    assert_eq!(f.aws_account_id(), Some(ACCOUNT));
    assert_eq!(
        f.product_arn(),
        Some(format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(
        f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
        Some("FAILED")
    );
    assert_eq!(f.record_state().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(f.description(), Some("the instance has no IAM instance profile"));
    let fields = f.product_fields().unwrap();
    assert_eq!(fields.get("defender-prereqs/plan").map(String::as_str), Some("servers"));
    assert_eq!(fields.get("defender-prereqs/checkId").map(String::as_str), Some(CHECK));
    let fix = f.remediation().and_then(|r| r.recommendation()).unwrap();
    assert!(fix.text().is_some_and(|t| !t.is_empty()) && fix.url().is_some_and(|u| u.starts_with("https://")));
    assert_eq!(
        f.resources()[0].id(),
        Some(format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INSTANCE}").as_str())
    );

    // Resolved: archived, PASSED.
    w.record(Compliance::Compliant, "the instance has an instance profile")
        .await;
    let (ok, answer) = w
        .invoke(&batch(&[("m2", json!("NON_COMPLIANT"), "COMPLIANT")]), &[])
        .await;
    assert!(ok && failures(&answer).is_empty(), "{answer}");
    let f = the_finding().await.unwrap();
    assert_eq!(
        (
            f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
            f.record_state().map(|s| s.as_str())
        ),
        (Some("PASSED"), Some("ARCHIVED"))
    );

    // A late message of the older transition, a transition of no concern and a malformed
    // message: the finding stays what the table says; only the malformed message fails.
    let mut late = batch(&[
        ("m3", Value::Null, "NON_COMPLIANT"),
        ("m4", json!("INSUFFICIENT_DATA"), "COMPLIANT"),
        ("m5", Value::Null, "NON_COMPLIANT"),
    ]);
    late["Records"][2]["body"] = "AKIAEXAMPLESECRET".into();
    let (ok, answer) = w.invoke(&late, &[]).await;
    assert!(ok, "{answer}");
    assert_eq!(failures(&answer), ["m5"]);
    assert!(!answer.to_string().contains("AKIA"));
    let f = the_finding().await.unwrap();
    assert_eq!(
        f.record_state().map(|s| s.as_str()),
        Some("ARCHIVED"),
        "a late event rolled the finding back"
    );

    // Security Hub denies the import (not enabled, or no permission): every message of the batch
    // fails, to be retried and then dead-lettered.
    w.record(Compliance::NonCompliant, "the instance has no IAM instance profile")
        .await;
    let deny = FaultProxy::start(moto::endpoint(), |s| {
        if s.target.is_empty() && s.raw.contains("\"Findings\"") {
            Fault::Respond(
                403,
                json!({"__type": "AccessDeniedException", "message": "not subscribed to AWS Security Hub"}).to_string(),
            )
        } else {
            Fault::Forward
        }
    })
    .await;
    let (ok, answer) = w
        .invoke(
            &batch(&[("m6", json!("COMPLIANT"), "NON_COMPLIANT")]),
            &[("AWS_ENDPOINT_URL_SECURITYHUB", deny.url.as_str())],
        )
        .await;
    assert!(ok, "{answer}");
    assert_eq!(failures(&answer), ["m6"]);
    assert_eq!(
        the_finding().await.unwrap().record_state().map(|s| s.as_str()),
        Some("ARCHIVED"),
        "nothing was imported"
    );
    // The redelivered message, once Security Hub accepts it.
    let (ok, answer) = w
        .invoke(&batch(&[("m6", json!("COMPLIANT"), "NON_COMPLIANT")]), &[])
        .await;
    assert!(ok && failures(&answer).is_empty(), "{answer}");
    assert_eq!(
        the_finding().await.unwrap().record_state().map(|s| s.as_str()),
        Some("ACTIVE")
    );
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Faults, injected by a loopback proxy in front of moto (DynamoDB) and of the Config stand-in,
//! and by the EventBridge stand-in: throttling, 5xx, replies lost after the write happened,
//! PutEvents partial failures, Config API errors, and the function killed mid-batch. Each
//! scenario replays the same invocations as a clean run, retrying each failed one as Lambda would;
//! afterwards the table must hold exactly the clean run's state, with every transition in the
//! history once, none pending, and every one of them published.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, demo_items_after_detach as items_after_detach, event_json, root};
use integration_tests::moto;
use integration_tests::proxy::{Fault, FaultProxy, Seen};
use integration_tests::stub::Stub;
use serde_json::{json, Value};
use shared::app::flows::{self, Ports, RuleInvocation};
use shared::app::memory::WithoutFacts;
use shared::app::pace::Pace;
use shared::aws::config::ConfigApi;
use shared::aws::dynamo::DynamoStore;
use shared::aws::events::EventBridgePublisher;
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Evaluation, Plan};

type PlanFn = Arc<dyn Fn(&Seen<'_>) -> Fault + Send + Sync>;
/// PutEvents: (call number, entries) → None (accept all) or the status and body to answer.
type BusPlan = Arc<dyn Fn(usize, usize) -> Option<(u16, String)> + Send + Sync>;

/// Faults for one scenario (every plan defaults to forwarding everything).
#[derive(Clone)]
struct Faults {
    dynamodb: PlanFn,
    config: PlanFn,
    bus: BusPlan,
    /// Kill the invocation if it has not finished after this long.
    kill_after: Option<Duration>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            dynamodb: Arc::new(|_| Fault::Forward),
            config: Arc::new(|_| Fault::Forward),
            bus: Arc::new(|_, _| None),
            kill_after: None,
        }
    }
}

/// What a run left: result rows, history rows (without their times), pending rows, published.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    results: BTreeMap<(String, String), (String, String, String)>,
    history: BTreeMap<(String, String, String, String), usize>,
    pending: usize,
    published: BTreeSet<(String, String, String, String)>,
}

async fn run(faults: Faults) -> (Outcome, usize) {
    let sdk = moto::sdk_config();
    let table = moto::unique("faults");
    let direct = aws_sdk_dynamodb::Client::new(&sdk);
    DynamoStore::new(direct.clone(), &table).create_table().await.unwrap();
    let ddb_proxy = {
        let plan = faults.dynamodb.clone();
        FaultProxy::start(moto::endpoint(), move |s| plan(s)).await
    };
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&ddb_proxy.url)
            .build(),
    );
    let store = DynamoStore::new(ddb, &table);

    let config = ConfigWorld::start(demo_items()).await;
    let config_proxy = {
        let plan = faults.config.clone();
        FaultProxy::start(&config.stub.url, move |s| plan(s)).await
    };
    let conf = aws_sdk_config::Config::builder()
        .behavior_version(aws_sdk_config::config::BehaviorVersion::latest())
        .region(aws_sdk_config::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_config::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .endpoint_url(&config_proxy.url)
        .build();
    let reader = ConfigApi::new(aws_sdk_config::Client::from_conf(conf));

    let calls = Arc::new(AtomicUsize::new(0));
    let accepted: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let bus_plan = faults.bus.clone();
    let (n, kept) = (calls.clone(), accepted.clone());
    let bus = Stub::start(move |_, body| {
        let sent = body["Entries"].as_array().cloned().unwrap_or_default();
        let (status, answer) = bus_plan(n.fetch_add(1, Ordering::SeqCst), sent.len()).unwrap_or_else(|| {
            (
                200,
                json!({"FailedEntryCount": 0, "Entries": vec![json!({"EventId": "e"}); sent.len()]}).to_string(),
            )
        });
        // What the bus took: the entries answered with an EventId.
        if status == 200 {
            let answer: Value = serde_json::from_str(&answer).unwrap();
            for (entry, result) in sent.iter().zip(answer["Entries"].as_array().unwrap()) {
                if result.get("EventId").is_some() {
                    kept.lock().unwrap().push(entry.clone());
                }
            }
        }
        (status, answer)
    })
    .await;
    let eb = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url(&bus.url)
            .build(),
    );
    let publisher = EventBridgePublisher::new(eb, "b");
    let settings = Settings::parse(
        &std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap(),
        true,
        "demo",
    )
    .unwrap();
    let recorded: Vec<String> = shared::domain::model::types::recorded()
        .map(|t| t.name.to_owned())
        .collect();
    let config_only = WithoutFacts(reader.clone());
    let ports = Ports {
        reader: &config_only,
        store: &store,
        publisher: &publisher,
        settings: &settings,
        recorded_types: &recorded,
    };

    // The invocations, each retried until it succeeds, as Lambda retries a failed one.
    let mut failures = 0;
    for step in 0..4 {
        if step == 3 {
            config.set_items(items_after_detach());
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 30, "step {step} never succeeded");
            let invocation = async {
                match step {
                    0 | 1 => {
                        let name = if step == 0 {
                            "config-rule/scheduled.json"
                        } else {
                            "config-rule/change-ec2-instance.json"
                        };
                        let e = event_json(name);
                        let inv = RuleInvocation {
                            invoking_event: e["invokingEvent"].as_str(),
                            rule_parameters: e["ruleParameters"].as_str(),
                            result_token: e["resultToken"].as_str(),
                            event_left_scope: e["eventLeftScope"].as_bool().unwrap_or(false),
                            region: None,
                            rule: e["configRuleArn"].as_str().and_then(|a| a.rsplit('/').next()),
                        };
                        flows::config_rule(&ports, &reader, &inv, &Pace::unbounded())
                            .await
                            .map(|_| ())
                    }
                    _ => {
                        let name = if step == 2 {
                            "event-reevaluator/config-item-change-iam-role.json"
                        } else {
                            "event-reevaluator/cloudtrail-detach-role-policy.json"
                        };
                        let e = event_json(name);
                        flows::reevaluate(
                            &ports,
                            e["detail-type"].as_str().unwrap(),
                            &e["detail"],
                            e["id"].as_str().unwrap(),
                            None,
                            &Pace::unbounded(),
                        )
                        .await
                        .map(|_| ())
                    }
                }
            };
            let outcome = match faults.kill_after {
                // Dropping the future mid-flight is the process dying there: whatever requests
                // had reached the servers stay done, nothing after them happens.
                Some(limit) => tokio::time::timeout(limit, invocation).await.ok(),
                None => Some(invocation.await),
            };
            match outcome {
                Some(Ok(())) => break,
                Some(Err(e)) => {
                    assert_ne!(e.kind(), "MalformedEvent", "{e}");
                    failures += 1;
                }
                None => failures += 1,
            }
        }
    }

    // What is left, read directly from moto.
    let items = direct.scan().table_name(&table).send().await.unwrap();
    let s = |i: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    let mut results = BTreeMap::new();
    let mut history = BTreeMap::new();
    let mut pending = 0;
    for i in items.items() {
        let (pk, sk) = (s(i, "PK"), s(i, "SK"));
        if let Some(check) = sk.strip_prefix("CHECK#") {
            results.insert(
                (pk, check.to_owned()),
                (s(i, "compliance"), s(i, "annotation"), s(i, "captureTime")),
            );
        } else if sk.starts_with("HIST#") && pk.starts_with("RES#") {
            let check = sk.rsplit('#').next().unwrap().to_owned();
            *history
                .entry((pk, check, s(i, "previous"), s(i, "current")))
                .or_insert(0) += 1;
        } else if sk.starts_with("PENDING#") {
            pending += 1;
        }
    }
    assert!(items.last_evaluated_key().is_none(), "one page is enough here");
    let published = accepted
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            let d: Value = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
            let pk = shared::aws::dynamo::resource_pk(
                d["accountId"].as_str().unwrap(),
                d["awsRegion"].as_str().unwrap(),
                d["resourceType"].as_str().unwrap(),
                d["resourceId"].as_str().unwrap(),
            );
            let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (pk, text(&d["checkId"]), text(&d["previous"]), text(&d["current"]))
        })
        .collect();
    (
        Outcome {
            results,
            history,
            pending,
            published,
        },
        failures,
    )
}

/// The clean run, computed once for all the scenarios.
async fn clean() -> &'static Outcome {
    static CLEAN: tokio::sync::OnceCell<Outcome> = tokio::sync::OnceCell::const_new();
    CLEAN.get_or_init(clean_run).await
}

async fn clean_run() -> Outcome {
    let (o, failures) = run(Faults::default()).await;
    assert_eq!(failures, 0);
    assert!(
        o.results.len() > 50 && o.history.len() > 50,
        "{} results",
        o.results.len()
    );
    assert!(o.history.values().all(|n| *n == 1));
    assert_eq!(o.pending, 0);
    let history: BTreeSet<_> = o.history.keys().cloned().collect();
    assert_eq!(o.published, history, "every transition published");
    o
}

fn assert_same(faulty: &Outcome, clean: &Outcome) {
    assert_eq!(faulty.results, clean.results, "current state differs from a clean run");
    let dup: Vec<_> = faulty.history.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "duplicated in the history: {dup:?}");
    assert_eq!(faulty.history, clean.history, "history differs from a clean run");
    assert_eq!(faulty.pending, 0, "transitions left unpublished");
    let history: BTreeSet<_> = faulty.history.keys().cloned().collect();
    let lost: Vec<_> = history.difference(&faulty.published).collect();
    assert!(lost.is_empty(), "transitions never published: {lost:?}");
}

/// Deterministic "every k-th call" faults.
fn every(k: usize, offset: usize, nth: usize) -> bool {
    nth % k == offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_throttling_5xx_and_lost_replies_leave_the_clean_state() {
    let clean = clean().await;
    let faults = Faults {
        dynamodb: Arc::new(|s| {
            let op = s.target.rsplit('.').next().unwrap_or("");
            match op {
                "TransactWriteItems" if every(3, 0, s.nth) => {
                    Fault::error(400, "com.amazonaws.dynamodb.v20120810#ThrottlingException")
                }
                // The write happened; the caller hears 500 and retries into a changed table.
                "TransactWriteItems" if every(5, 2, s.nth) => Fault::ForwardThenRespond(
                    500,
                    json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "lost"})
                        .to_string(),
                ),
                "Query" if every(7, 3, s.nth) => Fault::error(
                    400,
                    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                ),
                "BatchWriteItem" if every(4, 1, s.nth) => Fault::ForwardThenRespond(
                    503,
                    json!({"__type": "ServiceUnavailable", "message": "lost"}).to_string(),
                ),
                // Throttled inside the batch: nothing done, everything handed back unprocessed.
                "BatchWriteItem" if every(4, 2, s.nth) => {
                    Fault::Respond(200, json!({"UnprocessedItems": s.body["RequestItems"]}).to_string())
                }
                _ => Fault::Forward,
            }
        }),
        ..Faults::default()
    };
    let (faulty, failures) = run(faults).await;
    assert_same(&faulty, clean);
    eprintln!("{failures} invocations failed and were retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn put_events_partial_failures_and_errors_lose_nothing() {
    let clean = clean().await;
    let faults = Faults {
        bus: Arc::new(|n, entries| {
            // A burst of failures, then the bus recovers.
            if n < 15 && every(3, 1, n) && entries > 1 {
                // One entry rejected for good (not retryable inside the publisher): the invocation fails.
                let mut out: Vec<Value> = vec![json!({"EventId": "e"}); entries];
                out[entries - 1] = json!({"ErrorCode": "ValidationException", "ErrorMessage": "injected"});
                Some((200, json!({"FailedEntryCount": 1, "Entries": out}).to_string()))
            } else if n < 15 && every(5, 4, n) {
                Some((
                    500,
                    json!({"__type": "InternalException", "message": "injected"}).to_string(),
                ))
            } else {
                None
            }
        }),
        ..Faults::default()
    };
    let (faulty, failures) = run(faults).await;
    assert!(failures > 0, "no fault was hit");
    assert_same(&faulty, clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn config_api_errors_leave_the_clean_state() {
    let clean = clean().await;
    let faults = Faults {
        config: Arc::new(|s| {
            let op = s.target.rsplit('.').next().unwrap_or("");
            match op {
                "BatchGetResourceConfig" if every(2, 0, s.nth) => Fault::error(400, "ThrottlingException"),
                "SelectResourceConfig" if every(3, 1, s.nth) => Fault::error(500, "InternalFailure"),
                "PutEvaluations" if every(2, 0, s.nth) => Fault::error(503, "ServiceUnavailable"),
                _ => Fault::Forward,
            }
        }),
        ..Faults::default()
    };
    let (faulty, failures) = run(faults).await;
    assert_same(&faulty, clean);
    eprintln!("{failures} invocations failed and were retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_function_killed_mid_batch_and_retried_leaves_the_clean_state() {
    let clean = clean().await;
    // The 4th and 11th transactions never get an answer (one applied, one not), and the 2nd
    // outbox clear hangs after it applied: each time the invocation is killed and run again.
    let faults = Faults {
        dynamodb: Arc::new(|s| {
            let op = s.target.rsplit('.').next().unwrap_or("");
            match (op, s.nth) {
                ("TransactWriteItems", 3) => Fault::Hang,
                ("TransactWriteItems", 10) => Fault::ForwardThenHang,
                ("BatchWriteItem", 1) => Fault::ForwardThenHang,
                _ => Fault::Forward,
            }
        }),
        kill_after: Some(Duration::from_secs(3)),
        ..Faults::default()
    };
    let (faulty, failures) = run(faults).await;
    // Three hangs; with one BatchWriteItem per invocation, the outbox hang can fall in the same
    // invocation as a transaction hang (writes run concurrently), so two or three kills.
    assert!(failures >= 2, "expected at least two kills, saw {failures}");
    assert_same(&faulty, clean);
}

/// A resource recorded after others (more resources than are recorded at once, the first ones
/// slow) is dated when its own recording starts, not when the batch began: transition times never
/// go backwards against writes made in between.
#[tokio::test]
async fn each_resource_is_dated_when_it_is_recorded() {
    let sdk = moto::sdk_config();
    let table = moto::unique("dates");
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .unwrap();
    // The first eight resources' reads take 1.5 s; the ninth starts when one of them is done.
    let proxy = FaultProxy::start(moto::endpoint(), |s| {
        if s.target.ends_with(".Query") && s.nth < 8 {
            Fault::DelayThenForward(std::time::Duration::from_millis(1500))
        } else {
            Fault::Forward
        }
    })
    .await;
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&proxy.url)
            .build(),
    );
    let evaluations: Vec<Evaluation> = (0..9)
        .map(|n| Evaluation {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: format!("i-{n:017}").into(),
            check_id: "servers.instance-profile".into(),
            plan: Plan::Servers,
            compliance: Compliance::NonCompliant,
            annotation: "no IAM instance profile attached".into(),
            // No capture time: a transition is dated when it is recorded.
            capture_time: None,
        })
        .collect();
    let pending = shared::app::ports::ResultStore::record(
        &DynamoStore::new(ddb, &table),
        &evaluations,
        &shared::domain::state::Delivery::new("event"),
    )
    .await
    .unwrap();
    assert_eq!(pending.len(), 9);
    let first = pending.iter().map(|p| p.at).min().unwrap();
    let last = pending.iter().map(|p| p.at).max().unwrap();
    assert!(
        last - first >= chrono::Duration::milliseconds(1400),
        "the last resource recorded is dated {} after the first",
        last - first
    );
}

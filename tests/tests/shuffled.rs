#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! At-least-once, out-of-order, concurrent delivery against a serial oracle. A small fleet of the
//! demo (instances, their roles, a route table) changes; every delivery AWS makes of those changes
//! (the EventBridge Config change and each declared plan's Config rule invocation, for an
//! intermediate and the final configuration item, the CloudTrail call, EC2 state changes) is
//! shuffled with a seeded generator, some delivered twice, and all handed to the flows at once
//! (DynamoDB on moto, AWS Config on the stand-in, EventBridge on a recording stub, all over
//! HTTP). For every seed the final table and the published transitions must be those of one
//! serial delivery of each event in order: the same results, the same transitions, each
//! published exactly once, nothing left in the outbox.
//!
//! `SHUFFLE_SEEDS` sets how many seeds (CI runs the default; `bench/run` more).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::config::ConfigEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, event_json, root};
use integration_tests::moto;
use integration_tests::stub::Stub;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::app::flows::Ports;
use shared::app::memory::WithoutFacts;
use shared::aws::config::ConfigApi;
use shared::aws::dynamo::DynamoStore;
use shared::aws::events::EventBridgePublisher;
use shared::domain::settings::Settings;

/// The fleet's changes, captured at `capture`: web-ssm-role loses its SSM policy, i-0web loses
/// its instance profile, rtb-0a11 its default route.
fn changed(capture: &str) -> Vec<Value> {
    demo_items()
        .into_iter()
        .map(|mut i| {
            let id = i["resourceId"].as_str().unwrap_or("").to_owned();
            let touched = match (i["resourceName"].as_str(), id.as_str()) {
                (Some("web-ssm-role"), _) => {
                    let list = i["configuration"]["attachedManagedPolicies"].as_array_mut().unwrap();
                    list.retain(|p| {
                        !p["policyArn"]
                            .as_str()
                            .unwrap_or("")
                            .ends_with("AmazonSSMManagedInstanceCore")
                    });
                    true
                }
                (_, "i-0web000000000001") => {
                    i["configuration"].as_object_mut().unwrap().remove("iamInstanceProfile");
                    true
                }
                (_, "rtb-0a11") => {
                    let routes = i["configuration"]["routes"].as_array_mut().unwrap();
                    routes.retain(|r| r["destinationCidrBlock"] != "0.0.0.0/0");
                    true
                }
                _ => false,
            };
            if touched {
                i["configurationItemCaptureTime"] = capture.into();
            }
            i
        })
        .collect()
}

const CHANGED: [&str; 3] = ["AROA9F82C04AC152B02BA", "i-0web000000000001", "rtb-0a11"];

/// One delivery.
#[derive(Debug, Clone)]
enum Delivery {
    Rule(Value),
    Bridge(Value),
}

/// Every delivery AWS makes of the changes, in the order they happened.
fn deliveries(settings: &Settings) -> Vec<Delivery> {
    let mut out = Vec::new();
    for (n, capture) in ["2026-11-20T08:30:00.000Z", "2026-11-20T09:00:00.000Z"]
        .iter()
        .enumerate()
    {
        let items = changed(capture);
        for id in CHANGED {
            let item = items.iter().find(|i| i["resourceId"] == id).unwrap().clone();
            let rtype = item["resourceType"].as_str().unwrap().to_owned();
            let mut e = event_json("event-reevaluator/config-item-change-iam-role.json");
            e["id"] = format!("config-{id}-{n}").into();
            e["resources"] = json!([]);
            e["detail"]["configurationItem"] = item.clone();
            out.push(Delivery::Bridge(e));
            // The declared plans whose rule's scope holds the type.
            for plan in shared::domain::vocab::Plan::ALL {
                let in_scope = shared::domain::checks::ALL
                    .iter()
                    .any(|c| c.plan == plan && c.resource_types.contains(&rtype.as_str()));
                if !(settings.plan_declared(plan) && in_scope) {
                    continue;
                }
                let mut r = event_json("config-rule/change-ec2-instance.json");
                let mut invoking: Value = serde_json::from_str(r["invokingEvent"].as_str().unwrap()).unwrap();
                invoking["configurationItem"] = item.clone();
                r["invokingEvent"] = invoking.to_string().into();
                r["ruleParameters"] = json!({ "plans": plan.as_str() }).to_string().into();
                r["resultToken"] = format!("token-{id}-{n}-{plan}").into();
                out.push(Delivery::Rule(r));
            }
        }
    }
    let mut trail = event_json("event-reevaluator/cloudtrail-detach-role-policy.json");
    trail["id"] = "trail-detach".into();
    out.push(Delivery::Bridge(trail));
    for id in ["i-0web000000000001", "i-0bat000000000002"] {
        let mut s = event_json("event-reevaluator/ec2-state-change.json");
        s["id"] = format!("state-{id}").into();
        s["detail"]["instance-id"] = id.into();
        out.push(Delivery::Bridge(s));
    }
    out
}

/// A small deterministic generator (xorshift64*), seeded per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The world one run records into.
struct World {
    config: ConfigWorld,
    reader: ConfigApi,
    config_only: WithoutFacts<ConfigApi>,
    store: DynamoStore,
    publisher: EventBridgePublisher,
    published: Arc<Mutex<Vec<Value>>>,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    settings: Settings,
    recorded: Vec<String>,
    _bus: Stub,
}

impl World {
    async fn new() -> Self {
        let sdk = moto::sdk_config();
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = moto::unique("shuffled");
        let store = DynamoStore::new(ddb.clone(), &table);
        store.create_table().await.unwrap();
        let published: Arc<Mutex<Vec<Value>>> = Arc::default();
        let kept = published.clone();
        let bus = Stub::start(move |_, body| {
            let sent = body["Entries"].as_array().cloned().unwrap_or_default();
            let n = sent.len();
            kept.lock().unwrap().extend(sent);
            (
                200,
                json!({"FailedEntryCount": 0, "Entries": vec![json!({"EventId": "e"}); n]}).to_string(),
            )
        })
        .await;
        let eb = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&sdk)
                .endpoint_url(&bus.url)
                .build(),
        );
        let config = ConfigWorld::start(demo_items()).await;
        let conf = aws_sdk_config::Config::builder()
            .behavior_version(aws_sdk_config::config::BehaviorVersion::latest())
            .region(aws_sdk_config::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_config::config::Credentials::new(
                "testing", "testing", None, None, "static",
            ))
            .endpoint_url(&config.stub.url)
            .build();
        let settings = Settings::parse(
            &std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap(),
            true,
            "demo",
        )
        .unwrap();
        Self {
            reader: ConfigApi::new(aws_sdk_config::Client::from_conf(conf.clone())),
            config_only: WithoutFacts(ConfigApi::new(aws_sdk_config::Client::from_conf(conf))),
            config,
            store,
            publisher: EventBridgePublisher::new(eb, "b"),
            published,
            ddb,
            table,
            settings,
            recorded: shared::domain::model::types::recorded()
                .map(|t| t.name.to_owned())
                .collect(),
            _bus: bus,
        }
    }

    fn ports(&self) -> Ports<'_, WithoutFacts<ConfigApi>, DynamoStore, EventBridgePublisher> {
        Ports {
            reader: &self.config_only,
            store: &self.store,
            publisher: &self.publisher,
            settings: &self.settings,
            recorded_types: &self.recorded,
        }
    }

    /// Delivers one event through the function's handler, retried as Lambda retries a failure.
    async fn deliver(&self, d: &Delivery) {
        for attempt in 1..=5 {
            let outcome = match d {
                Delivery::Rule(e) => {
                    let e: ConfigEvent = serde_json::from_value(e.clone()).unwrap();
                    config_rule::handler(
                        &self.ports(),
                        &self.reader,
                        LambdaEvent::new(e, Context::default()),
                        &shared::app::pace::Pace::unbounded(),
                    )
                    .await
                    .map(|_| ())
                }
                Delivery::Bridge(e) => {
                    let e: EventBridgeEvent<Value> = serde_json::from_value(e.clone()).unwrap();
                    event_reevaluator::handler(
                        &self.ports(),
                        LambdaEvent::new(e, Context::default()),
                        &shared::app::pace::Pace::unbounded(),
                    )
                    .await
                    .map(|_| ())
                }
            };
            match outcome {
                Ok(()) => return,
                Err(e) => assert!(attempt < 5 && e.kind() != "MalformedEvent", "{e}"),
            }
        }
    }

    /// The state before the changes: the periodic run over the demo, its events set aside.
    async fn before(&self) {
        self.deliver(&Delivery::Rule(event_json("config-rule/scheduled.json")))
            .await;
        self.published.lock().unwrap().clear();
        self.config.set_items(changed("2026-11-20T09:00:00.000Z"));
    }

    /// The results (key → compliance, annotation, capture time), the published transitions
    /// (with how many times each was published), and the outbox rows left.
    async fn outcome(&self) -> Outcome {
        let mut results = BTreeMap::new();
        let mut pending = 0;
        let mut start = None;
        loop {
            let page = self
                .ddb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for i in page.items() {
                let s = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let sk = s("SK");
                if sk.starts_with("CHECK#") {
                    results.insert((s("PK"), sk), (s("compliance"), s("annotation"), s("captureTime")));
                } else if sk.starts_with("PENDING#") {
                    pending += 1;
                }
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        let mut published = BTreeMap::new();
        for e in self.published.lock().unwrap().iter() {
            let d: Value = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
            let text = |k: &str| d[k].as_str().unwrap_or("").to_owned();
            let key = (
                text("resourceType"),
                text("resourceId"),
                text("checkId"),
                text("previous"),
                text("current"),
            );
            *published.entry(key).or_insert(0usize) += 1;
        }
        Outcome {
            results,
            published,
            pending,
        }
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    results: BTreeMap<(String, String), (String, String, String)>,
    published: BTreeMap<(String, String, String, String, String), usize>,
    pending: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shuffled_duplicated_concurrent_deliveries_end_like_a_serial_run() {
    let seeds: u64 = std::env::var("SHUFFLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    // The oracle: each delivery once, in order, one after the other.
    let oracle = World::new().await;
    oracle.before().await;
    let all = deliveries(&oracle.settings);
    for d in &all {
        oracle.deliver(d).await;
    }
    let expected = oracle.outcome().await;
    assert_eq!(expected.pending, 0);
    assert!(!expected.published.is_empty(), "the changes move results");
    assert!(expected.published.values().all(|n| *n == 1), "{:?}", expected.published);

    for seed in 1..=seeds {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1000_0000_01b3));
        let mut stream: Vec<Delivery> = Vec::new();
        for d in &all {
            for _ in 0..1 + rng.below(2) {
                stream.push(d.clone());
            }
        }
        for i in (1..stream.len()).rev() {
            stream.swap(i, rng.below(i + 1));
        }
        let world = Arc::new(World::new().await);
        world.before().await;
        // Up to four invocations at once, as Lambda runs concurrent instances.
        let mut running = tokio::task::JoinSet::new();
        for d in stream {
            if running.len() == 4 {
                running.join_next().await.unwrap().unwrap();
            }
            let w = world.clone();
            running.spawn(async move { w.deliver(&d).await });
        }
        while let Some(done) = running.join_next().await {
            done.unwrap();
        }
        let got = world.outcome().await;
        assert_eq!(got.results, expected.results, "seed {seed}: final results");
        assert_eq!(got.pending, 0, "seed {seed}: outbox left");
        assert_eq!(got.published, expected.published, "seed {seed}: published transitions");
    }
}

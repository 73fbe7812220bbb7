//! Runs longer than one invocation, through the real binaries under a loopback Runtime API that
//! hands out real deadlines (`Lambda-Runtime-Deadline-Ms`) and stops an invocation at its deadline
//! as Lambda does ("Task timed out": the process is gone; Lambda retries an asynchronous
//! invocation with the same event, SQS redelivers a message whose invocation failed once its
//! visibility timeout passes). The continuation queue is moto's SQS; its messages reach the
//! function as the queue's event source mapping delivers them (one record per invocation).
//!
//! A periodic run of an account of `PAGING_INSTANCES` instances (default 200) and one role change
//! that moves every one of them: each goes a page at a time, hands the rest on before its
//! deadline, reports each resource once and records every result; cut off mid-page, a run is
//! resumed by its retry from its last finished page. With `PAGING_LIMITS=template` the
//! invocations run under the template's Timeout and are measured against its MemorySize
//! (`bench/run` does, at 20,000 and 5,000 instances).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, detached, event_json, root};
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::runtime_api::RuntimeApi;
use serde_json::{json, Value};
use shared::app::ports::ResultStore;
use shared::aws::dynamo::DynamoStore;
use shared::domain::settings::Settings;
use shared::domain::vocab::Compliance;

const PROD: &str = "111122223333";
const WEB: &str = "i-0web000000000001";

fn instances() -> usize {
    std::env::var("PAGING_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// How many of the instances use the role the change moves (`PAGING_FANOUT`, default all); the
/// others are shaped as the demo's batch instance, which has no instance profile.
fn fan_out_size(n: usize) -> usize {
    std::env::var("PAGING_FANOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
        .min(n)
}

fn clone_id(k: usize) -> String {
    format!("i-{:017x}", 0x1000_0000 + k)
}

/// The demo account with `n` more instances: the first [`fan_out_size`] shaped as its web
/// instance (the demo item, from AWS Config's documented item), with the same profile and role, so
/// one change of the role moves them all; the rest as its batch instance.
fn account_with(n: usize, items: Vec<Value>) -> Vec<Value> {
    let web = items.iter().find(|i| i["resourceId"] == WEB).cloned().unwrap();
    let batch = items
        .iter()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .cloned()
        .unwrap();
    let fan_out = fan_out_size(n);
    let mut out = items;
    for k in 0..n {
        let id = clone_id(k);
        let mut c = if k < fan_out { web.clone() } else { batch.clone() };
        c["resourceId"] = json!(id);
        c["ARN"] = json!(format!("arn:aws:ec2:us-east-1:{PROD}:instance/{id}"));
        c["configuration"]["instanceId"] = json!(id);
        out.push(c);
    }
    out
}

/// A function's Timeout and MemorySize in template.yaml (its own, else the Globals').
fn template_limits(logical: &str) -> (Duration, u64) {
    let t: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    let globals = &t["Globals"]["Function"];
    let props = &t["Resources"][logical]["Properties"];
    let pick = |k: &str| props[k].as_u64().or_else(|| globals[k].as_u64()).unwrap();
    (Duration::from_secs(pick("Timeout")), pick("MemorySize"))
}

/// A function's HANDOFF_MARGIN_SECONDS in template.yaml, else the default.
fn template_margin(logical: &str) -> u64 {
    let t: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    t["Resources"][logical]["Properties"]["Environment"]["Variables"]["HANDOFF_MARGIN_SECONDS"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(shared::app::pace::DEFAULT_MARGIN.as_secs())
}

/// How one function is run: the limits of each invocation, the paging settings.
#[derive(Clone, Copy)]
struct Limits {
    timeout: Duration,
    margin_s: u64,
    page: usize,
}

/// What a chain of invocations did.
#[derive(Debug, Default)]
struct Chain {
    invocations: usize,
    kills: usize,
    longest: Duration,
    /// Every invocation's duration, summed (what Lambda bills, with the function's memory).
    busy: Duration,
    peak_rss_kb: u64,
    answers: Vec<Value>,
    cost: Cost,
}

/// What the calls of a chain cost, counted on their way to moto and the Config stand-in.
#[derive(Debug, Default, Clone)]
struct Cost {
    /// Evaluations sent with PutEvaluations (AWS Config bills each).
    config_evaluations: usize,
    /// PutEvents entries.
    events: usize,
    /// Items written: a transaction's items count twice (DynamoDB bills 2 write units per item
    /// of a transaction), a PutItem or a BatchWriteItem request's item once.
    write_units: usize,
    /// Read requests (Query, GetItem, BatchGetItem): each at least one read unit.
    reads: usize,
}

struct Stack {
    counted: std::sync::Arc<std::sync::Mutex<Cost>>,
    ddb: integration_tests::proxy::FaultProxy,
    bus_proxy: integration_tests::proxy::FaultProxy,
    config: ConfigWorld,
    store: DynamoStore,
    table: String,
    bus: String,
    settings_json: String,
    sqs: aws_sdk_sqs::Client,
}

impl Stack {
    async fn start(items: Vec<Value>) -> Self {
        let sdk = moto::sdk_config();
        let table = moto::unique("paging");
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
        store.create_table().await.unwrap();
        let counted: std::sync::Arc<std::sync::Mutex<Cost>> = std::sync::Arc::default();
        let log = counted.clone();
        let ddb = integration_tests::proxy::FaultProxy::start(moto::endpoint(), move |s| {
            let mut c = log.lock().unwrap();
            match s.target.rsplit('.').next().unwrap_or("") {
                "Query" | "GetItem" | "BatchGetItem" => c.reads += 1,
                "TransactWriteItems" => c.write_units += 2 * s.body["TransactItems"].as_array().map_or(0, Vec::len),
                "BatchWriteItem" => {
                    c.write_units += s.body["RequestItems"]
                        .as_object()
                        .map_or(0, |t| t.values().map(|v| v.as_array().map_or(0, Vec::len)).sum())
                }
                "PutItem" | "UpdateItem" | "DeleteItem" => c.write_units += 1,
                _ => {}
            }
            integration_tests::proxy::Fault::Forward
        })
        .await;
        let log = counted.clone();
        let bus_proxy = integration_tests::proxy::FaultProxy::start(moto::endpoint(), move |s| {
            if s.target.ends_with(".PutEvents") {
                log.lock().unwrap().events += s.body["Entries"].as_array().map_or(0, Vec::len);
            }
            integration_tests::proxy::Fault::Forward
        })
        .await;
        Self {
            counted,
            ddb,
            bus_proxy,
            config: ConfigWorld::start(items).await,
            store,
            table,
            bus: moto::event_bus().await,
            settings_json: serde_json::to_string(&Settings::default()).unwrap(),
            sqs: aws_sdk_sqs::Client::new(&sdk),
        }
    }

    async fn queue(&self) -> String {
        moto::queue("continuation").await
    }

    fn spawn(
        &self,
        name: &str,
        bin: &std::path::Path,
        api: &RuntimeApi,
        queue: &str,
        l: Limits,
    ) -> tokio::process::Child {
        let target = Target {
            runtime_api: &api.address,
            config_url: &self.config.stub.url,
            table: &self.table,
            bus: &self.bus,
            settings_json: &self.settings_json,
            facts_url: None,
        };
        lambda::spawn_as(
            lambda::command(bin, &target)
                .env("AWS_MAX_ATTEMPTS", "1")
                .env("RECORDED_TYPES", recorded_types())
                .env("CONTINUATION_QUEUE_URL", queue)
                .env("AWS_ENDPOINT_URL_DYNAMODB", &self.ddb.url)
                .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &self.bus_proxy.url)
                .env("PAGE_SIZE", l.page.to_string())
                .env("HANDOFF_MARGIN_SECONDS", l.margin_s.to_string()),
            name,
        )
    }

    /// Invokes `name` with `event`, then with every continuation it queues, until none is left;
    /// an invocation still running at its deadline is stopped and its event delivered again.
    async fn run(&self, name: &str, event: Value, l: Limits) -> Chain {
        let bin = lambda::function_binary(name).await;
        let queue = self.queue().await;
        let mut api = RuntimeApi::start().await;
        let mut process = self.spawn(name, &bin, &api, &queue, l);
        let mut pending: VecDeque<(Value, Option<String>)> = VecDeque::from([(event, None)]);
        let mut chain = Chain::default();
        let counted_before = self.counted.lock().unwrap().clone();
        let evaluations_before = self.config.stub.calls("PutEvaluations").len();
        while let Some((payload, receipt)) = pending.pop_front() {
            assert!(chain.invocations < 200, "{name}: no end after 200 invocations");
            chain.invocations += 1;
            let deadline = api.send_with_timeout(payload.to_string(), l.timeout);
            match tokio::time::timeout_at(deadline.into(), api.outcome()).await {
                Ok(Some(o)) => {
                    assert!(o.ok, "{name} failed: {}", o.body);
                    chain.longest = chain.longest.max(o.answered - o.sent);
                    chain.busy += o.answered - o.sent;
                    chain.answers.push(serde_json::from_str(&o.body).unwrap());
                    if let Some(r) = receipt {
                        self.sqs
                            .delete_message()
                            .queue_url(&queue)
                            .receipt_handle(r)
                            .send()
                            .await
                            .unwrap();
                    }
                }
                Ok(None) => panic!("{name}: the Runtime API stopped"),
                Err(_) => {
                    // Lambda stops the invocation at its timeout; the event comes again.
                    chain.kills += 1;
                    chain.busy += l.timeout;
                    chain.peak_rss_kb = chain
                        .peak_rss_kb
                        .max(process.id().and_then(lambda::peak_rss_kb).unwrap_or(0));
                    process.kill().await.unwrap();
                    api = RuntimeApi::start().await;
                    process = self.spawn(name, &bin, &api, &queue, l);
                    pending.push_front((payload, receipt));
                    continue;
                }
            }
            chain.peak_rss_kb = chain
                .peak_rss_kb
                .max(process.id().and_then(lambda::peak_rss_kb).unwrap_or(0));
            let got = self
                .sqs
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            for m in got.messages() {
                pending.push_back((
                    integration_tests::fixtures::sqs_record(m.body().unwrap(), &queue),
                    m.receipt_handle().map(str::to_owned),
                ));
            }
        }
        let _ = process.kill().await;
        let now = self.counted.lock().unwrap().clone();
        chain.cost = Cost {
            config_evaluations: self.config.stub.calls("PutEvaluations")[evaluations_before..]
                .iter()
                .map(|c| c["Evaluations"].as_array().map_or(0, Vec::len))
                .sum(),
            events: now.events - counted_before.events,
            write_units: now.write_units - counted_before.write_units,
            reads: now.reads - counted_before.reads,
        };
        chain
    }

    /// How many times each instance was reported to Config, over every PutEvaluations call.
    fn reported(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for call in self.config.stub.calls("PutEvaluations") {
            for e in call["Evaluations"].as_array().into_iter().flatten() {
                if e["ComplianceResourceType"] == "AWS::EC2::Instance" {
                    *n.entry(e["ComplianceResourceId"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
            }
        }
        n
    }

    async fn compliance(&self, id: &str, check: &str) -> Option<Compliance> {
        let mut found = None;
        self.store
            .fold_results(PROD, |e, _| {
                if e.resource_id == id && e.check_id == check {
                    found = Some(e.compliance);
                }
            })
            .await
            .unwrap();
        found
    }
}

fn recorded_types() -> String {
    shared::domain::model::types::recorded()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(",")
}

fn limits(function: &str, test: Limits) -> Limits {
    if std::env::var("PAGING_LIMITS").as_deref() == Ok("template") {
        let (timeout, _) = template_limits(function);
        Limits {
            timeout,
            margin_s: template_margin(function),
            page: shared::app::pace::DEFAULT_PAGE,
        }
    } else {
        test
    }
}

fn print_chain(what: &str, function: &str, n: usize, c: &Chain) {
    let (timeout, memory) = template_limits(function);
    println!(
        "paging: cost of {what}: {} Config evaluations, {} PutEvents entries, {} DynamoDB write units, {} DynamoDB read requests, {:.1} Lambda GB-s at {memory} MB",
        c.cost.config_evaluations,
        c.cost.events,
        c.cost.write_units,
        c.cost.reads,
        c.busy.as_secs_f64() * memory as f64 / 1024.0
    );
    println!(
        "paging: {what}: {n} instances, {} invocations ({} stopped at the deadline), longest {:.1} s of {} s, peak RSS {:.1} MB of {memory} MB",
        c.invocations,
        c.kills,
        c.longest.as_secs_f64(),
        timeout.as_secs(),
        c.peak_rss_kb as f64 / 1024.0
    );
}

#[tokio::test]
async fn a_periodic_run_and_a_role_change_over_many_instances_go_a_page_at_a_time() {
    let n = instances();
    let items = account_with(n, demo_items());
    let stack = Stack::start(items.clone()).await;
    let started = Instant::now();
    let periodic = stack
        .run(
            "config-rule",
            event_json("config-rule/scheduled.json"),
            limits(
                "ConfigRuleFunction",
                Limits {
                    timeout: Duration::from_secs(30),
                    margin_s: 25,
                    page: 25,
                },
            ),
        )
        .await;
    print_chain("periodic run", "ConfigRuleFunction", n, &periodic);
    let _ = started;
    // Handed on, never stopped: each invocation ended before its deadline.
    assert_eq!(periodic.kills, 0, "{periodic:?}");
    if std::env::var("PAGING_LIMITS").is_err() {
        assert!(periodic.invocations > 1, "the run was never handed on: {periodic:?}");
        assert!(
            periodic.answers.iter().filter(|a| a["handedOff"] == true).count() == periodic.invocations - 1,
            "every invocation but the last hands on: {:?}",
            periodic.answers
        );
    }
    // Every instance of the account reported exactly once.
    let reported = stack.reported();
    for k in 0..n {
        assert_eq!(reported.get(&clone_id(k)), Some(&1), "{}", clone_id(k));
    }
    assert_eq!(reported.get(WEB), Some(&1));
    assert_eq!(
        stack.compliance(&clone_id(0), "servers.ssm-core-policy").await,
        Some(Compliance::Compliant)
    );

    // The next period, nothing changed: no instance is reported again (AWS Config bills each
    // evaluation a periodic run reports).
    let before = stack.config.stub.calls("PutEvaluations").len();
    let mut next = event_json("config-rule/scheduled.json");
    next["resultToken"] = json!("the-next-period");
    let again = stack
        .run(
            "config-rule",
            next,
            limits(
                "ConfigRuleFunction",
                Limits {
                    timeout: Duration::from_secs(30),
                    margin_s: 25,
                    page: 100,
                },
            ),
        )
        .await;
    print_chain("the next periodic run", "ConfigRuleFunction", n, &again);
    assert_eq!(again.kills, 0, "{again:?}");
    let resent: usize = stack.config.stub.calls("PutEvaluations")[before..]
        .iter()
        .flat_map(|c| c["Evaluations"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["ComplianceResourceType"] == "AWS::EC2::Instance")
        .count();
    assert_eq!(resent, 0, "{again:?}");
    let unchanged: u64 = again.answers.iter().map(|a| a["unchanged"].as_u64().unwrap()).sum();
    assert!(unchanged as usize > n, "{again:?}");

    // One change moves every instance using the role.
    let after = detached(account_with(n, demo_items()));
    stack.config.set_items(after.clone());
    let mut change = event_json("event-reevaluator/config-item-change-iam-role.json");
    change["resources"] = json!([]);
    change["detail"]["configurationItem"] = after
        .iter()
        .find(|i| i["resourceName"] == "web-ssm-role")
        .unwrap()
        .clone();
    let batch_gets_before = stack.config.stub.calls("BatchGetResourceConfig").len();
    let fan_out = stack
        .run(
            "event-reevaluator",
            change,
            limits(
                "ReevaluatorFunction",
                Limits {
                    timeout: Duration::from_secs(20),
                    margin_s: 18,
                    page: 25,
                },
            ),
        )
        .await;
    print_chain("one role change", "ReevaluatorFunction", fan_out_size(n), &fan_out);
    assert_eq!(fan_out.kills, 0, "{fan_out:?}");
    if std::env::var("PAGING_LIMITS").is_err() {
        assert!(fan_out.invocations > 1, "the fan-out was never handed on: {fan_out:?}");
    }
    let fan_out_n = fan_out_size(n);
    for k in [0, fan_out_n / 2, fan_out_n - 1] {
        assert_eq!(
            stack.compliance(&clone_id(k), "servers.ssm-core-policy").await,
            Some(Compliance::NonCompliant),
            "{}",
            clone_id(k)
        );
    }
    // Each dependant read (and evaluated) once over all the invocations.
    let mut reads: BTreeMap<String, usize> = BTreeMap::new();
    for call in &stack.config.stub.calls("BatchGetResourceConfig")[batch_gets_before..] {
        for k in call["resourceKeys"].as_array().into_iter().flatten() {
            if k["resourceType"] == "AWS::EC2::Instance" {
                *reads.entry(k["resourceId"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    for k in 0..fan_out_n {
        assert_eq!(reads.get(&clone_id(k)), Some(&1), "{}", clone_id(k));
    }
    if std::env::var("PAGING_LIMITS").as_deref() == Ok("template") {
        for (function, c) in [("ConfigRuleFunction", &periodic), ("ReevaluatorFunction", &fan_out)] {
            let (_, memory) = template_limits(function);
            // Lambda stops a function whose memory exceeds its MemorySize ("Runtime exited with
            // error: signal: killed"; Lambda developer guide, "Configure Lambda function memory").
            assert!(
                c.peak_rss_kb / 1024 < memory,
                "{function}: peak RSS {} KiB over its MemorySize {memory} MB",
                c.peak_rss_kb
            );
        }
    }
}

#[tokio::test]
async fn a_periodic_run_cut_off_mid_page_is_resumed_by_its_retry_from_its_last_finished_page() {
    let n = instances().min(200);
    let stack = Stack::start(account_with(n, demo_items())).await;
    // No margin: a page starts until the deadline and is cut off by it.
    let l = Limits {
        timeout: Duration::from_secs(6),
        margin_s: 0,
        page: 25,
    };
    let chain = stack
        .run("config-rule", event_json("config-rule/scheduled.json"), l)
        .await;
    print_chain("periodic run cut off", "ConfigRuleFunction", n, &chain);
    assert!(chain.kills > 0, "no invocation was cut off: {chain:?}");
    let reported = stack.reported();
    let mut twice = 0;
    for k in 0..n {
        let r = reported.get(&clone_id(k)).copied().unwrap_or(0);
        assert!(r >= 1, "{} never reported", clone_id(k));
        twice += r - 1;
    }
    // Only the page each cut interrupted is done again.
    assert!(
        twice <= chain.kills * l.page,
        "{twice} reports repeated for {} cuts of pages of {}",
        chain.kills,
        l.page
    );
    assert_eq!(
        stack.compliance(&clone_id(0), "servers.ssm-core-policy").await,
        Some(Compliance::Compliant)
    );
}

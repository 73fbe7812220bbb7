//! Load: N configuration-change invocations (10,000 by default) replayed one after another
//! against ONE warm `config-rule` instance, the release `bootstrap` under a Lambda Runtime API on
//! 127.0.0.1, with DynamoDB and EventBridge on moto and AWS Config on the loopback stand-in.
//! Every event is a real change to one of 500 instances (clones of the demo instances; each
//! alternates running/stopped, capture times rise), so each one writes results, history and
//! events.
//!
//! Reports per-event latency (p50, p99, max), throughput and the instance's peak RSS, and fails
//! if the RSS reaches 64 MB (the functions must run at 128 MB), if any invocation fails or goes
//! unanswered, or if any event's evaluation did not reach PutEvaluations ("zero lost").
//!
//! `cargo lambda build --release && cargo bench --profile dev -p integration-tests --bench load`
//! (`LOAD_EVENTS=n`; `-- --test` runs 200; `LOAD_TRACE=1` prints every event's latency,
//! `LOAD_FUNCTION_LOG=path` keeps the function's log). The harness may be a debug build: what is
//! measured is the release `bootstrap` and moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use integration_tests::fixtures::root;
use std::time::{Duration, Instant};

use integration_tests::config_world::ConfigWorld;
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::runtime_api::RuntimeApi;
use serde_json::{json, Value};
use shared::aws::dynamo::DynamoStore;

const RSS_LIMIT_MB: f64 = 64.0;
/// How many instances the events are spread over.
const FLEET: usize = 500;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let n: usize = if quick {
        200
    } else {
        std::env::var("LOAD_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000)
    };
    let bin = root().join("target/lambda/config-rule/bootstrap");
    assert!(
        bin.exists(),
        "{} missing: run `cargo lambda build --release` first",
        bin.display()
    );

    let snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/demo-snapshot.json")).unwrap()).unwrap();
    let items = snapshot["configurationItems"].as_array().unwrap().clone();
    let instances: Vec<Value> = items
        .iter()
        .filter(|i| i["resourceType"] == "AWS::EC2::Instance")
        .cloned()
        .collect();
    let config = ConfigWorld::start(items).await;
    let sdk = moto::sdk_config();
    let table = moto::unique("load");
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .unwrap();
    let bus = moto::event_bus().await;
    let settings = shared::domain::settings::Settings::parse(
        &std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap(),
        true,
        "demo",
    )
    .unwrap();
    let settings = serde_json::to_string(&settings).unwrap();
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        config_url: &config.stub.url,
        table: &table,
        bus: &bus,
        settings_json: &settings,
        facts_url: None,
    };
    let mut command = lambda::command(&bin, &target);
    if let Some(log) = std::env::var_os("LOAD_FUNCTION_LOG") {
        // The function's own log (RUST_LOG from the environment), to see where time goes.
        command
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into()))
            .stdout(std::fs::File::create(log).unwrap());
    }
    let mut child = lambda::spawn(&mut command);

    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/config-rule/change-ec2-instance.json")).unwrap(),
    )
    .unwrap();
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z").unwrap();
    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for k in 0..n {
        // A fleet: the demo instances cloned under FLEET ids, each flipping state in turn, so
        // every event is a real change and history spreads over many resources as it would.
        let mut item = instances[k % instances.len()].clone();
        let id = format!("i-load{:011x}", k % FLEET);
        let round = k / FLEET;
        item["resourceId"] = json!(id);
        item["configuration"]["instanceId"] = json!(id);
        if let Some(arn) = item["ARN"].as_str() {
            item["ARN"] = json!(format!("{}/{id}", arn.rsplit_once('/').map_or(arn, |(head, _)| head)));
        }
        let at = (base + chrono::Duration::seconds(k as i64)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        item["configurationItemCaptureTime"] = json!(at);
        item["configuration"]["state"]["name"] = json!(if round.is_multiple_of(2) { "stopped" } else { "running" });
        let invoking = json!({
            "configurationItemDiff": {"changedProperties": {}, "changeType": "UPDATE"},
            "configurationItem": item,
            "notificationCreationTime": at,
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3",
        });
        let mut event = template.clone();
        event["invokingEvent"] = json!(invoking.to_string());
        event["resultToken"] = json!(format!("token-{k}"));
        api.send(event.to_string());
        let o = tokio::time::timeout(Duration::from_secs(30), api.outcome())
            .await
            .unwrap_or_else(|_| panic!("event {k} unanswered after 30 s"))
            .unwrap();
        assert!(o.ok, "event {k} failed: {}", o.body);
        latencies.push(o.answered - o.sent);
        if std::env::var_os("LOAD_TRACE").is_some() {
            eprintln!("event {k}: {:?}", o.answered - o.sent);
        } else if (k + 1) % 1000 == 0 {
            eprintln!("{} events, {:.0} s", k + 1, started.elapsed().as_secs_f64());
        }
    }
    let elapsed = started.elapsed();
    let rss_kb = child
        .id()
        .and_then(lambda::peak_rss_kb)
        .expect("peak RSS of the instance");
    child.kill().await.unwrap();

    // Zero lost: every invocation's evaluation reached PutEvaluations, with its own token.
    let tokens: std::collections::BTreeSet<String> = config
        .put_evaluations()
        .iter()
        .filter_map(|b| b["ResultToken"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<usize> = (0..n).filter(|k| !tokens.contains(&format!("token-{k}"))).collect();
    assert!(
        lost.is_empty(),
        "{} invocations reported nothing, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    latencies.sort();
    let pct = |p: f64| latencies[(((latencies.len() - 1) as f64) * p).round() as usize];
    let rss_mb = rss_kb as f64 / 1024.0;
    println!("| events | p50 | p99 | max | throughput | peak RSS | lost |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {} | {} | {} | {:.0} events/s | {rss_mb:.1} MB | 0 |",
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap()),
        n as f64 / elapsed.as_secs_f64()
    );
    assert!(rss_mb < RSS_LIMIT_MB, "peak RSS {rss_mb:.1} MB ≥ {RSS_LIMIT_MB} MB");
}

//! Cold start and warm latency of each function binary, run as Lambda runs it: the release
//! `bootstrap` (from `cargo lambda build --release`) against a Lambda Runtime API on 127.0.0.1,
//! with DynamoDB and EventBridge on moto and AWS Config on the loopback stand-in; and, side by
//! side, the Python baseline (`bench/python/rule.py`, rdklib on boto3) under the same Runtime API
//! through awslambdaric, when `PYTHON_BASELINE` names a python that has
//! `bench/python/requirements.txt` (`bash bench/run` sets it up).
//!
//! - cold start: process start until the function first asks the Runtime API for an event
//!   (configuration read, SDK clients built; Python: imports done);
//! - first event: a fresh instance's first invocation (lazy clients, first connections);
//! - warm latency: event handed out on `/next` until its response arrives, one warm instance;
//! - CPU per warm event: the instance's own user + system time, apart from waiting on moto;
//! - peak RSS of the warm instance.
//!
//! Both rules get the same EC2 change with only Defender for Servers' checks in scope; the Rust
//! rule also records results and history in DynamoDB and publishes transitions, which the Python
//! rule does not do at all.
//!
//! `cargo bench --profile dev -p integration-tests --bench lambda` (`-- --test` for a quick smoke
//! run; `LAMBDA_BENCH_COLD`, `LAMBDA_BENCH_EVENTS` for other counts).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use integration_tests::fixtures::root;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use integration_tests::config_world::ConfigWorld;
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::runtime_api::RuntimeApi;
use serde_json::Value;
use shared::aws::dynamo::DynamoStore;
use tokio::process::Child;

struct Env {
    config_url: String,
    table: String,
    bus: String,
    settings: String,
}

/// What runs: a Rust `bootstrap`, or the Python baseline under the Runtime Interface Client.
enum Subject {
    Rust(PathBuf),
    Python { python: PathBuf, dir: PathBuf },
}

impl Subject {
    fn spawn(&self, api: &RuntimeApi, env: &Env) -> Child {
        let target = Target {
            runtime_api: &api.address,
            config_url: &env.config_url,
            table: &env.table,
            bus: &env.bus,
            settings_json: &env.settings,
            facts_url: None,
        };
        match self {
            Self::Rust(bin) => lambda::spawn(&mut lambda::command(bin, &target)),
            Self::Python { python, dir } => lambda::python_command(python, dir, "rule.lambda_handler", &target)
                .spawn()
                .unwrap(),
        }
    }

    /// The deployment artifact's size: the binary, or the zipped package (see bench/run).
    fn size(&self) -> String {
        match self {
            Self::Rust(bin) => format!("{:.1} MB", std::fs::metadata(bin).unwrap().len() as f64 / 1e6),
            Self::Python { .. } => std::env::var("PYTHON_PACKAGE_BYTES")
                .ok()
                .and_then(|b| b.parse::<f64>().ok())
                .map_or("n/a".to_owned(), |b| format!("{:.2} MB zip", b / 1e6)),
        }
    }
}

/// An event with other rule parameters and a result token of its own.
fn with_parameters(event: &str, parameters: Option<&str>, token: &str) -> String {
    let mut v: Value = serde_json::from_str(event).unwrap();
    if let Some(p) = parameters {
        v["ruleParameters"] = Value::String(p.to_owned());
    }
    if v.get("resultToken").is_some() {
        v["resultToken"] = Value::String(token.to_owned());
    }
    v.to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let count = |var: &str, default: usize| std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (cold_runs, warm_events) = if quick {
        (1, 3)
    } else {
        (count("LAMBDA_BENCH_COLD", 10), count("LAMBDA_BENCH_EVENTS", 200))
    };

    let snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/demo-snapshot.json")).unwrap()).unwrap();
    let config = ConfigWorld::start(snapshot["configurationItems"].as_array().unwrap().clone()).await;
    let sdk = moto::sdk_config();
    let table = moto::unique("bench");
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
    let env = Env {
        config_url: config.stub.url.clone(),
        table,
        bus,
        settings: serde_json::to_string(&settings).unwrap(),
    };

    // The side-by-side pair: the same EC2 change, Defender for Servers' checks only, reported
    // to (the stand-in of) AWS Config; the Python baseline needs `PYTHON_BASELINE` (a python
    // with bench/python/requirements.txt installed, as bench/run makes).
    const SERVERS: &str = r#"{"plans":"servers"}"#;
    const RDK: &str = r#"{"AssumeRoleMode":"False"}"#;
    let rust = |name: &str| {
        let bin = root().join("target/lambda").join(name).join("bootstrap");
        assert!(
            bin.exists(),
            "{} missing: run `cargo lambda build --release` first",
            bin.display()
        );
        Subject::Rust(bin)
    };
    let mut subjects = vec![
        (
            "config-rule (Rust; servers checks, with state + events)",
            rust("config-rule"),
            "config-rule/change-ec2-instance.json",
            Some(SERVERS),
        ),
        (
            "event-reevaluator (Rust; DetachRolePolicy, fans out)",
            rust("event-reevaluator"),
            "event-reevaluator/cloudtrail-detach-role-policy.json",
            None,
        ),
        (
            "readiness-rollup (Rust; stream batch, one account)",
            rust("readiness-rollup"),
            "readiness-rollup/stream-batch.json",
            None,
        ),
    ];
    if let Some(python) = std::env::var_os("PYTHON_BASELINE") {
        subjects.insert(
            1,
            (
                "rdklib rule (Python; servers checks, no state)",
                Subject::Python {
                    python: PathBuf::from(python),
                    dir: root().join("bench/python"),
                },
                "config-rule/change-ec2-instance.json",
                Some(RDK),
            ),
        );
    }

    println!(
        "| function | artifact | cold start (median of {cold_runs}) | first event | warm p50 | warm p99 | CPU per warm event | events | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, subject, event, parameters) in subjects {
        let body = std::fs::read_to_string(root().join("events").join(event)).unwrap();
        let mut cold = Vec::new();
        let mut first = Vec::new();
        for run in 0..cold_runs {
            let api = RuntimeApi::start().await;
            let start = Instant::now();
            let mut child = subject.spawn(&api, &env);
            while api.first_next().is_none() {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "{name} never asked for an event"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            cold.push(api.first_next().unwrap() - start);
            // The first event of a fresh instance (clients built lazily, imports, connections).
            api.send(with_parameters(&body, parameters, &format!("cold-{run}")));
            let o = tokio::time::timeout(Duration::from_secs(30), api.outcome())
                .await
                .unwrap()
                .unwrap();
            assert!(o.ok && !o.body.contains("itemIdentifier"), "{name} failed: {}", o.body);
            first.push(o.answered - o.sent);
            child.kill().await.unwrap();
        }
        cold.sort();
        first.sort();
        let api = RuntimeApi::start().await;
        let mut child = subject.spawn(&api, &env);
        let mut warm = Vec::new();
        let reported_before = config.put_evaluations().len();
        let mut cpu_before = None;
        for i in 0..=warm_events {
            api.send(with_parameters(&body, parameters, &format!("warm-{i}")));
            let o = tokio::time::timeout(Duration::from_secs(30), api.outcome())
                .await
                .unwrap()
                .unwrap();
            assert!(o.ok && !o.body.contains("itemIdentifier"), "{name} failed: {}", o.body);
            // The first event warms the instance (and writes the state); the rest are steady state.
            if i > 0 {
                warm.push(o.answered - o.sent);
            } else {
                cpu_before = child.id().and_then(lambda::cpu_time);
            }
        }
        // The function's own CPU per warm event (user + system): what the language and the
        // code cost, apart from waiting on the AWS stand-ins.
        let cpu = child
            .id()
            .and_then(lambda::cpu_time)
            .zip(cpu_before)
            .map_or("n/a".to_owned(), |(after, before)| {
                ms((after - before) / warm_events as u32)
            });
        if parameters.is_some() {
            // Both rules really reported: one PutEvaluations per event (rdklib answers errors as
            // successful responses, so this is the check that it worked).
            let reported = config.put_evaluations().len() - reported_before;
            assert!(
                reported > warm_events,
                "{name}: only {reported} PutEvaluations for {} events",
                warm_events + 1
            );
        }
        warm.sort();
        let rss = child
            .id()
            .and_then(lambda::peak_rss_kb)
            .map_or("n/a".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
        child.kill().await.unwrap();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {cpu} | {} | {rss} |",
            subject.size(),
            ms(percentile(&cold, 0.5)),
            ms(percentile(&first, 0.5)),
            ms(percentile(&warm, 0.5)),
            ms(percentile(&warm, 0.99)),
            warm.len()
        );
    }
}

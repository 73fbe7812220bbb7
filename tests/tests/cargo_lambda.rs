//! A function binary end to end under `cargo lambda watch` (the Lambda Runtime API emulator on
//! 127.0.0.1), invoked with `cargo lambda invoke` and a sample event, with DynamoDB and
//! EventBridge on moto and AWS Config on the recording stand-in. Needs cargo-lambda
//! (`.ci/venv/bin/cargo-lambda`, `CARGO_LAMBDA`, or on PATH).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, root};
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use serde_json::Value;
use shared::aws::dynamo::{resource_pk, DynamoStore};
use tokio::process::Command;

fn cargo_lambda() -> PathBuf {
    if let Ok(p) = std::env::var("CARGO_LAMBDA") {
        return p.into();
    }
    let venv = root().join(".ci/venv/bin/cargo-lambda");
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("cargo-lambda"))
            .find(|c| c.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!("cargo-lambda not found: `.ci/venv/bin/python -m pip install cargo-lambda==1.9.2` (or set CARGO_LAMBDA)")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(port: u16) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "nothing listening on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_rule_binary_through_cargo_lambda_watch_and_invoke() {
    let config = ConfigWorld::start(demo_items()).await;
    let sdk = moto::sdk_config();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = moto::unique("e2e");
    DynamoStore::new(ddb.clone(), &table).create_table().await.unwrap();
    let bus = moto::event_bus().await;

    let port = free_port();
    let logs = std::env::temp_dir().join(moto::unique("watch.log"));
    let mut watch = Command::new(cargo_lambda())
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(root())
        .stdout(Stdio::from(std::fs::File::create(&logs).unwrap()))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for(port).await;
    let settings = std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap();
    let settings: shared::domain::settings::Settings =
        shared::domain::settings::Settings::parse(&settings, true, "demo").unwrap();
    let (runtime_api, settings_json) = (
        format!("http://127.0.0.1:{port}/.rt"),
        serde_json::to_string(&settings).unwrap(),
    );
    let target = Target {
        runtime_api: &runtime_api,
        config_url: &config.stub.url,
        table: &table,
        bus: &bus,
        settings_json: &settings_json,
        facts_url: None,
    };
    let mut function = lambda::spawn(
        lambda::command(&lambda::function_binary("config-rule").await, &target).env("AWS_MAX_ATTEMPTS", "1"),
    );
    let invoke = |data: PathBuf| {
        let (cl, port) = (cargo_lambda(), port.to_string());
        async move {
            // A function that died would leave the invoke waiting for ever: bound it.
            let mut c = Command::new(cl);
            c.kill_on_drop(true)
                .args([
                    "lambda",
                    "invoke",
                    "_",
                    "--invoke-address",
                    "127.0.0.1",
                    "--invoke-port",
                    &port,
                    "--data-file",
                ])
                .arg(data);
            tokio::time::timeout(Duration::from_secs(120), c.output())
                .await
                .expect("cargo lambda invoke got no answer within 120 s (did the function exit?)")
                .unwrap()
        }
    };
    let ok = invoke(root().join("events/config-rule/change-ec2-instance.json")).await;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let response: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(response["reported"], 1, "{response}");
    assert_eq!(
        config.put_evaluations()[0]["Evaluations"][0]["ComplianceResourceId"],
        "i-0bat000000000002"
    );
    let rows = ddb
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(resource_pk(
                "111122223333",
                "us-east-1",
                "AWS::EC2::Instance",
                "i-0bat000000000002",
            )),
        )
        .send()
        .await
        .unwrap();
    assert!(rows.count() > 0);

    // A malformed event fails the invocation with the stable error type.
    let bad = std::env::temp_dir().join(moto::unique("bad.json"));
    std::fs::write(&bad, r#"{"eventLeftScope": false, "invokingEvent": "{}"}"#).unwrap();
    let out = invoke(bad).await;
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("MalformedEvent") && text.contains("resultToken"),
        "{text}"
    );

    function.kill().await.unwrap();
    // SIGINT stops watch cleanly (SIGTERM was seen ignored); kill_on_drop is the fallback.
    if let Some(pid) = watch.id() {
        let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status().await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), watch.wait()).await;
}

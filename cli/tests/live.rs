//! `defender-prereqs scan --live`, the built binary against AWS Config's stand-in and a service-API
//! stub on 127.0.0.1 (real HTTP, the SDK's own requests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, root};
use integration_tests::stub::Stub;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_defender-prereqs");
const PROD: &str = "111122223333";

/// The demo's items of account 111122223333 in us-east-1 and global: what that region's recorder
/// (recording global types) holds.
fn east_items() -> Vec<Value> {
    demo_items()
        .into_iter()
        .filter(|i| i["awsAccountId"] == PROD && (i["awsRegion"] == "us-east-1" || i["awsRegion"] == "global"))
        .collect()
}

/// SSM answers that one instance's agent is online; EKS and Logs deny (facts unknown).
async fn facts_stub() -> Stub {
    Stub::start(|target, _| match target {
        t if t.ends_with(".DescribeInstanceInformation") => (
            200,
            json!({"InstanceInformationList": [
                {"InstanceId": "i-0bat000000000002", "PingStatus": "Online", "AgentVersion": "3.3.40.0"}
            ]})
            .to_string(),
        ),
        _ => (
            400,
            json!({"__type": "AccessDeniedException", "message": "denied"}).to_string(),
        ),
    })
    .await
}

async fn run(args: Vec<String>, config: &str, facts: &str) -> Output {
    run_with(args, config, facts, &[]).await
}

/// [`run`] with more environment (another service's endpoint).
async fn run_with(args: Vec<String>, config: &str, facts: &str, env: &[(&str, &str)]) -> Output {
    let (config, facts) = (config.to_owned(), facts.to_owned());
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            // STS's GetCallerIdentity (asked before any read) from the Config stand-in, unless
            // a test names another STS.
            .env("AWS_ENDPOINT_URL_STS", &config)
            .envs(env)
            .env_remove("DEFENDER_PREREQS_DB")
            .env("AWS_ENDPOINT_URL_CONFIG_SERVICE", &config)
            .env("AWS_ENDPOINT_URL_SSM", &facts)
            .env("AWS_ENDPOINT_URL_EKS", &facts)
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &facts)
            .env("AWS_ENDPOINT_URL", integration_tests::denied::endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(extra: &[&str], db: Option<&Path>) -> Vec<String> {
    let settings = root().join("events/demo-settings.toml");
    let mut a: Vec<String> = vec!["scan".into()];
    a.extend(extra.iter().map(|s| (*s).to_owned()));
    a.extend([
        "--format".into(),
        "json".into(),
        "--settings".into(),
        settings.display().to_string(),
    ]);
    match db {
        Some(db) => a.extend(["--db".into(), db.display().to_string()]),
        None => a.push("--no-store".into()),
    }
    a
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn by_key(v: &Value) -> BTreeMap<String, String> {
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("{} {} {}", e["resourceType"], e["resourceId"], e["checkId"]),
                format!("{} {}", e["compliance"], e["annotation"]),
            )
        })
        .collect()
}

fn result<'a>(v: &'a Value, id: &str, check: &str) -> &'a Value {
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resourceId"] == id && e["checkId"] == check)
        .unwrap_or_else(|| panic!("no {check} for {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_read_decides_like_the_snapshot_of_the_same_items_plus_the_service_facts() {
    let world = ConfigWorld::start(east_items()).await;
    let facts = facts_stub().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let live = json_of(
        &run(
            args(&["--live", "--regions", "us-east-1"], Some(&db)),
            &world.stub.url,
            &facts.url,
        )
        .await,
    );

    // The same items as a snapshot file of that region.
    let snap = dir
        .path()
        .join("111122223333_Config_us-east-1_ConfigSnapshot_20261120T090000Z_x.json");
    std::fs::write(
        &snap,
        json!({"fileVersion": "1.0", "configSnapshotId": "x", "configurationItems": east_items()}).to_string(),
    )
    .unwrap();
    let file = json_of(&run(args(&[snap.to_str().unwrap()], None), &world.stub.url, &facts.url).await);
    let (live_map, file_map) = (by_key(&live), by_key(&file));
    assert_eq!(live_map.keys().collect::<Vec<_>>(), file_map.keys().collect::<Vec<_>>());
    let differing: Vec<&String> = live_map
        .iter()
        .filter(|(k, v)| file_map[*k] != **v)
        .map(|(k, _)| k)
        .collect();
    // Only what the agents' PingStatus decides, which only SSM knows, differs: the agent check
    // of each running instance, and the SQL chain that needs it.
    for k in &differing {
        assert!(
            k.ends_with("\"servers.ssm-agent-online\"") || k.ends_with("\"sql.servers-chain\""),
            "{k}: {} live, {} from the file",
            live_map[*k],
            file_map[*k]
        );
    }
    assert_eq!(differing.len(), 4, "{differing:?}");
    let agent = result(&live, "i-0bat000000000002", "servers.ssm-agent-online");
    assert_eq!(agent["compliance"], "COMPLIANT", "{agent}");
    assert!(!world.stub.calls("DescribeConfigurationRecorders").is_empty());
    assert!(!world.stub.calls("BatchGetResourceConfig").is_empty());

    // The fact is kept with the item: scanning another region of the account into the same store
    // re-evaluates the account from what is recorded, and the agent is still known online.
    let west: Vec<Value> = demo_items()
        .into_iter()
        .filter(|i| i["awsAccountId"] == PROD && i["awsRegion"] == "eu-west-1")
        .collect();
    let west_file = dir
        .path()
        .join("111122223333_Config_eu-west-1_ConfigSnapshot_20261120T090000Z_y.json");
    std::fs::write(
        &west_file,
        json!({"fileVersion": "1.0", "configSnapshotId": "y", "configurationItems": west}).to_string(),
    )
    .unwrap();
    let after = json_of(
        &run(
            args(&[west_file.to_str().unwrap()], Some(&db)),
            &world.stub.url,
            &facts.url,
        )
        .await,
    );
    assert_eq!(
        result(&after, "i-0bat000000000002", "servers.ssm-agent-online")["compliance"],
        "COMPLIANT"
    );
    assert!(after["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["awsRegion"] == "eu-west-1"));

    // A file of the same region, with the same captures or older ones, brings the items without
    // the facts: the facts stay, nothing changes and no transition is recorded (the agent checks
    // and the SQL chain used to fall back to INSUFFICIENT_DATA, in every region).
    let older: Vec<Value> = east_items()
        .into_iter()
        .map(|mut i| {
            i["configurationItemCaptureTime"] = json!("2026-11-19T08:00:00.000Z");
            i
        })
        .collect();
    let older_file = dir
        .path()
        .join("111122223333_Config_us-east-1_ConfigSnapshot_20261119T090000Z_z.json");
    std::fs::write(
        &older_file,
        json!({"fileVersion": "1.0", "configSnapshotId": "z", "configurationItems": older}).to_string(),
    )
    .unwrap();
    for file in [&snap, &older_file] {
        let again = json_of(&run(args(&[file.to_str().unwrap()], Some(&db)), &world.stub.url, &facts.url).await);
        assert_eq!(
            result(&again, "i-0bat000000000002", "servers.ssm-agent-online")["compliance"],
            "COMPLIANT",
            "{}",
            file.display()
        );
        assert_eq!(
            again["changes"]["transitions"].as_array().unwrap().len(),
            0,
            "{}: {}",
            file.display(),
            again["changes"]["transitions"]
        );
    }
    // A later capture from a file keeps them too (they are the newest word on the agent).
    let newer: Vec<Value> = east_items()
        .into_iter()
        .map(|mut i| {
            i["configurationItemCaptureTime"] = json!("2026-11-21T08:00:00.000Z");
            i
        })
        .collect();
    let newer_file = dir
        .path()
        .join("111122223333_Config_us-east-1_ConfigSnapshot_20261121T090000Z_n.json");
    std::fs::write(
        &newer_file,
        json!({"fileVersion": "1.0", "configSnapshotId": "n", "configurationItems": newer}).to_string(),
    )
    .unwrap();
    let newest = json_of(
        &run(
            args(&[newer_file.to_str().unwrap()], Some(&db)),
            &world.stub.url,
            &facts.url,
        )
        .await,
    );
    assert_eq!(
        result(&newest, "i-0bat000000000002", "servers.ssm-agent-online")["compliance"],
        "COMPLIANT"
    );
    assert_eq!(newest["changes"]["transitions"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregator_read_covers_every_account_but_proves_nothing_by_absence() {
    let world = ConfigWorld::start(demo_items()).await;
    let facts = facts_stub().await;
    let v = json_of(
        &run(
            args(&["--live", "--aggregator", "org"], None),
            &world.stub.url,
            &facts.url,
        )
        .await,
    );
    let accounts: std::collections::BTreeSet<&str> = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["accountId"].as_str())
        .collect();
    assert_eq!(accounts.into_iter().collect::<Vec<_>>(), [PROD, "444455556666"]);
    let calls = world.stub.calls("SelectAggregateResourceConfig");
    assert!(
        calls.iter().all(|c| c["ConfigurationAggregatorName"] == "org"),
        "{calls:?}"
    );
    assert!(!world.stub.calls("BatchGetAggregateResourceConfig").is_empty());
    // The missing OIDC provider and Arc role of 444455556666 are not NON_COMPLIANT: nothing
    // says its recorder records IAM.
    for check in ["cspm.oidc-provider", "servers.arc-autoprov-role"] {
        let r = result(&v, "444455556666", check);
        assert_eq!(r["compliance"], "INSUFFICIENT_DATA", "{r}");
    }
    assert!(v["notes"][0].as_str().unwrap().contains("aggregator org"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_that_cannot_be_read_fails_the_scan_or_is_listed_with_keep_going() {
    let denied = integration_tests::denied::endpoint();
    // The credentials check out (STS answers); AWS Config then denies every region.
    let sts = [("AWS_ENDPOINT_URL_STS", integration_tests::moto::endpoint())];
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let o = run_with(
        args(&["--live", "--regions", "us-east-1,eu-west-1"], Some(&db)),
        denied,
        denied,
        &sts,
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("could not read 2 regions") && e.contains("us-east-1: ") && e.contains("eu-west-1: "),
        "{e}"
    );
    assert!(!e.contains("testing"), "the message quotes no credential: {e}");
    let recorded: i64 = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM scans", [], |r| r.get(0)))
        .unwrap_or(0);
    assert_eq!(recorded, 0, "a failed scan records nothing");
    let v = json_of(
        &run_with(
            args(&["--live", "--regions", "us-east-1", "--keep-going"], None),
            denied,
            denied,
            &sts,
        )
        .await,
    );
    assert!(
        v["errors"][0].as_str().unwrap().starts_with("not read: us-east-1: "),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assuming_a_role_in_each_source_account_reads_it_in_full() {
    // Each region is one account's recorder; STS is moto's.
    let world = ConfigWorld::start_per_region(demo_items()).await;
    let facts = facts_stub().await;
    let moto = integration_tests::moto::endpoint();
    let mut a = args(
        &["--live", "--aggregator", "org", "--assume-role", "DefenderPrereqsRead"],
        None,
    );
    a.push("--keep-going".into());
    let o = run_with(a, &world.stub.url, &facts.url, &[("AWS_ENDPOINT_URL_STS", moto)]).await;
    let v = json_of(&o);
    assert!(
        v.get("errors").is_none_or(|e| e.as_array().unwrap().is_empty()),
        "{}",
        v["errors"]
    );
    // Each account's regions were read with the role, its recorder included (global types, so
    // IAM roles): the missing Arc role of 444455556666 is now evidence.
    let role = result(&v, "444455556666", "servers.arc-autoprov-role");
    assert_eq!(role["compliance"], "NON_COMPLIANT", "{role}");
    let regions: std::collections::BTreeSet<Option<String>> = world
        .stub
        .requests()
        .into_iter()
        .filter(|r| r.target.ends_with("DescribeConfigurationRecorders"))
        .map(|r| r.region)
        .collect();
    let expected: std::collections::BTreeSet<Option<String>> = ["eu-south-1", "eu-west-1", "us-east-1", "us-west-2"]
        .iter()
        .map(|r| Some((*r).to_owned()))
        .collect();
    assert_eq!(regions, expected);
    // Nothing came from the aggregator's items once the roles read every account.
    assert!(world.stub.calls("BatchGetAggregateResourceConfig").is_empty());
    // The same as reading the accounts' items as snapshots.
    let snap = json_of(
        &run(
            args(&[root().join("events/demo-snapshot.json").to_str().unwrap()], None),
            &world.stub.url,
            &facts.url,
        )
        .await,
    );
    let (live_map, snap_map) = (by_key(&v), by_key(&snap));
    assert_eq!(live_map.keys().collect::<Vec<_>>(), snap_map.keys().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_region_skips_the_ones_the_account_has_not_enabled() {
    let world = ConfigWorld::start_per_region(east_items()).await;
    world.disable_region("af-south-1");
    // SSM's public parameters list the regions; the agent fact as before.
    let ssm = Stub::start(|target, _| match target {
        t if t.ends_with(".GetParametersByPath") => (
            200,
            json!({"Parameters": [
                {"Name": "/aws/service/global-infrastructure/regions/af-south-1", "Type": "String", "Value": "af-south-1"},
                {"Name": "/aws/service/global-infrastructure/regions/us-east-1", "Type": "String", "Value": "us-east-1"}
            ]})
            .to_string(),
        ),
        _ => (
            400,
            json!({"__type": "AccessDeniedException", "message": "denied"}).to_string(),
        ),
    })
    .await;
    let v = json_of(&run(args(&["--live", "--regions", "all"], None), &world.stub.url, &ssm.url).await);
    let notes = v["notes"].to_string();
    assert!(notes.contains("af-south-1: not enabled for this account"), "{notes}");
    assert!(v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["awsRegion"] == "us-east-1"));
    // Named explicitly, the same region is a failure.
    let o = run(
        args(&["--live", "--regions", "us-east-1,af-south-1"], None),
        &world.stub.url,
        &ssm.url,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

/// One source account's role cannot be assumed (STS answers AccessDenied, as AWS does when the
/// role is missing or does not trust the caller): the scan does not fail; that account is read
/// from the aggregator's items (partial: nothing is concluded from absence there) and the report
/// says so, as the README's aggregator section promises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_whose_role_is_denied_keeps_the_aggregators_items_and_is_listed() {
    use integration_tests::proxy::{Fault, FaultProxy};
    let world = ConfigWorld::start_per_region(demo_items()).await;
    let facts = facts_stub().await;
    let sts = FaultProxy::start(integration_tests::moto::endpoint(), |seen| {
        if seen.raw.contains("Action=AssumeRole") && seen.raw.contains("444455556666") {
            Fault::Respond(
                403,
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                 <Code>AccessDenied</Code><Message>User: arn:aws:sts::111122223333:assumed-role/scanner/s is not \
                 authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/DefenderPrereqsRead\
                 </Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
                    .into(),
            )
        } else {
            Fault::Forward
        }
    })
    .await;
    let a = args(
        &["--live", "--aggregator", "org", "--assume-role", "DefenderPrereqsRead"],
        None,
    );
    let o = run_with(
        a,
        &world.stub.url,
        &facts.url,
        &[("AWS_ENDPOINT_URL_STS", sts.url.as_str())],
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_of(&o);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("role DefenderPrereqsRead could not be used in 1 account") && notes.contains("444455556666"),
        "{notes}"
    );
    // STS's code and message, not the SDK's error dump cut mid-word.
    assert!(
        notes.contains("could not be assumed: AccessDenied: User: arn:aws:sts::111122223333:assumed-role/scanner/s is not authorized")
            && !notes.contains("Error {"),
        "{notes}"
    );
    // The denied account is there, from the aggregator: its missing Arc role proves nothing.
    let role = result(&v, "444455556666", "servers.arc-autoprov-role");
    assert_eq!(role["compliance"], "INSUFFICIENT_DATA", "{role}");
    assert!(!world.stub.calls("BatchGetAggregateResourceConfig").is_empty());
    // The other account was read in full with its role.
    let profile = result(&v, PROD, "cspm.oidc-provider");
    assert_eq!(profile["compliance"], "COMPLIANT", "{profile}");
}

/// Without credentials a live read says so, plainly, and does not suggest --keep-going (which
/// cannot help); it used to print the SDK's `DispatchFailure(... CredentialsNotLoaded ...)`.
#[test]
fn a_live_read_without_credentials_says_so() {
    let o = Command::new(BIN)
        .args(["scan", "--live", "--regions", "us-east-1", "--no-store"])
        .env_remove("DEFENDER_PREREQS_DB")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env("AWS_ENDPOINT_URL", integration_tests::denied::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("no AWS credentials were found: set AWS_PROFILE"), "{e}");
    assert!(!e.contains("DispatchFailure") && !e.contains("--keep-going"), "{e}");
}

/// An AWS that cannot be reached (nothing listens at the endpoint) fails in seconds with one plain
/// sentence, not after every retry of the first read with the HTTP client's error (it used to
/// retry for 49 s and print `hyper_util::client::legacy::Error(Connect, ...)`); a scan of a
/// Config bucket likewise.
#[test]
fn an_unreachable_aws_fails_fast_and_plainly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    for args in [
        &["scan", "--live", "--regions", "us-east-1", "--no-store"][..],
        &["scan", "s3://config-bucket/AWSLogs", "--no-store"][..],
    ] {
        let started = std::time::Instant::now();
        let o = Command::new(BIN)
            .args(args)
            .env_remove("DEFENDER_PREREQS_DB")
            .env_remove("AWS_PROFILE")
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("AWS could not be reached (the connection failed: network, proxy or endpoint)"),
            "{e}"
        );
        assert!(
            !e.contains("hyper") && !e.contains("DispatchFailure") && !e.contains("--keep-going"),
            "{e}"
        );
        // Connection refused at once, and no retry: well under the 10 s the check may take.
        assert!(took < std::time::Duration::from_secs(10), "{args:?} took {took:?}");
    }
}

//! `scan s3://bucket/prefix`: an AWS Config delivery bucket read where it is, through the built
//! binary, against moto's S3 on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_defender-prereqs");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo_items() -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/demo-snapshot.json")).unwrap()).unwrap();
    v["configurationItems"].as_array().unwrap().clone()
}

fn gzip(v: &Value) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(v.to_string().as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// A Config bucket's objects as the delivery channel names them (AWS Config developer guide,
/// "Example Configuration Snapshot/History Delivery Notification"), for two accounts: two daily
/// snapshots of each region the demo has, a history file after the newest one, one before it, and
/// the writability check file.
fn objects() -> Vec<(String, Vec<u8>)> {
    let items = demo_items();
    let mut out = Vec::new();
    for account in ["111122223333", "444455556666"] {
        let mine: Vec<&Value> = items.iter().filter(|i| i["awsAccountId"] == account).collect();
        let mut regions: Vec<&str> = mine
            .iter()
            .filter_map(|i| i["awsRegion"].as_str())
            .filter(|r| *r != "global")
            .collect();
        regions.sort_unstable();
        regions.dedup();
        let home = if account == "111122223333" {
            "us-east-1"
        } else {
            "us-west-2"
        };
        for region in regions {
            let here: Vec<&Value> = mine
                .iter()
                .copied()
                .filter(|i| i["awsRegion"] == region || (region == home && i["awsRegion"] == "global"))
                .collect();
            for (day, stamp) in [("20", "20261120T090000Z"), ("21", "20261121T090000Z")] {
                out.push((
                    format!("AWSLogs/{account}/Config/{region}/2026/11/{day}/ConfigSnapshot/{account}_Config_{region}_ConfigSnapshot_{stamp}_{account}{region}.json.gz"),
                    gzip(&json!({"fileVersion": "1.0", "configSnapshotId": format!("{region}-{stamp}"), "configurationItems": here})),
                ));
            }
        }
        out.push((
            format!("AWSLogs/{account}/Config/ConfigWritabilityCheckFile"),
            Vec::new(),
        ));
    }
    let mut cluster = items.iter().find(|i| i["resourceId"] == "prod-apps").unwrap().clone();
    cluster["configurationItemCaptureTime"] = json!("2026-11-21T10:00:00.000Z");
    cluster["configuration"]["Version"] = json!("1.28");
    out.push((
        "AWSLogs/111122223333/Config/us-east-1/2026/11/21/ConfigHistory/111122223333_Config_us-east-1_ConfigHistory_AWS::EKS::Cluster_20261121T100000Z_20261121T100000Z_1.json.gz".to_owned(),
        gzip(&json!({"fileVersion": "1.0", "configurationItems": [cluster]})),
    ));
    out.push((
        "AWSLogs/111122223333/Config/us-east-1/2026/11/20/ConfigHistory/111122223333_Config_us-east-1_ConfigHistory_AWS::EKS::Cluster_20261120T100000Z_20261120T110000Z_1.json.gz".to_owned(),
        gzip(&json!({"fileVersion": "1.0", "configurationItems": []})),
    ));
    out
}

fn scan(target: &str, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(["scan", target, "--no-store", "--format", "json", "--settings"])
        .arg(root().join("events/demo-settings.toml"))
        .envs(env.iter().copied())
        .env_remove("DEFENDER_PREREQS_DB")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn compliance(v: &Value) -> std::collections::BTreeMap<String, String> {
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!(
                    "{} {} {} {}",
                    e["accountId"], e["resourceType"], e["resourceId"], e["checkId"]
                ),
                format!("{} {}", e["compliance"], e["annotation"]),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_bucket_is_read_where_it_is_like_its_synced_copy() {
    let moto = integration_tests::moto::endpoint();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&integration_tests::moto::sdk_config())
            .force_path_style(true)
            .build(),
    );
    let bucket = integration_tests::moto::unique("config-bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (key, body) in objects() {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("log-archive/{key}"))
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
        let local = dir.path().join("log-archive").join(&key);
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(local, body).unwrap();
    }
    // An object outside the prefix is not read.
    s3.put_object()
        .bucket(&bucket)
        .key("elsewhere/not-config.json")
        .body(b"not JSON".to_vec().into())
        .send()
        .await
        .unwrap();

    let url = format!("s3://{bucket}/log-archive");
    let (moto_url, local_dir) = (moto.to_owned(), dir.path().join("log-archive"));
    let (remote, local) = tokio::task::spawn_blocking(move || {
        (
            scan(&url, &[("AWS_ENDPOINT_URL", moto_url.as_str())]),
            scan(local_dir.to_str().unwrap(), &[]),
        )
    })
    .await
    .unwrap();
    assert!(remote.status.success(), "{}", String::from_utf8_lossy(&remote.stderr));
    let (remote, local): (Value, Value) = (
        serde_json::from_slice(&remote.stdout).unwrap(),
        serde_json::from_slice(&local.stdout).unwrap(),
    );
    // The same results as the synced copy: the newest snapshot of each account and region, the
    // later history file's cluster (now EKS 1.28) included.
    assert_eq!(compliance(&remote), compliance(&local));
    let eks = compliance(&remote)
        .into_iter()
        .find(|(k, _)| k.contains("prod-apps") && k.contains("containers.eks-version"))
        .unwrap();
    assert!(eks.1.contains("1.28"), "{eks:?}");
    let notes = remote["notes"].to_string();
    for said in [
        "skipped 2 ConfigWritabilityCheckFile",
        "skipped 1 older AWS Config snapshot(s) of account 111122223333 in us-east-1",
        "skipped 1 AWS Config history file(s)",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
}

#[test]
fn a_bucket_that_cannot_be_read_fails_naming_it_and_quoting_no_credential() {
    let moto = integration_tests::moto::endpoint();
    let o = scan("s3://no-such-config-bucket-x/AWSLogs", &[("AWS_ENDPOINT_URL", moto)]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("s3://no-such-config-bucket-x/AWSLogs: the bucket cannot be read (NotFound)"),
        "{e}"
    );
    assert!(!e.contains("testing"), "{e}");
}

/// `scan DIR --format json` with a store, and the parts of its document that say what was found
/// and what changed.
/// The bucket of [`objects`] as `aws s3 sync` copies it, under `dir`.
fn synced(dir: &Path) -> PathBuf {
    let bucket = dir.join("AWSLogs-copy");
    for (key, body) in objects() {
        let local = bucket.join(&key);
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(local, body).unwrap();
    }
    bucket
}

/// The bucket scanned into a store an account at a time and, forced by one more input that names
/// no account (an empty list, which covers nothing), all at once into another: both must answer
/// alike. The answer, the empty list and the two stores.
fn scanned_both_ways(dir: &Path, bucket: &Path) -> (Value, PathBuf, PathBuf, PathBuf) {
    let loose = dir.join("nothing.json");
    std::fs::write(&loose, "[]").unwrap();
    let (by_account, at_once) = (dir.join("by-account.db"), dir.join("at-once.db"));
    let first = scan_recorded(&[bucket], &by_account);
    assert_eq!(first, scan_recorded(&[bucket, &loose], &at_once));
    (first, loose, by_account, at_once)
}

fn scan_recorded(args: &[&Path], db: &Path) -> Value {
    let o = Command::new(BIN)
        .arg("scan")
        .args(args)
        .args(["--format", "json", "--db"])
        .arg(db)
        .arg("--settings")
        .arg(root().join("events/demo-settings.toml"))
        .arg("--suppressions")
        .arg(db.with_file_name("suppressions.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["changes"].is_object(), "{v}");
    let since = v["changes"]["since"].take();
    json!({
        "evaluations": v["evaluations"],
        "plans": v["plans"],
        "transitions": v["changes"]["transitions"],
        "planTransitions": v["changes"]["planTransitions"],
        "stale": v["changes"]["stale"],
        "since": since.is_string(),
        "notes": v["notes"],
    })
}

#[test]
fn a_synced_bucket_scanned_an_account_at_a_time_records_what_a_scan_of_it_all_at_once_records() {
    // A synced bucket of two accounts is read, merged, evaluated and recorded one account at a
    // time. The same files with one more input that names no account (an empty list of items,
    // which covers nothing) are read all at once: both stores must answer alike, on a first scan
    // and on the next, after an instance of one account stopped.
    let dir = tempfile::tempdir().unwrap();
    let bucket = synced(dir.path());
    // Accepted exceptions apply alike: one entry accepts an instance's results in the second
    // account, one matches nothing (said once, not once per account).
    std::fs::write(
        dir.path().join("suppressions.toml"),
        r#"
[[suppress]]
check = "servers.*"
resource = "i-0dev000000000001"
account = "444455556666"
reason = "dev box"
expires = 2099-12-31

[[suppress]]
account = "999999999999"
reason = "an account this scan does not hold"
expires = 2099-12-31
"#,
    )
    .unwrap();
    let (first, loose, by_account, at_once) = scanned_both_ways(dir.path(), &bucket);
    assert!(first["transitions"].as_array().unwrap().len() > 10, "{first}");
    assert_eq!(first["since"], false);
    assert!(first["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["resourceId"] == "i-0dev000000000001" && e.get("suppressed").is_some()));
    let notes = first["notes"].to_string();
    assert_eq!(notes.matches("matches no result").count(), 1, "{notes}");

    // The text report counts what it no longer keeps: the same counts either way.
    let counts = |args: &[&Path]| -> Vec<String> {
        let o = Command::new(BIN)
            .arg("scan")
            .args(args)
            .args(["--no-store", "--color", "never", "--settings"])
            .arg(root().join("events/demo-settings.toml"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.contains(" evaluations") || l.starts_with("Evaluations:"))
            .map(str::to_owned)
            .collect()
    };
    let by_account_counts = counts(&[&bucket]);
    assert_eq!(by_account_counts.len(), 2, "{by_account_counts:?}");
    assert_eq!(by_account_counts, counts(&[&bucket, &loose]));
    // The summary tallies the blockers of each account as it comes and keeps no plan row's
    // blockers: the same summary either way (its table and top blockers).
    let summary = |args: &[&Path]| -> String {
        let o = Command::new(BIN)
            .arg("scan")
            .args(args)
            .args(["--no-store", "--color", "never", "--summary", "--settings"])
            .arg(root().join("events/demo-settings.toml"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let start = text.find("Summary:").expect("a summary");
        let end = text.find("Where to look next:").expect("suggestions");
        text[start..end].to_owned()
    };
    let by_account_summary = summary(&[&bucket]);
    assert!(by_account_summary.contains("Top blockers:"), "{by_account_summary}");
    assert!(by_account_summary.contains("444455556666"), "{by_account_summary}");
    assert_eq!(by_account_summary, summary(&[&bucket, &loose]));

    // The newest snapshot of 444455556666 in us-west-2, delivered again later.
    let newest = std::fs::read_dir(bucket.join("AWSLogs/444455556666/Config/us-west-2/2026/11/21/ConfigSnapshot"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let mut snapshot: Value = {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&newest).unwrap()),
            &mut text,
        )
        .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let items = snapshot["configurationItems"].as_array_mut().unwrap();
    let at = items
        .iter()
        .position(|i| i["resourceType"] == "AWS::EC2::Instance")
        .unwrap();
    // Its only instance, stopped since (absent, it would say nothing: the snapshot would no
    // longer show that instances are recorded there).
    let gone = items[at].clone();
    items[at]["configurationItemCaptureTime"] = json!("2026-11-25T00:00:00.000Z");
    items[at]["configuration"]["state"] = json!({"code": 80, "name": "stopped"});
    std::fs::remove_file(&newest).unwrap();
    let later = newest.with_file_name(
        newest
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace("20261121T090000Z", "20270101T090000Z"),
    );
    std::fs::write(&later, gzip(&snapshot)).unwrap();
    let next = scan_recorded(&[&bucket], &by_account);
    assert_eq!(next, scan_recorded(&[&bucket, &loose], &at_once));
    assert_eq!(next["since"], true);
    let removed: Vec<&Value> = next["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["resourceId"] == gone["resourceId"])
        .collect();
    assert!(!removed.is_empty(), "{next}");
}

/// A delivery holding an item of another account than its name says (AWS Config never writes
/// one; a copied or merged file could hold one) cannot be scanned an account at a time: nothing
/// of the accounts read so far is kept, and the inputs are read together, as a scan of all of
/// them at once reads them.
#[test]
fn a_delivery_holding_another_accounts_item_is_read_together_with_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = synced(dir.path());
    // A history file of 111122223333 (scanned first) holding an instance of 444455556666.
    let mut stray = demo_items()
        .into_iter()
        .find(|i| i["resourceId"] == "i-0dev000000000001")
        .unwrap();
    assert_eq!(stray["awsAccountId"], "444455556666");
    stray["configurationItemCaptureTime"] = json!("2026-11-21T11:00:00.000Z");
    let history = bucket.join(
        "AWSLogs/111122223333/Config/us-east-1/2026/11/21/ConfigHistory/111122223333_Config_us-east-1_ConfigHistory_AWS::EC2::Instance_20261121T110000Z_20261121T110000Z_1.json.gz",
    );
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    std::fs::write(
        &history,
        gzip(&json!({"fileVersion": "1.0", "configurationItems": [stray]})),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("suppressions.toml"),
        "[[suppress]]\naccount = \"999999999999\"\nreason = \"none of these\"\nexpires = 2099-12-31\n",
    )
    .unwrap();
    let (_, _, by_account, _) = scanned_both_ways(dir.path(), &bucket);
    // One scan recorded, holding the stray item: the account recorded before the stray was
    // found was rolled back, and everything was read together.
    let conn = rusqlite::Connection::open(&by_account).unwrap();
    let scans: i64 = conn.query_row("SELECT COUNT(*) FROM scans", [], |r| r.get(0)).unwrap();
    assert_eq!(scans, 1);
    let captured: String = conn
        .query_row(
            "SELECT capture_time FROM items WHERE resource_id = 'i-0dev000000000001'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(captured.starts_with("2026-11-21T11:00:00"), "{captured}");
}

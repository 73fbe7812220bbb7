//! The `defender-prereqs` binary, run as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_defender-prereqs");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo() -> PathBuf {
    root().join("events/demo-snapshot.json")
}

fn demo_settings() -> PathBuf {
    root().join("events/demo-settings.toml")
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DEFENDER_PREREQS_DB")
        .output()
        .expect("run defender-prereqs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scan_json(file: &Path, db: Option<&Path>, extra: &[&str]) -> (Output, Value) {
    let settings = demo_settings();
    let mut args = vec![
        "scan",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--settings",
        settings.to_str().unwrap(),
    ];
    let db_s;
    match db {
        Some(p) => {
            db_s = p.to_str().unwrap().to_owned();
            args.extend(["--db", &db_s]);
        }
        None => args.push("--no-store"),
    }
    args.extend(extra);
    let o = run(&args);
    assert!(o.status.success(), "scan failed: {}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    (o, v)
}

fn plan_status<'a>(v: &'a Value, account: &str, region: &str, plan: &str) -> &'a str {
    v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["accountId"] == account && p["awsRegion"] == region && p["plan"] == plan)
        .and_then(|p| p["status"].as_str())
        .unwrap_or_else(|| panic!("no plan {plan} in {account} {region}"))
}

fn demo_items() -> Value {
    serde_json::from_str(&std::fs::read_to_string(demo()).unwrap()).unwrap()
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

#[test]
fn json_output_follows_the_contract() {
    let (_, v) = scan_json(&demo(), None, &[]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["evaluations", "plans"]);
    for e in v["evaluations"].as_array().unwrap() {
        // `resourceName` only where the resource has a name other than its id.
        if let Some(name) = e.get("resourceName") {
            assert!(
                name.as_str().is_some_and(|n| !n.is_empty() && n != e["resourceId"]),
                "{e}"
            );
        }
        let mut k: Vec<&str> = e
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "resourceName")
            .collect();
        k.sort_unstable();
        assert_eq!(
            k,
            [
                "accountId",
                "annotation",
                "awsRegion",
                "checkId",
                "compliance",
                "plan",
                "resourceId",
                "resourceType"
            ]
        );
        assert!(["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"]
            .contains(&e["compliance"].as_str().unwrap()));
    }
    for p in v["plans"].as_array().unwrap() {
        let mut k: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        assert_eq!(
            k,
            ["accountId", "awsRegion", "blockers", "plan", "status", "unverified"]
        );
    }
    // The demo's story: prod's connector is healthy, Servers is blocked by batch-1, dev has no connector.
    assert_eq!(plan_status(&v, "111122223333", "us-east-1", "cspm"), "READY");
    assert_eq!(plan_status(&v, "111122223333", "us-east-1", "servers"), "BLOCKED");
    assert_eq!(plan_status(&v, "111122223333", "eu-south-1", "oss"), "NOT_APPLICABLE");
    assert_eq!(plan_status(&v, "444455556666", "us-west-2", "cspm"), "BLOCKED");
    let servers = v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["accountId"] == "111122223333" && p["awsRegion"] == "us-east-1" && p["plan"] == "servers")
        .unwrap();
    assert!(servers["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["checkId"] == "servers.instance-profile" && b["resourceId"] == "i-0bat000000000002"));
}

#[test]
fn gzip_and_plain_arrays_give_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let (_, plain) = scan_json(&demo(), None, &[]);
    let gz = dir.path().join("snapshot.json.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(&std::fs::read(demo()).unwrap()).unwrap();
    enc.finish().unwrap();
    let (_, from_gz) = scan_json(&gz, None, &[]);
    assert_eq!(plain, from_gz);
    // The same items as a plain array: not a complete recording, so what the snapshot decided
    // from a resource's absence is INSUFFICIENT_DATA there; everything else is the same.
    let array = write_json(dir.path(), "items.json", &demo_items()["configurationItems"]);
    let (_, from_array) = scan_json(&array, None, &[]);
    let by_key = |v: &Value| -> std::collections::BTreeMap<String, String> {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    format!("{} {} {}", e["resourceType"], e["resourceId"], e["checkId"]),
                    e["compliance"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (snapshot, array) = (by_key(&plain), by_key(&from_array));
    assert_eq!(snapshot.keys().collect::<Vec<_>>(), array.keys().collect::<Vec<_>>());
    for (k, c) in &array {
        assert!(
            c == &snapshot[k] || c == "INSUFFICIENT_DATA",
            "{k}: {c} from the array, {} from the snapshot",
            snapshot[k]
        );
    }
}

#[test]
fn second_scan_reports_what_changed_and_an_unchanged_rescan_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (_, first) = scan_json(&demo(), Some(&db), &[]);
    assert!(first["changes"]["since"].is_null());
    let n = first["evaluations"].as_array().unwrap().len();
    assert_eq!(
        first["changes"]["transitions"].as_array().unwrap().len(),
        n,
        "first scan: every result is new"
    );

    let (_, again) = scan_json(&demo(), Some(&db), &[]);
    assert!(again["changes"]["since"].is_string());
    assert_eq!(again["changes"]["transitions"].as_array().unwrap().len(), 0);
    assert_eq!(again["changes"]["planTransitions"].as_array().unwrap().len(), 0);

    // batch-1 gets an instance profile (newer capture); legacy-build is deleted.
    let mut snap = demo_items();
    let items = snap["configurationItems"].as_array_mut().unwrap();
    items.retain(|i| i["resourceId"] != "i-0old000000000004");
    let batch = items
        .iter_mut()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap();
    batch["configuration"]["iamInstanceProfile"] =
        serde_json::json!({"arn": "arn:aws:iam::111122223333:instance-profile/web-ssm", "id": "AIPAX"});
    batch["configurationItemCaptureTime"] = "2026-11-21T09:00:00.000Z".into();
    let changed = write_json(dir.path(), "changed.json", &snap);
    let (_, third) = scan_json(&changed, Some(&db), &[]);
    let tr = third["changes"]["transitions"].as_array().unwrap();
    assert!(tr.iter().any(|t| t["checkId"] == "servers.instance-profile"
        && t["resourceId"] == "i-0bat000000000002"
        && t["previous"] == "NON_COMPLIANT"
        && t["current"] == "COMPLIANT"));
    assert!(tr
        .iter()
        .any(|t| t["resourceId"] == "i-0old000000000004" && t["current"].is_null()));
    // Nothing blocks Servers any more, but a snapshot cannot show every instance's SSM agent:
    // UNVERIFIED, never READY, with what could not be verified.
    let pt = third["changes"]["planTransitions"].as_array().unwrap();
    assert!(
        pt.iter()
            .any(|t| t["plan"] == "servers" && t["previous"] == "BLOCKED" && t["current"] == "UNVERIFIED"),
        "{pt:?}"
    );
    let servers = third["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == "servers" && p["awsRegion"] == "us-east-1" && p["accountId"] == "111122223333")
        .unwrap();
    assert!(
        servers["unverified"].as_array().unwrap().iter().any(|u| u
            .as_str()
            .unwrap()
            .starts_with("servers.ssm-agent-online AWS::EC2::Instance i-0bat000000000002: ")),
        "{servers}"
    );

    // The database is a real SQLite file a user can query.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM evaluations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as usize, third["evaluations"].as_array().unwrap().len());
    let scans: i64 = conn.query_row("SELECT COUNT(*) FROM scans", [], |r| r.get(0)).unwrap();
    assert_eq!(scans, 3);

    // Rescanning the older snapshot does not roll the newer state back.
    let (_, stale) = scan_json(&demo(), Some(&db), &[]);
    assert!(stale["changes"]["stale"].as_u64().unwrap() > 0);
    let still: String = conn
        .query_row(
            "SELECT compliance FROM evaluations WHERE resource_id = 'i-0bat000000000002' AND check_id = 'servers.instance-profile'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(still, "COMPLIANT");
}

#[test]
fn text_report_shows_plans_blockers_and_fixes() {
    let o = run(&[
        "scan",
        demo().to_str().unwrap(),
        "--settings",
        demo_settings().to_str().unwrap(),
        "--no-store",
        "--color",
        "never",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "Account 111122223333",
        "BLOCKED",
        "READY",
        "servers.instance-profile",
        "i-0bat000000000002",
        "fix servers.instance-profile:",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains('\u{1b}'), "--color never must not emit escapes");
    // A region's plans that do not apply share one line (17 regions of an organization would
    // otherwise print 68 lines of NOT_APPLICABLE).
    assert!(
        out.contains("  eu-south-1\n    ✔ cspm        READY           Connector / Defender CSPM\n    – not applicable: servers, sql, containers, oss\n"),
        "{out}"
    );
    assert!(!out.contains("NOT_APPLICABLE  Defender for"), "{out}");
    let o = run(&["scan", demo().to_str().unwrap(), "--no-store", "--color", "always"]);
    assert!(stdout(&o).contains('\u{1b}'));
}

#[test]
fn fail_on_blocked_sets_the_exit_status() {
    let o = run(&["scan", demo().to_str().unwrap(), "--no-store", "--fail-on-blocked"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["scan", "--snapshot", demo().to_str().unwrap(), "--no-store"]);
    assert_eq!(o.status.code(), Some(0));
    // cspm of 111122223333 is UNVERIFIED with default settings (undeclared facts), not BLOCKED:
    // --fail-on-blocked passes it, --fail-on-unverified does not.
    let only = ["--account", "111122223333", "--plan", "cspm"];
    let o = run(&[
        &["scan", demo().to_str().unwrap(), "--no-store", "--fail-on-blocked"],
        &only[..],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(0));
    let o = run(&[
        &["scan", demo().to_str().unwrap(), "--no-store", "--fail-on-unverified"],
        &only[..],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_input_fails_with_a_message_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let db_s = db.to_str().unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &std::fs::read(demo()).unwrap()[..5000]).unwrap();
    let o = run(&["scan", truncated.to_str().unwrap(), "--db", db_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("truncated.json: invalid JSON"), "{}", stderr(&o));

    let mut snap = demo_items();
    snap["configurationItems"][3]["configuration"]["attachedManagedPolicies"] = "not a list".into();
    let bad = write_json(dir.path(), "bad.json", &snap);
    let o = run(&["scan", bad.to_str().unwrap(), "--db", db_s]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("configuration item #3 at line 1 (AWS::IAM::Role")
            && err.contains("configuration.attachedManagedPolicies")
            && err.contains("invalid type: string, expected a list"),
        "{err}"
    );
    // Nothing was recorded by the failed scans.
    assert!(
        !db.exists()
            || rusqlite::Connection::open(&db)
                .unwrap()
                .query_row("SELECT COUNT(*) FROM scans", [], |r| r.get::<_, i64>(0))
                .unwrap()
                == 0
    );

    // --keep-going evaluates the rest and lists the bad item.
    let (_, v) = scan_json(&bad, None, &["--keep-going"]);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].as_str().unwrap().contains("#3"));

    let missing = run(&["scan", dir.path().join("nope.json").to_str().unwrap(), "--no-store"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("nope.json"));

    let settings = dir.path().join("s.toml");
    std::fs::write(&settings, "plans = [\"servers\"]\nconector_regions = []\n").unwrap();
    let o = run(&[
        "scan",
        demo().to_str().unwrap(),
        "--no-store",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("conector_regions"), "{}", stderr(&o));
}

#[test]
fn unknown_types_are_ignored_and_unrecorded_items_are_not_applicable() {
    let dir = tempfile::tempdir().unwrap();
    let items = serde_json::json!([
        {"awsAccountId": "1", "awsRegion": "us-east-1", "resourceType": "AWS::Foo::Bar", "resourceId": "x", "configuration": {"weird": [1, 2]}},
        {"awsAccountId": "1", "awsRegion": "us-east-1", "resourceType": "AWS::EC2::Instance", "resourceId": "i-1",
         "configurationItemStatus": "ResourceDeleted", "configuration": null}
    ]);
    let f = write_json(dir.path(), "odd.json", &items);
    let (_, v) = scan_json(&f, None, &[]);
    let evals = v["evaluations"].as_array().unwrap();
    assert!(evals.iter().all(|e| e["resourceId"] != "x"));
    let deleted: Vec<&Value> = evals.iter().filter(|e| e["resourceId"] == "i-1").collect();
    assert!(!deleted.is_empty() && deleted.iter().all(|e| e["compliance"] == "NOT_APPLICABLE"));
}

#[test]
fn checks_and_settings_commands() {
    let o = run(&["checks", "--format", "json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checks"].as_array().unwrap().len(), shared::domain::checks::ALL.len());
    let o = run(&["settings"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("cspm_monitor = \"CspmMonitorAws\""), "{text}");
    // Every key has its comment line right above it; the declared facts are listed, commented.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let is_key = l.contains(" = ") && !l.starts_with([' ', '#', '"', ']']);
        if is_key || l.starts_with('[') {
            assert!(i > 0 && lines[i - 1].starts_with("# "), "no comment above `{l}`");
        }
    }
    assert!(text.contains("\n# sensor_egress_allowed = true\n"), "{text}");
    // The printed defaults are themselves a valid settings file.
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("defaults.toml");
    std::fs::write(&s, text).unwrap();
    let o = run(&[
        "scan",
        demo().to_str().unwrap(),
        "--no-store",
        "--settings",
        s.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_readme_check_table_is_the_registry() {
    let out = run(&["checks", "--format", "md"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 2 + shared::domain::checks::ALL.len());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find("| id | plan | reports on | what it checks |")
        .expect("docs/checks.md has the check table");
    let in_readme: Vec<&str> = readme[start..].lines().take_while(|l| l.starts_with('|')).collect();
    if std::env::var_os("BLESS").is_some() {
        // Rewrite the README's table from the registry (after adding or changing a check).
        let end = start + in_readme.iter().map(|l| l.len() + 1).sum::<usize>();
        std::fs::write(&path, format!("{}{}{}", &readme[..start], table, &readme[end..])).unwrap();
        return;
    }
    assert_eq!(
        in_readme,
        table.lines().collect::<Vec<_>>(),
        "docs/checks.md's check table differs from the registry: BLESS=1 cargo test -p defender-prereqs-cli --test scan readme"
    );
}

/// The user's documents: every relative link reaches a file, and a heading where it names one
/// (GitHub's anchors); every count of checks in prose is the registry's.
#[test]
fn the_documents_links_resolve_and_their_counts_are_the_registry() {
    fn slug(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    }
    fn prose(text: &str) -> Vec<&str> {
        let mut fence = false;
        text.lines()
            .filter(|l| {
                if l.starts_with("```") {
                    fence = !fence;
                    return false;
                }
                !fence
            })
            .collect()
    }
    let mut documents = vec![
        root().join("README.md"),
        root().join("ARCHITECTURE.md"),
        root().join("bench/README.md"),
    ];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        documents.push(entry.unwrap().path());
    }
    let anchors = |path: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        prose(&text)
            .into_iter()
            .filter_map(|l| l.strip_prefix('#'))
            .map(|l| slug(l.trim_start_matches('#')))
            .collect()
    };
    let aws_checks = shared::domain::checks::ALL
        .iter()
        .filter(|c| !c.id.starts_with("azure."))
        .count();
    let mut problems = Vec::new();
    for doc in &documents {
        let text = std::fs::read_to_string(doc).unwrap();
        let name = doc.strip_prefix(root()).unwrap_or(doc).display().to_string();
        for line in prose(&text) {
            let mut rest = line;
            while let Some(at) = rest.find("](") {
                let after = &rest[at + 2..];
                let Some(end) = after.find(')') else { break };
                let target = &after[..end];
                rest = &after[end..];
                if target.starts_with("http") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let file = if file.is_empty() {
                    doc.clone()
                } else {
                    doc.parent().unwrap().join(file)
                };
                if !file.exists() {
                    problems.push(format!("{name}: {target}: no such file"));
                } else if !anchor.is_empty() && !anchors(&file).iter().any(|a| a == anchor) {
                    problems.push(format!("{name}: {target}: no such heading"));
                }
            }
            for (pattern, expected) in [
                (" prerequisite checks", shared::domain::checks::ALL.len()),
                (" AWS checks", aws_checks),
            ] {
                let mut rest = line;
                while let Some(at) = rest.find(pattern) {
                    let digits: String = rest[..at]
                        .chars()
                        .rev()
                        .take_while(|c| c.is_ascii_digit())
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    if let Ok(n) = digits.parse::<usize>() {
                        if n != expected {
                            problems.push(format!("{name}: \"{n}{pattern}\": the registry has {expected}"));
                        }
                    }
                    rest = &rest[at + pattern.len()..];
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_region_that_records_no_iam_is_unverified_not_ready() {
    // The same account as a snapshot of a region whose recorder records no global types.
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    snap["configurationItems"]
        .as_array_mut()
        .unwrap()
        .retain(|i| !i["resourceType"].as_str().unwrap().starts_with("AWS::IAM::"));
    let path = write_json(dir.path(), "no-iam.json", &snap);
    let (_, v) = scan_json(&path, None, &[]);
    assert_eq!(plan_status(&v, "111122223333", "us-east-1", "cspm"), "UNVERIFIED");
    let cspm = v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == "cspm" && p["accountId"] == "111122223333" && p["awsRegion"] == "us-east-1")
        .unwrap();
    assert!(
        cspm["unverified"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("cspm.monitor-role") && u.as_str().unwrap().contains("not verified")),
        "{cspm}"
    );
    let text = run(&[
        "scan",
        path.to_str().unwrap(),
        "--no-store",
        "--color",
        "never",
        "--settings",
        demo_settings().to_str().unwrap(),
    ]);
    let out = stdout(&text);
    assert!(out.contains("cspm        UNVERIFIED"), "{out}");
    assert!(!out.contains("cspm        READY"), "{out}");
}

#[test]
fn an_unreadable_inventory_skipped_with_keep_going_does_not_hide_a_sql_host() {
    // A BYOL SQL Server host: only its SSM inventory shows SQL Server, and that item is unreadable.
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    for i in snap["configurationItems"].as_array_mut().unwrap() {
        if i["resourceId"] == "i-0sql000000000003" {
            if i["resourceType"] == "AWS::EC2::Instance" {
                i["configuration"]["platformDetails"] = "Windows".into();
            } else {
                i["configuration"]["AWS:Application"]["Content"] = "not an inventory".into();
            }
        }
    }
    let path = write_json(dir.path(), "bad-inventory.json", &snap);
    let (_, v) = scan_json(&path, None, &["--keep-going"]);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{}", v["errors"]);
    let target = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["checkId"] == "sql.target" && e["resourceId"] == "i-0sql000000000003")
        .unwrap();
    assert_eq!(target["compliance"], "INSUFFICIENT_DATA", "{target}");
    assert!(
        target["annotation"].as_str().unwrap().contains("could not be read"),
        "{target}"
    );
}

#[test]
fn absence_in_a_partial_input_is_not_evidence() {
    // A JSON array: one instance and three IAM roles that have nothing to do with it.
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_items();
    let all = demo["configurationItems"].as_array().unwrap();
    let instance = all
        .iter()
        .find(|i| i["resourceId"] == "i-0web000000000001" && i["resourceType"] == "AWS::EC2::Instance")
        .unwrap()
        .clone();
    // batch-role, and two more like it under other names: none is a connector role or the
    // instance's.
    let batch = all.iter().find(|i| i["resourceName"] == "batch-role").unwrap();
    let roles: Vec<Value> = (0..3)
        .map(|n| {
            let mut r = batch.clone();
            if n > 0 {
                let name = format!("unrelated-{n}");
                r["resourceName"] = name.clone().into();
                r["resourceId"] = format!("AROAUNRELATED{n}").into();
                r["configuration"]["roleName"] = name.into();
                r["configuration"]["instanceProfileList"] = Value::Array(Vec::new());
            }
            r
        })
        .collect();
    let mut items = vec![instance];
    items.extend(roles);
    let path = write_json(dir.path(), "partial.json", &Value::Array(items));
    let (_, v) = scan_json(&path, None, &[]);
    let result = |id: &str, check: &str| {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resourceId"] == id && e["checkId"] == check)
            .map(|e| {
                (
                    e["compliance"].as_str().unwrap().to_owned(),
                    e["annotation"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap()
    };
    let (c, why) = result("i-0web000000000001", "servers.ssm-core-policy");
    assert_eq!(c, "INSUFFICIENT_DATA", "{why}");
    let (c, why) = result("111122223333", "cspm.monitor-role");
    assert_eq!(c, "INSUFFICIENT_DATA", "{why}");
    let (c, why) = result("i-0web000000000001", "servers.ssm-network");
    assert_ne!(c, "NON_COMPLIANT", "{why}");
    // The same items in a snapshot file (a complete recording) decide it.
    let full = write_json(dir.path(), "full.json", &demo);
    let (_, v) = scan_json(&full, None, &[]);
    let monitor = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resourceId"] == "111122223333" && e["checkId"] == "cspm.monitor-role")
        .unwrap();
    assert_ne!(monitor["compliance"], "INSUFFICIENT_DATA", "{monitor}");
}

#[test]
fn declared_recorded_types_make_absence_in_a_snapshot_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    snap["configurationItems"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["resourceType"] != "AWS::EC2::VPCEndpoint");
    let path = write_json(dir.path(), "no-endpoints.json", &snap);
    let ssm_network = |v: &Value| {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resourceId"] == "i-0sql000000000003" && e["checkId"] == "servers.ssm-network")
            .map(|e| e["compliance"].as_str().unwrap().to_owned())
            .unwrap()
    };
    // The snapshot holds no endpoint: whether the VPC has any is not known.
    let (_, v) = scan_json(&path, None, &[]);
    assert_eq!(ssm_network(&v), "INSUFFICIENT_DATA");
    // The recorder records endpoints (declared): there are none.
    let settings = dir.path().join("settings.toml");
    let demo = std::fs::read_to_string(demo_settings()).unwrap();
    std::fs::write(
        &settings,
        format!("recorded_types = [\"AWS::EC2::VPCEndpoint\"]\n{demo}"),
    )
    .unwrap();
    let o = run(&[
        "scan",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--no-store",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ssm_network(&v), "NON_COMPLIANT");
    // A type no check reads is refused, by name.
    std::fs::write(
        &settings,
        format!("recorded_types = [\"AWS::EC2::VPCEndpiont\"]\n{demo}"),
    )
    .unwrap();
    let o = run(&[
        "scan",
        path.to_str().unwrap(),
        "--no-store",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("VPCEndpiont"), "{}", stderr(&o));
}

/// The demo snapshot of account 111122223333 as AWS Config delivers it: one snapshot file per
/// region, named as the delivery channel names them, IAM (global) in the us-east-1 file.
fn per_region_snapshots(dir: &Path, stamp: &str, keep: impl Fn(&Value) -> bool) -> Vec<PathBuf> {
    let snap = demo_items();
    let items = snap["configurationItems"].as_array().unwrap();
    ["us-east-1", "eu-west-1", "eu-south-1"]
        .iter()
        .map(|region| {
            let mine: Vec<Value> = items
                .iter()
                .filter(|i| i["awsAccountId"] == "111122223333")
                .filter(|i| i["awsRegion"] == *region || (*region == "us-east-1" && i["awsRegion"] == "global"))
                .filter(|i| keep(i))
                .cloned()
                .collect();
            let doc = serde_json::json!({
                "fileVersion": "1.0", "configSnapshotId": format!("{region}-{stamp}"), "configurationItems": mine
            });
            write_json(
                dir,
                &format!("111122223333_Config_{region}_ConfigSnapshot_{stamp}_{region}.json"),
                &doc,
            )
        })
        .collect()
}

fn compliance_by_key(v: &Value) -> std::collections::BTreeMap<String, String> {
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!(
                    "{} {} {} {}",
                    e["awsRegion"], e["resourceType"], e["resourceId"], e["checkId"]
                ),
                format!("{} {}", e["compliance"], e["annotation"]),
            )
        })
        .collect()
}

fn scan_many(files: &[&Path], db: Option<&Path>) -> Value {
    let settings = demo_settings();
    let mut args: Vec<String> = vec!["scan".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["--format", "json", "--settings"].map(String::from));
    args.push(settings.display().to_string());
    match db {
        Some(db) => args.extend(["--db".to_owned(), db.display().to_string()]),
        None => args.push("--no-store".into()),
    }
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "scan failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn per_region_snapshots_merge_in_any_order_and_never_wipe_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let files = per_region_snapshots(dir.path(), "20261120T090000Z", |_| true);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    // All regions in one scan: the reference.
    let together = scan_many(&refs, None);
    let expected = compliance_by_key(&together);
    assert!(
        expected.keys().any(|k| k.starts_with("\"eu-south-1\""))
            && expected.keys().any(|k| k.starts_with("\"us-east-1\""))
    );

    // One region per scan into one store, in both orders: the last scan shows every region,
    // each result as in the reference (the roles of us-east-1's file serve the other regions).
    for order in [[0, 1, 2], [2, 1, 0]] {
        let db = dir.path().join(format!("state-{}.db", order[0]));
        let mut last = Value::Null;
        for i in order {
            last = scan_many(&[&files[i]], Some(&db));
        }
        assert_eq!(compliance_by_key(&last), expected, "order {order:?}");
        assert_eq!(last["plans"], together["plans"], "order {order:?}");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM evaluations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows as usize, expected.len());
    }

    // A directory of them, and one of them on standard input.
    let from_dir = scan_many(&[dir.path()], None);
    assert_eq!(compliance_by_key(&from_dir), expected);
    let mut child = Command::new(BIN)
        .args(["scan", "-", "--format", "json", "--no-store"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&files[1]).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["resourceType"] == "AWS::CloudFormation::Stack"));
}

#[test]
fn an_older_snapshot_never_brings_back_what_a_newer_one_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let old_dir = dir.path().join("old");
    let new_dir = dir.path().join("new");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::create_dir_all(&new_dir).unwrap();
    let old = per_region_snapshots(&old_dir, "20261120T090000Z", |_| true);
    let new = per_region_snapshots(&new_dir, "20261121T090000Z", |i| {
        i["resourceId"] != "i-0old000000000004"
    });
    let db = dir.path().join("state.db");
    let newest = scan_many(&[&new[0]], Some(&db));
    let gone = |v: &Value| {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resourceId"] != "i-0old000000000004")
    };
    assert!(gone(&newest));
    // The older snapshot again, alone and then with the newer one: the instance stays deleted,
    // nothing is reported new, and the state is the newer snapshot's.
    let again = scan_many(&[&old[0]], Some(&db));
    assert!(gone(&again), "the older snapshot brought the deleted instance back");
    assert!(again["changes"]["stale"].as_u64().unwrap() > 0);
    assert_eq!(again["changes"]["transitions"].as_array().unwrap().len(), 0);
    assert_eq!(compliance_by_key(&again), compliance_by_key(&newest));
    let both = scan_many(&[&new[0], &old[0]], None);
    assert!(gone(&both));
    assert_eq!(compliance_by_key(&both), compliance_by_key(&newest));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tombstone: (i64, String) = conn
        .query_row(
            "SELECT deleted, capture_time FROM items WHERE resource_id = 'i-0old000000000004'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(tombstone, (1, "2026-11-21T09:00:00.000Z".to_owned()));

    // Every blocker a plan row names is a recorded NON_COMPLIANT result.
    let mut stmt = conn.prepare("SELECT account_id, blockers FROM plan_status").unwrap();
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut cited = 0;
    for (account, blockers) in rows {
        for b in serde_json::from_str::<Vec<Value>>(&blockers).unwrap() {
            if b["kind"] != "check" {
                continue;
            }
            let c: String = conn
                .query_row(
                    "SELECT compliance FROM evaluations WHERE account_id = ?1 AND resource_type = ?2
                     AND resource_id = ?3 AND check_id = ?4",
                    [
                        account.as_str(),
                        b["resourceType"].as_str().unwrap(),
                        b["resourceId"].as_str().unwrap(),
                        b["checkId"].as_str().unwrap(),
                    ],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(c, "NON_COMPLIANT", "{b}");
            cited += 1;
        }
    }
    assert!(cited > 0);
}

/// The demo snapshot plus `n` running instances without an instance profile.
fn large_snapshot(dir: &Path, n: usize) -> PathBuf {
    let mut snap = demo_items();
    let items = snap["configurationItems"].as_array_mut().unwrap();
    let template = items
        .iter()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap()
        .clone();
    for k in 0..n {
        let mut i = template.clone();
        let id = format!("i-0fleet{k:09}");
        i["resourceId"] = id.clone().into();
        i["configuration"]["instanceId"] = id.into();
        items.push(i);
    }
    write_json(dir, "large.json", &snap)
}

#[test]
fn large_outputs_are_summarised_filtered_and_exported_as_streams() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_snapshot(dir.path(), 120);
    let settings = demo_settings();
    let (file, settings) = (large.to_str().unwrap(), settings.to_str().unwrap());
    let text = |extra: &[&str]| {
        let mut args = vec!["scan", file, "--settings", settings, "--no-store", "--color", "never"];
        args.extend(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    // Large: a summary by default, with the top blocker counted per distinct resource.
    let summary = text(&[]);
    assert!(
        summary.contains("Summary:") && summary.contains("Where to look next:"),
        "{summary}"
    );
    let top = summary
        .lines()
        .find(|l| l.trim_start().starts_with("servers.instance-profile"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(top.contains("121 resources in 1 account"), "{top}");
    assert!(summary.lines().count() < 80, "{} lines", summary.lines().count());
    let full = text(&["--full"]);
    assert!(!full.contains("Summary:"));
    assert!(full.matches("servers.instance-profile AWS::EC2::Instance").count() >= 121);
    // Small: the full report unless asked.
    let (_, small) = (text(&[]), run(&["scan", demo().to_str().unwrap(), "--no-store"]));
    assert!(!stdout(&small).contains("Summary:"));

    // Filters apply to every format; the streams hold exactly the filtered evaluations.
    let filter = ["--plan", "servers", "--only", "non-compliant", "--region", "us-east-1"];
    let mut json_args = vec!["--format", "json"];
    json_args.extend(filter);
    let v: Value = serde_json::from_str(&text(&json_args)).unwrap();
    let evals = v["evaluations"].as_array().unwrap();
    assert!(evals.len() > 240, "{}", evals.len());
    assert!(evals
        .iter()
        .all(|e| e["plan"] == "servers" && e["compliance"] == "NON_COMPLIANT"));
    assert!(v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["plan"] == "servers" && p["awsRegion"] == "us-east-1"));
    let mut jsonl_args = vec!["--format", "jsonl"];
    jsonl_args.extend(filter);
    let lines: Vec<Value> = text(&jsonl_args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, evals);
    let mut csv_args = vec!["--format", "csv"];
    csv_args.extend(filter);
    let csv = text(&csv_args);
    assert_eq!(
        csv.lines().next(),
        Some("accountId,awsRegion,plan,checkId,resourceType,resourceId,compliance,annotation")
    );
    assert_eq!(csv.lines().count(), evals.len() + 1);
    assert!(csv.contains("i-0fleet000000119,NON_COMPLIANT"), "{csv}");
    let blocked = text(&["--status", "ready", "--format", "json"]);
    let v: Value = serde_json::from_str(&blocked).unwrap();
    assert!(v["plans"].as_array().unwrap().iter().all(|p| p["status"] == "READY"));
}

#[test]
fn checks_text_lists_triggers_permissions_and_fix_of_every_check() {
    let text = stdout(&run(&["checks"]));
    let v: Value = serde_json::from_slice(&run(&["checks", "--format", "json"]).stdout).unwrap();
    for c in v["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let block = text
            .split("\n\n")
            .find(|b| b.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing"));
        assert!(block.contains("    triggers     "), "{block}");
        assert!(
            block.contains(&format!("    fix          {}", c["remediation"].as_str().unwrap())),
            "{block}"
        );
        for p in c["permissions"].as_array().unwrap() {
            assert!(block.contains(p.as_str().unwrap()), "{id}: {p}");
        }
    }
}

fn gzip_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    gz.write_all(v.to_string().as_bytes()).unwrap();
    gz.finish().unwrap();
}

/// A synced AWS Config bucket, laid out and named as the delivery channel writes it (AWS Config
/// developer guide, "Example Configuration History Delivery Notification" and "Example
/// Configuration Snapshot Delivery Notification": `AWSLogs/<account>/Config/<region>/<y>/<m>/<d>/
/// ConfigHistory/<account>_Config_<region>_ConfigHistory_<type>_<start>_<end>_<n>.json.gz`; a
/// history file is `{"fileVersion", "configurationItems"}` without a `configSnapshotId`), with the
/// writability check file AWS Config leaves at `AWSLogs/<account>/Config/`.
#[test]
fn a_config_bucket_is_read_as_aws_config_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    let config = bucket.join("AWSLogs/111122223333/Config");
    let items = demo_items()["configurationItems"].as_array().unwrap().clone();
    let east: Vec<Value> = items
        .iter()
        .filter(|i| i["awsAccountId"] == "111122223333")
        .filter(|i| i["awsRegion"] == "us-east-1" || i["awsRegion"] == "global")
        .cloned()
        .collect();
    let snapshot = |stamp: &str| json!({"fileVersion": "1.0", "configSnapshotId": stamp, "configurationItems": east});
    for (day, stamp) in [("20", "20261120T090000Z"), ("21", "20261121T090000Z")] {
        gzip_json(
            &config.join(format!(
                "us-east-1/2026/11/{day}/ConfigSnapshot/111122223333_Config_us-east-1_ConfigSnapshot_{stamp}_a1b2.json.gz"
            )),
            &snapshot(stamp),
        );
    }
    // One of the region's two EKS clusters changed after the newest snapshot: its history file
    // holds that cluster only. Another history file ended before that snapshot.
    let mut cluster = items.iter().find(|i| i["resourceId"] == "prod-apps").unwrap().clone();
    cluster["configurationItemCaptureTime"] = json!("2026-11-21T10:00:00.000Z");
    let history = json!({"fileVersion": "1.0", "configurationItems": [cluster]});
    let history_path = config.join(
        "us-east-1/2026/11/21/ConfigHistory/111122223333_Config_us-east-1_ConfigHistory_AWS::EKS::Cluster_20261121T100000Z_20261121T100000Z_1.json.gz",
    );
    gzip_json(&history_path, &history);
    gzip_json(
        &config.join("us-east-1/2026/11/20/ConfigHistory/111122223333_Config_us-east-1_ConfigHistory_AWS::EKS::Cluster_20261120T100000Z_20261120T110000Z_1.json.gz"),
        &json!({"fileVersion": "1.0", "configurationItems": []}),
    );
    std::fs::write(config.join("ConfigWritabilityCheckFile"), "").unwrap();

    // The reference: the newest snapshot alone.
    let newest = config.join(
        "us-east-1/2026/11/21/ConfigSnapshot/111122223333_Config_us-east-1_ConfigSnapshot_20261121T090000Z_a1b2.json.gz",
    );
    let (_, reference) = scan_json(&newest, None, &[]);
    let non_compliant = |v: &Value| {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["compliance"] == "NON_COMPLIANT")
            .count()
    };
    let clusters = |v: &Value| -> std::collections::BTreeSet<String> {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resourceType"] == "AWS::EKS::Cluster")
            .map(|e| e["resourceId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(clusters(&reference).len(), 2);

    // The bucket as a directory: the newest snapshot plus the later history file.
    let (_, whole) = scan_json(&bucket, None, &[]);
    assert_eq!(compliance_by_key(&whole), compliance_by_key(&reference));
    let notes = whole["notes"].to_string();
    for said in [
        "skipped 1 ConfigWritabilityCheckFile",
        "skipped 1 older AWS Config snapshot(s) of account 111122223333 in us-east-1",
        "skipped 1 AWS Config history file(s)",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }

    // The history file after the snapshot, in a later scan of the same store, or alone: partial,
    // so the other cluster of the region is still there.
    let db = dir.path().join("state.db");
    let (_, first) = scan_json(&newest, Some(&db), &[]);
    let (o, later) = scan_json(&history_path, Some(&db), &[]);
    assert_eq!(clusters(&later), clusters(&reference), "{}", stderr(&o));
    assert_eq!(non_compliant(&later), non_compliant(&first));
    assert_eq!(later["changes"]["transitions"].as_array().unwrap().len(), 0);
    let text = stdout(&run(&["scan", history_path.to_str().unwrap(), "--no-store"]));
    assert!(
        text.contains("complete recordings: none"),
        "a history file taken as a recording of its region: {text}"
    );
}

/// A directory that links to itself or to its parent is read once, and finishes.
#[test]
fn directory_links_are_followed_once() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("a");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::copy(demo(), inner.join("snapshot.json")).unwrap();
    std::os::unix::fs::symlink(&inner, inner.join("self")).unwrap();
    std::os::unix::fs::symlink(dir.path(), inner.join("up")).unwrap();
    std::os::unix::fs::symlink(inner.join("snapshot.json"), dir.path().join("again.json")).unwrap();
    // Two links that lead back up made the walk endless: a deadline, not a hang.
    let mut child = Command::new(BIN)
        .args(["scan", dir.path().to_str().unwrap(), "--no-store"])
        .env_remove("DEFENDER_PREREQS_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the scan of a directory with looping links did not finish in 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = stdout(&child.wait_with_output().unwrap());
    // Three names, one file: read once (the header names the one input, not "N inputs").
    assert!(
        text.lines().next().unwrap().contains("snapshot.json (snapshot"),
        "{text}"
    );
    let (_, v) = scan_json(dir.path(), None, &[]);
    let (_, one) = scan_json(&demo(), None, &[]);
    assert_eq!(
        v["evaluations"].as_array().unwrap().len(),
        one["evaluations"].as_array().unwrap().len()
    );
    assert_eq!(compliance_by_key(&v), compliance_by_key(&one));
}

/// A gzip bomb (4 MB that inflate past the 4 GiB input limit) is refused in bounded memory: it
/// used to be inflated into memory up to the limit first (4.2 GB resident for an 18.8 MB file).
#[test]
fn a_gzip_bomb_is_refused_without_inflating_it_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.json.gz");
    // One gzip member of 1 MiB of spaces, repeated: `MultiGzDecoder` reads the members one after
    // the other, as gzip(1) does.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 1 << 20]).unwrap();
    let member = gz.finish().unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&bomb).unwrap());
    for _ in 0..4097 {
        file.write_all(&member).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let mut child = Command::new(BIN)
        .args(["scan", bomb.to_str().unwrap(), "--no-store"])
        .env_remove("DEFENDER_PREREQS_DB")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak_kb = 0;
    while child.try_wait().unwrap().is_none() {
        peak_kb = peak_kb.max(integration_tests::lambda::peak_rss_kb(child.id()).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than 4294967296 bytes (after inflating)"), "{err}");
    assert!(
        peak_kb < 256 * 1024,
        "refusing a bomb took {} MB resident",
        peak_kb / 1024
    );
}

/// The store holds the accounts' configuration: its directory and files are its owner's only,
/// whatever the umask.
#[test]
fn the_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new/dir/state.db");
    let (o, _) = scan_json(&demo(), Some(&db), &[]);
    assert!(o.status.success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    for f in std::fs::read_dir(db.parent().unwrap()).unwrap() {
        let f = f.unwrap().path();
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

/// Resource ids and tags come from the accounts scanned: in the text report they cannot reach the
/// terminal as escape sequences (retitle it, clear it, forge a line), and in CSV a `;` cannot
/// split a formula into its own cell in a semicolon-locale spreadsheet.
#[test]
fn hostile_resource_ids_are_escaped_in_text_and_quoted_in_csv() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    let hostile = "i-0web\u{1b}]0;owned\u{7}\u{1b}[2J\r\nCOMPLIANT;=HYPERLINK(\"http://x\")";
    for i in snap["configurationItems"].as_array_mut().unwrap() {
        if i["resourceId"] == "i-0bat000000000002" {
            i["resourceId"] = json!(hostile);
        }
    }
    let file = write_json(dir.path(), "hostile.json", &snap);
    let settings = demo_settings();
    let base = [
        "scan",
        file.to_str().unwrap(),
        "--no-store",
        "--settings",
        settings.to_str().unwrap(),
    ];
    let text = run(&[&base[..], &["--full", "--verbose"]].concat());
    assert!(text.status.success(), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(
        out.contains("i-0web\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}\\u{a}COMPLIANT"),
        "{out}"
    );
    assert!(!out.bytes().any(|b| b == 0x1b || b == 0x07 || b == b'\r'), "{out}");
    let csv = stdout(&run(&[&base[..], &["--format", "csv"]].concat()));
    // One quoted field from its start to its end (its line break included, as RFC 4180 allows).
    assert!(
        csv.contains(",\"i-0web\u{1b}]0;owned")
            && csv.contains("\nCOMPLIANT;=HYPERLINK(\"\"http://x\"\")\",COMPLIANT,"),
        "{csv}"
    );
}

/// Verdicts that read the same facts agree: a declared fact applies to every check that reads it
/// (facts.arc_egress_allowed, declared true for the demo's account, makes servers.arc-egress
/// COMPLIANT; sql.egress on the same SQL host cannot then be NON_COMPLIANT "for want of a route"),
/// and scope follows membership (an RDS instance of a Multi-AZ DB cluster, which the plan does not
/// support, is out of scope with its cluster, not in scope on its own engine).
#[test]
fn checks_that_read_the_same_facts_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    let items = snap["configurationItems"].as_array_mut().unwrap();
    let mut cluster = items
        .iter()
        .find(|i| i["resourceType"] == "AWS::RDS::DBCluster")
        .unwrap()
        .clone();
    cluster["resourceId"] = json!("cluster-ORDERSMAZ");
    cluster["resourceName"] = json!("orders-maz");
    cluster["configuration"]["dbclusterIdentifier"] = json!("orders-maz");
    cluster["configuration"]["engine"] = json!("postgres");
    cluster["configuration"]["dbclusterMembers"] = json!([{"dbinstanceIdentifier": "orders-pg", "isClusterWriter": true, "dbclusterParameterGroupStatus": "in-sync"}]);
    items.push(cluster);
    let orders = items.iter_mut().find(|i| i["resourceId"] == "db-ORDERSPG").unwrap();
    orders["configuration"]["dBClusterIdentifier"] = json!("orders-maz");
    let file = write_json(dir.path(), "snapshot.json", &snap);
    let (_, v) = scan_json(&file, None, &[]);
    let result = |id: &str, check: &str| -> (String, String) {
        let e = v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resourceId"] == id && e["checkId"] == check)
            .unwrap_or_else(|| panic!("no {check} on {id}"));
        (
            e["compliance"].as_str().unwrap().to_owned(),
            e["annotation"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(result("i-0sql000000000003", "servers.arc-egress").0, "COMPLIANT");
    let (c, why) = result("i-0sql000000000003", "sql.egress");
    assert_ne!(c, "NON_COMPLIANT", "{why}");
    // The cluster is out of scope, and so is its member, for every check of the plan.
    assert_eq!(result("cluster-ORDERSMAZ", "oss.multiaz-cluster").0, "NOT_APPLICABLE");
    for check in ["oss.applicable", "oss.param-in-sync", "oss.running", "oss.audit-params"] {
        let (c, why) = result("db-ORDERSPG", check);
        assert_eq!(c, "NOT_APPLICABLE", "{check}: {why}");
        assert!(why.contains("Multi-AZ DB cluster"), "{check}: {why}");
    }
}

/// What a newcomer meets: lists take commas, an unreadable input is skipped with --keep-going
/// (listed, the rest scanned), a settings file of another format is named as such, and the
/// report says how to see the unverified checks.
#[test]
fn a_newcomers_first_commands_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let settings = demo_settings();
    let demo_s = demo();
    let o = run(&[
        "scan",
        demo_s.to_str().unwrap(),
        "--no-store",
        "--plan",
        "servers,sql",
        "--format",
        "json",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let plans: std::collections::BTreeSet<&str> = v["plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["plan"].as_str())
        .collect();
    assert_eq!(plans.into_iter().collect::<Vec<_>>(), ["servers", "sql"]);

    // One good snapshot and one truncated file in a directory.
    let inputs = dir.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(demo(), inputs.join("a.json")).unwrap();
    std::fs::write(inputs.join("b.json"), "{\"configurationItems\": [").unwrap();
    let o = run(&["scan", inputs.to_str().unwrap(), "--no-store"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("b.json") && stderr(&o).contains("--keep-going"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "scan",
        inputs.to_str().unwrap(),
        "--no-store",
        "--keep-going",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["errors"].to_string().contains("b.json"), "{}", v["errors"]);
    assert!(!v["evaluations"].as_array().unwrap().is_empty());

    let yaml = dir.path().join("settings.yaml");
    std::fs::write(&yaml, "plans: [cspm]\n").unwrap();
    let o = run(&[
        "scan",
        demo_s.to_str().unwrap(),
        "--no-store",
        "--settings",
        yaml.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("settings are TOML (.toml) or JSON"),
        "{}",
        stderr(&o)
    );

    let text = stdout(&run(&["scan", demo_s.to_str().unwrap(), "--no-store", "--full"]));
    assert!(text.contains("unverified; -v lists them)"), "{text}");

    // A download cut short: named, and what to do.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(demo()).unwrap()).unwrap();
    let whole = gz.finish().unwrap();
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let o = run(&["scan", cut.to_str().unwrap(), "--no-store"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cut.json.gz: a gzip file cut short or damaged") && stderr(&o).contains("copy it again"),
        "{}",
        stderr(&o)
    );
}

/// The store can be listed and forgotten, account by account or whole: the demo's made-up
/// accounts need not stay in a user's reports.
#[test]
fn the_store_lists_and_forgets_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (o, _) = scan_json(&demo(), Some(&db), &[]);
    assert!(o.status.success());
    let db_s = db.to_str().unwrap();
    let list = stdout(&run(&["store", "list", "--db", db_s]));
    assert!(
        list.contains("111122223333  4 region(s) with a complete recording") && list.contains("444455556666"),
        "{list}"
    );
    let o = run(&["store", "forget", "444455556666", "--db", db_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&run(&["store", "list", "--db", db_s]));
    assert!(
        list.contains("111122223333") && !list.contains("444455556666"),
        "{list}"
    );
    // The next scan of the other account's file knows nothing of the forgotten one.
    let (_, again) = scan_json(&demo(), Some(&db), &[]);
    let readded = again["changes"]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["accountId"] == "444455556666")
        .count();
    assert!(readded > 0, "the forgotten account's results are new again");
    // Reset asks for --yes, then empties the store.
    let o = run(&["store", "reset", "--db", db_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--yes"));
    assert!(run(&["store", "reset", "--yes", "--db", db_s]).status.success());
    assert!(stdout(&run(&["store", "list", "--db", db_s])).contains("empty"));
}

/// An account-level blocker (a missing IAM role or OIDC provider) holds in every region: the
/// text report lists it once per account, and each region's plan line points to it, instead of
/// repeating it and its fix once per region (17 times for a full organization).
#[test]
fn account_wide_blockers_are_listed_once_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    let items = snap["configurationItems"].as_array_mut().unwrap();
    // The second account's instance in a second region too.
    let mut copies: Vec<Value> = items
        .iter()
        .filter(|i| i["awsAccountId"] == "444455556666" && i["awsRegion"] == "us-west-2")
        .cloned()
        .collect();
    for c in &mut copies {
        c["awsRegion"] = json!("eu-west-1");
        c["resourceId"] = json!(format!("{}-eu", c["resourceId"].as_str().unwrap()));
    }
    items.extend(copies);
    let file = write_json(dir.path(), "two-regions.json", &snap);
    let settings = demo_settings();
    let text = stdout(&run(&[
        "scan",
        file.to_str().unwrap(),
        "--no-store",
        "--full",
        "--settings",
        settings.to_str().unwrap(),
    ]));
    let account = text.split("\nAccount 444455556666\n").nth(1).unwrap();
    assert_eq!(
        account.matches("cspm.oidc-provider AWS::::Account").count(),
        1,
        "{account}"
    );
    assert_eq!(account.matches("fix cspm.oidc-provider").count(), 1, "{account}");
    assert!(
        account.contains("account-wide (IAM and account-level checks, every region)"),
        "{account}"
    );
    assert_eq!(
        account.matches("2 account-wide blockers, listed above").count(),
        2,
        "{account}"
    );
}

/// JUnit XML for CI test reports: well-formed (parsed here by Python's XML parser), a suite per
/// account and region, a case per plan, BLOCKED failing with its blockers.
#[test]
fn junit_output_is_one_test_per_plan() {
    let dir = tempfile::tempdir().unwrap();
    let settings = demo_settings();
    let o = run(&[
        "scan",
        demo().to_str().unwrap(),
        "--no-store",
        "--format",
        "junit",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &o.stdout).unwrap();
    let check = std::process::Command::new("python3")
        .args([
            "-c",
            r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
cases = root.findall("./testsuite/testcase")
failed = [c for c in cases if c.find("failure") is not None]
print(len(root.findall("testsuite")), len(cases), len(failed), root.get("failures"))
servers = [c for c in failed if c.get("name") == "servers" and c.get("classname") == "111122223333.us-east-1"][0]
print(servers.find("failure").text.splitlines()[0])
"#,
        ])
        .arg(&file)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let mut lines = printed.lines();
    let counts: Vec<&str> = lines.next().unwrap().split(' ').collect();
    // 4 regions, 5 plans each; the failures counted on the root agree with the cases.
    assert_eq!(counts[..2], ["4", "20"], "{printed}");
    assert_eq!(counts[2], counts[3], "{printed}");
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("servers.instance-profile AWS::EC2::Instance i-0bat000000000002: "),
        "{printed}"
    );
}

/// Accepted exceptions: marked in every output, left out of the exit status, never recorded.
#[test]
fn suppressions_are_shown_as_accepted_and_change_only_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suppressions.toml");
    std::fs::write(
        &file,
        r#"
[[suppress]]
check = "servers.*"
resource = "i-0bat000000000002"
account = "111122223333"
reason = "bastion host, replaced in Q1"
expires = 2099-12-31

[[suppress]]
check = "oss.running"
reason = "expired acceptance"
expires = 2020-01-01

[[suppress]]
account = "999999999999"
reason = "an account this scan does not hold"
expires = "2099-12-31"
"#,
    )
    .unwrap();
    let supp = file.to_str().unwrap();
    let only = ["--account", "111122223333", "--plan", "servers,sql"];
    let demo_s = demo();
    let demo_s = demo_s.to_str().unwrap();
    let settings = demo_settings();
    let settings = settings.to_str().unwrap();
    // The demo with its settings, recording nothing, shown for one account's Servers and SQL.
    let demo_run = |extra: &[&str]| {
        run(&[
            &["scan", demo_s, "--settings", settings, "--no-store"][..],
            extra,
            &only[..],
        ]
        .concat())
    };

    // Without the file the two plans are blocked; with it, their blockers are accepted.
    let o = demo_run(&["--fail-on-blocked"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = demo_run(&["--fail-on-blocked", "--suppressions", supp]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("accepted until 2099-12-31: bastion host, replaced in Q1"),
        "{text}"
    );
    assert!(text.contains("BLOCKED") && text.contains("(accepted: "), "{text}");
    // The expired entry and the one matching nothing are warned about, not applied.
    let err = stderr(&o);
    assert!(
        err.contains("warning: suppression 2 of") && err.contains("expired on 2020-01-01"),
        "{err}"
    );
    assert!(
        err.contains("suppression 3 of") && err.contains("matches no result"),
        "{err}"
    );

    // JSON: results keep their compliance and carry the mark; plan rows keep their status.
    let (o, v) = scan_json(&demo(), None, &["--suppressions", supp]);
    assert_eq!(o.status.code(), Some(0));
    let marked: Vec<&Value> = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("suppressed").is_some())
        .collect();
    assert!(!marked.is_empty());
    for e in &marked {
        assert_eq!(e["resourceId"], "i-0bat000000000002", "{e}");
        assert!(e["checkId"].as_str().unwrap().starts_with("servers."), "{e}");
        assert_eq!(e["suppressed"]["reason"], "bastion host, replaced in Q1");
        assert_eq!(e["suppressed"]["expires"], "2099-12-31");
    }
    assert!(marked.iter().any(|e| e["compliance"] == "NON_COMPLIANT"));
    // The expired entry marks nothing: LEGACYMYSQL's oss.running is an unaccepted blocker.
    assert!(v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["checkId"] == "oss.running" && e["compliance"] == "NON_COMPLIANT" && e.get("suppressed").is_none()));
    let row = |plan: &str| {
        v["plans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["accountId"] == "111122223333" && p["awsRegion"] == "us-east-1" && p["plan"] == plan)
            .unwrap()
            .clone()
    };
    let servers = row("servers");
    assert_eq!(servers["status"], "BLOCKED", "{servers}");
    assert_eq!(servers["accepted"]["blockers"], 2, "{servers}");
    assert_ne!(servers["accepted"]["status"], "BLOCKED", "{servers}");
    // SQL waited for Servers: with Servers' blockers accepted it waits for nothing.
    let sql = row("sql");
    assert_eq!(sql["status"], "BLOCKED", "{sql}");
    assert_ne!(sql["accepted"]["status"], "BLOCKED", "{sql}");
    assert!(row("oss").get("accepted").is_none());
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("expired on 2020-01-01")));

    // CSV gains a last column; JUnit skips the accepted plan instead of failing it.
    let o = demo_run(&["--format", "csv", "--suppressions", supp]);
    let csv = stdout(&o);
    assert!(csv.lines().next().unwrap().ends_with(",annotation,suppressed"), "{csv}");
    assert!(csv
        .lines()
        .any(|l| l.contains("i-0bat000000000002")
            && l.ends_with(r#","bastion host, replaced in Q1 (until 2099-12-31)""#)));
    let o = demo_run(&["--format", "junit", "--suppressions", supp]);
    let xml = stdout(&o);
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert!(xml.contains("BLOCKED, every blocker accepted"), "{xml}");

    // The store records what the checks found: a later scan without the file changes nothing.
    let db = dir.path().join("state.db");
    let (_, first) = scan_json(&demo(), Some(&db), &["--suppressions", supp]);
    assert!(!first["changes"]["transitions"].as_array().unwrap().is_empty());
    let (_, again) = scan_json(&demo(), Some(&db), &[]);
    assert_eq!(again["changes"]["transitions"], json!([]), "{}", again["changes"]);
    assert_eq!(again["changes"]["planTransitions"], json!([]), "{}", again["changes"]);

    // A bad file fails before anything is read, naming the entry and what is missing.
    std::fs::write(&file, "[[suppress]]\ncheck = \"servers.*\"\nexpires = 2099-12-31\n").unwrap();
    let o = run(&["scan", demo_s, "--no-store", "--suppressions", supp]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("entry 1: has no reason"), "{}", stderr(&o));
}

/// SARIF, OCSF, ASFF and JUnit from the binary, each checked by tests/formats/validate.py against
/// its published definition (the OASIS SARIF 2.1.0 schema, py-ocsf-models' OCSF 1.5 Compliance
/// Finding, botocore's Security Hub model, Jenkins' junit-4.xsd), and each made invalid once to
/// show the check bites.
#[test]
fn finding_formats_validate_against_their_published_definitions() {
    let python = root().join(".ci/venv/bin/python");
    assert!(python.exists(), "{} is missing: run `bash .ci/run`", python.display());
    let validator = root().join("tests/formats/validate.py");
    let dir = tempfile::tempdir().unwrap();
    let supp = dir.path().join("suppressions.toml");
    std::fs::write(
        &supp,
        "[[suppress]]\ncheck = \"containers.*\"\nresource = \"legacy-ci\"\nreason = \"CI cluster, retired in March\"\nexpires = 2099-12-31\n",
    )
    .unwrap();
    let validate = |kind: &str, text: &str| {
        let file = dir.path().join(format!("out.{kind}"));
        std::fs::write(&file, text).unwrap();
        let o = Command::new(&python)
            .arg(&validator)
            .arg(kind)
            .arg(&file)
            .output()
            .unwrap();
        (o.status.code(), stdout(&o) + &stderr(&o))
    };
    let (_, all) = scan_json(&demo(), None, &[]);
    let evaluations = all["evaluations"].as_array().unwrap();
    let open = evaluations
        .iter()
        .filter(|e| e["compliance"] == "NON_COMPLIANT" || e["compliance"] == "INSUFFICIENT_DATA")
        .count();
    let decided_or_not = evaluations
        .iter()
        .filter(|e| e["compliance"] != "NOT_APPLICABLE")
        .count();
    let demo_s = demo();
    let settings = demo_settings();
    let out = |format: &str| {
        let o = run(&[
            "scan",
            demo_s.to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "--no-store",
            "--format",
            format,
            "--suppressions",
            supp.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };

    let sarif = out("sarif");
    assert_eq!(validate("sarif", &sarif), (Some(0), String::new()));
    let mut doc: Value = serde_json::from_str(&sarif).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), open);
    let accepted: Vec<&Value> = results.iter().filter(|r| r.get("suppressions").is_some()).collect();
    assert!(!accepted.is_empty());
    assert!(accepted
        .iter()
        .all(|r| r["ruleId"].as_str().unwrap().starts_with("containers.")
            && r["suppressions"][0]["justification"] == "CI cluster, retired in March (until 2099-12-31)"));
    doc["runs"][0]["results"][0]["level"] = json!("fatal");
    let (code, says) = validate("sarif", &doc.to_string());
    assert_eq!(code, Some(1), "the schema let an unknown level through");
    assert!(says.contains("level"), "{says}");

    let ocsf = out("ocsf");
    assert_eq!(validate("ocsf", &ocsf), (Some(0), String::new()));
    let lines: Vec<Value> = ocsf.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), decided_or_not);
    assert!(lines
        .iter()
        .any(|f| f["status"] == "Suppressed" && f["resources"][0]["uid"] == "legacy-ci"));
    let mut bad = lines[0].clone();
    bad["finding_info"]["severity_label"] = json!("High");
    let (code, says) = validate("ocsf", &bad.to_string());
    assert_eq!(code, Some(1), "an unknown OCSF field went through");
    assert!(says.contains("finding_info/severity_label"), "{says}");

    let asff = out("asff");
    assert_eq!(validate("asff", &asff), (Some(0), String::new()));
    let mut findings: Value = serde_json::from_str(&asff).unwrap();
    assert_eq!(findings.as_array().unwrap().len(), open);
    assert!(findings
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["Workflow"]["Status"] == "SUPPRESSED"
            && f["Resources"][0]["Id"].as_str().unwrap().ends_with("cluster/legacy-ci")));
    findings[0].as_object_mut().unwrap().remove("Title");
    let (code, says) = validate("asff", &findings.to_string());
    assert_eq!(code, Some(1), "a finding without a title went through");
    assert!(says.contains("Title"), "{says}");

    // JUnit against Jenkins' junit-4.xsd (a skipped test's reason is its text).
    let junit = out("junit");
    assert_eq!(validate("junit", &junit), (Some(0), String::new()));
    assert!(junit.contains("<skipped>BLOCKED, every blocker accepted"), "{junit}");
    let (code, says) = validate("junit", &junit.replacen("<skipped>", r#"<skipped message="x">"#, 1));
    assert_eq!(code, Some(1), "an attribute the schema does not allow went through");
    assert!(says.contains("message"), "{says}");
}

/// The release workflow builds the archives `cargo binstall` is pointed at: same names, same
/// layout, for Linux and macOS on both architectures.
#[test]
fn binstall_metadata_names_the_archives_the_release_workflow_builds() {
    let workflow = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("cli/Cargo.toml")).unwrap()).unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let targets: Vec<&str> = workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- {target: "))
        .filter_map(|l| l.split(',').next())
        .collect();
    for t in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(
            targets.contains(&t),
            "the release workflow does not build {t}: {targets:?}"
        );
    }
    // The workflow's archive name for tag v1.2.3 and each target, as its package step makes it.
    let name_line = workflow
        .lines()
        .find_map(|l| l.trim().strip_prefix("name=\""))
        .expect("the package step names the archive")
        .trim_end_matches('"');
    let archive_dir = |target: &str| {
        name_line
            .replace("${GITHUB_REF_NAME}", "v1.2.3")
            .replace("${{ matrix.target }}", target)
    };
    assert!(workflow.contains("tar czf \"$name.tar.gz\" \"$name\""));
    assert!(workflow.contains("release/defender-prereqs\" README.md \"$name/\""));
    for t in &targets {
        let fill = |s: &str| {
            s.replace("{ repo }", "https://github.com/o/r")
                .replace("{ version }", "1.2.3")
                .replace("{ target }", t)
                .replace("{ bin }", "defender-prereqs")
                .replace("{ binary-ext }", "")
        };
        assert_eq!(
            fill(binstall["pkg-url"].as_str().unwrap()),
            format!(
                "https://github.com/o/r/releases/download/v1.2.3/{}.tar.gz",
                archive_dir(t)
            )
        );
        assert_eq!(
            fill(binstall["bin-dir"].as_str().unwrap()),
            format!("{}/defender-prereqs", archive_dir(t))
        );
    }
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
}

/// Names beside ids: the DB identifier, the role name, an instance's Name tag, in the text report
/// (escaped: a name comes from the accounts scanned) and in JSON as `resourceName`.
#[test]
fn resources_are_named_beside_their_config_ids() {
    let (_, v) = scan_json(&demo(), None, &[]);
    let name_of = |id: &str| {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resourceId"] == id)
            .map(|e| e["resourceName"].clone())
            .unwrap()
    };
    assert_eq!(name_of("db-LEGACYMYSQL"), "legacy-mysql");
    assert_eq!(name_of("i-0bat000000000002"), "batch-1");
    assert_eq!(name_of("AROA47E6D44885EE0F598"), "batch-role");
    // An EKS cluster's id is its name: nothing is repeated.
    assert_eq!(name_of("legacy-ci"), Value::Null);

    let dir = tempfile::tempdir().unwrap();
    let mut snap = demo_items();
    let item = snap["configurationItems"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap();
    item["tags"]["Name"] = json!("batch-1\u{1b}[2J\u{1b}]52;c;cmVib290\u{7}");
    let file = write_json(dir.path(), "named.json", &snap);
    let settings = demo_settings();
    let o = run(&[
        "scan",
        file.to_str().unwrap(),
        "--settings",
        settings.to_str().unwrap(),
        "--no-store",
        "--color",
        "never",
        "--full",
    ]);
    let text = stdout(&o);
    assert!(
        text.contains("oss.running AWS::RDS::DBInstance db-LEGACYMYSQL (legacy-mysql)"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("i-0bat000000000002 (batch-1"))
        .expect("the instance is named");
    assert!(!line.contains('\u{1b}') && !line.contains('\u{7}'), "{line:?}");
}

/// A first recording of an account keeps, as changes, only its open results (first seen failing
/// or undecided); what is compliant or not applicable is its starting state, not a change. Later
/// scans record every transition.
#[test]
fn a_first_scan_records_only_its_open_results_as_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (_, v) = scan_json(&demo(), Some(&db), &[]);
    let open = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["compliance"] == "NON_COMPLIANT" || e["compliance"] == "INSUFFICIENT_DATA")
        .count();
    // What the scan reports as changed is everything (all of it is new) ...
    assert_eq!(
        v["changes"]["transitions"].as_array().unwrap().len(),
        v["evaluations"].as_array().unwrap().len()
    );
    let rows = |sql: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    // ... what the store keeps as history is the open part.
    assert_eq!(rows("SELECT COUNT(*) FROM transitions") as usize, open);
    assert_eq!(
        rows("SELECT COUNT(*) FROM transitions WHERE current NOT IN ('NON_COMPLIANT', 'INSUFFICIENT_DATA')"),
        0
    );
    // Whatever the output lists of them: a first scan whose output lists no transitions (CSV,
    // the text report's starting state) keeps the same history.
    let history = |db: &Path| -> Vec<(String, String, String, String)> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT resource_id, check_id, previous IS NULL, current FROM transitions ORDER BY id")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, bool>(2)?.to_string(), r.get(3)?))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    let kept = history(&db);
    assert_eq!(kept.len(), open);
    for format in ["csv", "text"] {
        let other = dir.path().join(format!("{format}.db"));
        let o = run(&[
            "scan",
            "--db",
            other.to_str().unwrap(),
            "--format",
            format,
            "--settings",
            demo_settings().to_str().unwrap(),
            demo().to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(history(&other), kept, "{format}");
    }
    // A later scan in which an instance gains its profile records the change, COMPLIANT included.
    let mut snap = demo_items();
    let item = snap["configurationItems"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap();
    item["configuration"]["iamInstanceProfile"] =
        json!({"arn": "arn:aws:iam::111122223333:instance-profile/web", "id": "AIPAEXAMPLE00000000001"});
    item["configurationItemCaptureTime"] = json!("2026-11-21T08:15:00.000Z");
    let later = write_json(dir.path(), "later.json", &snap);
    let (_, again) = scan_json(&later, Some(&db), &[]);
    let changed = again["changes"]["transitions"].as_array().unwrap().len();
    assert!(changed > 0, "{}", again["changes"]);
    assert_eq!(rows("SELECT COUNT(*) FROM transitions") as usize, open + changed);
    assert!(rows("SELECT COUNT(*) FROM transitions WHERE current = 'COMPLIANT'") > 0);
}

/// The store keeps item text compressed, and still reads the plain text a store written before
/// compression holds: a partial input evaluated against the rest of the account read back from
/// either decides like the whole snapshot.
#[test]
fn recorded_items_are_compressed_and_plain_text_stores_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    scan_json(&demo(), Some(&db), &[]);
    // The same store, as a store from before compression would hold it: plain text.
    let plain_db = dir.path().join("plain.db");
    std::fs::copy(&db, &plain_db).unwrap();
    let conn = rusqlite::Connection::open(&plain_db).unwrap();
    let (blobs, stored, plain): (i64, i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), SUM(LENGTH(body)), SUM(LENGTH(CAST(body AS BLOB))) FROM items WHERE typeof(body) = 'blob'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let items: i64 = conn
        .query_row("SELECT COUNT(*) FROM items WHERE deleted = 0", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, items, "every item's text is stored compressed");
    assert!(stored == plain && stored > 0);
    type Row = (String, String, String, Vec<u8>);
    let rows: Vec<Row> = conn
        .prepare("SELECT account_id, resource_type, resource_id, body FROM items WHERE deleted = 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut text_bytes = 0;
    for (account, rtype, rid, blob) in rows {
        // zlib with a preset dictionary, the first item of the account and type.
        let dictionary: Vec<u8> = conn
            .query_row(
                "SELECT dictionary FROM dictionaries WHERE account_id = ?1 AND resource_type = ?2",
                [&account, &rtype],
                |r| r.get(0),
            )
            .unwrap();
        let mut z = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(1 << 20);
        if let Err(e) = z.decompress_vec(&blob, &mut out, flate2::FlushDecompress::Finish) {
            assert!(e.needs_dictionary().is_some(), "{e}");
            z.set_dictionary(&dictionary).unwrap();
            let rest = &blob[z.total_in() as usize..];
            z.decompress_vec(rest, &mut out, flate2::FlushDecompress::Finish)
                .unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        text_bytes += text.len() as i64;
        conn.execute(
            "UPDATE items SET body = ?1 WHERE account_id = ?2 AND resource_type = ?3 AND resource_id = ?4",
            rusqlite::params![text, account, rtype, rid],
        )
        .unwrap();
    }
    assert!(stored * 2 < text_bytes, "compressed {stored} bytes of {text_bytes}");
    drop(conn);
    // One instance changes, as a partial input (a list of one item): every other result comes from
    // the recorded items, compressed in one store and plain text in the other.
    let mut changed = demo_items()["configurationItems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap()
        .clone();
    changed["configurationItemCaptureTime"] = json!("2026-11-21T08:15:00.000Z");
    changed["tags"]["Name"] = json!("batch-renamed");
    let one = write_json(dir.path(), "one.json", &json!([changed]));
    let (o, compressed) = scan_json(&one, Some(&db), &[]);
    assert!(o.status.success());
    let (o, plain_text) = scan_json(&one, Some(&plain_db), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Read back, not re-read: the RDS instances were in no input of this scan.
    assert!(compliance_by_key(&plain_text)
        .keys()
        .any(|k| k.contains("db-LEGACYMYSQL")));
    assert_eq!(compliance_by_key(&compressed), compliance_by_key(&plain_text));
}

/// A store written by the previous schema (2: every result and change row carrying its names)
/// is moved to the compact one when first opened: nothing is lost (the next scan of the same
/// input finds every result unchanged, the history keeps its rows), and the views answer the
/// queries the old tables did.
#[test]
fn a_store_of_the_previous_schema_is_migrated_without_losing_results_or_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (_, first) = scan_json(&demo(), Some(&db), &[]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |conn: &rusqlite::Connection, sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let results = count(&conn, "SELECT COUNT(*) FROM evaluations");
    let history = count(&conn, "SELECT COUNT(*) FROM transitions");
    assert!(results > 0 && history > 0);
    // The same content in schema 2's tables, as that version wrote them.
    conn.execute_batch(
        "CREATE TABLE ev2 AS SELECT * FROM evaluations;
         CREATE TABLE tr2 AS SELECT * FROM transitions;
         DROP VIEW evaluations; DROP VIEW transitions;
         DROP TABLE results; DROP TABLE changes; DROP TABLE resources; DROP TABLE checks; DROP TABLE texts;
         CREATE TABLE evaluations (
           account_id TEXT NOT NULL, aws_region TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
           check_id TEXT NOT NULL, plan TEXT NOT NULL, compliance TEXT NOT NULL, annotation TEXT NOT NULL,
           capture_time TEXT, scan_id INTEGER NOT NULL,
           PRIMARY KEY (account_id, aws_region, resource_type, resource_id, check_id)) WITHOUT ROWID;
         CREATE INDEX evaluations_by_plan ON evaluations (plan, compliance, account_id);
         CREATE TABLE transitions (
           id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, account_id TEXT NOT NULL, aws_region TEXT NOT NULL,
           resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, check_id TEXT NOT NULL, plan TEXT NOT NULL,
           previous TEXT, current TEXT, annotation TEXT NOT NULL);
         INSERT INTO evaluations SELECT * FROM ev2;
         INSERT INTO transitions SELECT * FROM tr2;
         DROP TABLE ev2; DROP TABLE tr2;
         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )
    .unwrap();
    assert!(
        count(
            &conn,
            "SELECT COUNT(*) FROM evaluations WHERE capture_time LIKE '20__-__-__T__:__:__.___Z'"
        ) > 0
    );
    drop(conn);
    let (o, again) = scan_json(&demo(), Some(&db), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(again["changes"]["transitions"], json!([]), "{}", again["changes"]);
    assert_eq!(again["evaluations"], first["evaluations"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM evaluations"), results);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM transitions"), history);
    let version: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, "3");
}

/// One file holding several accounts (an export, a merged file; AWS Config delivers a snapshot
/// per account and region) is read an account at a time, its items copied aside and indexed by
/// account. A scan of it reports and records what a scan reading it together with another
/// input (an empty list, which covers nothing) does, on a first scan and on the next.
#[test]
fn one_file_of_several_accounts_scans_as_it_does_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = demo_items();
    let list = items["configurationItems"].as_array_mut().unwrap();
    let later = list
        .iter_mut()
        .find(|i| i["resourceId"] == "i-0bat000000000002")
        .unwrap();
    later["configurationItemCaptureTime"] = json!("2026-11-20T09:00:00.000Z");
    let several = write_json(dir.path(), "several.json", &items);
    let loose = write_json(dir.path(), "nothing.json", &json!([]));
    let loose = loose.to_str().unwrap();
    let (a, b) = (dir.path().join("by-account.db"), dir.path().join("whole.db"));
    let shown = |mut v: Value| {
        v["changes"]["since"] = json!(v["changes"]["since"].is_string());
        v
    };
    for _ in 0..2 {
        let (_, by_account) = scan_json(&several, Some(&a), &[]);
        let (_, whole) = scan_json(&several, Some(&b), &[loose]);
        assert!(!by_account["evaluations"].as_array().unwrap().is_empty());
        assert_eq!(shown(by_account), shown(whole));
    }
    let table = |db: &Path, sql: &str| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    for sql in [
        "SELECT account_id, aws_region, captured_at, resource_types FROM coverage ORDER BY 1, 2",
        "SELECT account_id, resource_type, resource_id, aws_region, capture_time, deleted FROM items ORDER BY 1, 2, 3",
        "SELECT account_id, aws_region, resource_type, resource_id, check_id, previous, current, annotation FROM transitions ORDER BY id",
    ] {
        assert_eq!(table(&a, sql), table(&b, sql), "{sql}");
    }
    // The recording's time is the file's newest item's, for both accounts.
    let conn = rusqlite::Connection::open(&a).unwrap();
    let times: Vec<String> = conn
        .prepare("SELECT DISTINCT captured_at FROM coverage")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(times, ["2026-11-20T09:00:00.000Z"]);
}

//! `defender-prereqs report`: the HTML report from a DynamoDB table seeded through the real store
//! and rollup on the moto server, opened in headless Chromium; and from the local store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::moto;
use shared::app::ports::ResultStore;
use shared::aws::dynamo::DynamoStore;
use shared::aws::events::EventBridgePublisher;
use shared::domain::checks::ALL;
use shared::domain::graph::ResourceGraph;
use shared::domain::plans::PlanStatus;
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Plan};

const BIN: &str = env!("CARGO_BIN_EXE_defender-prereqs");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Debian's chromium (`apt-get install chromium`), or `$CHROMIUM`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium (`apt-get install chromium`, as .ci/run does) or set CHROMIUM",
        path.display()
    );
    path
}

/// Runs headless Chromium on a local file with no network use at all.
fn browse(page: &Path, extra: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `defender-prereqs report --table TABLE --output PAGE` against moto, with test credentials.
fn report_from_table(table: &str, page: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "report",
        "--table",
        table,
        "--endpoint-url",
        moto::endpoint(),
        "--output",
    ])
    .arg(page)
    .env("AWS_ACCESS_KEY_ID", "testing")
    .env("AWS_SECRET_ACCESS_KEY", "testing")
    .env("AWS_REGION", "us-east-1")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env_remove("AWS_PROFILE");
    c
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[tokio::test(flavor = "multi_thread")]
async fn html_report_from_a_seeded_table_renders_in_chromium() {
    // Seed the table as the functions would: results recorded, readiness rolled up.
    let sdk = moto::sdk_config();
    let table = moto::unique("report");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    store.create_table().await.unwrap();
    let settings = Settings::from_file(&root().join("events/demo-settings.toml")).unwrap();
    let (items, errors) = shared::domain::snapshot::load(&root().join("events/demo-snapshot.json"), false).unwrap();
    assert!(errors.is_empty());
    let graph = ResourceGraph::build(items);
    let scan = shared::domain::engine::scan_graph(&graph, &settings, |_| {});
    store
        .record(&scan.evaluations, &shared::domain::state::Delivery::new("scan"))
        .await
        .unwrap();
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = moto::unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let accounts: BTreeSet<String> = scan.evaluations.iter().map(|e| e.account_id.to_string()).collect();
    assert_eq!(accounts.len(), 2);
    shared::app::record::roll_up(&store, &EventBridgePublisher::new(eb, &bus), &settings, &accounts)
        .await
        .unwrap();

    // The user's command.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = report_from_table(&table, &page).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // What the browser made of it.
    let dom = String::from_utf8(browse(&page, &["--dump-dom"]).stdout).unwrap();
    assert!(dom.contains("Defender for Cloud prerequisites"));
    assert!(dom.contains(&format!("DynamoDB table {table}")));
    assert!(dom.contains(r#"<svg id="readiness-chart""#) && dom.contains(r#"<svg id="noncompliant-chart""#));
    // The readiness chart shows exactly what the table holds, plan by plan.
    let rows = store.readiness_rows().await.unwrap();
    // What changed, read from every shard of the transitions index: each readiness row and each
    // result was first seen in this run.
    assert!(
        dom.contains(&format!(
            "Changes in the last 7 days <span class=\"muted\">({} readiness, {} results)</span>",
            rows.len(),
            scan.evaluations.len()
        )),
        "{}",
        &dom[dom.find(r#"<section id="changes">"#).unwrap_or(0)..][..300.min(dom.len())]
    );
    assert!(dom.contains(r#"<table id="readiness-changes">"#) && dom.contains(r#"<table id="result-changes">"#));
    assert!(rows.iter().any(|r| r.status == PlanStatus::Blocked));
    for plan in Plan::ALL {
        for status in PlanStatus::ALL {
            let n = rows.iter().filter(|r| r.plan == plan && r.status == status).count();
            let bar = format!(
                r#"data-plan="{}" data-status="{}" data-count="{n}""#,
                plan.as_str(),
                status.as_str()
            );
            assert_eq!(dom.contains(&bar), n > 0, "{bar}");
        }
    }
    let blocked = rows.iter().filter(|r| r.status == PlanStatus::Blocked).count();
    assert!(dom.contains(&format!(r#"<b id="blocked-count" class="s-BLOCKED">{blocked}</b>"#)));
    let unverified = rows.iter().filter(|r| r.status == PlanStatus::Unverified).count();
    assert!(dom.contains(&format!(
        r#"<b id="unverified-count" class="s-UNVERIFIED">{unverified}</b>"#
    )));
    for a in &accounts {
        assert!(dom.contains(&format!(r#"<tr data-account="{a}">"#)), "{a}");
    }
    // Every blocking resource is listed under its check, with the check's title and fix.
    let mut checked = 0;
    for a in &accounts {
        for e in store.account_results(a).await.unwrap() {
            if e.compliance != Compliance::NonCompliant {
                continue;
            }
            let check = ALL.iter().find(|c| c.id == e.check_id).unwrap();
            assert!(
                dom.contains(&format!(r#"data-check="{}""#, e.check_id)),
                "{}",
                e.check_id
            );
            // Text as the browser serialises it.
            let title = check
                .title
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            assert!(dom.contains(&title), "{title}");
            assert!(
                dom.contains(&format!("<code>{}</code>", e.resource_id)),
                "{}",
                e.resource_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} blocking results seeded");
    assert!(dom.contains("How to fix:"));
    // Every blocked cell of the matrix links to its account × plan's blockers, and every in-page
    // link lands on an element of the page as Chromium built it.
    for r in rows.iter().filter(|r| r.status == PlanStatus::Blocked) {
        let id = format!("why-{}-{}", r.account_id, r.plan.as_str());
        assert!(dom.contains(&format!(r##"href="#{id}""##)), "no link to {id}");
        assert!(
            dom.contains(&format!(r#"<article id="{id}""#)),
            "no blockers listed at {id}"
        );
    }
    for target in dom.split(r##"href="#"##).skip(1).filter_map(|s| s.split('"').next()) {
        assert!(
            dom.contains(&format!(r#"id="{target}""#)),
            "a link to #{target}, which the page lacks"
        );
    }

    // A screenshot, kept for the CI log (target/report-screenshot.png).
    let shot = root().join("target/report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    browse(&page, &[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1280, 2400));
    assert!(
        png.len() > 50_000,
        "a blank page compresses to far less: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn html_report_from_the_local_store_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let page = dir.path().join("r.html");
    let missing = Command::new(BIN)
        .args(["report", "--db"])
        .arg(&db)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no state recorded") && err.contains("scan"), "{err}");
    assert!(!page.exists());
    let scan = Command::new(BIN)
        .arg("scan")
        .arg(root().join("events/demo-snapshot.json"))
        .arg("--settings")
        .arg(root().join("events/demo-settings.toml"))
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(scan.status.success());
    let csv = dir.path().join("open.csv");
    let ok = Command::new(BIN)
        .args(["report", "--db"])
        .arg(&db)
        .arg("-o")
        .arg(&page)
        .arg("--csv")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    // The CSV export: every open result (NON_COMPLIANT or INSUFFICIENT_DATA), scan's columns.
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("accountId,awsRegion,plan,checkId,resourceType,resourceId,compliance,annotation")
    );
    let statuses: std::collections::BTreeMap<&str, usize> = lines.fold(Default::default(), |mut m, l| {
        let status = ["NON_COMPLIANT", "INSUFFICIENT_DATA"]
            .into_iter()
            .find(|s| l.contains(&format!(",{s},")))
            .unwrap_or_else(|| panic!("not an open result: {l}"));
        *m.entry(status).or_default() += 1;
        m
    });
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(r#"<tr data-account="111122223333">"#));
    assert!(html.contains(r#"<tr data-account="444455556666">"#));
    assert!(html.contains(r#"data-check="servers.instance-profile""#));
    // The scan's changes (everything first seen), from the store's history.
    assert!(
        html.contains(r#"<table id="readiness-changes">"#),
        "readiness changes listed"
    );
    assert!(
        html.contains(r#"<tr data-check="servers.instance-profile"><td>"#),
        "result changes counted"
    );
    assert!(!html.contains("<script"), "the report runs no script");
    assert!(
        !html.contains(" src=") && !html.contains("href=\"http"),
        "the report fetches nothing"
    );
}

/// `report --table --ou`: the accounts of an organizational unit (and of the OUs below it), read
/// from AWS Organizations on moto, and no other; `--account` adds one.
#[tokio::test(flavor = "multi_thread")]
async fn the_report_covers_the_accounts_of_an_organizational_unit() {
    let sdk = moto::sdk_config();
    // An organization: an OU with a child OU, one account in each, and one account outside.
    let org = aws_sdk_organizations::Client::new(&sdk);
    // moto keeps one organization per server; another test may have made it already.
    let _ = org
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await;
    let org_root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let ou = |name: &'static str, parent: String| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(moto::unique(name))
                .send()
                .await
                .unwrap()
                .organizational_unit()
                .unwrap()
                .id()
                .unwrap()
                .to_owned()
        }
    };
    let prod = ou("prod", org_root.clone()).await;
    let web = ou("web", prod.clone()).await;
    let account = |parent: String| {
        let org = org.clone();
        let root = org_root.clone();
        async move {
            let created = org
                .create_account()
                .account_name(moto::unique("acct"))
                .email(format!("{}@example.com", moto::unique("a")))
                .send()
                .await
                .unwrap();
            let id = created
                .create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_owned();
            org.move_account()
                .account_id(&id)
                .source_parent_id(root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
            id
        }
    };
    let in_prod = account(prod.clone()).await;
    let in_web = account(web.clone()).await;
    let outside = account(org_root.clone()).await;

    // The table holds the demo's results for the three accounts (the demo's account, renamed).
    let table = moto::unique("report-ou");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    store.create_table().await.unwrap();
    let settings = Settings::from_file(&root().join("events/demo-settings.toml")).unwrap();
    let (items, errors) = shared::domain::snapshot::load(&root().join("events/demo-snapshot.json"), false).unwrap();
    assert!(errors.is_empty());
    let scan = shared::domain::engine::scan_graph(&ResourceGraph::build(items), &settings, |_| {});
    let mut evaluations = Vec::new();
    for a in [&in_prod, &in_web, &outside] {
        evaluations.extend(
            scan.evaluations
                .iter()
                .filter(|e| e.account_id == "111122223333")
                .map(|e| shared::domain::vocab::Evaluation {
                    account_id: a.into(),
                    ..e.clone()
                }),
        );
    }
    store
        .record(&evaluations, &shared::domain::state::Delivery::new("scan"))
        .await
        .unwrap();
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = moto::unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let accounts: BTreeSet<String> = [&in_prod, &in_web, &outside].into_iter().cloned().collect();
    shared::app::record::roll_up(&store, &EventBridgePublisher::new(eb, &bus), &settings, &accounts)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let report = |extra: Vec<String>| {
        let page = dir.path().join(format!("{}.html", moto::unique("r")));
        let out = report_from_table(&table, &page).args(&extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(&page).unwrap()
    };
    let row = |a: &str| format!(r#"<tr data-account="{a}">"#);
    let html = report(vec!["--ou".into(), prod.clone()]);
    assert!(
        html.contains(&row(&in_prod)) && html.contains(&row(&in_web)),
        "the OU and the OU below it"
    );
    assert!(!html.contains(&outside), "an account outside the OU is in the report");
    assert!(html.contains(&format!("limited to organizational unit {prod}, 2 accounts")));
    let html = report(vec!["--ou".into(), web.clone(), "--account".into(), outside.clone()]);
    assert!(html.contains(&row(&in_web)) && html.contains(&row(&outside)));
    assert!(!html.contains(&row(&in_prod)));
}

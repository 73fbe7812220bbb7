//! The DynamoDB state store against moto over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use integration_tests::moto;
use shared::app::ports::{PortError, ReadinessStore, ResultStore};
use shared::aws::dynamo::{resource_pk, DynamoStore};
use shared::domain::plans::{PlanReadiness, PlanStatus};
use shared::domain::state::PlanTransition;
use shared::domain::vocab::{Compliance, Evaluation, Plan};

async fn store() -> (DynamoStore, aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(&moto::sdk_config());
    let table = moto::unique("state");
    let store = DynamoStore::new(client.clone(), &table);
    store.create_table().await.unwrap();
    (store, client, table)
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(1_795_000_000 + secs, 0).single()
}

fn ev(id: &str, check: &str, c: Compliance, t: i64) -> Evaluation {
    Evaluation {
        account_id: "111122223333".into(),
        aws_region: "us-east-1".into(),
        resource_type: "AWS::EC2::Instance".into(),
        resource_id: id.into(),
        check_id: check.into(),
        plan: Plan::Servers,
        compliance: c,
        annotation: format!("{c} at {t}").into(),
        capture_time: at(t),
    }
}

async fn count(client: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    client.scan().table_name(table).send().await.unwrap().count() as usize
}

async fn evaluated_at(client: &aws_sdk_dynamodb::Client, table: &str, id: &str, check: &str) -> String {
    let r = client
        .get_item()
        .table_name(table)
        .key(
            "PK",
            AttributeValue::S(resource_pk("111122223333", "us-east-1", "AWS::EC2::Instance", id)),
        )
        .key("SK", AttributeValue::S(format!("CHECK#{check}")))
        .send()
        .await
        .unwrap();
    r.item().unwrap()["evaluatedAt"].as_s().unwrap().clone()
}

#[tokio::test]
async fn transitions_duplicates_and_out_of_order_delivery() {
    let (store, client, table) = store().await;
    let p = "servers.instance-profile";
    let n = "servers.ssm-network";
    let first = store
        .record(
            &[
                ev("i-1", p, Compliance::NonCompliant, 10),
                ev("i-1", n, Compliance::Compliant, 10),
            ],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "both results are new");
    // Not yet published: a concurrent delivery of another event leaves them to the one that
    // recorded them (no second copy of each event)...
    let other = store
        .record(
            &[
                ev("i-1", p, Compliance::NonCompliant, 10),
                ev("i-1", n, Compliance::Compliant, 10),
            ],
            &shared::domain::state::Delivery::new("event-2"),
        )
        .await
        .unwrap();
    assert!(other.is_empty(), "{other:?}");
    // ...and a retry of the same event hands them out again (the outbox).
    let retry = store
        .record(
            &[
                ev("i-1", p, Compliance::NonCompliant, 10),
                ev("i-1", n, Compliance::Compliant, 10),
            ],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    assert_eq!(retry, first);
    store.mark_published(&first).await.unwrap();
    let items = count(&client, &table).await;
    assert_eq!(items, 4, "two results and two history rows");
    let stamp = evaluated_at(&client, &table, "i-1", p).await;

    // Duplicate delivery: nothing written, no transition.
    let dup = store
        .record(
            &[
                ev("i-1", p, Compliance::NonCompliant, 10),
                ev("i-1", n, Compliance::Compliant, 10),
            ],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    assert!(dup.is_empty());
    assert_eq!(count(&client, &table).await, items);
    assert_eq!(
        evaluated_at(&client, &table, "i-1", p).await,
        stamp,
        "an unchanged result writes nothing"
    );

    // A newer capture flips the profile check.
    let fixed = store
        .record(
            &[ev("i-1", p, Compliance::Compliant, 20)],
            &shared::domain::state::Delivery::new("event-3"),
        )
        .await
        .unwrap();
    assert_eq!(fixed.len(), 1);
    let t = &fixed[0].transition;
    assert_eq!(
        (t.previous, t.current),
        (Some(Compliance::NonCompliant), Some(Compliance::Compliant))
    );
    store.mark_published(&fixed).await.unwrap();

    // An older event arriving late changes nothing.
    let late = store
        .record(
            &[ev("i-1", p, Compliance::NonCompliant, 15)],
            &shared::domain::state::Delivery::new("event-4"),
        )
        .await
        .unwrap();
    assert!(late.is_empty());
    let results = store.account_results("111122223333").await.unwrap();
    let profile = results.iter().find(|e| e.check_id == p).unwrap();
    assert_eq!(
        (profile.compliance, profile.capture_time),
        (Compliance::Compliant, at(20))
    );
}

#[tokio::test]
async fn dashboard_questions_are_single_queries() {
    let (store, client, table) = store().await;
    store
        .record(
            &[
                ev("i-1", "servers.instance-profile", Compliance::NonCompliant, 1),
                ev("i-2", "servers.instance-profile", Compliance::Compliant, 1),
                ev("i-3", "servers.ssm-network", Compliance::NonCompliant, 1),
            ],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    // All NON_COMPLIANT resources of plan servers in the account: one Query on GSI1.
    let nc = client
        .query()
        .table_name(&table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :p AND begins_with(GSI1SK, :c)")
        .expression_attribute_values(":p", AttributeValue::S("111122223333#servers".into()))
        .expression_attribute_values(":c", AttributeValue::S("NON_COMPLIANT#".into()))
        .send()
        .await
        .unwrap();
    let mut ids: Vec<&str> = nc
        .items()
        .iter()
        .map(|i| i["resourceId"].as_s().unwrap().as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["i-1", "i-3"]);
    // All checks of one resource: one Query on the table.
    let one = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(resource_pk("111122223333", "us-east-1", "AWS::EC2::Instance", "i-1")),
        )
        .expression_attribute_values(":c", AttributeValue::S("CHECK#".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(one.count(), 1);
    // Transitions since a time: one Query on GSI2 per shard (written spread over them).
    let mut since = Vec::new();
    for pk in shared::aws::dynamo::all_transitions_pks() {
        let page = client
            .query()
            .table_name(&table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :t AND GSI2SK >= :since")
            .expression_attribute_values(":t", AttributeValue::S(pk))
            .expression_attribute_values(":since", AttributeValue::S("2026-01-01".into()))
            .send()
            .await
            .unwrap();
        since.extend(page.items().iter().cloned());
    }
    assert_eq!(since.len(), 3);
    assert!(since.iter().all(|i| i.contains_key("expiresAt")));
}

#[tokio::test]
async fn concurrent_writers_leave_one_consistent_state_and_no_duplicate_history() {
    let (store, client, table) = store().await;
    let check = "servers.instance-profile";
    let mut tasks = Vec::new();
    for t in 1..=6 {
        let store = store.clone();
        let c = if t % 2 == 0 {
            Compliance::Compliant
        } else {
            Compliance::NonCompliant
        };
        tasks.push(tokio::spawn(async move {
            let t = store
                .record(
                    &[ev("i-9", check, c, t)],
                    &shared::domain::state::Delivery::new(&format!("writer-{t}")),
                )
                .await
                .unwrap();
            store.mark_published(&t).await.unwrap();
            t
        }));
    }
    let mut published = std::collections::BTreeSet::new();
    for t in tasks {
        for p in t.await.unwrap() {
            published.insert((p.transition.key.check_id.clone(), p.at, p.transition.current));
        }
    }
    let total = published.len();
    let results = store.account_results("111122223333").await.unwrap();
    let r = results.iter().find(|e| e.resource_id == "i-9").unwrap();
    assert_eq!(r.capture_time, at(6), "the newest capture wins whatever the order");
    // Rows of instance i-9 whose sort key starts with `prefix`.
    let rows = |prefix: &'static str| {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :h)")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(resource_pk("111122223333", "us-east-1", "AWS::EC2::Instance", "i-9")),
            )
            .expression_attribute_values(":h", AttributeValue::S(prefix.into()))
            .send()
    };
    let history = rows("HIST#").await.unwrap();
    assert_eq!(
        history.count() as usize,
        total,
        "one history row per published transition"
    );
    let outbox = rows("PENDING#").await.unwrap();
    assert_eq!(outbox.count(), 0, "nothing left unpublished");
}

/// Records plan readiness as a rollup does: the rows read first, then recorded over them.
async fn record_plans(
    store: &DynamoStore,
    account: &str,
    plans: &[PlanReadiness],
) -> Result<Vec<PlanTransition>, PortError> {
    let read = store.plan_rows(account).await?;
    Ok(store
        .record_plans(account, plans, &read)
        .await?
        .expect("no other rollup records concurrently"))
}

#[tokio::test]
async fn plan_readiness_is_announced_once_per_net_change() {
    let (store, client, table) = store().await;
    let acct = "111122223333";
    let p = |status| PlanReadiness {
        account_id: acct.into(),
        aws_region: "us-east-1".into(),
        plan: Plan::Servers,
        status,
        blockers: vec![],
        blocker_count: 0,
        unverified: vec![],
        unverified_count: 0,
        non_compliant_resources: 0,
    };
    let first = record_plans(&store, acct, &[p(PlanStatus::Blocked)]).await.unwrap();
    assert_eq!((first[0].previous, first[0].current), (None, PlanStatus::Blocked));
    // Not announced yet (say the publish failed): a retry announces it again.
    let again = record_plans(&store, acct, &[p(PlanStatus::Blocked)]).await.unwrap();
    assert_eq!(again, first);
    store.mark_plans_announced(&again).await.unwrap();
    assert!(record_plans(&store, acct, &[p(PlanStatus::Blocked)])
        .await
        .unwrap()
        .is_empty());
    // BLOCKED → READY recorded but never announced, then back to BLOCKED: no net change to announce.
    let t = record_plans(&store, acct, &[p(PlanStatus::Ready)]).await.unwrap();
    assert_eq!(
        (t[0].previous, t[0].current),
        (Some(PlanStatus::Blocked), PlanStatus::Ready)
    );
    assert!(record_plans(&store, acct, &[p(PlanStatus::Blocked)])
        .await
        .unwrap()
        .is_empty());
    // A late announcement of the READY that no longer holds changes nothing.
    store.mark_plans_announced(&t).await.unwrap();
    let t = record_plans(&store, acct, &[p(PlanStatus::Ready)]).await.unwrap();
    assert_eq!(
        (t[0].previous, t[0].current),
        (Some(PlanStatus::Blocked), PlanStatus::Ready)
    );
    store.mark_plans_announced(&t).await.unwrap();
    assert!(record_plans(&store, acct, &[p(PlanStatus::Ready)])
        .await
        .unwrap()
        .is_empty());
    // History keeps every recorded status change: BLOCKED, READY, BLOCKED, READY.
    let hist = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :p")
        .expression_attribute_values(":p", AttributeValue::S(format!("PLANHIST#{acct}#us-east-1#servers")))
        .send()
        .await
        .unwrap();
    let statuses: Vec<&str> = hist
        .items()
        .iter()
        .map(|i| i["current"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(statuses, ["BLOCKED", "READY", "BLOCKED", "READY"]);
    // Plan readiness of one account: one Query (of every account: one per shard).
    let all = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :p")
        .expression_attribute_values(":p", AttributeValue::S(shared::aws::dynamo::plans_pk(acct)))
        .send()
        .await
        .unwrap();
    assert_eq!(all.count(), 1);
    assert_eq!(all.items()[0]["status"].as_s().unwrap(), "READY");
    assert_eq!(store.readiness_rows().await.unwrap().len(), 1);
}

/// Issue: a plan row stored every blocker; 2,000 instances without a profile made a 954 KB item,
/// over DynamoDB's 400 KB, and the account's readiness was never updated again.
#[tokio::test]
async fn a_plan_row_of_thousands_of_blockers_fits_an_item() {
    use shared::domain::plans::Blocker;
    let (store, client, table) = store().await;
    let blockers: Vec<Blocker> = (0..5000)
        .map(|n| Blocker::Check {
            check_id: "servers.instance-profile".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: format!("i-{n:017}").into(),
            annotation: "no IAM instance profile attached (the connector's 30-day automation only fixes instances that existed when its stack was created)".into(),
        })
        .collect();
    let plan = PlanReadiness {
        account_id: "111122223333".into(),
        aws_region: "us-east-1".into(),
        plan: Plan::Servers,
        status: PlanStatus::Blocked,
        blocker_count: blockers.len(),
        blockers,
        unverified: Vec::new(),
        unverified_count: 0,
        non_compliant_resources: 5000,
    };
    let transitions = record_plans(&store, "111122223333", std::slice::from_ref(&plan))
        .await
        .unwrap();
    assert_eq!(transitions.len(), 1);
    let row = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(shared::aws::dynamo::plans_pk("111122223333")))
        .key("SK", AttributeValue::S("111122223333#us-east-1#servers".into()))
        .send()
        .await
        .unwrap();
    let item = row.item().unwrap();
    assert_eq!(item["blockerCount"].as_n().unwrap(), "5000");
    let stored = item["blockers"].as_s().unwrap();
    assert!(stored.len() < 100 * 1024, "{} bytes of blockers", stored.len());
    // Recording the same readiness again succeeds too (the transition stays to announce until
    // it is published).
    assert_eq!(record_plans(&store, "111122223333", &[plan]).await.unwrap().len(), 1);
}

fn servers(status: PlanStatus) -> PlanReadiness {
    PlanReadiness {
        account_id: "111122223333".into(),
        aws_region: "us-east-1".into(),
        plan: Plan::Servers,
        status,
        blockers: vec![],
        blocker_count: 0,
        unverified: vec![],
        unverified_count: 0,
        non_compliant_resources: 0,
    }
}

async fn servers_status(client: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let row = client
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(shared::aws::dynamo::plans_pk("111122223333")))
        .key("SK", AttributeValue::S("111122223333#us-east-1#servers".into()))
        .send()
        .await
        .unwrap();
    row.item().unwrap()["status"].as_s().unwrap().clone()
}

/// Issue: rollup X read the account's results, rollup Y read newer ones and recorded, then X
/// read the plan row's version Y had just written and recorded its older readiness over it.
/// Now every rollup reads the rows (and the account's rollup version) before the results and
/// records only over the version it read; interleaved here deterministically: X's row write held
/// back by a proxy while Y reads, records and finishes.
#[tokio::test]
async fn of_two_concurrent_rollups_the_one_that_read_older_results_never_records_last() {
    use integration_tests::proxy::{Fault, FaultProxy};
    let acct = "111122223333";
    let (store, client, table) = store().await;

    // Both read the same version; Y records first: X must read again, and records nothing.
    let x_read = store.plan_rows(acct).await.unwrap();
    let y_read = store.plan_rows(acct).await.unwrap();
    let y = store
        .record_plans(acct, &[servers(PlanStatus::Ready)], &y_read)
        .await
        .unwrap();
    assert_eq!(y.map(|t| t.len()), Some(1));
    let x = store
        .record_plans(acct, &[servers(PlanStatus::Blocked)], &x_read)
        .await
        .unwrap();
    assert_eq!(x, None, "X read before Y recorded: it reads again");
    assert_eq!(servers_status(&client, &table).await, "READY");

    // X claims the next version first, but its row write is slow; Y reads after X's claim
    // (newer results), records and finishes; X's write then lands and is refused.
    let slow = FaultProxy::start(moto::endpoint(), |seen| {
        // A plan row is written in a transaction with the version check.
        let plans = |item: &serde_json::Value| item["PK"]["S"].as_str().is_some_and(|pk| pk.starts_with("PLANS#"));
        if seen.target.ends_with(".TransactWriteItems")
            && seen.body["TransactItems"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| plans(&i["Put"]["Item"])))
        {
            Fault::DelayThenForward(std::time::Duration::from_millis(1500))
        } else {
            Fault::Forward
        }
    })
    .await;
    let x_store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&moto::sdk_config())
                .endpoint_url(&slow.url)
                .build(),
        ),
        &table,
    );
    let x_read = x_store.plan_rows(acct).await.unwrap();
    let x_version = x_read.version;
    let x = tokio::spawn(async move {
        x_store
            .record_plans(acct, &[servers(PlanStatus::Blocked)], &x_read)
            .await
    });
    // Y reads once X's claim is in (the version moved on), then records.
    let y_read = loop {
        let r = store.plan_rows(acct).await.unwrap();
        if r.version > x_version {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let y = store
        .record_plans(acct, &[servers(PlanStatus::Unverified)], &y_read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (y[0].previous, y[0].current),
        (None, PlanStatus::Unverified),
        "READY was never announced"
    );
    assert_eq!(servers_status(&client, &table).await, "UNVERIFIED");
    let x = x.await.unwrap().unwrap();
    assert_eq!(x, Some(Vec::new()), "X's row was refused: it announces nothing");
    assert_eq!(
        servers_status(&client, &table).await,
        "UNVERIFIED",
        "the later rollup's readiness stays"
    );
    assert!(slow.count("DynamoDB_20120810.TransactWriteItems") >= 1);
}

/// Issue: result rows never expired, so every deleted (autoscaled, spot) instance added rows for
/// ever that every rollup and periodic run read; and outbox rows copied the history's TTL, so an
/// unpublished transition could expire unpublished. Now a result that only says its resource is
/// gone expires after the retention (the history's days), a live result never, an outbox row
/// never.
#[tokio::test]
async fn results_of_deleted_resources_expire_and_outbox_rows_do_not() {
    let (store, client, table) = store().await;
    let store = store.with_history_days(1);
    let check = "servers.instance-profile";
    let mut deleted = ev("i-gone", check, Compliance::NotApplicable, 5);
    deleted.annotation = shared::domain::state::RESOURCE_DELETED.into();
    let mut live_na = ev("i-na", check, Compliance::NotApplicable, 5);
    live_na.annotation = "the plan does not apply to this instance".into();
    store
        .record(
            &[ev("i-gone", check, Compliance::NonCompliant, 1)],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    let pending = store
        .record(&[deleted, live_na], &shared::domain::state::Delivery::new("event-2"))
        .await
        .unwrap();
    assert!(!pending.is_empty(), "transitions to publish");
    let rows = client.scan().table_name(&table).send().await.unwrap();
    let expiry = |pk_part: &str, sk_prefix: &str| -> Vec<Option<i64>> {
        rows.items()
            .iter()
            .filter(|i| i["PK"].as_s().unwrap().contains(pk_part) && i["SK"].as_s().unwrap().starts_with(sk_prefix))
            .map(|i| i.get("expiresAt").map(|v| v.as_n().unwrap().parse().unwrap()))
            .collect()
    };
    let now = Utc::now().timestamp();
    let gone = expiry("i-gone", "CHECK#");
    assert_eq!(gone.len(), 1);
    let ttl = gone[0].expect("a retired result expires");
    assert!((ttl - now - 86_400).abs() < 120, "after the retention: {ttl} vs {now}");
    assert_eq!(expiry("i-na", "CHECK#"), [None], "a live result never expires");
    let outbox = expiry("", "PENDING#");
    assert!(!outbox.is_empty() && outbox.iter().all(Option::is_none), "{outbox:?}");
    assert!(expiry("", "HIST#").iter().all(Option::is_some), "history keeps its TTL");
}

/// Issue: staleness was "capture time strictly older", and after a conflict a writer re-read the
/// table but kept the evaluations computed from the service-API facts it had read earlier, so of
/// two writers of the same capture the one with older facts (a periodic run's can be minutes old)
/// could commit last and publish a false transition. Now of two results of the same capture the
/// one from evidence read later stays, whichever commits last.
#[tokio::test]
async fn of_two_results_of_one_capture_the_one_from_older_facts_never_wins() {
    use shared::domain::state::Delivery;
    let (store, client, table) = store().await;
    let check = "servers.ssm-agent-online";
    // The periodic run read the SSM inventory first (agent offline)...
    let periodic = Delivery::new("periodic");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // ...a state-change event read it later (agent online) and recorded first.
    let event = Delivery::new("state-change");
    let online = store
        .record(&[ev("i-1", check, Compliance::Compliant, 10)], &event)
        .await
        .unwrap();
    assert_eq!(online.len(), 1);
    let late = store
        .record(&[ev("i-1", check, Compliance::NonCompliant, 10)], &periodic)
        .await
        .unwrap();
    assert!(late.is_empty(), "no transition from the older facts: {late:?}");
    let r = store.account_results("111122223333").await.unwrap();
    assert_eq!(r[0].compliance, Compliance::Compliant);
    // A later reading of the same capture still replaces it.
    let newer = Delivery::new("next-state-change");
    let t = store
        .record(&[ev("i-1", check, Compliance::NonCompliant, 10)], &newer)
        .await
        .unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        count(&client, &table).await,
        1 + 2 + 2,
        "one result, two history and two outbox rows"
    );
}

/// The same, interleaved by a proxy as it happens between two invocations: the periodic run (older
/// facts) reads the rows, its transaction is held back while the state-change event records
/// from newer facts, then the periodic run's transaction fails its condition, it re-reads, and its
/// retry (same evaluations, same older facts) must still lose.
#[tokio::test]
async fn a_writer_retrying_with_older_facts_after_a_conflict_loses() {
    use integration_tests::proxy::{Fault, FaultProxy};
    use shared::domain::state::Delivery;
    let (store, _, table) = store().await;
    let check = "servers.ssm-agent-online";
    store
        .record(&[ev("i-1", check, Compliance::Compliant, 5)], &Delivery::new("first"))
        .await
        .unwrap();
    let held = FaultProxy::start(moto::endpoint(), |seen| {
        if seen.target.ends_with(".TransactWriteItems") && seen.nth == 0 {
            Fault::DelayThenForward(std::time::Duration::from_millis(1500))
        } else {
            Fault::Forward
        }
    })
    .await;
    let slow = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&moto::sdk_config())
                .endpoint_url(&held.url)
                .build(),
        ),
        &table,
    );
    let periodic = Delivery::new("periodic");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let event = Delivery::new("state-change");
    let writer = tokio::spawn(async move {
        slow.record(&[ev("i-1", check, Compliance::NonCompliant, 10)], &periodic)
            .await
    });
    // Once the periodic run's transaction is on its way, the event records.
    while held.count("DynamoDB_20120810.TransactWriteItems") == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let t = store
        .record(&[ev("i-1", check, Compliance::NonCompliant, 10)], &event)
        .await
        .unwrap();
    assert_eq!(t.len(), 1, "COMPLIANT -> NON_COMPLIANT from the event");
    let mut online = ev("i-1", check, Compliance::Compliant, 10);
    online.annotation = "agent Online".into();
    let t = store.record(&[online], &event).await.unwrap();
    assert_eq!(t.len(), 2, "and back to COMPLIANT, both its own");
    let late = writer.await.unwrap().unwrap();
    assert!(late.is_empty(), "the older facts recorded nothing: {late:?}");
    assert!(
        held.count("DynamoDB_20120810.TransactWriteItems") >= 1,
        "the held transaction was sent"
    );
    let r = store.account_results("111122223333").await.unwrap();
    assert_eq!(
        (r[0].compliance, r[0].annotation.as_str()),
        (Compliance::Compliant, "agent Online")
    );
}

/// A rollup that read older results and is slow to write cannot replace the readiness a later
/// rollup confirmed. The later one found the row unchanged and wrote nothing to it (the row's
/// `basis` stayed older than the slow one's version), so the slow one's conditional write used to
/// succeed and announce the stale readiness. The slow rollup's write goes through a proxy that
/// holds its transaction back until the later rollup is done.
#[tokio::test]
async fn a_slow_rollup_cannot_replace_what_a_later_one_confirmed() {
    use integration_tests::proxy::{Fault, FaultProxy};
    let (store, _client, table) = store().await;
    let acct = "111122223333";
    let p = |status| PlanReadiness {
        account_id: acct.into(),
        aws_region: "us-east-1".into(),
        plan: Plan::Servers,
        status,
        blockers: vec![],
        blocker_count: 0,
        unverified: vec![],
        unverified_count: 0,
        non_compliant_resources: 0,
    };
    // BLOCKED, recorded and announced.
    let t = record_plans(&store, acct, &[p(PlanStatus::Blocked)]).await.unwrap();
    store.mark_plans_announced(&t).await.unwrap();
    // The slow rollup: its claim goes through at once, its plan row write two seconds later.
    let proxy = FaultProxy::start(moto::endpoint(), |seen| {
        if seen.target.ends_with("TransactWriteItems") || seen.target.ends_with("PutItem") {
            Fault::DelayThenForward(std::time::Duration::from_secs(2))
        } else {
            Fault::Forward
        }
    })
    .await;
    let slow_client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&moto::sdk_config())
            .endpoint_url(&proxy.url)
            .build(),
    );
    let slow = DynamoStore::new(slow_client, &table);
    let read = slow.plan_rows(acct).await.unwrap();
    let slow_run = tokio::spawn(async move {
        // From older results: READY.
        slow.record_plans(acct, &[p(PlanStatus::Ready)], &read).await
    });
    // The later rollup, from the newest results (still BLOCKED), after the slow one's claim.
    while proxy.count("UpdateItem") == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let read = store.plan_rows(acct).await.unwrap();
    let later = store
        .record_plans(acct, &[p(PlanStatus::Blocked)], &read)
        .await
        .unwrap()
        .expect("the later rollup claims the version after the slow one's");
    assert!(later.is_empty(), "nothing changed for the later rollup: {later:?}");
    let announced_by_slow = slow_run.await.unwrap().unwrap().unwrap_or_default();
    assert!(
        announced_by_slow.is_empty(),
        "the slow rollup announced stale readiness: {announced_by_slow:?}"
    );
    let rows = store.plan_rows(acct).await.unwrap();
    let row = rows.rows.values().next().unwrap();
    assert_eq!(
        row.status,
        PlanStatus::Blocked,
        "the row holds the later rollup's readiness"
    );
}

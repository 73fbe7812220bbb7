//! The three flows the functions run, driven by the real sample events in `events/` over the
//! in-memory ports: no network, no moto, milliseconds each. The same flows against AWS's APIs
//! (moto, the Config stand-in) and through each function's binary are in the `tests` crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shared::app::error::HandlerError;
use shared::app::flows::{self, Ports, RuleInvocation};
use shared::app::memory::{MemoryPublisher, MemoryReader, MemoryReporter, MemoryStore};
use shared::app::pace::Pace;
use shared::app::ports::ResultStore;
use shared::domain::model::{ConfigurationItem, LiveFacts, Resource};
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, ResourceKey};

const PROD: &str = "111122223333";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("events").join(name)).unwrap()).unwrap()
}

fn demo_items() -> Vec<ConfigurationItem> {
    let text = std::fs::read_to_string(root().join("events/demo-snapshot.json")).unwrap();
    let raw = shared::domain::snapshot::split(&text, "demo").unwrap();
    shared::domain::snapshot::parse_items(&raw, false, |_| {}).unwrap().0
}

fn settings() -> Settings {
    Settings::parse(
        &std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap(),
        true,
        "demo",
    )
    .unwrap()
}

/// Every type the checks read, as a recorder that records them all would say.
fn recorded() -> Vec<String> {
    shared::domain::model::types::recorded()
        .map(|t| t.name.to_owned())
        .collect()
}

/// The demo items with AmazonSSMManagedInstanceCore detached from `web-ssm-role` (what
/// `cloudtrail-detach-role-policy.json` reports).
fn items_after_detach() -> Vec<ConfigurationItem> {
    let mut items = demo_items();
    for i in &mut items {
        if i.resource_name.as_deref() == Some("web-ssm-role") {
            let Resource::IamRole(r) = &mut i.resource else {
                panic!("not a role")
            };
            r.attached_managed_policies.retain(|p| {
                !p.policy_arn
                    .as_deref()
                    .unwrap_or_default()
                    .ends_with("AmazonSSMManagedInstanceCore")
            });
        }
    }
    items
}

fn invocation(e: &Value) -> RuleInvocation<'_> {
    RuleInvocation {
        invoking_event: e["invokingEvent"].as_str(),
        rule_parameters: e["ruleParameters"].as_str(),
        result_token: e["resultToken"].as_str(),
        event_left_scope: e["eventLeftScope"].as_bool().unwrap_or(false),
        region: None,
        rule: e["configRuleArn"].as_str().and_then(|a| a.rsplit('/').next()),
    }
}

struct World {
    store: MemoryStore,
    publisher: MemoryPublisher,
    reporter: MemoryReporter,
    settings: Settings,
    recorded: Vec<String>,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::default(),
            publisher: MemoryPublisher::default(),
            reporter: MemoryReporter::default(),
            settings: settings(),
            recorded: recorded(),
        }
    }

    fn ports<'a>(&'a self, reader: &'a MemoryReader) -> Ports<'a, MemoryReader, MemoryStore, MemoryPublisher> {
        Ports {
            reader,
            store: &self.store,
            publisher: &self.publisher,
            settings: &self.settings,
            recorded_types: &self.recorded,
        }
    }

    /// Delivers an EC2 state change of `instance` to the re-evaluation flow.
    async fn instance_changed(&self, reader: &MemoryReader, instance: &str) {
        let mut e = event("event-reevaluator/ec2-state-change.json");
        e["detail"]["instance-id"] = instance.into();
        flows::reevaluate(
            &self.ports(reader),
            "EC2 Instance State-change Notification",
            &e["detail"],
            e["id"].as_str().unwrap(),
            None,
            &Pace::unbounded(),
        )
        .await
        .unwrap();
    }

    fn compliance(&self, id: &str, check: &str) -> Option<Compliance> {
        let t = if id.starts_with("i-") {
            "AWS::EC2::Instance"
        } else {
            "AWS::::Account"
        };
        self.store.result(t, id, check).map(|r| r.compliance)
    }

    fn published(&self, detail_type: &str) -> Vec<Value> {
        self.publisher
            .events()
            .into_iter()
            .filter(|e| e.detail_type == detail_type)
            .map(|e| e.detail)
            .collect()
    }
}

#[tokio::test]
async fn a_config_rule_change_is_reported_recorded_and_published_once() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let e = event("config-rule/change-ec2-instance.json");
    let out = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    assert_eq!((out.reported, out.calls), (1, 1));
    let calls = w.reporter.calls();
    let (token, test_mode, evals) = &calls[0];
    assert_eq!(
        (token.as_str(), *test_mode),
        ("eyJlbmNyeXB0ZWREYXRhIjpbMTEsMjAsLTcyXX0=", false)
    );
    assert_eq!(evals[0].compliance_resource_id, "i-0bat000000000002");
    assert_eq!(evals[0].compliance_type, Compliance::NonCompliant);
    assert_eq!(
        w.compliance("i-0bat000000000002", "servers.instance-profile"),
        Some(Compliance::NonCompliant)
    );
    let published = w.published("Prerequisite Compliance Changed");
    assert!(out.transitions > 0);
    assert_eq!(published.len(), out.transitions);
    assert!(w.store.outbox().is_empty(), "every transition published is cleared");

    // Duplicate delivery: reported again, nothing recorded or published again.
    let history = w.store.history().len();
    let again = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    assert_eq!(again.transitions, 0);
    assert_eq!(w.store.history().len(), history);
    assert_eq!(w.published("Prerequisite Compliance Changed").len(), published.len());
    assert_eq!(w.reporter.calls().len(), 2);
}

#[tokio::test]
async fn a_role_change_re_evaluates_every_instance_using_it() {
    let w = World::new();
    let before = MemoryReader::new(demo_items());
    // The web and SQL hosts use web-ssm-role's instance profile: record them as they were.
    for id in ["i-0web000000000001", "i-0sql000000000003"] {
        w.instance_changed(&before, id).await;
    }
    assert_eq!(
        w.compliance("i-0web000000000001", "servers.ssm-core-policy"),
        Some(Compliance::Compliant)
    );

    let after = MemoryReader::new(items_after_detach());
    let e = event("event-reevaluator/cloudtrail-detach-role-policy.json");
    let out = flows::reevaluate(
        &w.ports(&after),
        e["detail-type"].as_str().unwrap(),
        &e["detail"],
        e["id"].as_str().unwrap_or("event"),
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    assert!(out.transitions >= 2, "{out:?}");
    for id in ["i-0web000000000001", "i-0sql000000000003"] {
        assert_eq!(
            w.compliance(id, "servers.ssm-core-policy"),
            Some(Compliance::NonCompliant),
            "{id}"
        );
    }
    let flipped: BTreeSet<String> = w
        .published("Prerequisite Compliance Changed")
        .iter()
        .filter(|d| d["checkId"] == "servers.ssm-core-policy" && d["current"] == "NON_COMPLIANT")
        .map(|d| d["resourceId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        flipped,
        BTreeSet::from(["i-0sql000000000003".to_owned(), "i-0web000000000001".to_owned()])
    );
}

#[tokio::test]
async fn the_rollup_announces_each_readiness_change_once() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let e = event("config-rule/change-ec2-instance.json");
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    let accounts = BTreeSet::from([PROD.to_owned()]);
    let out = flows::rollup(&w.store, &w.publisher, &w.settings, &accounts, &[])
        .await
        .unwrap();
    let readiness = w.published("Plan Readiness Changed");
    assert_eq!(readiness.len(), out.plan_transitions);
    assert!(readiness
        .iter()
        .any(|d| d["plan"] == "servers" && d["current"] == "BLOCKED" && d["previous"].is_null()));
    // Nothing changed since: nothing to announce.
    let again = flows::rollup(&w.store, &w.publisher, &w.settings, &accounts, &[])
        .await
        .unwrap();
    assert_eq!(again.plan_transitions, 0);
    assert_eq!(w.published("Plan Readiness Changed").len(), readiness.len());
}

#[tokio::test]
async fn a_scheduled_run_retires_what_config_no_longer_records() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let e = event("config-rule/change-ec2-instance.json");
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    // The instance is gone from AWS Config.
    let without: Vec<ConfigurationItem> = demo_items()
        .into_iter()
        .filter(|i| i.resource_id != "i-0bat000000000002")
        .collect();
    let reader = MemoryReader::new(without);
    flows::config_rule(
        &w.ports(&reader),
        &w.reporter,
        &invocation(&event("config-rule/scheduled.json")),
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    let r = w
        .store
        .result("AWS::EC2::Instance", "i-0bat000000000002", "servers.instance-profile")
        .unwrap();
    assert_eq!(r.compliance, Compliance::NotApplicable);
    assert_eq!(r.annotation, "no longer recorded by AWS Config");
    let reported: Vec<_> = w.reporter.calls().into_iter().flat_map(|(_, _, e)| e).collect();
    assert!(reported
        .iter()
        .any(|e| e.compliance_resource_id == "i-0bat000000000002" && e.compliance_type == Compliance::NotApplicable));
}

/// The 20,000-instance periodic run spent its "gone" phase re-reading every result of the
/// account for each page of 500 (40 full reads of 240,000 rows): the account's results are read
/// once per invocation however many pages it does.
#[tokio::test]
async fn a_periodic_run_reads_the_accounts_results_once_per_invocation() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let first = event("config-rule/scheduled.json");
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&first), &Pace::unbounded())
        .await
        .unwrap();
    let folds = w.store.folds();
    let mut next = event("config-rule/scheduled.json");
    next["resultToken"] = "the-next-period".into();
    let small = Pace {
        page: 2,
        ..Pace::unbounded()
    };
    let out = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&next), &small)
        .await
        .unwrap();
    assert!(out.pages > 5, "{out:?}");
    assert_eq!(w.store.folds() - folds, 1, "{} pages", out.pages);
}

#[tokio::test]
async fn service_api_facts_reach_the_results() {
    let w = World::new();
    let instance = ResourceKey::new("AWS::EC2::Instance", "i-0web000000000001");
    // The demo records an SSM inventory for this instance; SSM now says the agent lost its
    // connection, which only DescribeInstanceInformation knows.
    let lost = LiveFacts {
        ssm_ping_status: Some("ConnectionLost".into()),
        ..LiveFacts::default()
    };
    w.instance_changed(&MemoryReader::new(demo_items()), "i-0web000000000001")
        .await;
    assert_eq!(
        w.compliance("i-0web000000000001", "servers.ssm-agent-online"),
        Some(Compliance::Compliant)
    );

    let with = MemoryReader::new(demo_items()).with_facts(instance, lost);
    w.instance_changed(&with, "i-0web000000000001").await;
    assert_eq!(
        w.compliance("i-0web000000000001", "servers.ssm-agent-online"),
        Some(Compliance::NonCompliant),
        "the service API's fact, not the recorded inventory, decides"
    );
}

#[tokio::test]
async fn malformed_events_fail_naming_what_is_wrong_and_write_nothing() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let mut e = event("config-rule/change-ec2-instance.json");
    e["invokingEvent"] = Value::String("{\"messageType\": 7, \"secret\": \"AKIAEXAMPLESECRET\"}".into());
    let err = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Malformed(_)), "{err:?}");
    assert_eq!(err.kind(), "MalformedEvent");
    assert!(!err.to_string().contains("AKIAEXAMPLESECRET"), "{err}");
    let err = flows::reevaluate(
        &w.ports(&reader),
        "EC2 Instance State-change Notification",
        &Value::Null,
        "event",
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("instance-id"), "{err}");
    let err = flows::reevaluate(
        &w.ports(&reader),
        "Something Else",
        &Value::Null,
        "event",
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap_err();
    // Named as unsupported, the value not quoted (it is the event's).
    assert!(
        err.to_string().contains("unsupported detail-type") && !err.to_string().contains("Something Else"),
        "{err}"
    );
    assert!(w.store.history().is_empty());
    assert!(w.store.account_results(PROD).await.unwrap().is_empty());
    assert!(w.publisher.events().is_empty());
    assert!(w.reporter.calls().is_empty());
}

#[tokio::test]
async fn config_rules_test_mode_reports_but_records_and_publishes_nothing() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let mut e = event("config-rule/change-ec2-instance.json");
    e["resultToken"] = "TESTMODE".into();
    let out = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    assert_eq!((out.reported, out.transitions), (1, 0));
    let calls = w.reporter.calls();
    assert!(calls
        .iter()
        .all(|(token, test_mode, _)| token == "TESTMODE" && *test_mode));
    assert!(w.store.history().is_empty() && w.publisher.events().is_empty());
}

/// A bus that refuses everything.
struct DownBus;

impl shared::app::ports::EventPublisher for DownBus {
    async fn publish(
        &self,
        events: &[shared::contracts::events::OutboundEvent],
    ) -> Result<(), shared::app::ports::PortError> {
        if events.is_empty() {
            return Ok(());
        }
        Err(shared::app::ports::PortError {
            operation: "events:PutEvents",
            message: "service unavailable".into(),
            retryable: true,
        })
    }
}

#[tokio::test]
async fn a_failing_bus_does_not_keep_the_results_from_config_and_the_retry_publishes() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let e = event("config-rule/change-ec2-instance.json");
    let down = Ports {
        reader: &reader,
        store: &w.store,
        publisher: &DownBus,
        settings: &w.settings,
        recorded_types: &w.recorded,
    };
    let err = flows::config_rule(&down, &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Retryable");
    assert_eq!(
        w.reporter.calls().len(),
        1,
        "Config got the results before the bus failed"
    );
    assert!(!w.store.outbox().is_empty(), "the transitions wait in the outbox");
    // Lambda retries with the bus back: the outbox is published, Config is told again.
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&e), &Pace::unbounded())
        .await
        .unwrap();
    assert!(w.store.outbox().is_empty());
    assert!(!w.published("Prerequisite Compliance Changed").is_empty());
    assert_eq!(w.reporter.calls().len(), 2);
}

#[tokio::test]
async fn an_event_dated_in_the_future_is_refused_and_changes_nothing() {
    let w = World::new();
    let reader = MemoryReader::new(items_after_detach());
    // A forged CloudTrail call dated 2099 would date the account's results after every real change.
    let mut e = event("event-reevaluator/cloudtrail-detach-role-policy.json");
    e["detail"]["eventTime"] = "2099-01-01T00:00:00Z".into();
    let err = flows::reevaluate(
        &w.ports(&reader),
        e["detail-type"].as_str().unwrap(),
        &e["detail"],
        e["id"].as_str().unwrap_or("event"),
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "MalformedEvent");
    assert!(err.to_string().contains("eventTime"), "{err}");
    // The same for a configuration item captured in the future.
    let mut e = event("event-reevaluator/config-item-change-iam-role.json");
    e["detail"]["configurationItem"]["configurationItemCaptureTime"] = "2099-01-01T00:00:00.000Z".into();
    let err = flows::reevaluate(
        &w.ports(&reader),
        e["detail-type"].as_str().unwrap(),
        &e["detail"],
        e["id"].as_str().unwrap_or("event"),
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("configurationItemCaptureTime"), "{err}");
    assert!(w.store.history().is_empty() && w.publisher.events().is_empty());
}

/// Issue: a resource SelectResourceConfig missed for a moment (index lag) was dated with the
/// notification time, so its real item, captured earlier, was "stale" for ever after.
#[tokio::test]
async fn a_resource_a_scheduled_run_missed_comes_back_with_its_item() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    flows::config_rule(
        &w.ports(&reader),
        &w.reporter,
        &invocation(&event("config-rule/change-ec2-instance.json")),
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    let lagging: Vec<ConfigurationItem> = demo_items()
        .into_iter()
        .filter(|i| i.resource_id != "i-0bat000000000002")
        .collect();
    flows::config_rule(
        &w.ports(&MemoryReader::new(lagging)),
        &w.reporter,
        &invocation(&event("config-rule/scheduled.json")),
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    assert_eq!(
        w.compliance("i-0bat000000000002", "servers.instance-profile"),
        Some(Compliance::NotApplicable)
    );
    // The index caught up; the instance's state changes: its item (captured before the scheduled
    // run) decides again.
    w.instance_changed(&reader, "i-0bat000000000002").await;
    assert_eq!(
        w.compliance("i-0bat000000000002", "servers.instance-profile"),
        Some(Compliance::NonCompliant)
    );
}

/// Issue: a scheduled run of a rule scoped to one plan marked every other plan's resources "no
/// longer recorded".
#[tokio::test]
async fn a_plan_scoped_scheduled_run_retires_only_its_own_plans_resources() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    // Every plan's results, from an unscoped scheduled run.
    flows::config_rule(
        &w.ports(&reader),
        &w.reporter,
        &invocation(&event("config-rule/scheduled.json")),
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    let cluster = |w: &World| {
        w.store
            .result("AWS::EKS::Cluster", "prod-apps", "containers.eks-version")
            .map(|r| (r.compliance, r.annotation))
    };
    let before = cluster(&w).expect("the cluster's result");
    let events_before = w.publisher.events().len();
    // The servers rule's scheduled run sees only what its plan reads.
    let mut servers = event("config-rule/scheduled.json");
    servers["ruleParameters"] = r#"{"plans":"servers"}"#.into();
    flows::config_rule(
        &w.ports(&reader),
        &w.reporter,
        &invocation(&servers),
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    assert_eq!(cluster(&w), Some(before));
    let retired: Vec<Value> = w.publisher.events()[events_before..]
        .iter()
        .map(|e| e.detail.clone())
        .filter(|d| d.to_string().contains("no longer recorded"))
        .collect();
    assert!(retired.is_empty(), "{retired:?}");
}

/// The change event of i-0bat000000000002 captured at `time`, with or without an instance
/// profile.
fn bat_change(time: &str, profile: bool) -> Value {
    let mut e = event("config-rule/change-ec2-instance.json");
    let mut inner: Value = serde_json::from_str(e["invokingEvent"].as_str().unwrap()).unwrap();
    let item = &mut inner["configurationItem"];
    item["configurationItemCaptureTime"] = time.into();
    if profile {
        item["configuration"]["iamInstanceProfile"] =
            serde_json::json!({"arn": "arn:aws:iam::111122223333:instance-profile/web-ssm", "id": "AIPAWEB"});
    }
    e["invokingEvent"] = inner.to_string().into();
    e
}

/// Issue A: an unchanged result wrote nothing, so its row kept the older capture time, and a late
/// event captured in between won over the newest capture.
#[tokio::test]
async fn a_late_event_never_wins_over_a_newer_capture_of_the_same_result() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    for (time, profile) in [
        ("2026-11-20T09:00:00.000Z", false),
        ("2026-11-20T11:00:00.000Z", false),
        // Delivered late: captured at 10:00, when a profile was attached for a while.
        ("2026-11-20T10:00:00.000Z", true),
    ] {
        flows::config_rule(
            &w.ports(&reader),
            &w.reporter,
            &invocation(&bat_change(time, profile)),
            &Pace::unbounded(),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        w.compliance("i-0bat000000000002", "servers.instance-profile"),
        Some(Compliance::NonCompliant),
        "the 11:00 capture says no profile"
    );
    let flips: Vec<Value> = w
        .published("Prerequisite Compliance Changed")
        .into_iter()
        .filter(|d| d["resourceId"] == "i-0bat000000000002" && d["checkId"] == "servers.instance-profile")
        .collect();
    assert_eq!(flips.len(), 1, "only the first result is a transition: {flips:?}");
}

/// Issue B: a late event of a role, captured before its policy was detached, flipped the
/// instances using it back to COMPLIANT: a dependant's result was dated by its own capture, not by
/// the newest evidence it was computed from.
#[tokio::test]
async fn a_late_change_of_a_dependency_never_rolls_back_its_dependants() {
    let w = World::new();
    let before = MemoryReader::new(demo_items());
    for id in ["i-0web000000000001", "i-0sql000000000003"] {
        w.instance_changed(&before, id).await;
    }
    // The policy is detached; AWS Config records the role again, at 08:16:30.
    let detached: Vec<ConfigurationItem> = items_after_detach()
        .into_iter()
        .map(|mut i| {
            if i.resource_name.as_deref() == Some("web-ssm-role") {
                i.capture_time = "2026-11-20T08:16:30.000Z".parse().ok();
            }
            i
        })
        .collect();
    let after = MemoryReader::new(detached);
    let e = event("event-reevaluator/cloudtrail-detach-role-policy.json");
    flows::reevaluate(
        &w.ports(&after),
        e["detail-type"].as_str().unwrap(),
        &e["detail"],
        e["id"].as_str().unwrap_or("event"),
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    let published = w.published("Prerequisite Compliance Changed").len();
    // Late: the Config change of the role captured at 08:15:42, policy still attached.
    let late = event("event-reevaluator/config-item-change-iam-role.json");
    flows::reevaluate(
        &w.ports(&after),
        late["detail-type"].as_str().unwrap(),
        &late["detail"],
        late["id"].as_str().unwrap_or("event"),
        None,
        &Pace::unbounded(),
    )
    .await
    .unwrap();
    for id in ["i-0web000000000001", "i-0sql000000000003"] {
        assert_eq!(
            w.compliance(id, "servers.ssm-core-policy"),
            Some(Compliance::NonCompliant),
            "{id} rolled back by an older capture of its role"
        );
    }
    assert_eq!(w.published("Prerequisite Compliance Changed").len(), published);
}

/// The scheduled event of one more period: a new result token.
fn next_period(n: usize) -> Value {
    let mut e = event("config-rule/scheduled.json");
    e["resultToken"] = json!(format!("next-period-{n}"));
    e
}

fn reported_in(w: &World, from: usize) -> Vec<(String, Compliance)> {
    w.reporter.calls()[from..]
        .iter()
        .flat_map(|(_, _, e)| e.iter().map(|e| (e.compliance_resource_id.clone(), e.compliance_type)))
        .collect()
}

#[tokio::test]
async fn a_periodic_run_reports_only_what_changed_or_grew_old() {
    let w = World::new();
    let reader = MemoryReader::new(demo_items());
    let pace = Pace::unbounded();
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&next_period(1)), &pace)
        .await
        .unwrap();
    let first = reported_in(&w, 0);
    assert!(first.len() > 10, "{first:?}");

    // The next period, nothing changed: nothing to tell AWS Config again.
    let calls = w.reporter.calls().len();
    let out = flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&next_period(2)), &pace)
        .await
        .unwrap();
    assert_eq!(reported_in(&w, calls), []);
    assert_eq!(out.unchanged, first.len());

    // One role loses its SSM policy: its instance's evaluation changes, and only that is sent.
    let reader = MemoryReader::new(items_after_detach());
    let calls = w.reporter.calls().len();
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&next_period(3)), &pace)
        .await
        .unwrap();
    let changed = reported_in(&w, calls);
    assert!(
        changed.contains(&("i-0web000000000001".to_owned(), Compliance::NonCompliant)),
        "{changed:?}"
    );
    assert!(changed.len() < 5, "{changed:?}");

    // Past the refresh age, everything is sent again.
    let stale = Pace {
        report_refresh: std::time::Duration::ZERO,
        ..Pace::unbounded()
    };
    let calls = w.reporter.calls().len();
    flows::config_rule(&w.ports(&reader), &w.reporter, &invocation(&next_period(4)), &stale)
        .await
        .unwrap();
    assert_eq!(reported_in(&w, calls).len(), first.len());
}

//! Each function binary through its real `main` (its wiring module), under a loopback Lambda
//! Runtime API, with DynamoDB and EventBridge on moto, AWS Config on the recording stand-in, and
//! SSM, EKS and CloudWatch Logs on a stub: what only the service APIs know (an SSM PingStatus, an
//! EKS access entry and authentication mode, a log subscription filter) must reach the
//! evaluations and the table. A function wired without its fact reader fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, demo_items_after_detach as items_after_detach, event_json};
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::proxy::{Fault, FaultProxy};
use integration_tests::runtime_api::RuntimeApi;
use integration_tests::stream::StreamReader;
use integration_tests::stub::Stub;
use serde_json::{json, Value};
use shared::app::ports::{ReadinessReader, ResultStore};
use shared::aws::dynamo::DynamoStore;
use shared::domain::plans::PlanStatus;
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Evaluation, Plan};

const PROD: &str = "111122223333";

/// SSM, CloudWatch Logs (JSON protocol) and EKS (REST) as the facts reader calls them.
async fn service_apis(discovery_role: String) -> Stub {
    Stub::start(move |target, body| {
        let ok = |v: Value| (200, v.to_string());
        match target {
            t if t.ends_with(".DescribeInstanceInformation") => ok(json!({"InstanceInformationList": [
                {"InstanceId": "i-0bat000000000002", "PingStatus": "Online", "AgentVersion": "3.3.40.0"}
            ]})),
            t if t.ends_with(".DescribeSubscriptionFilters")
                && body["logGroupName"] == "/aws/eks/prod-apps/cluster" =>
            {
                ok(
                    json!({"subscriptionFilters": [{"filterName": "mdc", "logGroupName": "/aws/eks/prod-apps/cluster",
                    "destinationArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/mdc-audit"}]}),
                )
            }
            t if t.ends_with(".DescribeSubscriptionFilters") => (
                400,
                json!({"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
                    .to_string(),
            ),
            "GET /clusters/prod-apps" => ok(json!({"cluster": {"name": "prod-apps", "status": "ACTIVE",
                "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"}}})),
            "GET /clusters/prod-apps/access-entries" => ok(json!({"accessEntries": [
                format!("arn:aws:iam::{PROD}:role/{discovery_role}")
            ]})),
            "GET /clusters/prod-apps/node-groups" => ok(json!({"nodegroups": ["ng-1"]})),
            "GET /clusters/prod-apps/node-groups/ng-1" => {
                ok(json!({"nodegroup": {"nodegroupName": "ng-1", "clusterName": "prod-apps", "amiType": "AL2_x86_64"}}))
            }
            other => (
                404,
                json!({"__type": "ResourceNotFoundException", "message": format!("not served: {other}")}).to_string(),
            ),
        }
    })
    .await
}

struct Stack {
    config: ConfigWorld,
    facts: Stub,
    store: DynamoStore,
    table: String,
    bus: String,
    settings_json: String,
}

impl Stack {
    async fn start() -> Self {
        let sdk = moto::sdk_config();
        let table = moto::unique("wiring");
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
        store.create_table().await.unwrap();
        let bus = moto::event_bus().await;
        let settings = Settings::default();
        let discovery = settings.roles.containers_k8s_discovery[0].clone();
        Self {
            config: ConfigWorld::start(demo_items()).await,
            facts: service_apis(discovery).await,
            store,
            table,
            bus,
            settings_json: serde_json::to_string(&settings).unwrap(),
        }
    }

    /// Runs the function binary `name` for one event and returns its answer.
    async fn invoke(&self, name: &str, event: &Value) -> Value {
        let (ok, body) = self.answer(name, event).await;
        assert!(ok, "{name} failed: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Runs the function binary `name` for one event: whether it succeeded, and its answer.
    async fn answer(&self, name: &str, event: &Value) -> (bool, String) {
        self.answer_with(name, event, &[]).await
    }

    /// [`Self::answer`], with more environment variables (an endpoint through a proxy).
    async fn answer_with(&self, name: &str, event: &Value, env: &[(&str, &str)]) -> (bool, String) {
        let (ok, body, _) = self.answer_measured(name, event, env).await;
        (ok, body)
    }

    /// The function binary `name` started under a fresh loopback Runtime API, with `env` over the
    /// stack's environment.
    async fn started(&self, name: &str, env: &[(&str, &str)]) -> (RuntimeApi, tokio::process::Child) {
        let api = RuntimeApi::start().await;
        let target = Target {
            runtime_api: &api.address,
            config_url: &self.config.stub.url,
            table: &self.table,
            bus: &self.bus,
            settings_json: &self.settings_json,
            facts_url: Some(&self.facts.url),
        };
        let function = lambda::spawn(
            lambda::command(&lambda::function_binary(name).await, &target)
                .env("AWS_MAX_ATTEMPTS", "1")
                .envs(env.iter().copied()),
        );
        (api, function)
    }

    /// Runs the function binary `name` for each of `events` in turn, in one process (one warm
    /// execution environment): whether each succeeded, and its answer.
    async fn answers_with(&self, name: &str, events: &[Value], env: &[(&str, &str)]) -> Vec<(bool, String)> {
        let (api, _function) = self.started(name, env).await;
        let mut out = Vec::new();
        for event in events {
            api.send(event.to_string());
            let outcome = tokio::time::timeout(Duration::from_secs(60), api.outcome())
                .await
                .unwrap_or_else(|_| panic!("{name} did not answer within 60 s"))
                .unwrap();
            out.push((outcome.ok, outcome.body));
        }
        out
    }

    /// [`Self::answer_with`], and the function's peak RSS (KiB) after answering.
    async fn answer_measured(&self, name: &str, event: &Value, env: &[(&str, &str)]) -> (bool, String, u64) {
        let (api, function) = self.started(name, env).await;
        api.send(event.to_string());
        let outcome = tokio::time::timeout(Duration::from_secs(60), api.outcome())
            .await
            .unwrap_or_else(|_| panic!("{name} did not answer within 60 s"))
            .unwrap();
        // Still running (waiting for its next event): its high-water mark covers the invocation.
        let rss = function.id().and_then(lambda::peak_rss_kb).unwrap_or(0);
        (outcome.ok, outcome.body, rss)
    }

    async fn result(&self, resource_id: &str, check: &str) -> (Compliance, String) {
        self.store
            .account_results(PROD)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.resource_id == resource_id && e.check_id == check)
            .map(|e| (e.compliance, e.annotation.into()))
            .unwrap_or_else(|| panic!("no {check} result for {resource_id} in the table"))
    }
}

/// An EventBridge "Config Configuration Item Change" for one of `items`.
fn config_change(items: &[Value], resource_id: &str) -> Value {
    let mut e = event_json("event-reevaluator/config-item-change-iam-role.json");
    let item = items.iter().find(|i| i["resourceId"] == resource_id).unwrap().clone();
    e["resources"] = json!([]);
    e["detail"]["configurationItem"] = item;
    e
}

/// The invocation of the Config rule of `plans` for a configuration change of one of `items`.
fn rule_change(items: &[Value], resource_id: &str, plans: &str) -> Value {
    let mut e = event_json("config-rule/change-ec2-instance.json");
    let mut invoking: Value = serde_json::from_str(e["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItem"] = items.iter().find(|i| i["resourceId"] == resource_id).unwrap().clone();
    e["invokingEvent"] = invoking.to_string().into();
    e["ruleParameters"] = json!({ "plans": plans }).to_string().into();
    e
}

#[tokio::test]
async fn every_function_reads_service_api_facts_through_its_real_wiring() {
    let stack = Stack::start().await;

    // config-rule (the containers rule): an EKS cluster's change.
    let out = stack
        .invoke("config-rule", &rule_change(&demo_items(), "prod-apps", "containers"))
        .await;
    assert!(out["reported"].as_u64().unwrap() > 0, "{out}");
    for (check, why) in [
        (
            "containers.eks-access-entry",
            "the access entry from eks:ListAccessEntries",
        ),
        (
            "containers.eks-auth-mode",
            "API_AND_CONFIG_MAP from eks:DescribeCluster",
        ),
        (
            "containers.audit-pipeline",
            "the subscription filter from logs:DescribeSubscriptionFilters",
        ),
        ("containers.node-os", "the AL2 node group from eks:DescribeNodegroup"),
    ] {
        let (c, annotation) = stack.result("prod-apps", check).await;
        assert_eq!(
            c,
            Compliance::Compliant,
            "{check} should be decided by {why}: {annotation}"
        );
    }
    // event-reevaluator: an instance's state change.
    let mut state_change = event_json("event-reevaluator/ec2-state-change.json");
    state_change["detail"]["instance-id"] = "i-0bat000000000002".into();
    stack.invoke("event-reevaluator", &state_change).await;
    let (c, annotation) = stack.result("i-0bat000000000002", "servers.ssm-agent-online").await;
    assert_eq!(
        (c, annotation.contains("Online")),
        (Compliance::Compliant, true),
        "PingStatus from ssm:DescribeInstanceInformation: {annotation}"
    );
    assert!(!stack.facts.calls("DescribeInstanceInformation").is_empty());
    // What the recorder records came from the recorder itself, not a variable.
    assert!(!stack.config.stub.calls("DescribeConfigurationRecorders").is_empty());

    // config-rule: the same fact reaches PutEvaluations and the table.
    let out = stack
        .invoke("config-rule", &event_json("config-rule/change-ec2-instance.json"))
        .await;
    assert_eq!(out["reported"], 1, "{out}");
    let puts = stack.config.put_evaluations();
    let put = &puts.last().unwrap()["Evaluations"][0];
    assert_eq!(put["ComplianceResourceId"], "i-0bat000000000002");
    let (c, _) = stack.result("i-0bat000000000002", "servers.ssm-agent-online").await;
    assert_eq!(c, Compliance::Compliant);

    // readiness-rollup: a stream record of this account's results rolls it up into the table.
    let mut batch = event_json("readiness-rollup/stream-batch.json");
    batch["Records"].as_array_mut().unwrap().truncate(1);
    let out = stack.invoke("readiness-rollup", &batch).await;
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    let readiness = stack.store.readiness().await.unwrap();
    assert!(
        readiness
            .iter()
            .any(|r| r.account_id == PROD && r.plan.as_str() == "containers"),
        "{readiness:?}"
    );
}

#[tokio::test]
async fn a_payload_of_another_shape_fails_as_malformed_and_quotes_nothing() {
    let stack = Stack::start().await;
    const SECRET: &str = "AKIAEXAMPLESECRET/s3cr3t";
    for (name, payload) in [
        (
            "config-rule",
            json!({"invokingEvent": 5, "resultToken": SECRET, "eventLeftScope": SECRET}),
        ),
        ("config-rule", Value::Null),
        (
            "event-reevaluator",
            json!({"detail-type": ["Config Configuration Item Change"], "detail": SECRET}),
        ),
        ("readiness-rollup", json!({"Records": SECRET})),
        ("findings", json!({"Records": SECRET})),
    ] {
        let (ok, body) = stack.answer(name, &payload).await;
        assert!(!ok, "{name} accepted {payload}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["errorType"], "MalformedEvent", "{name}: {body}");
        assert!(!body.contains("AKIAEXAMPLESECRET"), "{name} quoted the payload: {body}");
    }
    // A well-formed event of a kind the re-evaluator does not take: refused without quoting its
    // detail-type (it used to come back in the error, line break and all).
    let mut other = event_json("event-reevaluator/ec2-state-change.json");
    other["detail-type"] = json!(format!("Forged\nERROR {SECRET}"));
    let (ok, body) = stack.answer("event-reevaluator", &other).await;
    assert!(!ok);
    let error: Value = serde_json::from_str(&body).unwrap();
    let message = error["errorMessage"].as_str().unwrap();
    assert_eq!(error["errorType"], "MalformedEvent", "{body}");
    assert!(message.contains("unsupported detail-type"), "{message}");
    assert!(
        !message.contains("AKIAEXAMPLESECRET") && !message.contains('\n'),
        "{message}"
    );
}

/// A late Config change of a role, captured before its policy was detached, reaches the
/// event-reevaluator binary: the role and the instances using it are evaluated from the newer
/// capture AWS Config records, not from the event's older item.
#[tokio::test]
async fn a_late_event_is_evaluated_from_the_newer_capture_config_records() {
    let stack = Stack::start().await;
    stack.config.set_items(items_after_detach());
    // The event still carries the role as it was at 08:15:42, with the policy attached.
    let late = event_json("event-reevaluator/config-item-change-iam-role.json");
    stack.invoke("event-reevaluator", &late).await;
    let (compliance, annotation) = stack.result("i-0web000000000001", "servers.ssm-core-policy").await;
    assert_eq!(compliance, Compliance::NonCompliant, "{annotation}");
}

/// An item in DynamoDB's JSON wire format (result rows hold strings and numbers only).
fn wire(item: &std::collections::HashMap<String, AttributeValue>) -> Value {
    item.iter()
        .map(|(k, v)| {
            let v = match v {
                AttributeValue::S(s) => json!({ "S": s }),
                AttributeValue::N(n) => json!({ "N": n }),
                other => panic!("unexpected attribute {other:?}"),
            };
            (k.clone(), v)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Issue: the rollup read the account's results from GSI1, which is eventually consistent: a
/// stream record that arrived before the index caught up was rolled up from the older results,
/// the older readiness recorded, and the record consumed, so nothing corrected it. Now the
/// rollup binary, whose index still shows the instance COMPLIANT after it became NON_COMPLIANT,
/// fails that record for a retry and records nothing; the retry, once the index shows the
/// change, records BLOCKED.
#[tokio::test]
async fn a_rollup_waits_for_the_index_to_show_the_changes_it_rolls_up() {
    let stack = Stack::start().await;
    let sdk = moto::sdk_config();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let arn = ddb
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap()
        .table()
        .and_then(|t| t.latest_stream_arn())
        .unwrap()
        .to_owned();
    let mut stream = StreamReader::open(&arn);
    let result = |compliance, capture: &str| Evaluation {
        account_id: PROD.into(),
        aws_region: "us-east-1".into(),
        resource_type: "AWS::EC2::Instance".into(),
        resource_id: "i-0aaa000000000001".into(),
        check_id: "servers.instance-profile".into(),
        plan: Plan::Servers,
        compliance,
        annotation: Default::default(),
        capture_time: Some(capture.parse().unwrap()),
    };
    stack
        .store
        .record(
            &[result(Compliance::Compliant, "2026-11-20T08:00:00Z")],
            &shared::domain::state::Delivery::new("event-1"),
        )
        .await
        .unwrap();
    let first = stream.next_event();
    let out = stack.invoke("readiness-rollup", &first).await;
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    let servers = |rows: Vec<shared::domain::plans::ReadinessRow>| {
        rows.into_iter()
            .find(|r| r.account_id == PROD && r.aws_region == "us-east-1" && r.plan == Plan::Servers)
            .map(|r| r.status)
    };
    let before = servers(stack.store.readiness().await.unwrap()).unwrap();
    assert_ne!(before, PlanStatus::Blocked);

    // The index as it was: what a lagging GSI1 answers.
    let stale: Vec<Value> = ddb
        .query()
        .table_name(&stack.table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :p")
        .expression_attribute_values(":p", AttributeValue::S(format!("{PROD}#servers")))
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(wire)
        .collect();
    assert_eq!(stale.len(), 1);
    stack
        .store
        .record(
            &[result(Compliance::NonCompliant, "2026-11-20T09:00:00Z")],
            &shared::domain::state::Delivery::new("event-2"),
        )
        .await
        .unwrap();
    let change = stream.next_event();
    let lagging = FaultProxy::start(moto::endpoint(), move |seen| {
        if seen.target.ends_with(".Query")
            && seen.body["IndexName"] == "GSI1"
            && seen.body["ExpressionAttributeValues"][":p"]["S"] == format!("{PROD}#servers")
        {
            let body = json!({"Items": stale, "Count": stale.len(), "ScannedCount": stale.len()});
            Fault::Respond(200, body.to_string())
        } else {
            Fault::Forward
        }
    })
    .await;
    let (ok, body) = stack
        .answer_with(
            "readiness-rollup",
            &change,
            &[("AWS_ENDPOINT_URL_DYNAMODB", lagging.url.as_str())],
        )
        .await;
    assert!(ok, "{body}");
    let out: Value = serde_json::from_str(&body).unwrap();
    let first_seq = change["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dynamodb"]["Keys"]["SK"]["S"].as_str().unwrap().starts_with("CHECK#"))
        .unwrap()["dynamodb"]["SequenceNumber"]
        .clone();
    assert_eq!(
        out["batchItemFailures"],
        json!([{ "itemIdentifier": first_seq }]),
        "the record is failed for a retry"
    );
    assert_eq!(
        servers(stack.store.readiness().await.unwrap()),
        Some(before),
        "nothing recorded"
    );

    // Lambda retries from that record; the index has caught up.
    let out = stack.invoke("readiness-rollup", &change).await;
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    assert_eq!(
        servers(stack.store.readiness().await.unwrap()),
        Some(PlanStatus::Blocked)
    );
}

/// Issue: a plan row stored every blocker and the readiness event carried them all, so from about
/// 1,100 blockers every write failed (DynamoDB items are capped at 400 KB, PutEvents entries at
/// 256 KB) and the account's readiness was never updated again. 5,000 instances without an
/// instance profile, rolled up by the rollup binary from the table on moto: the row and the event
/// hold the first blockers and the count of all.
#[tokio::test]
async fn an_account_with_5000_blockers_is_rolled_up_by_the_real_rollup() {
    const N: usize = 5000;
    let stack = Stack::start().await;
    let started = std::time::Instant::now();
    let evaluations: Vec<Evaluation> = (0..N)
        .map(|n| Evaluation {
            account_id: PROD.into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: format!("i-{n:017x}").into(),
            check_id: "servers.instance-profile".into(),
            plan: Plan::Servers,
            compliance: Compliance::NonCompliant,
            annotation: "no IAM instance profile is attached (the connector's 30-day automation only fixes instances that existed when its stack was created)".into(),
            capture_time: Some("2026-11-20T08:00:00Z".parse().unwrap()),
        })
        .collect();
    stack
        .store
        .record(&evaluations, &shared::domain::state::Delivery::new("event"))
        .await
        .unwrap();
    eprintln!("recorded {N} results in {:?}", started.elapsed());
    let mut batch = event_json("readiness-rollup/stream-batch.json");
    batch["Records"].as_array_mut().unwrap().truncate(1);
    // The record names one of the 5,000 results, as written.
    let image = &mut batch["Records"][0]["dynamodb"]["NewImage"];
    let key = "RES#111122223333#us-east-1#AWS::EC2::Instance#i-00000000000000000";
    image["PK"] = json!({ "S": key });
    image["resourceId"] = json!({ "S": "i-00000000000000000" });
    batch["Records"][0]["dynamodb"]["Keys"]["PK"] = json!({ "S": key });
    let mut small = batch.clone();
    let small_image = &mut small["Records"][0]["dynamodb"]["NewImage"];
    let small_key = "RES#999988887777#us-east-1#AWS::EC2::Instance#i-00000000000000000";
    small_image["PK"] = json!({ "S": small_key });
    small_image["accountId"] = json!({ "S": "999988887777" });
    small["Records"][0]["dynamodb"]["Keys"]["PK"] = json!({ "S": small_key });
    let (ok, body, reference) = stack.answer_measured("readiness-rollup", &small, &[]).await;
    assert!(ok, "{body}");
    let (ok, body, rss) = stack.answer_measured("readiness-rollup", &batch, &[]).await;
    assert!(ok, "{body}");
    let out: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    eprintln!(
        "rollup peak RSS: {N} results {rss} KiB, 1 result {reference} KiB ({:.2}x)",
        rss as f64 / reference.max(1) as f64
    );
    let rows = stack.store.readiness().await.unwrap();
    let servers = rows
        .iter()
        .find(|r| r.account_id == PROD && r.aws_region == "us-east-1" && r.plan == Plan::Servers)
        .unwrap();
    assert_eq!(servers.status, PlanStatus::Blocked);
    assert_eq!(servers.blockers.len(), shared::app::record::BLOCKERS_KEPT);
    let raw = aws_sdk_dynamodb::Client::new(&moto::sdk_config())
        .get_item()
        .table_name(&stack.table)
        .key("PK", AttributeValue::S(shared::aws::dynamo::plans_pk(PROD)))
        .key("SK", AttributeValue::S(format!("{PROD}#us-east-1#servers")))
        .send()
        .await
        .unwrap();
    let item = raw.item().unwrap();
    assert_eq!(item["blockerCount"].as_n().unwrap(), &N.to_string());
    let size: usize = item
        .iter()
        .map(|(k, v)| k.len() + v.as_s().map_or(8, String::len))
        .sum();
    assert!(size < 100 * 1024, "plan row of {size} bytes");
}

/// What the deliveries of one change cost, counted by proxies in front of DynamoDB (moto) and
/// EventBridge (moto), and by the Config stand-in.
#[derive(Debug, Default)]
struct Cost {
    /// Query and GetItem requests.
    reads: usize,
    /// Items written or deleted (TransactWriteItems actions, PutItem, UpdateItem, BatchWriteItem
    /// requests).
    writes: usize,
    /// PutEvents entries.
    events: usize,
    /// Consistent Queries of each resource's results (one per evaluation of that resource).
    resource_reads: std::collections::BTreeMap<String, usize>,
    /// Config API calls.
    config_calls: usize,
}

/// Issue: every change was evaluated up to four times. A role change triggers the cspm, servers
/// and oss Config rules (their scopes hold AWS::IAM::Role) and the EventBridge rule; each
/// invocation evaluated and recorded every check, and drained outbox rows the others had not
/// deleted yet. Here the one change of web-ssm-role (its SSM policy detached) is delivered to the
/// four binaries as AWS delivers it: every resource it affects is read (evaluated) by one
/// invocation only, and each transition is published once. Prints the cost per change
/// (bench/README.md).
#[tokio::test]
async fn one_change_costs_one_evaluation_per_affected_resource() {
    use std::sync::{Arc, Mutex};
    let stack = Stack::start().await;
    // The state before the change: the periodic run records everything.
    stack
        .invoke("config-rule", &event_json("config-rule/scheduled.json"))
        .await;
    let after = items_after_detach();
    stack.config.set_items(after.clone());
    let history_before = history_rows(&stack.table).await;

    let seen: Arc<Mutex<Cost>> = Arc::default();
    let log = seen.clone();
    let ddb = FaultProxy::start(moto::endpoint(), move |s| {
        let mut c = log.lock().unwrap();
        let op = s.target.rsplit('.').next().unwrap_or("");
        match op {
            "Query" | "GetItem" => {
                c.reads += 1;
                let pk = s.body["ExpressionAttributeValues"][":pk"]["S"].as_str().unwrap_or("");
                if pk.starts_with("RES#") && s.body["ExpressionAttributeValues"].get(":c").is_some() {
                    *c.resource_reads.entry(pk.to_owned()).or_default() += 1;
                }
            }
            "TransactWriteItems" => c.writes += s.body["TransactItems"].as_array().map_or(0, Vec::len),
            "BatchWriteItem" => {
                c.writes += s.body["RequestItems"]
                    .as_object()
                    .map_or(0, |t| t.values().map(|v| v.as_array().map_or(0, Vec::len)).sum())
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => c.writes += 1,
            _ => {}
        }
        Fault::Forward
    })
    .await;
    let log = seen.clone();
    let bus = FaultProxy::start(moto::endpoint(), move |s| {
        if s.target.ends_with(".PutEvents") {
            log.lock().unwrap().events += s.body["Entries"].as_array().map_or(0, Vec::len);
        }
        Fault::Forward
    })
    .await;
    let config_before: usize = [
        "SelectResourceConfig",
        "BatchGetResourceConfig",
        "GetResourceConfigHistory",
    ]
    .iter()
    .map(|op| stack.config.stub.calls(op).len())
    .sum();
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", ddb.url.as_str()),
        ("AWS_ENDPOINT_URL_EVENTBRIDGE", bus.url.as_str()),
    ];
    let role = "AROA9F82C04AC152B02BA";
    let deliveries = [
        ("event-reevaluator", config_change(&after, role)),
        ("config-rule", rule_change(&after, role, "cspm")),
        ("config-rule", rule_change(&after, role, "servers")),
        ("config-rule", rule_change(&after, role, "oss")),
    ];
    let mut per_delivery = Vec::new();
    for (function, event) in &deliveries {
        let (ok, body) = stack.answer_with(function, event, &env).await;
        assert!(ok, "{function}: {body}");
        per_delivery.push(std::mem::take(&mut seen.lock().unwrap().resource_reads));
    }
    let mut cost = std::mem::take(&mut *seen.lock().unwrap());
    cost.config_calls = [
        "SelectResourceConfig",
        "BatchGetResourceConfig",
        "GetResourceConfigHistory",
    ]
    .iter()
    .map(|op| stack.config.stub.calls(op).len())
    .sum::<usize>()
        - config_before;
    let mut evaluated: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for d in &per_delivery {
        for (pk, n) in d {
            *evaluated.entry(pk.clone()).or_default() += n;
        }
    }
    let role_pk = format!("RES#{PROD}#global#AWS::IAM::Role#{role}");
    eprintln!(
        "one role change, 4 deliveries: {} DynamoDB reads, {} items written, {} PutEvents entries, {} Config API calls; {} resources evaluated, {} evaluations of a resource (the role {})",
        cost.reads,
        cost.writes,
        cost.events,
        cost.config_calls,
        evaluated.len(),
        evaluated.values().sum::<usize>(),
        evaluated.get(&role_pk).copied().unwrap_or(0),
    );
    // The role's own checks: each plan's rule evaluates its plan's (three disjoint sets, one read
    // of the role's rows each), the EventBridge path none of them.
    assert_eq!(per_delivery[0].get(&role_pk), None, "{:?}", per_delivery[0]);
    for d in &per_delivery[1..] {
        assert_eq!(
            d.keys().collect::<Vec<_>>(),
            [&role_pk],
            "a rule evaluates the changed resource only"
        );
    }
    // What depends on the role (its instances, the account): the EventBridge path, once.
    let twice: Vec<_> = evaluated.iter().filter(|(pk, n)| **n > 1 && **pk != role_pk).collect();
    assert!(twice.is_empty(), "evaluated more than once: {twice:?}");
    assert!(
        per_delivery[0].keys().any(|pk| pk.contains("i-0web000000000001")),
        "{:?}",
        per_delivery[0]
    );
    let (c, _) = stack.result("i-0web000000000001", "servers.ssm-core-policy").await;
    assert_eq!(c, Compliance::NonCompliant);
    // Every transition of the change published once: as many events as transitions the
    // deliveries recorded.
    let recorded = history_rows(&stack.table).await - history_before;
    assert!(recorded > 0);
    assert_eq!(cost.events, recorded, "one event per transition");
    // The policy attached again, and this change delivered to the four at once: each transition
    // is still published once (before, each invocation also published the outbox rows the
    // others had written and not yet cleared).
    let reattached: Vec<Value> = demo_items()
        .into_iter()
        .map(|mut i| {
            if i["resourceName"] == "web-ssm-role" {
                i["configurationItemCaptureTime"] = "2026-11-20T08:20:00.000Z".into();
            }
            i
        })
        .collect();
    stack.config.set_items(reattached.clone());
    let history_before = history_rows(&stack.table).await;
    seen.lock().unwrap().events = 0;
    let deliveries = [
        ("event-reevaluator", config_change(&reattached, role)),
        ("config-rule", rule_change(&reattached, role, "cspm")),
        ("config-rule", rule_change(&reattached, role, "servers")),
        ("config-rule", rule_change(&reattached, role, "oss")),
    ];
    let [a, b, c, d] = &deliveries;
    let answers = tokio::join!(
        stack.answer_with(a.0, &a.1, &env),
        stack.answer_with(b.0, &b.1, &env),
        stack.answer_with(c.0, &c.1, &env),
        stack.answer_with(d.0, &d.1, &env),
    );
    let answers = [answers.0, answers.1, answers.2, answers.3];
    assert!(answers.iter().all(|(ok, _)| *ok), "{answers:?}");
    let recorded = history_rows(&stack.table).await - history_before;
    assert!(recorded > 0);
    assert_eq!(
        seen.lock().unwrap().events,
        recorded,
        "one event per transition, delivered at once"
    );
}

/// How many compliance transitions the table's history holds.
async fn history_rows(table: &str) -> usize {
    aws_sdk_dynamodb::Client::new(&moto::sdk_config())
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|i| i["SK"].as_s().unwrap().starts_with("HIST#") && i["PK"].as_s().unwrap().starts_with("RES#"))
        .count()
}

/// The periodic Config rule invocation with `AZURE_CREDENTIALS_SECRET_ARN`: the service principal
/// comes from Secrets Manager (moto), the Azure half from the HTTPS stand-in, and the `azure.*`
/// results land in the table; an event path (the re-evaluator, on an IAM change) leaves them as
/// the periodic run recorded them.
#[tokio::test]
async fn the_periodic_run_reads_azure_with_the_secret_and_events_leave_its_results_alone() {
    use integration_tests::azure::{StandIn, SUB1, TENANT};
    let dir = tempfile::tempdir().unwrap();
    let azure = StandIn::start(dir.path());
    let mut stack = Stack::start().await;
    let mut settings = serde_json::to_value(Settings::default()).unwrap();
    settings["azure"] = azure.settings();
    stack.settings_json = settings.to_string();
    let secrets = aws_sdk_secretsmanager::Client::new(&moto::sdk_config());
    let arn = secrets
        .create_secret()
        .name(moto::unique("azure-reader"))
        .secret_string(
            json!({"tenantId": TENANT, "clientId": "0b7b3e0a-8f9f-4a44-9c55-3c1f4b8e2d11", "clientSecret": integration_tests::azure::SECRET})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let ca = azure.ca().display().to_string();
    let env = [
        ("AZURE_SUBSCRIPTIONS", SUB1),
        ("AZURE_CREDENTIALS_SECRET_ARN", arn.as_str()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto::endpoint()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    // Two periodic invocations in one warm process (another account's, or the next page of a
    // run, would be the same): Azure is read once for both, the second uses the first's read.
    let mut again = event_json("config-rule/scheduled.json");
    again["resultToken"] = json!("another-run");
    let answers = stack
        .answers_with("config-rule", &[event_json("config-rule/scheduled.json"), again], &env)
        .await;
    for (ok, body) in &answers {
        assert!(ok, "{body}");
    }
    // What one read asks of Azure: a fresh process (a cold start) reading it for one invocation.
    let two_in_one = azure.requests().len();
    let (ok, body) = stack
        .answer_with("config-rule", &event_json("config-rule/scheduled.json"), &env)
        .await;
    assert!(ok, "{body}");
    let one = azure.requests().len() - two_in_one;
    assert!(one > 0);
    // Read twice, the first process would have asked twice as much (give or take a token the
    // SDK reuses).
    assert!(
        two_in_one < 2 * one - 1,
        "two periodic invocations in one process read Azure once (30 minutes' reuse): {two_in_one} requests, one read is {one}"
    );
    let (c, a) = stack.result(PROD, "azure.connector").await;
    assert_eq!(c, Compliance::Compliant, "{a}");
    assert!(a.contains("its own connector: exampleSecurityConnectorAws"), "{a}");
    let (c, a) = stack.result(PROD, "azure.offering-roles").await;
    assert_eq!(c, Compliance::NonCompliant, "{a}");
    assert!(
        a.contains("names role DefenderForCloud-DefenderForServers, which does not exist"),
        "{a}"
    );
    let (c, a) = stack.result(PROD, "azure.connector-health").await;
    assert_eq!(c, Compliance::NonCompliant, "{a}");
    assert!(azure
        .requests()
        .iter()
        .any(|r| r["path"].as_str().unwrap().ends_with("/oauth2/v2.0/token")));

    // An IAM role change re-evaluates the account on the event path, which does not read Azure:
    // it leaves the periodic run's azure.* results as they are.
    let mut role = demo_items()
        .into_iter()
        .find(|i| i["resourceType"] == "AWS::IAM::Role" && i["awsAccountId"] == PROD)
        .unwrap();
    // Captured after the periodic run: newer evidence than the account results it recorded.
    role["configurationItemCaptureTime"] = json!("2026-11-23T00:00:00.000Z");
    let change = config_change(&[role.clone()], role["resourceId"].as_str().unwrap());
    let reads = azure.requests().len();
    let (ok, body) = stack
        .answer_with("event-reevaluator", &change, &[("AZURE_SUBSCRIPTIONS", SUB1)])
        .await;
    assert!(ok, "{body}");
    assert_eq!(azure.requests().len(), reads, "the event path reads nothing from Azure");
    let (c, a) = stack.result(PROD, "azure.connector").await;
    assert_eq!(c, Compliance::Compliant, "{a}");
    assert!(!a.contains("Azure was not read"));

    // A secret that cannot be read: the periodic run records the azure.* checks unverified.
    let env = [
        ("AZURE_SUBSCRIPTIONS", SUB1),
        (
            "AZURE_CREDENTIALS_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:missing-AbCdEf",
        ),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto::endpoint()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    // The next period: a new result token.
    let mut next = event_json("config-rule/scheduled.json");
    next["resultToken"] = json!("the-next-period");
    let (ok, body) = stack.answer_with("config-rule", &next, &env).await;
    assert!(ok, "{body}");
    let (c, a) = stack.result(PROD, "azure.connector").await;
    assert_eq!(c, Compliance::InsufficientData, "{a}");
    assert!(a.contains("secret could not be read"), "{a}");
}

/// An oversized change notification through both evaluating binaries: AWS Config's, and the same
/// notification as EventBridge delivers it (its `detail` is the notification). The item is read
/// with GetResourceConfigHistory, which the IAM gate authorizes against each function's role.
#[tokio::test]
async fn an_oversized_change_is_read_from_the_configuration_history() {
    let stack = Stack::start().await;
    let rule_event = event_json("config-rule/oversized.json");
    let out = stack.invoke("config-rule", &rule_event).await;
    assert_eq!(out["reported"], 1, "{out}");
    assert_eq!(stack.config.stub.calls("GetResourceConfigHistory").len(), 1);

    let notification: Value = serde_json::from_str(rule_event["invokingEvent"].as_str().unwrap()).unwrap();
    let mut event = event_json("event-reevaluator/config-item-change-iam-role.json");
    event["resources"] = json!([notification["configurationItemSummary"]["ARN"]]);
    event["detail"] = notification;
    stack.invoke("event-reevaluator", &event).await;
    assert_eq!(stack.config.stub.calls("GetResourceConfigHistory").len(), 2);
    let rows = stack.store.account_results(PROD).await.unwrap();
    assert!(
        rows.iter().any(|e| e.resource_id == "i-0sql000000000003"),
        "no result for the oversized item's instance"
    );
}

/// An IAM path may hold any printable character and an EC2 tag any character (IAM User Guide,
/// "IAM identifiers": paths of `\u0021` to `\u007E`); AWS Config's query language documents no
/// escape for a quote. An instance whose instance profile's path holds one is evaluated, through
/// the config-rule binary, without that value in any query: the role is found by listing roles
/// and matching their instance profiles. It used to fail the invocation as not retryable
/// (anyone able to tag an instance or name a path could stop an account's periodic run).
#[tokio::test]
async fn a_quote_in_an_instance_profile_path_is_looked_up_without_a_query_holding_it() {
    let stack = Stack::start().await;
    let quoted = "arn:aws:iam::111122223333:instance-profile/o'p/web-ssm";
    let items: Vec<Value> = demo_items()
        .into_iter()
        .map(|i| {
            serde_json::from_str(
                &i.to_string()
                    .replace("arn:aws:iam::111122223333:instance-profile/web-ssm", quoted),
            )
            .unwrap()
        })
        .collect();
    stack.config.set_items(items.clone());
    let out = stack
        .invoke("config-rule", &rule_change(&items, "i-0web000000000001", "servers"))
        .await;
    assert!(out["reported"].as_u64().unwrap() > 0, "{out}");
    let (c, annotation) = stack.result("i-0web000000000001", "servers.ssm-core-policy").await;
    assert_eq!(c, Compliance::Compliant, "{annotation}");
    let queries = stack.config.stub.calls("SelectResourceConfig");
    assert!(!queries.is_empty());
    assert!(
        queries
            .iter()
            .all(|q| !q["Expression"].as_str().unwrap().contains("o'p")),
        "{queries:?}"
    );
}

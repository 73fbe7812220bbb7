//! A central deployment under a synthetic organization: the event-reevaluator and config-rule
//! binaries, through their real `main` under a loopback Runtime API, with `MEMBER_ROLE_NAME` set,
//! read and report for member accounts through the member role (moto's STS, one backend per
//! account), while the AWS Config stand-in answers each account × region from its own items (the
//! account of the signing key, the signing region). Events of every account and region arrive
//! interleaved, to several function processes at once; some accounts lack the member role.
//!
//! Checked: every member event with a role is recorded exactly as the same event in a one-account
//! deployment records it (an in-process run over that account's items alone), the changed
//! resource's own checks included in the regions without the organization rules (those run in
//! the stack's region only, `RULE_REGIONS`); events of accounts
//! without the role fail as `MemberRoleUnavailable`, naming the role, and record nothing; every
//! organization-rule invocation reports with PutEvaluations from its own account's credentials,
//! and only that account's resources; the rollup gives each account its own readiness. Printed:
//! events/s, DynamoDB operations per event and the hottest partition key's share of the key
//! accesses. `CENTRAL_ACCOUNTS` sets the organization's size (default 40 × 3 regions; `bench/run`
//! runs 200).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, event_json};
use integration_tests::iam;
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::proxy::{Fault, FaultProxy};
use integration_tests::runtime_api::RuntimeApi;
use integration_tests::stub::Stub;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::app::flows::Ports;
use shared::app::memory::{MemoryPublisher, MemoryReader, MemoryStore};
use shared::app::ports::{ReadinessReader, ResultStore};
use shared::aws::dynamo::DynamoStore;
use shared::aws::events::EventBridgePublisher;
use shared::domain::model::types::{self, RecordingScope};
use shared::domain::model::ConfigurationItem;
use shared::domain::plans::{Blocker, PlanStatus};
use shared::domain::settings::Settings;
use shared::domain::vocab::{Compliance, Plan};

const TEMPLATE_ACCOUNT: &str = "111122223333";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const ROLE: &str = "DefenderPrereqsMember";
/// An account outside the organization.
const OUTSIDER: &str = "999900001111";
/// The central stack's account (the Runtime API's function ARN names it), a member as well.
const CENTRAL_ACCOUNT: &str = TEMPLATE_ACCOUNT;
/// The region the organization rules run in: the central stack's.
const RULE_REGION: &str = "us-east-1";
const INSTANCE: &str = "i-0web000000000001";
/// The demo's `web-ssm-role`, in the instance profile of two of its instances.
const ROLE_ID: &str = "AROA9F82C04AC152B02BA";
/// Function processes serving the Runtime API at once.
const PROCESSES: usize = 4;

fn accounts() -> Vec<String> {
    let n: usize = std::env::var("CENTRAL_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // The central account itself is a member too: its own region is read with the functions'
    // own roles, its other regions through its member role (the functions' roles may read
    // their own region only).
    std::iter::once(CENTRAL_ACCOUNT.to_owned())
        .chain((1..n).map(|k| format!("{:012}", 210_000_000_000u64 + 7 * k as u64)))
        .collect()
}

/// Accounts without the member role: every tenth.
fn without_role(accounts: &[String]) -> BTreeSet<String> {
    accounts.iter().skip(3).step_by(10).cloned().collect()
}

/// The demo snapshot's account as a member: its global items, and its us-east-1 items in each
/// region (ARNs and ids rewritten; the item shapes are the snapshot's, from AWS).
fn member_items(account: &str) -> Vec<Value> {
    let demo = demo_items();
    let mut out = Vec::new();
    for item in demo.iter().filter(|i| i["awsAccountId"] == TEMPLATE_ACCOUNT) {
        let text = item.to_string().replace(TEMPLATE_ACCOUNT, account);
        match item["awsRegion"].as_str() {
            Some("global") => out.push(serde_json::from_str(&text).unwrap()),
            Some("us-east-1") => {
                for region in REGIONS {
                    out.push(serde_json::from_str(&text.replace("us-east-1", region)).unwrap());
                }
            }
            _ => {}
        }
    }
    out
}

fn of(items: &[Value], account: &str, region: &str, id: &str) -> Value {
    items
        .iter()
        .find(|i| i["awsAccountId"] == account && i["awsRegion"] == region && i["resourceId"] == id)
        .unwrap()
        .clone()
}

/// The member's EventBridge "Config Configuration Item Change" for its instances' role, as
/// forwarded to the central bus from one of its regions (the event keeps its account and region):
/// the instances using the role in that region are re-evaluated.
fn change_event(items: &[Value], account: &str, region: &str) -> Value {
    let mut e = event_json("event-reevaluator/config-item-change-iam-role.json");
    e["account"] = account.into();
    e["region"] = region.into();
    e["id"] = format!("{account}-{region}").into();
    e["resources"] = json!([]);
    e["detail"]["configurationItem"] = of(items, account, "global", ROLE_ID);
    e
}

/// The schedule's event as template.yaml's SweepSchedule sends it: its Input, with the regions
/// joined as the template joins them and the scheduled time EventBridge Scheduler fills in.
fn schedule_event(regions: &[&str]) -> Value {
    let t: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(integration_tests::fixtures::root().join("template.yaml")).unwrap(),
    )
    .unwrap();
    let sub = &t["Resources"]["SweepSchedule"]["Properties"]["Target"]["Input"];
    let serde_yaml::Value::Tagged(sub) = sub else {
        panic!("SweepSchedule's Input is not a !Sub")
    };
    let format = sub.value[0].as_str().unwrap();
    let input = format
        .replace("${Regions}", &regions.join("\", \""))
        .replace("<aws.scheduler.scheduled-time>", "2026-12-06T10:00:00Z");
    serde_json::from_str(&input).unwrap()
}

/// The organization rule's invocation in a member account for its instance's change.
fn rule_event(items: &[Value], account: &str, region: &str) -> Value {
    let mut e = event_json("config-rule/change-ec2-instance.json");
    let mut invoking: Value = serde_json::from_str(e["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItem"] = of(items, account, region, INSTANCE);
    e["invokingEvent"] = invoking.to_string().into();
    e["accountId"] = account.into();
    e["configRuleArn"] = format!("arn:aws:config:{region}:{account}:config-rule/config-rule-central").into();
    e["resultToken"] = format!("token-{account}-{region}").into();
    e["ruleParameters"] = json!({"plans": "servers"}).to_string().into();
    e
}

/// An account's readiness: (region, plan) → status and its check blockers (check, resource).
type Readiness = BTreeMap<(String, Plan), (PlanStatus, Vec<(String, String)>)>;

/// The findings function's SQS message for a result's transition to NON_COMPLIANT (the sample
/// in `events/findings/`).
fn finding_message(account: &str, r: &shared::domain::vocab::Evaluation) -> Value {
    let mut m = event_json("findings/sqs-compliance-changed.json")["Records"][0].clone();
    let mut body: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
    body["account"] = account.into();
    let d = &mut body["detail"];
    d["accountId"] = account.into();
    d["awsRegion"] = r.aws_region.as_str().into();
    d["resourceType"] = r.resource_type.as_str().into();
    d["resourceId"] = r.resource_id.as_str().into();
    d["checkId"] = r.check_id.as_str().into();
    d["plan"] = r.plan.as_str().into();
    d["previous"] = Value::Null;
    d["current"] = "NON_COMPLIANT".into();
    m["messageId"] = format!("{account}-{}", r.check_id).into();
    m["body"] = body.to_string().into();
    m
}

/// What an account's results are: (region, resource, check) → compliance.
type Results = BTreeMap<(String, String, String), Compliance>;

/// The same event in a one-account deployment (in process, over that account's items alone):
/// what the central run must have recorded for it.
async fn oracle(items: &[Value], event: &Value, settings: &Settings, recorded: &[String]) -> Results {
    let account = event["account"].as_str().unwrap();
    let region = event["region"].as_str().unwrap();
    let mine: Vec<ConfigurationItem> = items
        .iter()
        .filter(|i| i["awsAccountId"] == account && (i["awsRegion"] == region || i["awsRegion"] == "global"))
        .map(|i| ConfigurationItem::from_json(&i.to_string(), None).unwrap())
        .collect();
    let (reader, store, publisher) = (
        MemoryReader::new(mine),
        MemoryStore::default(),
        MemoryPublisher::default(),
    );
    let ports = Ports {
        reader: &reader,
        store: &store,
        publisher: &publisher,
        settings,
        recorded_types: recorded,
    };
    let e: EventBridgeEvent<Value> = serde_json::from_value(event.clone()).unwrap();
    event_reevaluator::handler(
        &ports,
        LambdaEvent::new(e, Context::default()),
        &shared::app::pace::Pace::unbounded(),
    )
    .await
    .unwrap();
    store
        .account_results(account)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aws_region == region || e.aws_region == "global")
        .map(|e| {
            (
                (e.aws_region.into(), e.resource_id.into(), e.check_id.into()),
                e.compliance,
            )
        })
        .collect()
}

/// DynamoDB calls and the partition keys they touch, counted by a proxy in front of moto.
#[derive(Default)]
struct Load {
    calls: usize,
    keys: HashMap<String, usize>,
}

impl Load {
    fn count(&mut self, body: &Value) {
        let mut keys = Vec::new();
        partition_keys(body, &mut keys);
        // A Query's partition key (`PK = :pk`, `GSI1PK = :p`, `GSI2PK = :pk`).
        for name in [":pk", ":p"] {
            if let Some(pk) = body["ExpressionAttributeValues"][name]["S"].as_str() {
                keys.push(pk.to_owned());
            }
        }
        self.calls += 1;
        for k in keys {
            *self.keys.entry(k).or_default() += 1;
        }
    }
}

fn partition_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if matches!(k.as_str(), "PK" | "GSI1PK" | "GSI2PK") {
                    if let Some(s) = x["S"].as_str() {
                        out.push(s.to_owned());
                        continue;
                    }
                }
                partition_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| partition_keys(x, out)),
        _ => {}
    }
}

/// An Organizations account as DescribeAccount and ListAccounts answer it (the Organizations API
/// reference's Account shape).
fn org_account(id: &str) -> Value {
    let arn = format!(
        "arn:aws:organizations::{}:account/{}/{id}",
        iam::MANAGEMENT,
        iam::ORGANIZATION
    );
    json!({"Id": id, "Arn": arn, "Email": format!("aws+{id}@example.com"), "Name": format!("member {id}"),
        "Status": "ACTIVE", "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9})
}

/// AWS Organizations for the tests' organization: DescribeAccount answers its accounts and not
/// found for any other; ListAccounts lists them 20 to a page (its default MaxResults).
async fn organizations(members: BTreeSet<String>) -> Stub {
    Stub::start(move |target, body| {
        if target == "AWSOrganizationsV20161128.ListAccounts" {
            let from: usize = body["NextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = members.iter().skip(from).take(20).map(|a| org_account(a)).collect();
            let mut answer = json!({"Accounts": page});
            if from + 20 < members.len() {
                answer["NextToken"] = (from + 20).to_string().into();
            }
            return (200, answer.to_string());
        }
        assert_eq!(target, "AWSOrganizationsV20161128.DescribeAccount", "{body}");
        let id = body["AccountId"].as_str().unwrap_or_default();
        if members.contains(id) {
            (200, json!({"Account": org_account(id)}).to_string())
        } else {
            (
                400,
                json!({"__type": "AccountNotFoundException",
                    "Message": "You specified an account that doesn't exist."})
                .to_string(),
            )
        }
    })
    .await
}

/// Runs `events` through `PROCESSES` processes of the binary `name`; the outcomes by event id.
async fn run(
    name: &str,
    events: &[Value],
    target: &Target<'_>,
    env: &[(&str, &str)],
    api: &RuntimeApi,
) -> Vec<integration_tests::runtime_api::Outcome> {
    let bin = lambda::function_binary(name).await;
    let mut processes = Vec::new();
    for _ in 0..PROCESSES {
        processes.push(lambda::spawn(
            lambda::command(&bin, target)
                .env("MEMBER_ROLE_NAME", ROLE)
                .env("ORGANIZATION_ID", iam::ORGANIZATION)
                .envs(env.iter().copied()),
        ));
    }
    for e in events {
        api.send(e.to_string());
    }
    let mut out = Vec::new();
    for _ in events {
        let o = tokio::time::timeout(Duration::from_secs(120), api.outcome())
            .await
            .unwrap_or_else(|_| panic!("{name}: an invocation did not end within 120 s"))
            .unwrap();
        if std::env::var("CENTRAL_TRACE").is_ok() {
            eprintln!(
                "{name} {} {:?} {}",
                o.ok,
                o.sent.elapsed(),
                &o.body[..o.body.len().min(80)]
            );
        }
        out.push(o);
    }
    drop(processes);
    out
}

#[test]
fn a_central_deployment_reads_and_reports_each_member_account_with_its_own_credentials() {
    // The whole organization's walk is one future, larger than a test thread's 2 MiB stack in a
    // debug build: it runs on a thread with room for it.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .unwrap()
                .block_on(central_deployment());
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

async fn central_deployment() {
    let accounts = accounts();
    let missing = without_role(&accounts);
    let items: Vec<Value> = accounts.iter().flat_map(|a| member_items(a)).collect();
    let config = ConfigWorld::start_per_account(items.clone()).await;

    // STS through a proxy: AssumeRole of the accounts without the role is denied, as STS denies
    // a role that does not exist or does not trust the caller; the calls are counted.
    let assumed = Arc::new(Mutex::new(Vec::<String>::new()));
    let without = Arc::new(Mutex::new(missing.clone()));
    let (denied, seen) = (without.clone(), assumed.clone());
    let sts = FaultProxy::start(moto::endpoint(), move |s| {
        if !s.raw.contains("Action=AssumeRole") {
            return Fault::Forward;
        }
        let account = denied
            .lock()
            .unwrap()
            .iter()
            .find(|a| s.raw.contains(&format!("%3A{a}%3Arole")))
            .cloned();
        seen.lock().unwrap().push(s.raw.to_owned());
        match account {
            Some(a) => Fault::Respond(
                403,
                format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                     <Code>AccessDenied</Code><Message>User: arn:aws:sts::{TEMPLATE_ACCOUNT}:assumed-role/central/x is not \
                     authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{a}:role/{ROLE}</Message></Error>\
                     <RequestId>c2f0e2f8-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
                ),
            ),
            None => Fault::Forward,
        }
    })
    .await;
    // DynamoDB through a proxy that counts calls and the partition keys they name.
    let load = Arc::new(Mutex::new(Load::default()));
    let counted = load.clone();
    let dynamodb = FaultProxy::start(moto::endpoint(), move |s| {
        counted.lock().unwrap().count(s.body);
        Fault::Forward
    })
    .await;

    let sdk = moto::sdk_config();
    let table = moto::unique("central");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    store.create_table().await.unwrap();
    let bus = moto::event_bus().await;
    // The organization rules run in the stack's region only (template.yaml's RULE_REGIONS is
    // `AWS::Region` centrally; the functions run in us-east-1 here).
    let settings = Settings {
        rule_regions: Some([RULE_REGION.to_owned()].into()),
        ..Settings::default()
    };
    let settings_json = serde_json::to_string(&settings).unwrap();
    let mut members: BTreeSet<String> = accounts.iter().cloned().collect();
    members.insert(iam::MANAGEMENT.to_owned());
    let organization = organizations(members).await;
    let organization_url = iam::front(&organization.url);
    let env = [
        ("AWS_ENDPOINT_URL_ORGANIZATIONS", organization_url.as_str()),
        ("AWS_ENDPOINT_URL_STS", sts.url.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.url.as_str()),
        ("RULE_REGIONS", RULE_REGION),
        ("IAM_GATE_ACCOUNT", CENTRAL_ACCOUNT),
    ];

    // Every account × region's change, interleaved (regions of one account far apart).
    let mut events = Vec::new();
    for region in REGIONS {
        for a in &accounts {
            events.push(change_event(&items, a, region));
        }
    }
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        config_url: &config.stub.url,
        table: &table,
        bus: &bus,
        settings_json: &settings_json,
        facts_url: None,
    };
    let started = Instant::now();
    let outcomes = run("event-reevaluator", &events, &target, &env, &api).await;
    let elapsed = started.elapsed();
    let (calls, keys) = {
        let l = load.lock().unwrap();
        (l.calls, l.keys.clone())
    };

    // Outcomes: members with the role succeed, the others fail naming their role.
    let mut failed = BTreeSet::new();
    for o in &outcomes {
        if !o.ok {
            let body: Value = serde_json::from_str(&o.body).unwrap();
            assert_eq!(body["errorType"], "MemberRoleUnavailable", "{body}");
            let message = body["errorMessage"].as_str().unwrap();
            let account = missing
                .iter()
                .find(|a| message.contains(&format!("arn:aws:iam::{a}:role/{ROLE}")))
                .unwrap_or_else(|| panic!("the failure names no missing role: {message}"));
            failed.insert(account.clone());
        }
    }
    assert_eq!(failed, missing, "exactly the accounts without the role fail");
    assert_eq!(
        outcomes.iter().filter(|o| !o.ok).count(),
        missing.len() * REGIONS.len(),
        "each of their events fails, the others' go on"
    );

    // Each account x region recorded what a one-account deployment records for the same event.
    let recorded: Vec<String> = types::recorded_by(&[RecordingScope::AllSupported { include_global: true }])
        .into_iter()
        .map(str::to_owned)
        .collect();
    // Every event was delivered; the table is checked for the first 40 accounts (moto reads a
    // large table slowly), which include accounts without the role.
    let checked: BTreeSet<String> = accounts.iter().take(40).cloned().collect();
    let mut by_account: HashMap<String, Vec<shared::domain::vocab::Evaluation>> = HashMap::new();
    for a in &checked {
        by_account.insert(a.clone(), store.account_results(a).await.unwrap());
    }
    for a in &checked {
        let got: Results = by_account[a]
            .iter()
            .map(|r| {
                (
                    (
                        r.aws_region.to_string(),
                        r.resource_id.to_string(),
                        r.check_id.to_string(),
                    ),
                    r.compliance,
                )
            })
            .collect();
        if missing.contains(a) {
            assert!(got.is_empty(), "{a} has no role, yet results were recorded");
            continue;
        }
        let mut want = Results::new();
        for e in events.iter().filter(|e| e["account"] == a.as_str()) {
            let one = Box::pin(oracle(&items, e, &settings, &recorded)).await;
            assert!(!one.is_empty());
            // The role itself: AWS Config's organization rule evaluates it where that rule runs;
            // the re-evaluator does everywhere else.
            let own = one.keys().any(|(_, id, _)| id == ROLE_ID);
            assert_eq!(
                own,
                e["region"] != RULE_REGION,
                "{a} {}: the changed role's own checks",
                e["region"]
            );
            want.extend(one);
        }
        assert_eq!(
            got, want,
            "{a}: the central run differs from one-account runs of its events"
        );
        // Recorded from the other regions' events: no region is left to a rule that is not there.
        assert!(
            got.keys().any(|(_, id, _)| id == ROLE_ID),
            "{a}: the role was never evaluated"
        );
    }
    // No account's results name another account's resources.
    for (a, results) in &by_account {
        assert!(results.iter().all(|r| &r.account_id == a));
    }
    let assume_calls = assumed.lock().unwrap().len();
    assert!(
        assume_calls <= (accounts.len() + missing.len() * REGIONS.len()) * PROCESSES,
        "the role is assumed once per account and process: {assume_calls} AssumeRole calls"
    );

    // The organization rule in one region per account: PutEvaluations from the member's own
    // credentials, naming only its resources.
    let mut rules: Vec<Value> = accounts
        .iter()
        .enumerate()
        .map(|(k, a)| rule_event(&items, a, REGIONS[k % REGIONS.len()]))
        .collect();
    // And one from AWS Config of an account outside the organization, whose own rule names the
    // function (Lambda's permission for config.amazonaws.com cannot name an organization).
    let outsider_event: Value = serde_json::from_str(
        &rule_event(&items, &accounts[1], REGIONS[1])
            .to_string()
            .replace(&accounts[1], OUTSIDER),
    )
    .unwrap();
    rules.push(outsider_event);
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        ..target
    };
    let outcomes = run("config-rule", &rules, &target, &env, &api).await;
    assert_eq!(
        outcomes.iter().filter(|o| !o.ok).count(),
        missing.len(),
        "only the accounts without the role fail"
    );
    // The outsider is refused, not failed (no retry, no alarm), before any other call.
    let refused: Vec<&integration_tests::runtime_api::Outcome> = outcomes
        .iter()
        .filter(|o| o.ok && o.body.contains("\"outsider\":true"))
        .collect();
    assert_eq!(refused.len(), 1, "exactly the outsider's invocation is refused");
    assert!(
        !assumed.lock().unwrap().iter().any(|call| call.contains(OUTSIDER)),
        "a role was assumed in the outsider's account"
    );
    let asked: Vec<String> = organization
        .requests()
        .iter()
        .map(|r| r.body["AccountId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(asked.iter().any(|a| a == OUTSIDER), "{asked:?}");
    assert!(
        asked.iter().filter(|a| a.as_str() == accounts[1]).count() <= PROCESSES,
        "membership is asked once per account and process: {asked:?}"
    );
    assert!(
        !asked.iter().any(|a| a == CENTRAL_ACCOUNT),
        "the stack's own account is not asked about"
    );
    let with_role: BTreeSet<String> = accounts.iter().filter(|a| !missing.contains(*a)).cloned().collect();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for (account, body) in config.put_evaluations_by_account() {
        let token = body["ResultToken"].as_str().unwrap();
        assert!(
            token.starts_with(&format!("token-{account}-")),
            "{account}'s credentials reported another account's invocation ({token})"
        );
        for ev in body["Evaluations"].as_array().unwrap() {
            let id = ev["ComplianceResourceId"].as_str().unwrap();
            let theirs = items
                .iter()
                .any(|i| i["awsAccountId"] == account.as_str() && i["resourceId"] == id);
            assert!(theirs, "{account} reported {id}, not one of its resources");
        }
        reported.insert(account);
    }
    assert_eq!(
        reported, with_role,
        "every account with the role reported, in its own name"
    );

    // The sweep: the regions without organization rules get their periodic run from a schedule.
    // An instance of one member vanishes from its eu-west-1 recorder; the schedule's event (as
    // template.yaml's SweepSchedule sends it) queues one run per account x region (the management
    // account excluded, as from the rules), each run reads through the member role, retires what
    // vanished and reports nothing to AWS Config.
    let gone_from = accounts[1].clone();
    let vanished = |i: &Value| {
        i["awsAccountId"] == gone_from.as_str() && i["awsRegion"] == "eu-west-1" && i["resourceId"] == INSTANCE
    };
    config.set_items(items.iter().filter(|i| !vanished(i)).cloned().collect());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = moto::queue("sweep").await;
    let mut sweep_env = env.to_vec();
    sweep_env.push(("CONTINUATION_QUEUE_URL", &queue));
    sweep_env.push(("EXCLUDED_ACCOUNTS", iam::MANAGEMENT));
    let sweep_regions: Vec<&str> = iam::SWEEP_REGIONS.split(',').collect();
    assert!(!sweep_regions.contains(&RULE_REGION));
    let schedule = schedule_event(&sweep_regions);
    let evaluations_before = config.put_evaluations().len();
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        ..target
    };
    let started = run("config-rule", &[schedule], &target, &sweep_env, &api).await;
    assert!(started[0].ok, "{}", started[0].body);
    let answer: Value = serde_json::from_str(&started[0].body).unwrap();
    assert_eq!(answer["queued"], accounts.len() * sweep_regions.len(), "{answer}");
    let mut tasks = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            tasks.push(integration_tests::fixtures::sqs_record(m.body().unwrap(), &queue));
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(tasks.len(), accounts.len() * sweep_regions.len());
    assert!(!tasks.iter().any(|t| t.to_string().contains(iam::MANAGEMENT)));
    // A fresh Runtime API: the schedule's processes may still hold a request for the next event.
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        ..target
    };
    let outcomes = run("config-rule", &tasks, &target, &sweep_env, &api).await;
    for o in &outcomes {
        if !o.ok {
            assert!(o.body.contains("MemberRoleUnavailable"), "{}", o.body);
        }
    }
    assert_eq!(
        outcomes.iter().filter(|o| !o.ok).count(),
        missing.len() * sweep_regions.len(),
        "only the tasks of accounts without the role fail"
    );
    assert_eq!(
        config.put_evaluations().len(),
        evaluations_before,
        "a sweep reports nothing to AWS Config"
    );
    let after = store.account_results(&gone_from).await.unwrap();
    let of_instance = |region: &str| -> Vec<&shared::domain::vocab::Evaluation> {
        after
            .iter()
            .filter(|r| r.resource_id == INSTANCE && r.aws_region == region)
            .collect()
    };
    assert!(!of_instance("eu-west-1").is_empty());
    assert!(
        of_instance("eu-west-1")
            .iter()
            .all(|r| r.compliance == Compliance::NotApplicable),
        "the vanished instance is retired by its region's sweep"
    );
    assert!(
        of_instance(RULE_REGION)
            .iter()
            .any(|r| r.compliance != Compliance::NotApplicable),
        "the rule region is not swept: the same instance there keeps its results"
    );
    config.set_items(items.clone());

    // Security Hub: a NON_COMPLIANT result of each checked account becomes a finding in that
    // account's own Security Hub (imported with its member role); accounts without the role fail
    // their messages.
    let failing = |a: &String| {
        by_account[a]
            .iter()
            .find(|r| r.compliance == Compliance::NonCompliant && r.aws_region != "global")
            .cloned()
    };
    let sample = with_role
        .iter()
        .filter(|a| checked.contains(*a))
        .find_map(failing)
        .unwrap();
    let mut messages = Vec::new();
    for a in &checked {
        // Accounts without the role have no results: their message names the same result.
        let r = failing(a).unwrap_or_else(|| sample.clone());
        messages.push((a.clone(), finding_message(a, &r)));
    }
    let findings_batch = json!({"Records": messages.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()});
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        ..target
    };
    let answer = run("findings", &[findings_batch], &target, &env, &api).await;
    let answer: Value = serde_json::from_str(&answer[0].body).unwrap();
    let failed: BTreeSet<String> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    let expected_failures: BTreeSet<String> = messages
        .iter()
        .filter(|(a, _)| missing.contains(a))
        .map(|(_, m)| m["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        failed, expected_failures,
        "only the accounts without the role fail: {answer}"
    );
    let members = shared::aws::members::MemberConfigs::new(&sdk, ROLE, "central-test");
    for (a, m) in messages.iter().filter(|(a, _)| !missing.contains(a)) {
        let body: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
        let region = body["detail"]["awsRegion"].as_str().unwrap();
        let conf = members.config(a, Some(region)).await.unwrap();
        let hub = aws_sdk_securityhub::Client::new(&conf);
        let found = Box::pin(hub.get_findings().send()).await.unwrap();
        assert!(
            found.findings().iter().any(|f| f.aws_account_id() == Some(a.as_str())
                && f.id()
                    .is_some_and(|id| id.contains(body["detail"]["checkId"].as_str().unwrap()))),
            "{a}: no finding in its own Security Hub"
        );
        assert!(found.findings().iter().all(|f| f.aws_account_id() == Some(a.as_str())));
    }

    // Readiness: each account's own, from its own results. The members are alike by
    // construction, so every account's readiness is the first one's.
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), &bus);
    let rolled: BTreeSet<String> = with_role.intersection(&checked).cloned().collect();
    shared::app::flows::rollup(&store, &publisher, &settings, &rolled, &[])
        .await
        .unwrap();
    let by_account: HashMap<String, Vec<shared::domain::vocab::Evaluation>> = {
        let mut m = HashMap::new();
        for a in &rolled {
            m.insert(a.clone(), store.account_results(a).await.unwrap());
        }
        m
    };
    let readiness = store.readiness().await.unwrap();
    let shape = |a: &str| -> Readiness {
        readiness
            .iter()
            .filter(|r| r.account_id == a)
            .map(|r| {
                let blockers = r
                    .blockers
                    .iter()
                    .filter_map(|b| match b {
                        Blocker::Check {
                            check_id, resource_id, ..
                        } => Some((check_id.to_string(), resource_id.to_string())),
                        Blocker::Plan { .. } => None,
                    })
                    .collect();
                ((r.aws_region.clone(), r.plan), (r.status, blockers))
            })
            .collect()
    };
    let first = shape(rolled.first().unwrap());
    assert!(
        REGIONS.iter().all(|region| first
            .get(&(region.to_string(), Plan::Servers))
            .is_some_and(|(status, _)| *status == PlanStatus::Blocked)),
        "the demo account's servers plan is blocked in every region: {first:?}"
    );
    for a in &rolled {
        assert_eq!(shape(a), first, "{a}'s readiness");
        for r in readiness.iter().filter(|r| &r.account_id == a) {
            for b in &r.blockers {
                if let Blocker::Check {
                    resource_id, check_id, ..
                } = b
                {
                    assert!(
                        by_account[a].iter().any(|x| &x.resource_id == resource_id
                            && &x.check_id == check_id
                            && x.compliance == Compliance::NonCompliant),
                        "{a}: blocker {check_id} {resource_id} is not one of its results"
                    );
                }
            }
        }
    }
    assert!(readiness.iter().all(|r| !missing.contains(&r.account_id)));

    // A member whose role arrives after the deployment (a new account: the StackSet's
    // auto-deployment creates it): its next events are read and recorded like every member's.
    let late = missing.iter().next().unwrap().clone();
    without.lock().unwrap().remove(&late);
    let replay: Vec<Value> = events
        .iter()
        .filter(|e| e["account"] == late.as_str())
        .cloned()
        .collect();
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        ..target
    };
    let outcomes = run("event-reevaluator", &replay, &target, &env, &api).await;
    assert!(
        outcomes.iter().all(|o| o.ok),
        "{:?}",
        outcomes.iter().map(|o| &o.body).collect::<Vec<_>>()
    );
    let mut want = Results::new();
    for e in &replay {
        want.extend(Box::pin(oracle(&items, e, &settings, &recorded)).await);
    }
    let got: Results = store
        .account_results(&late)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r.aws_region.to_string(),
                    r.resource_id.to_string(),
                    r.check_id.to_string(),
                ),
                r.compliance,
            )
        })
        .collect();
    assert_eq!(got, want, "{late}: the member that joined late");

    let accesses: usize = keys.values().sum();
    let (hot, hits) = keys
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (k.clone(), *n))
        .unwrap();
    println!(
        "central: {} accounts x {} regions, {} change events ({} without the member role) in {:.1} s with {PROCESSES} \
         processes: {:.1} events/s; DynamoDB {:.1} calls per event; hottest partition key {:.1}% of {} key accesses \
         ({hot})",
        accounts.len(),
        REGIONS.len(),
        events.len(),
        missing.len() * REGIONS.len(),
        elapsed.as_secs_f64(),
        events.len() as f64 / elapsed.as_secs_f64(),
        calls as f64 / events.len() as f64,
        100.0 * hits as f64 / accesses.max(1) as f64,
        accesses,
    );
}

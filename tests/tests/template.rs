#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SAM template against the code: every permission a check declares is granted to the
//! functions that run checks, and nothing broader; every catalog trigger is routed; the Config
//! rules' scopes are the catalog's resource types; the table is the one the store creates.

use integration_tests::fixtures::root;
use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value as Y;
use shared::aws::config::ConfigApi;
use shared::aws::dynamo::DynamoStore;
use shared::aws::events::EventBridgePublisher;
use shared::aws::facts::ServiceFacts;
use shared::aws::securityhub::SecurityHubApi;
use shared::domain::checks::{Trigger, ALL};
use shared::domain::vocab::{Plan, ACCOUNT_TYPE};

fn template() -> Y {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

fn resource<'a>(t: &'a Y, id: &str) -> &'a Y {
    t["Resources"].get(id).unwrap_or_else(|| panic!("no resource {id}"))
}

/// A value as text: `!Ref X` → `Ref:X`, `!GetAtt X.Y` → `GetAtt:X.Y`, `!Sub s` → `Sub:s`.
fn render(v: &Y) -> String {
    match v {
        Y::String(s) => s.clone(),
        Y::Tagged(t) => format!("{}:{}", t.tag.to_string().trim_start_matches('!'), render(&t.value)),
        Y::Sequence(items) => items.iter().map(render).collect::<Vec<_>>().join(","),
        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
    }
}

fn strings(v: &Y) -> Vec<String> {
    match v {
        Y::Sequence(items) => items.iter().map(render).collect(),
        Y::Null => vec![],
        other => vec![render(other)],
    }
}

/// (action, resource) pairs a role grants, through inline policies and the template's own
/// managed policies. AWS-managed policies and Deny statements are not expected at all.
fn grants(t: &Y, role: &str) -> Vec<(String, String)> {
    let r = resource(t, role);
    assert_eq!(r["Type"].as_str(), Some("AWS::IAM::Role"), "{role}");
    // A policy under `!If [condition, policy, !Ref AWS::NoValue]` counts as granted.
    let unless = |p: &'_ Y| -> Y {
        match p {
            Y::Tagged(t) if t.tag == "If" => t.value[1]["PolicyDocument"].clone(),
            other => other["PolicyDocument"].clone(),
        }
    };
    let owned: Vec<Y> = r["Properties"]["Policies"]
        .as_sequence()
        .map(|ps| ps.iter().map(unless).collect())
        .unwrap_or_default();
    let mut docs: Vec<&Y> = owned.iter().collect();
    for arn in strings(&r["Properties"]["ManagedPolicyArns"]) {
        let id = arn
            .strip_prefix("Ref:")
            .unwrap_or_else(|| panic!("{role}: managed policy {arn} is not one of the template's"));
        let m = resource(t, id);
        assert_eq!(m["Type"].as_str(), Some("AWS::IAM::ManagedPolicy"));
        docs.push(&m["Properties"]["PolicyDocument"]);
    }
    let mut out = Vec::new();
    for d in docs {
        for s in d["Statement"].as_sequence().unwrap() {
            assert_eq!(s["Effect"].as_str(), Some("Allow"), "{role}: {s:?}");
            assert!(
                s.get("NotAction").is_none() && s.get("NotResource").is_none(),
                "{role}: {s:?}"
            );
            for a in strings(&s["Action"]) {
                for res in strings(&s["Resource"]) {
                    out.push((a.clone(), res));
                }
            }
        }
    }
    out
}

/// The role of a function, which must be explicit (no SAM-generated policies).
fn role_of(t: &Y, function: &str) -> String {
    let p = &resource(t, function)["Properties"];
    assert!(
        p.get("Policies").is_none(),
        "{function}: SAM policy templates would add permissions outside the test's view"
    );
    let role = render(&p["Role"]);
    role.strip_prefix("GetAtt:")
        .and_then(|r| r.strip_suffix(".Arn"))
        .unwrap_or_else(|| panic!("{function}: Role {role} is not a role of the template"))
        .to_owned()
}

/// What the functions that run checks read beyond AWS Config: the service-API facts. (A check's
/// declared `permissions` say what reading its facts live would take; the functions read them
/// from Config's items, so they are not granted.)
fn facts_reads() -> BTreeSet<String> {
    ServiceFacts::PERMISSIONS.iter().map(|p| (*p).to_owned()).collect()
}

/// Actions AWS does not scope to resources (or whose resources are not the account's own):
/// the only ones allowed on `*`.
const UNSCOPABLE: &[&str] = &[
    "config:BatchGetResourceConfig",
    "config:SelectResourceConfig",
    "config:GetResourceConfigHistory",
    "config:PutEvaluations",
    // Called without recorder names: no recorder ARN to authorize against.
    "config:DescribeConfigurationRecorders",
    "ssm:DescribeInstanceInformation",
    // No resource type: the organization's accounts (the sweep).
    "organizations:ListAccounts",
];

struct Function {
    id: &'static str,
    log_group: &'static str,
    runs_checks: bool,
    operational: Vec<&'static str>,
}

fn functions() -> Vec<Function> {
    let common = ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"];
    let with = |parts: &[&[&'static str]]| -> Vec<&'static str> {
        parts.iter().flat_map(|p| p.iter().copied()).chain(common).collect()
    };
    vec![
        Function {
            id: "ConfigRuleFunction",
            log_group: "ConfigRuleLogGroup",
            runs_checks: true,
            operational: with(&[
                ConfigApi::READ_PERMISSIONS,
                ConfigApi::REPORT_PERMISSIONS,
                DynamoStore::RECORD_PERMISSIONS,
                DynamoStore::REPORT_PERMISSIONS,
                EventBridgePublisher::PERMISSIONS,
                shared::aws::continuation::CONTINUE_PERMISSIONS,
                // The Azure service principal's secret, when the stack reads Azure.
                &["secretsmanager:GetSecretValue"],
                // Centrally: whether an invocation's account is in the organization, and its
                // accounts for the sweep.
                shared::aws::organization::PERMISSIONS,
                shared::aws::organization::SWEEP_PERMISSIONS,
            ]),
        },
        Function {
            id: "ReevaluatorFunction",
            log_group: "ReevaluatorLogGroup",
            runs_checks: true,
            operational: with(&[
                ConfigApi::READ_PERMISSIONS,
                DynamoStore::RECORD_PERMISSIONS,
                EventBridgePublisher::PERMISSIONS,
                shared::aws::continuation::CONTINUE_PERMISSIONS,
            ]),
        },
        Function {
            id: "ReadinessRollupFunction",
            log_group: "RollupLogGroup",
            runs_checks: false,
            operational: with(&[
                DynamoStore::ROLLUP_PERMISSIONS,
                EventBridgePublisher::PERMISSIONS,
                // The event source mapping reads the stream with the function's role.
                &[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
            ]),
        },
        // Security Hub findings (optional): reads result rows, takes its queue's messages (SQS
        // itself dead-letters them), imports findings.
        Function {
            id: "FindingsFunction",
            log_group: "FindingsLogGroup",
            runs_checks: false,
            operational: [
                &["logs:CreateLogStream", "logs:PutLogEvents"][..],
                &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                &["dynamodb:Query"],
                SecurityHubApi::PERMISSIONS,
            ]
            .concat(),
        },
    ]
}

#[test]
fn nothing_broader_is_granted() {
    let t = template();
    let declared = facts_reads();
    for f in functions() {
        let role = role_of(&t, f.id);
        let grants = grants(&t, &role);
        let mut allowed: BTreeSet<String> = f.operational.iter().map(|s| (*s).to_owned()).collect();
        if f.runs_checks {
            allowed.extend(declared.iter().cloned());
        }
        let granted: BTreeSet<String> = grants.iter().map(|(a, _)| a.clone()).collect();
        assert_eq!(granted, allowed, "{}: granted actions differ from what it needs", f.id);
        for (action, res) in &grants {
            assert!(!action.contains('*'), "{}: wildcard action {action}", f.id);
            if res == "*" {
                assert!(
                    UNSCOPABLE.contains(&action.as_str()),
                    "{}: {action} on * (scope it)",
                    f.id
                );
            }
            let service = action.split(':').next().unwrap();
            let expect = match (service, action.as_str()) {
                ("dynamodb", "dynamodb:DescribeStream" | "dynamodb:GetRecords" | "dynamodb:GetShardIterator") => {
                    Some("GetAtt:StateTable.StreamArn".to_owned())
                }
                ("dynamodb", _) => None,
                ("events", _) => Some("GetAtt:EventBus.Arn".to_owned()),
                ("sqs", _) if f.id == "FindingsFunction" => Some("GetAtt:FindingsQueue.Arn".to_owned()),
                // Its own continuation queue (every action), the failed-events queue (sends).
                ("sqs", _) if res.contains("ContinuationQueue") => Some(format!(
                    "GetAtt:{}ContinuationQueue.Arn",
                    f.id.trim_end_matches("Function")
                )),
                ("sqs", "sqs:SendMessage") => Some("GetAtt:FailedEventsQueue.Arn".to_owned()),
                ("sqs", _) => Some(format!("{action} on the failed-events queue is not needed")),
                ("logs", "logs:DescribeSubscriptionFilters") => None,
                ("secretsmanager", _) => Some("Ref:AzureCredentialsSecretArn".to_owned()),
                // The organization's accounts (its management account's ARNs): no other.
                ("organizations", "organizations:ListAccounts") => Some("*".to_owned()),
                ("organizations", _) => {
                    Some("Sub:arn:${AWS::Partition}:organizations::*:account/${OrganizationId}/*".to_owned())
                }
                ("logs", _) => Some(format!("GetAtt:{}.Arn", f.log_group)),
                _ => None,
            };
            if let Some(expect) = expect {
                assert_eq!(res, &expect, "{}: {action}", f.id);
            }
            if service == "dynamodb" {
                assert!(res.contains("StateTable"), "{}: {action} on {res}", f.id);
            }
            if res != "*"
                && !res.starts_with("GetAtt:")
                && res != "Ref:AzureCredentialsSecretArn"
                && service != "organizations"
            {
                assert!(
                    res.contains("${AWS::AccountId}") || res.contains("StateTable"),
                    "{}: {action} on {res} is not limited to the account",
                    f.id
                );
            }
        }
    }
}

#[test]
fn adapters_declare_every_operation_they_call() {
    let declared: BTreeSet<&str> = [
        ConfigApi::READ_PERMISSIONS,
        ConfigApi::REPORT_PERMISSIONS,
        DynamoStore::RECORD_PERMISSIONS,
        DynamoStore::ROLLUP_PERMISSIONS,
        DynamoStore::REPORT_PERMISSIONS,
        EventBridgePublisher::PERMISSIONS,
        ServiceFacts::PERMISSIONS,
        SecurityHubApi::PERMISSIONS,
        shared::aws::continuation::CONTINUE_PERMISSIONS,
    ]
    .concat()
    .into_iter()
    .collect();
    // Local only, never in a function: setup (`DynamoStore::create_table`, for the CLI and
    // tests), and the CLI's live reads of an organization and of the region list.
    let local: Vec<&str> = [
        &["dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"][..],
        ConfigApi::AGGREGATE_PERMISSIONS,
        shared::aws::facts::REGION_LIST_PERMISSIONS,
    ]
    .concat();
    let mut files = vec![root().join("shared/src/aws")];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let Some((service, op)) = piece.split_once(':') else {
                continue;
            };
            let is_op = [
                "config",
                "dynamodb",
                "events",
                "ssm",
                "eks",
                "logs",
                "securityhub",
                "sqs",
            ]
            .contains(&service)
                && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && op.chars().all(|c| c.is_ascii_alphanumeric());
            if is_op && !local.contains(&piece) {
                seen += 1;
                // A transaction is no IAM action: its items are authorized as their own.
                // (Recording's transactions hold Puts only; the IAM gate denies any other kind.)
                let needs: &[&str] = if piece == "dynamodb:TransactWriteItems" {
                    &["dynamodb:PutItem"]
                } else {
                    &[piece]
                };
                assert!(
                    needs.iter().all(|n| declared.contains(n)),
                    "{}: {piece} is called but not declared",
                    path.display()
                );
            }
        }
    }
    assert!(seen > 10, "found only {seen} operations: the scan is broken");
}

/// The EventBridge patterns that reach the re-evaluation function: SAM events and plain rules.
fn reevaluator_patterns(t: &Y) -> Vec<(String, Y)> {
    let mut out = Vec::new();
    for (name, e) in resource(t, "ReevaluatorFunction")["Properties"]["Events"]
        .as_mapping()
        .unwrap()
    {
        // Its continuation queue carries events these rules delivered before.
        if e["Type"].as_str() == Some("SQS") {
            assert_eq!(
                render(&e["Properties"]["Queue"]),
                "GetAtt:ReevaluatorContinuationQueue.Arn"
            );
            continue;
        }
        assert_eq!(e["Type"].as_str(), Some("EventBridgeRule"));
        // `Arn`, not `Destination` (which SAM ignores, creating an unwatched queue of its own).
        assert_eq!(
            render(&e["Properties"]["DeadLetterConfig"]["Arn"]),
            "GetAtt:FailedEventsQueue.Arn",
            "{name:?}: failed deliveries must go to the watched queue"
        );
        out.push((render(name), e["Properties"]["Pattern"].clone()));
    }
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::Events::Rule") {
            let targets = r["Properties"]["Targets"].as_sequence().unwrap();
            assert!(targets.iter().all(|x| x.get("DeadLetterConfig").is_some()));
            if targets
                .iter()
                .any(|x| render(&x["Arn"]) == "GetAtt:ReevaluatorFunction.Arn")
            {
                out.push((render(id), r["Properties"]["EventPattern"].clone()));
            }
        }
    }
    out
}

#[test]
fn every_catalog_trigger_is_routed_to_the_reevaluator() {
    let t = template();
    let patterns = reevaluator_patterns(&t);
    let list = |p: &Y, path: &[&str]| -> Vec<String> {
        let mut v = p;
        for k in path {
            v = &v[*k];
        }
        strings(v)
    };
    for c in ALL {
        for trigger in c.triggers {
            let routed = match trigger {
                Trigger::ConfigChange(rtype) => patterns.iter().any(|(_, p)| {
                    list(p, &["detail-type"]) == ["Config Configuration Item Change"]
                        && list(p, &["detail", "configurationItem", "resourceType"]).contains(&(*rtype).to_owned())
                }),
                Trigger::CloudTrail(source, name) => {
                    let hits: Vec<&String> = patterns
                        .iter()
                        .filter(|(_, p)| {
                            list(p, &["detail", "eventSource"]).contains(&(*source).to_owned())
                                && list(p, &["detail", "eventName"]).contains(&(*name).to_owned())
                        })
                        .map(|(id, _)| id)
                        .collect();
                    if ["iam.amazonaws.com", "organizations.amazonaws.com"].contains(source) {
                        // Delivered in us-east-1 only: the rule exists only there (or centrally,
                        // where members' us-east-1 rules forward them).
                        assert!(
                            hits.iter().all(|h| *h == "GlobalCallsRule"),
                            "{source} {name}: {hits:?}"
                        );
                        assert_eq!(
                            resource(&t, "GlobalCallsRule")["Condition"].as_str(),
                            Some("GlobalCallsOn")
                        );
                        assert_eq!(
                            render(&t["Conditions"]["GlobalCallsOn"]),
                            "Or:Condition:IsUsEast1,Condition:IsCentral"
                        );
                    }
                    !hits.is_empty()
                }
                Trigger::Ec2StateChange => patterns
                    .iter()
                    .any(|(_, p)| list(p, &["detail-type"]) == ["EC2 Instance State-change Notification"]),
                Trigger::Periodic => {
                    resource(&t, "PeriodicRule")["Properties"]["Source"]["SourceDetails"][0]["MessageType"].as_str()
                        == Some("ScheduledNotification")
                }
            };
            assert!(routed, "{}: trigger {trigger:?} reaches no function", c.id);
        }
    }
}

#[test]
fn every_described_resource_type_is_routed_as_its_description_says() {
    use shared::domain::model::types::{self, TrailRef};
    let t = template();
    let patterns = reevaluator_patterns(&t);
    let at = |p: &Y, path: &[&str]| -> Vec<String> {
        let mut v = p;
        for k in path {
            v = &v[*k];
        }
        strings(v)
    };
    for info in types::recorded() {
        assert!(
            patterns
                .iter()
                .any(|(_, p)| at(p, &["detail", "configurationItem", "resourceType"]).contains(&info.name.to_owned())),
            "{}: its Config changes reach no function",
            info.name
        );
        for r in info.trail {
            let source = match r {
                TrailRef::Name { source, .. }
                | TrailRef::InstanceProfile { source, .. }
                | TrailRef::Every { source, .. } => *source,
                TrailRef::IdPrefix(_) => continue,
            };
            assert!(
                patterns
                    .iter()
                    .any(|(_, p)| at(p, &["detail", "eventSource"]).contains(&source.to_owned())),
                "{}: CloudTrail events of {source} name it, but none reaches a function",
                info.name
            );
        }
    }
}

#[test]
fn every_rule_pins_the_aws_source_its_events_come_from() {
    // Without `source`, anyone allowed to PutEvents on the default bus could forge a CloudTrail
    // call or a Config change and drive the state.
    let t = template();
    for (name, p) in reevaluator_patterns(&t) {
        let sources = strings(&p["source"]);
        assert!(!sources.is_empty(), "{name}: no source pinned");
        assert!(sources.iter().all(|s| s.starts_with("aws.")), "{name}: {sources:?}");
        for event_source in strings(&p["detail"]["eventSource"]) {
            let service = format!("aws.{}", event_source.trim_end_matches(".amazonaws.com"));
            assert!(
                sources.contains(&service),
                "{name}: {event_source} without source {service}"
            );
        }
    }
}

#[test]
fn config_rules_cover_each_plans_resource_types() {
    let t = template();
    let rules: BTreeMap<Plan, &str> = BTreeMap::from([
        (Plan::Cspm, "CspmRule"),
        (Plan::Servers, "ServersRule"),
        (Plan::Sql, "SqlRule"),
        (Plan::Containers, "ContainersRule"),
        (Plan::Oss, "OssRule"),
    ]);
    for (plan, id) in rules {
        let r = resource(&t, id);
        let types: BTreeSet<String> = ALL
            .iter()
            .filter(|c| c.plan == plan)
            .flat_map(|c| c.resource_types.iter())
            .filter(|t| **t != ACCOUNT_TYPE)
            .map(|t| (*t).to_owned())
            .collect();
        let scope: BTreeSet<String> = strings(&r["Properties"]["Scope"]["ComplianceResourceTypes"])
            .into_iter()
            .collect();
        assert_eq!(scope, types, "{id}");
        assert_eq!(
            r["Properties"]["InputParameters"]["plans"].as_str(),
            Some(plan.as_str())
        );
        assert_eq!(
            render(&r["Properties"]["Source"]["SourceIdentifier"]),
            "GetAtt:ConfigRuleFunction.Arn"
        );
        // The rule parameters are the ones the function accepts.
        let params = serde_json::json!({"plans": plan.as_str()}).to_string();
        shared::contracts::config_rule::Scope::parse(Some(&params)).unwrap();
    }
}

#[test]
fn every_asynchronous_invocation_has_a_failure_destination_and_an_alarm() {
    let t = template();
    for f in ["ConfigRuleFunction", "ReevaluatorFunction"] {
        let d = &resource(&t, f)["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        assert_eq!(render(&d["Destination"]), "GetAtt:FailedEventsQueue.Arn", "{f}");
    }
    let stream = &resource(&t, "ReadinessRollupFunction")["Properties"]["Events"]["StateStream"]["Properties"];
    assert_eq!(
        render(&stream["DestinationConfig"]["OnFailure"]["Destination"]),
        "GetAtt:FailedEventsQueue.Arn"
    );
    assert_eq!(strings(&stream["FunctionResponseTypes"]), ["ReportBatchItemFailures"]);
    let filter: serde_json::Value =
        serde_json::from_str(stream["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(filter["dynamodb"]["Keys"]["SK"]["S"][0]["prefix"], "CHECK#");
    let alarmed: BTreeSet<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .flat_map(|r| strings(&r["Properties"]["Dimensions"][0]["Value"]))
        .collect();
    for f in functions() {
        assert!(alarmed.contains(&format!("Ref:{}", f.id)), "{} has no alarm", f.id);
    }
    assert!(alarmed.contains("GetAtt:FailedEventsQueue.QueueName"));
}

#[tokio::test]
async fn the_template_table_is_the_one_the_store_creates() {
    let sdk = integration_tests::moto::sdk_config();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let name = integration_tests::moto::unique("tpl");
    DynamoStore::new(client.clone(), &name).create_table().await.unwrap();
    let d = client.describe_table().table_name(&name).send().await.unwrap();
    let d = d.table().unwrap();
    let t = template();
    let p = &resource(&t, "StateTable")["Properties"];
    let keys = |v: &Y| -> Vec<(String, String)> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|k| (render(&k["AttributeName"]), render(&k["KeyType"])))
            .collect()
    };
    let created = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        ks.iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
            .collect()
    };
    assert_eq!(keys(&p["KeySchema"]), created(d.key_schema()));
    let mut indexes: Vec<(String, Vec<(String, String)>)> = d
        .global_secondary_indexes()
        .iter()
        .map(|g| (g.index_name().unwrap().to_owned(), created(g.key_schema())))
        .collect();
    indexes.sort();
    let template_indexes: Vec<(String, Vec<(String, String)>)> = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| (render(&g["IndexName"]), keys(&g["KeySchema"])))
        .collect();
    assert_eq!(template_indexes, indexes);
    assert_eq!(
        render(&p["StreamSpecification"]["StreamViewType"]),
        d.stream_specification().unwrap().stream_view_type().unwrap().as_str()
    );
    assert_eq!(render(&p["TimeToLiveSpecification"]["AttributeName"]), "expiresAt");
    assert_eq!(render(&p["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        Y::Bool(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], Y::Bool(true));
}

/// The template as CloudFormation receives it: translated by SAM's own translator
/// (`tests/sam_translate.py`, samtranslator from the aws-sam-cli that `.ci/run` installs into
/// `.ci/venv-sam`).
fn translated() -> serde_json::Value {
    integration_tests::iam::sam_translated("template.yaml")
}

#[test]
fn as_sam_translates_it_every_failed_delivery_reaches_the_one_watched_queue() {
    let cfn = translated();
    let resources = cfn["Resources"].as_object().unwrap();
    let of_type =
        |t: &str| -> Vec<(&String, &serde_json::Value)> { resources.iter().filter(|(_, r)| r["Type"] == t).collect() };
    // One dead-letter queue: SAM creates no queue of its own for a rule's dead letters; the
    // findings and continuation queues' messages that keep failing move to it.
    let mut queues: Vec<&String> = of_type("AWS::SQS::Queue").into_iter().map(|(k, _)| k).collect();
    queues.sort();
    assert_eq!(
        queues,
        [
            "ConfigRuleContinuationQueue",
            "FailedEventsQueue",
            "FindingsQueue",
            "ReevaluatorContinuationQueue"
        ]
    );
    for q in [
        "FindingsQueue",
        "ConfigRuleContinuationQueue",
        "ReevaluatorContinuationQueue",
    ] {
        assert_eq!(
            resources[q]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
            serde_json::json!({"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}),
            "{q}"
        );
    }
    let to_queue = serde_json::json!({"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}});
    let rules = of_type("AWS::Events::Rule");
    assert!(rules.len() >= 7, "{} rules", rules.len());
    for (name, rule) in &rules {
        let targets = rule["Properties"]["Targets"].as_array().unwrap();
        for t in targets {
            assert_eq!(t["DeadLetterConfig"], to_queue, "{name}");
            assert!(t["RetryPolicy"].is_object(), "{name}: no retry policy");
        }
        // The queue policy admits rules named `<stack>-...`: how CloudFormation names a rule
        // without a Name, and how a named one must be named.
        if let Some(n) = rule["Properties"].get("Name") {
            assert!(
                n["Fn::Sub"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("${AWS::StackName}-")),
                "{name}: its Name {n} is not one the queue policy admits"
            );
        }
    }
    // The queue admits them, and an alarm watches it.
    let policy = &resources["FailedEventsQueuePolicy"]["Properties"];
    let allow = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(allow["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(allow["Action"], "sqs:SendMessage");
    assert!(allow["Condition"]["ArnLike"]["aws:SourceArn"]
        .to_string()
        .contains("rule/${AWS::StackName}-*"));
    assert!(of_type("AWS::CloudWatch::Alarm")
        .iter()
        .any(|(_, a)| a["Properties"]["Dimensions"].to_string().contains("FailedEventsQueue")));
}

#[test]
fn writes_publishing_and_invocation_are_scoped_to_what_each_needs() {
    let cfn = translated();
    let r = &cfn["Resources"];
    // The rollup writes plan rows and their history, never a result row.
    let rollup = r["RollupRole"]["Properties"]["Policies"].as_array().unwrap();
    let statements: Vec<&serde_json::Value> = rollup
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect();
    let writes: Vec<&&serde_json::Value> = statements
        .iter()
        .filter(|s| {
            s["Action"].to_string().contains("dynamodb:PutItem")
                || s["Action"].to_string().contains("dynamodb:UpdateItem")
        })
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"],
        serde_json::json!(["PLANS#*", "PLANHIST#*", "ROLLUP#*"])
    );
    // Every partition key the readiness writer uses is one of those.
    let readiness = std::fs::read_to_string(root().join("shared/src/aws/dynamo/readiness.rs")).unwrap();
    assert!(
        readiness.contains(r#"s(plans_pk("#)
            && readiness.contains(r#"format!("PLANHIST#"#)
            && readiness.contains(r#"format!("ROLLUP#"#)
    );
    // Only the three function roles publish on the bus.
    let bus = &r["EventBusPolicy"]["Properties"]["Statement"];
    assert_eq!(
        (bus["Effect"].as_str(), bus["Action"].as_str()),
        (Some("Deny"), Some("events:PutEvents"))
    );
    let allowed: Vec<String> = bus["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Fn::GetAtt"][0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(allowed, ["ConfigRuleRole", "ReevaluatorRole", "RollupRole"]);
    let publishers: BTreeSet<String> = r
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["Type"] == "AWS::IAM::Role" && v.to_string().contains("events:PutEvents"))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(publishers.into_iter().collect::<Vec<_>>(), allowed);
    // Config may invoke the rule function only for this account's rules in this region.
    let permission = &r["ConfigRulePermission"]["Properties"];
    assert_eq!(permission["Principal"], "config.amazonaws.com");
    assert!(
        permission["SourceArn"].to_string().contains(":config-rule/*"),
        "{permission}"
    );
}

/// Notifications (optional): readiness changes filtered by plan and new status go to one SNS
/// topic only this rule may publish to, in Amazon Q Developer's custom-notification format built
/// from fields the readiness event really has; failed deliveries reach the watched queue.
#[test]
fn readiness_notifications_reach_their_topic_only_filtered_by_plan_and_status() {
    let cfn = translated();
    let r = &cfn["Resources"];
    for id in ["ReadinessTopic", "ReadinessTopicPolicy", "ReadinessNotificationRule"] {
        assert_eq!(r[id]["Condition"], "NotificationsOn", "{id}");
    }
    assert_eq!(r["ReadinessEmail"]["Condition"], "EmailNotifications");
    let rule = &r["ReadinessNotificationRule"]["Properties"];
    assert_eq!(rule["EventBusName"], serde_json::json!({"Ref": "EventBus"}));
    let pattern = &rule["EventPattern"];
    assert_eq!(pattern["source"], serde_json::json!(["defender-prereqs"]));
    assert_eq!(
        pattern["detail-type"],
        serde_json::json!([shared::contracts::events::READINESS_CHANGED])
    );
    assert_eq!(
        pattern["detail"]["plan"],
        serde_json::json!({"Fn::Split": [",", {"Ref": "NotifyPlans"}]})
    );
    assert_eq!(
        pattern["detail"]["current"],
        serde_json::json!({"Fn::Split": [",", {"Ref": "NotifyStatuses"}]})
    );
    // The parameters' defaults and patterns are the product's plan and status names.
    let params = &template()["Parameters"];
    let plans: Vec<&str> = Plan::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        params["NotifyPlans"]["Default"].as_str(),
        Some(plans.join(",").as_str())
    );
    for status in shared::domain::plans::PlanStatus::ALL {
        assert!(params["NotifyStatuses"]["AllowedPattern"]
            .as_str()
            .unwrap()
            .contains(status.as_str()));
    }
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], serde_json::json!({"Ref": "ReadinessTopic"}));
    assert_eq!(
        target["DeadLetterConfig"]["Arn"],
        serde_json::json!({"Fn::GetAtt": ["FailedEventsQueue", "Arn"]})
    );
    // The transformer reads fields a real readiness event has, and renders valid JSON.
    let t = shared::domain::state::PlanTransition {
        account_id: "111122223333".into(),
        aws_region: "us-east-1".into(),
        plan: Plan::Servers,
        previous: None,
        current: shared::domain::plans::PlanStatus::Blocked,
    };
    let now = shared::domain::plans::rollup(
        &[],
        &BTreeMap::from([("111122223333".to_owned(), vec!["us-east-1".to_owned()])]),
        &shared::domain::settings::Settings::default(),
    )
    .into_iter()
    .find(|p| p.plan == Plan::Servers)
    .unwrap();
    let event = shared::contracts::events::readiness_event(&t, &now);
    let mut text = target["InputTransformer"]["InputTemplate"].as_str().unwrap().to_owned();
    for (name, path) in target["InputTransformer"]["InputPathsMap"].as_object().unwrap() {
        let field = path.as_str().unwrap().strip_prefix("$.detail.").unwrap();
        let value = event
            .detail
            .get(field)
            .unwrap_or_else(|| panic!("no `{field}` in the event"));
        let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
        text = text.replace(&format!("<{name}>"), &shown);
    }
    let rendered: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        (rendered["version"].as_str(), rendered["source"].as_str()),
        (Some("1.0"), Some("custom"))
    );
    assert!(rendered["content"]["title"].as_str().unwrap().contains("servers"));
    // Only this rule publishes to the topic.
    let statement = &r["ReadinessTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"],
        serde_json::json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(
        statement["Condition"]["ArnEquals"]["aws:SourceArn"],
        serde_json::json!({"Fn::GetAtt": ["ReadinessNotificationRule", "Arn"]})
    );
    // The queue takes the dead letters of rules on the stack's bus too.
    let queue = r["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Condition"]["ArnLike"]
        ["aws:SourceArn"]
        .to_string();
    assert!(queue.contains("rule/${EventBusName}/${AWS::StackName}-*"), "{queue}");
}

fn member_template() -> Y {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("member.yaml")).unwrap()).unwrap()
}

/// Central deployment: the evaluating functions may assume one role name, only in the
/// organization's accounts, and nothing else is added to their roles; the member role trusts only
/// those two functions' roles; the names agree between the two templates.
#[test]
fn central_functions_assume_only_the_member_role_of_the_organization() {
    let t = template();
    let p = resource(&t, "MemberAccessPolicy");
    assert_eq!(render(&p["Condition"]), "IsCentral");
    assert_eq!(
        strings(&p["Properties"]["Roles"]),
        [
            "Ref:ConfigRuleRole",
            "Ref:ReevaluatorRole",
            "If:FindingsOn,Ref:FindingsRole,Ref:AWS::NoValue"
        ]
    );
    let statements = p["Properties"]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    let s = &statements[0];
    assert_eq!(
        (render(&s["Effect"]), render(&s["Action"]), render(&s["Resource"])),
        (
            "Allow".to_owned(),
            shared::app::ports::ASSUME_ROLE.to_owned(),
            "Sub:arn:${AWS::Partition}:iam::*:role/${MemberRoleName}".to_owned()
        )
    );
    assert_eq!(
        render(&s["Condition"]["StringEquals"]["aws:ResourceOrgID"]),
        "Ref:OrganizationId"
    );
    // The functions read the member role's name from the environment.
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(render(&env["MEMBER_ROLE_NAME"]), "If:IsCentral,Ref:MemberRoleName,");
    // The organization rules are the stack region's only: the re-evaluator is told so
    // (tests/tests/central.rs runs it that way).
    assert_eq!(render(&env["RULE_REGIONS"]), "If:IsCentral,Ref:AWS::Region,");

    let m = member_template();
    for name in ["MemberRoleName", "ForwarderRoleName", "EventBusName"] {
        let member_name = if name == "EventBusName" {
            "CentralEventBusName"
        } else {
            name
        };
        assert_eq!(
            t["Parameters"][name]["Default"], m["Parameters"][member_name]["Default"],
            "{name}: the templates' defaults differ"
        );
    }
    let role = resource(&m, "MemberRole");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        render(&trust["Principal"]["AWS"]),
        "Sub:arn:${AWS::Partition}:iam::${CentralAccountId}:root"
    );
    // Exact ARNs, no pattern: a generated name (`<stack>-<logical id>-<suffix>`) is cut once the
    // stack's name is long, and a pattern admits any role someone creates to match it.
    assert!(trust["Condition"].get("ArnLike").is_none());
    let trusted = strings(&trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]);
    let mut named = Vec::new();
    for (id, suffix) in [
        ("ConfigRuleRole", "ConfigRule"),
        ("ReevaluatorRole", "Reevaluator"),
        ("FindingsRole", "Findings"),
    ] {
        assert_eq!(
            render(&resource(&t, id)["Properties"]["RoleName"]),
            format!("If:IsCentral,Sub:${{CentralRolePrefix}}-{suffix},Ref:AWS::NoValue"),
            "{id}"
        );
        named.push(format!(
            "Sub:arn:${{AWS::Partition}}:iam::${{CentralAccountId}}:role/${{CentralRolePrefix}}-{suffix}"
        ));
    }
    assert_eq!(trusted, named);
    assert_eq!(
        t["Parameters"]["CentralRolePrefix"]["Default"],
        m["Parameters"]["CentralRolePrefix"]["Default"]
    );
    // The longest prefix with the longest suffix is a valid role name (64 characters at most).
    let prefix_max: usize = 40;
    assert!(prefix_max + "-Reevaluator".len() <= 64);
    assert!(render(&t["Parameters"]["CentralRolePrefix"]["AllowedPattern"]).ends_with(&format!("{{1,{prefix_max}}}")));
}

/// What a central deployment needs to be right the first time: the organization named (a
/// CloudFormation rule refuses the stack otherwise), accounts the organization rules leave out
/// (the management account), the output that fills member.yaml's parameters, the two bus
/// policies one after the other, the alarm raised by any one function's failures, and the
/// members' forwarding failures kept.
#[test]
fn a_central_deployment_is_refused_or_right_the_first_time() {
    let t = template();
    let rule = &t["Rules"]["CentralNeedsOrganization"];
    assert_eq!(render(&rule["RuleCondition"]), "Equals:Ref:Deployment,central");
    assert_eq!(
        render(&rule["Assertions"][0]["Assert"]),
        "Not:Equals:Ref:OrganizationId,"
    );
    for id in ["OrganizationChangesRule", "OrganizationPeriodicRule"] {
        assert_eq!(
            render(&resource(&t, id)["Properties"]["ExcludedAccounts"]),
            "If:HasExcludedAccounts,Ref:ExcludedAccounts,Ref:AWS::NoValue",
            "{id}"
        );
    }
    assert_eq!(
        t["Parameters"]["ExcludedAccounts"]["Type"].as_str(),
        Some("CommaDelimitedList")
    );
    // Every parameter the output names is one of member.yaml's, and it names every one without
    // a default.
    let m = member_template();
    let out = render(&t["Outputs"]["MemberParameters"]["Value"]);
    let named: BTreeSet<String> = out
        .split("ParameterKey=")
        .skip(1)
        .map(|p| p.split(',').next().unwrap().to_owned())
        .collect();
    let member: BTreeSet<String> = m["Parameters"].as_mapping().unwrap().keys().map(render).collect();
    assert!(named.is_subset(&member), "{named:?} vs {member:?}");
    for (k, v) in m["Parameters"].as_mapping().unwrap() {
        if v.get("Default").is_none() {
            assert!(named.contains(&render(k)), "the output omits {}", render(k));
        }
    }
    for (_, o) in t["Outputs"].as_mapping().unwrap() {
        let d = render(&o["Description"]);
        for word in d.split(|c: char| !c.is_alphanumeric()) {
            if word.starts_with("Central") && word.len() > "Central".len() {
                assert!(
                    member.contains(word),
                    "an output names member.yaml's {word}, which it does not have"
                );
            }
        }
    }
    assert_eq!(
        render(&resource(&t, "CentralPublishersPolicy")["DependsOn"]),
        "CentralForwardersPolicy"
    );
    // `events:source` has a value per entry: a set operator, as AWS's examples use.
    let deny = &resource(&t, "CentralPublishersPolicy")["Properties"]["Statement"]["Condition"];
    assert!(deny.get("StringEquals").is_none());
    assert_eq!(
        strings(&deny["ForAnyValue:StringEquals"]["events:source"]),
        [shared::aws::events::SOURCE]
    );
    // Each function's sparse count gets zeros where it has no point.
    let alarm = resource(&t, "MemberRoleAlarm");
    let metrics = alarm["Properties"]["Metrics"].as_sequence().unwrap();
    let expression = render(&metrics[0]["Expression"]);
    let ids: Vec<String> = metrics[1..].iter().map(|m| render(&m["Id"])).collect();
    for id in &ids {
        assert!(expression.contains(&format!("FILL({id}, 0)")), "{expression}");
    }
    let functions: BTreeSet<String> = metrics[1..]
        .iter()
        .map(|m| render(&m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]))
        .collect();
    assert_eq!(
        functions,
        ["config-rule", "event-reevaluator", "findings"]
            .map(str::to_owned)
            .into()
    );
    // The sweep of the regions without organization rules: the config-rule function, invoked by
    // EventBridge Scheduler with a role that may invoke it and nothing else of the stack, at the
    // periodic rule's frequency, with a dead-letter queue.
    let schedule = resource(&t, "SweepSchedule");
    assert_eq!(render(&schedule["Condition"]), "HasSweep");
    let target = &schedule["Properties"]["Target"];
    assert_eq!(render(&target["Arn"]), "GetAtt:ConfigRuleFunction.Arn");
    assert_eq!(render(&target["RoleArn"]), "GetAtt:SweepScheduleRole.Arn");
    assert_eq!(
        render(&target["DeadLetterConfig"]["Arn"]),
        "GetAtt:FailedEventsQueue.Arn"
    );
    let rate = render(&schedule["Properties"]["ScheduleExpression"]);
    for f in t["Parameters"]["PeriodicFrequency"]["AllowedValues"]
        .as_sequence()
        .unwrap()
    {
        let hours = match f.as_str().unwrap() {
            "One_Hour" => "rate(1 hour)",
            "Three_Hours" => "rate(3 hours)",
            "Six_Hours" => "rate(6 hours)",
            "Twelve_Hours" => "rate(12 hours)",
            _ => "rate(24 hours)",
        };
        assert!(rate.contains(hours), "{rate}");
    }
    let role = resource(&t, "SweepScheduleRole");
    let granted: Vec<String> = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| format!("{} on {}", render(&s["Action"]), render(&s["Resource"])))
        .collect();
    assert_eq!(
        granted,
        [
            "lambda:InvokeFunction on GetAtt:ConfigRuleFunction.Arn",
            "sqs:SendMessage on GetAtt:FailedEventsQueue.Arn"
        ]
    );
    // Members: every forwarding rule's target keeps what the central bus refused, and an alarm
    // says when anything is kept.
    let alarm = resource(&m, "ForwardFailuresAlarm");
    assert_eq!(render(&alarm["Properties"]["Namespace"]), "AWS/SQS");
    assert_eq!(
        render(&alarm["Properties"]["Dimensions"][0]["Value"]),
        "GetAtt:ForwardFailuresQueue.QueueName"
    );
    for (id, r) in m["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::Events::Rule") {
            assert_eq!(
                render(&r["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]),
                "GetAtt:ForwardFailuresQueue.Arn",
                "{}",
                render(id)
            );
            assert!(
                serde_yaml::to_string(&resource(&m, "ForwardFailuresQueuePolicy"))
                    .unwrap()
                    .contains(&format!("{}.Arn", render(id))),
                "{}: its dead letters are not admitted",
                render(id)
            );
        }
    }
}

/// The member role grants, in every region of its account, what the central functions call
/// there: the checks' read permissions (the central CheckPermissionsPolicy, any region) and AWS
/// Config's reads and PutEvaluations.
#[test]
fn the_member_role_grants_what_the_central_functions_call() {
    let t = template();
    let m = member_template();
    let central = &resource(&t, "CheckPermissionsPolicy")["Properties"]["PolicyDocument"]["Statement"];
    let member = &resource(&m, "MemberChecksPolicy")["Properties"]["PolicyDocument"]["Statement"];
    let any_region = serde_yaml::to_string(central).unwrap().replace("${AWS::Region}", "*");
    assert_eq!(serde_yaml::to_string(member).unwrap(), any_region);
    let role = resource(&m, "MemberRole");
    assert_eq!(
        strings(&role["Properties"]["ManagedPolicyArns"]),
        ["Ref:MemberChecksPolicy"]
    );
    let mut granted: BTreeSet<String> = BTreeSet::new();
    for p in role["Properties"]["Policies"].as_sequence().unwrap() {
        for s in p["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            assert_eq!(s["Effect"].as_str(), Some("Allow"));
            granted.extend(strings(&s["Action"]));
        }
    }
    let needed: BTreeSet<String> = [
        ConfigApi::READ_PERMISSIONS,
        ConfigApi::REPORT_PERMISSIONS,
        SecurityHubApi::PERMISSIONS,
    ]
    .concat()
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(granted, needed);
}

/// Every member region forwards exactly the events the central re-evaluation function receives
/// (IAM and Organizations calls from us-east-1), to the central bus, with the forwarder role the
/// central bus admits.
#[test]
fn members_forward_exactly_what_the_central_reevaluator_receives() {
    let t = template();
    let m = member_template();
    let central: BTreeSet<String> = reevaluator_patterns(&t)
        .into_iter()
        .map(|(_, p)| serde_yaml::to_string(&p).unwrap())
        .collect();
    let mut forwarded = BTreeSet::new();
    for (id, r) in m["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Events::Rule") {
            continue;
        }
        let id = render(id);
        if id == "GlobalCallsForward" {
            assert_eq!(render(&r["Condition"]), "IsUsEast1");
        }
        let target = &r["Properties"]["Targets"][0];
        assert_eq!(
            render(&target["Arn"]),
            "Sub:arn:${AWS::Partition}:events:${CentralRegion}:${CentralAccountId}:event-bus/${CentralEventBusName}",
            "{id}"
        );
        assert_eq!(
            render(&target["RoleArn"]),
            "Sub:arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ForwarderRoleName}",
            "{id}"
        );
        forwarded.insert(serde_yaml::to_string(&r["Properties"]["EventPattern"]).unwrap());
    }
    assert_eq!(forwarded, central);
    // The central bus admits the organization's forwarder roles, and only the functions may
    // publish the product's own events there.
    let admit = &resource(&t, "CentralForwardersPolicy")["Properties"]["Statement"];
    assert_eq!(render(&admit["Effect"]), "Allow");
    assert_eq!(
        render(&admit["Condition"]["ArnLike"]["aws:PrincipalArn"]),
        "Sub:arn:${AWS::Partition}:iam::*:role/${ForwarderRoleName}"
    );
    assert_eq!(
        render(&admit["Condition"]["StringEquals"]["aws:PrincipalOrgID"]),
        "Ref:OrganizationId"
    );
    let deny = &resource(&t, "CentralPublishersPolicy")["Properties"]["Statement"];
    assert_eq!(render(&deny["Effect"]), "Deny");
    assert_eq!(
        strings(&deny["Condition"]["ForAnyValue:StringEquals"]["events:source"]),
        [shared::aws::events::SOURCE]
    );
}

/// As SAM translates it: centrally, every re-evaluation rule listens on the stack's bus (where
/// members forward), the account's Config rules give way to two organization rules whose scope is
/// every plan's resource types, and an alarm watches the metric the functions count a missing
/// member role with.
#[test]
fn as_sam_translates_it_central_mode_routes_the_bus_and_the_organization_rules() {
    let cfn = translated();
    let r = cfn["Resources"].as_object().unwrap();
    let on_bus = serde_json::json!({"Fn::If": ["IsCentral", {"Ref": "EventBus"}, {"Ref": "AWS::NoValue"}]});
    let reevaluator_rules: Vec<(&String, &serde_json::Value)> = r
        .iter()
        .filter(|(_, v)| {
            v["Type"] == "AWS::Events::Rule" && v["Properties"]["Targets"].to_string().contains("ReevaluatorFunction")
        })
        .collect();
    assert!(reevaluator_rules.len() >= 7);
    for (id, rule) in reevaluator_rules {
        assert_eq!(rule["Properties"]["EventBusName"], on_bus, "{id}");
    }
    for id in [
        "CspmRule",
        "ServersRule",
        "SqlRule",
        "ContainersRule",
        "OssRule",
        "PeriodicRule",
    ] {
        let condition = r[id]["Condition"].as_str().unwrap();
        let c = &cfn["Conditions"][condition];
        assert!(
            condition == "IsAccount" || c.to_string().contains("IsAccount"),
            "{id}: {condition} does not exclude the central deployment"
        );
    }
    let types: BTreeSet<String> = ALL
        .iter()
        .flat_map(|c| c.resource_types.iter())
        .filter(|t| **t != ACCOUNT_TYPE)
        .map(|t| (*t).to_owned())
        .collect();
    let changes = &r["OrganizationChangesRule"];
    assert_eq!(changes["Condition"], "IsCentral");
    let meta = &changes["Properties"]["OrganizationCustomRuleMetadata"];
    let scope: BTreeSet<String> = meta["ResourceTypesScope"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(scope, types);
    assert_eq!(
        meta["LambdaFunctionArn"],
        serde_json::json!({"Fn::GetAtt": ["ConfigRuleFunction", "Arn"]})
    );
    // No rule parameters: the function evaluates every switched-on plan.
    assert!(meta.get("InputParameters").is_none());
    let periodic = &r["OrganizationPeriodicRule"]["Properties"]["OrganizationCustomRuleMetadata"];
    assert_eq!(
        periodic["OrganizationConfigRuleTriggerTypes"],
        serde_json::json!(["ScheduledNotification"])
    );
    // The organization aggregator, with a role limited to what AWS Config reads of the
    // organization.
    let aggregator = &r["OrganizationAggregator"];
    assert_eq!(aggregator["Condition"], "IsCentral");
    assert_eq!(
        aggregator["Properties"]["OrganizationAggregationSource"]["AllAwsRegions"],
        serde_json::json!(true)
    );
    let role = &r["AggregatorRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "config.amazonaws.com"
    );
    let actions: Vec<&str> = role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(actions
        .iter()
        .all(|a| a.starts_with("organizations:Describe") || a.starts_with("organizations:List")));
    let alarm = r["MemberRoleAlarm"].to_string();
    assert!(
        alarm.contains("\"MemberRoleUnavailable\"")
            && alarm.contains("event-reevaluator")
            && alarm.contains("config-rule")
    );
    let code = std::fs::read_to_string(root().join("shared/src/aws/accounts.rs")).unwrap();
    assert!(code.contains("(\"MemberRoleUnavailable\", 1)"));
}

/// Every function logs JSON lines (Lambda sets `AWS_LAMBDA_LOG_FORMAT=JSON`, which the Rust
/// runtime's default subscriber follows; Lambda developer guide, "Configuring JSON and plain text
/// log formats"): a value with a line break stays inside its log line.
#[test]
fn as_sam_translates_it_every_function_logs_json_lines() {
    let cfn = translated();
    let functions: Vec<(&String, &serde_json::Value)> = cfn["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .collect();
    assert!(functions.len() >= 4);
    for (name, f) in functions {
        assert_eq!(f["Properties"]["LoggingConfig"]["LogFormat"], "JSON", "{name}");
    }
}

//! Both functions' handlers, driven by the real Lambda event JSON in `events/`, against moto
//! (DynamoDB; EventBridge routed to SQS to read back what was published) and the recording
//! AWS Config stand-in (which moto cannot be for PutEvaluations).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lambda_events::event::config::ConfigEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, event_json, root};
use integration_tests::moto;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::app::flows::Ports;
use shared::app::memory::WithoutFacts;
use shared::aws::config::ConfigApi;
use shared::aws::dynamo::{resource_pk, DynamoStore};
use shared::aws::events::EventBridgePublisher;
use shared::domain::settings::Settings;

struct World {
    config: ConfigWorld,
    reader: ConfigApi,
    /// The same AWS Config client, knowing no service-API facts (those are tested in facts.rs).
    config_only: WithoutFacts<ConfigApi>,
    store: DynamoStore,
    publisher: EventBridgePublisher,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    settings: Settings,
    recorded: Vec<String>,
    stream: std::sync::Mutex<integration_tests::stream::StreamReader>,
}

impl World {
    async fn new(items: Vec<Value>) -> Self {
        let sdk = moto::sdk_config();
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = moto::unique("state");
        let store = DynamoStore::new(ddb.clone(), &table);
        store.create_table().await.unwrap();
        let stream_arn = ddb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .table()
            .unwrap()
            .latest_stream_arn()
            .unwrap()
            .to_owned();
        let stream = std::sync::Mutex::new(integration_tests::stream::StreamReader::open(&stream_arn));
        // EventBridge bus → rule on our source → SQS queue.
        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let bus = moto::unique("bus");
        eb.create_event_bus().name(&bus).send().await.unwrap();
        let queue = moto::queue("q").await;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let rule = moto::unique("rule");
        eb.put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(r#"{"source":["defender-prereqs"]}"#)
            .send()
            .await
            .unwrap();
        eb.put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let config = ConfigWorld::start(items).await;
        let conf = aws_sdk_config::Config::builder()
            .behavior_version(aws_sdk_config::config::BehaviorVersion::latest())
            .region(aws_sdk_config::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_config::config::Credentials::new(
                "testing", "testing", None, None, "static",
            ))
            .endpoint_url(&config.stub.url)
            .retry_config(aws_sdk_config::config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        let settings = Settings::parse(
            &std::fs::read_to_string(root().join("events/demo-settings.toml")).unwrap(),
            true,
            "demo",
        )
        .unwrap();
        let recorded = shared::domain::model::types::recorded()
            .map(|t| t.name.to_owned())
            .collect();
        Self {
            reader: ConfigApi::new(aws_sdk_config::Client::from_conf(conf.clone())),
            config_only: WithoutFacts(ConfigApi::new(aws_sdk_config::Client::from_conf(conf))),
            publisher: EventBridgePublisher::new(eb, &bus),
            config,
            store,
            ddb,
            table,
            sqs,
            queue,
            settings,
            recorded,
            stream,
        }
    }

    /// Feeds the table's stream records since the last call to the rollup handler, as the event
    /// source mapping would.
    async fn roll_up(&self) -> aws_lambda_events::event::streams::DynamoDbEventResponse {
        let event = self.stream.lock().unwrap().next_event();
        let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(event).unwrap();
        readiness_rollup::handler(
            &self.store,
            &self.publisher,
            &self.settings,
            LambdaEvent::new(event, Context::default()),
        )
        .await
        .unwrap()
    }

    fn ports(&self) -> Ports<'_, WithoutFacts<ConfigApi>, DynamoStore, EventBridgePublisher> {
        Ports {
            reader: &self.config_only,
            store: &self.store,
            publisher: &self.publisher,
            settings: &self.settings,
            recorded_types: &self.recorded,
        }
    }

    async fn rule(&self, name: &str) -> Result<shared::app::flows::RuleSummary, shared::app::error::HandlerError> {
        self.rule_event(event_json(name)).await
    }

    async fn rule_event(
        &self,
        event: Value,
    ) -> Result<shared::app::flows::RuleSummary, shared::app::error::HandlerError> {
        let event: ConfigEvent = serde_json::from_value(event).unwrap();
        config_rule::handler(
            &self.ports(),
            &self.reader,
            LambdaEvent::new(event, Context::default()),
            &shared::app::pace::Pace::unbounded(),
        )
        .await
    }

    async fn reevaluate(&self, event: Value) -> Result<event_reevaluator::Response, shared::app::error::HandlerError> {
        let event: EventBridgeEvent<Value> = serde_json::from_value(event).unwrap();
        event_reevaluator::handler(
            &self.ports(),
            LambdaEvent::new(event, Context::default()),
            &shared::app::pace::Pace::unbounded(),
        )
        .await
    }

    /// Every event delivered to the queue so far.
    async fn published(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let r = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let msgs = r.messages();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn results(&self, rtype: &str, id: &str) -> Vec<(String, String)> {
        let r = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :c)")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(resource_pk("111122223333", "us-east-1", rtype, id)),
            )
            .expression_attribute_values(":c", AttributeValue::S("CHECK#".into()))
            .send()
            .await
            .unwrap();
        r.items()
            .iter()
            .map(|i| {
                (
                    i["checkId"].as_s().unwrap().clone(),
                    i["compliance"].as_s().unwrap().clone(),
                )
            })
            .collect()
    }

    async fn table_items(&self) -> i32 {
        self.ddb.scan().table_name(&self.table).send().await.unwrap().count()
    }
}

/// The schema's required keys and every key it allows.
fn schema_keys(name: &str) -> (Vec<String>, Vec<String>) {
    let s: Value = serde_json::from_str(&std::fs::read_to_string(root().join("schemas").join(name)).unwrap()).unwrap();
    let mut required: Vec<String> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    required.sort();
    let allowed = s["properties"].as_object().unwrap().keys().cloned().collect();
    (required, allowed)
}

fn assert_matches_schemas(events: &[Value]) {
    let compliance = schema_keys("prerequisite-compliance-changed.json");
    let readiness = schema_keys("plan-readiness-changed.json");
    for e in events {
        assert_eq!(e["source"], "defender-prereqs");
        let keys: Vec<String> = e["detail"].as_object().unwrap().keys().cloned().collect();
        let (required, allowed) = match e["detail-type"].as_str().unwrap() {
            "Prerequisite Compliance Changed" => &compliance,
            "Plan Readiness Changed" => &readiness,
            other => panic!("unexpected detail-type {other}"),
        };
        for k in required {
            assert!(keys.contains(k), "{k} missing from {e}");
        }
        for k in &keys {
            assert!(allowed.contains(k), "{k} is not in the schema: {e}");
        }
    }
}

#[tokio::test]
async fn config_rule_change_reports_records_and_publishes_once() {
    let w = World::new(demo_items()).await;
    let out = w.rule("config-rule/change-ec2-instance.json").await.unwrap();
    assert_eq!((out.reported, out.calls), (1, 1));
    let puts = w.config.put_evaluations();
    let body = &puts[0];
    assert_eq!(body["ResultToken"], "eyJlbmNyeXB0ZWREYXRhIjpbMTEsMjAsLTcyXX0=");
    assert_eq!(body["TestMode"], false);
    let e = &body["Evaluations"][0];
    assert_eq!(
        (e["ComplianceResourceType"].as_str(), e["ComplianceResourceId"].as_str()),
        (Some("AWS::EC2::Instance"), Some("i-0bat000000000002"))
    );
    assert_eq!(e["ComplianceType"], "NON_COMPLIANT");
    assert!(e["Annotation"].as_str().unwrap().contains("servers.instance-profile"));
    assert!(e["Annotation"].as_str().unwrap().len() <= 256);
    assert_eq!(
        e["OrderingTimestamp"].as_f64().unwrap(),
        1_795_162_542.517,
        "the item's capture time"
    );
    let results = w.results("AWS::EC2::Instance", "i-0bat000000000002").await;
    assert!(
        results.contains(&("servers.instance-profile".into(), "NON_COMPLIANT".into())),
        "{results:?}"
    );
    let events = w.published().await;
    let changes = events
        .iter()
        .filter(|e| e["detail-type"] == "Prerequisite Compliance Changed")
        .count();
    assert_eq!(changes, out.transitions);
    assert!(!events.iter().any(|e| e["detail-type"] == "Plan Readiness Changed"));
    assert_matches_schemas(&events);
    // The stream feeds the rollup, which announces the account's readiness.
    assert!(w.roll_up().await.batch_item_failures.is_empty());
    let readiness = w.published().await;
    assert!(!readiness.is_empty());
    assert!(readiness.iter().all(|e| e["detail-type"] == "Plan Readiness Changed"));
    assert!(readiness
        .iter()
        .any(|e| e["detail"]["plan"] == "servers" && e["detail"]["current"] == "BLOCKED"));
    assert_matches_schemas(&readiness);
    // The rollup's own writes are in the stream too; they change nothing.
    assert!(w.roll_up().await.batch_item_failures.is_empty());
    assert!(w.published().await.is_empty());

    // Duplicate delivery: reported again, nothing new recorded or published.
    let items = w.table_items().await;
    let again = w.rule("config-rule/change-ec2-instance.json").await.unwrap();
    assert_eq!(again.transitions, 0);
    assert_eq!(w.table_items().await, items);
    assert!(w.published().await.is_empty());
    assert_eq!(w.config.put_evaluations().len(), 2);
}

#[tokio::test]
async fn config_rule_left_scope_deleted_and_oversized() {
    let w = World::new(demo_items()).await;
    w.rule("config-rule/change-left-scope.json").await.unwrap();
    let e = &w.config.put_evaluations()[0]["Evaluations"][0];
    assert_eq!(
        (e["ComplianceType"].as_str(), e["ComplianceResourceId"].as_str()),
        (Some("NOT_APPLICABLE"), Some("i-0bat000000000002"))
    );
    assert_eq!(w.table_items().await, 0, "leaving the scope records nothing");

    // Oversized: the item comes from GetResourceConfigHistory.
    w.rule("config-rule/oversized.json").await.unwrap();
    assert_eq!(
        w.config.stub.calls("GetResourceConfigHistory")[0]["resourceId"],
        "i-0sql000000000003"
    );
    let e = &w.config.put_evaluations()[1]["Evaluations"][0];
    assert_eq!(e["ComplianceResourceId"], "i-0sql000000000003");
    assert!(!w.results("AWS::EC2::Instance", "i-0sql000000000003").await.is_empty());

    // Deleted: NOT_APPLICABLE everywhere, the state tombstoned.
    w.reevaluate(event_json("event-reevaluator/ec2-state-change.json"))
        .await
        .unwrap();
    let mut deleted = event_json("config-rule/change-deleted.json");
    deleted["invokingEvent"] = Value::String(
        deleted["invokingEvent"]
            .as_str()
            .unwrap()
            .replace("i-0web000000000001", "i-0sql000000000003"),
    );
    let ev: ConfigEvent = serde_json::from_value(deleted).unwrap();
    config_rule::handler(
        &w.ports(),
        &w.reader,
        LambdaEvent::new(ev, Context::default()),
        &shared::app::pace::Pace::unbounded(),
    )
    .await
    .unwrap();
    let last = w.config.put_evaluations().last().unwrap().clone();
    assert_eq!(last["Evaluations"][0]["ComplianceType"], "NOT_APPLICABLE");
    let after = w.results("AWS::EC2::Instance", "i-0sql000000000003").await;
    assert!(after.iter().all(|(_, c)| c == "NOT_APPLICABLE"), "{after:?} {last}");
}

#[tokio::test]
async fn scheduled_reports_everything_in_chunks_and_retires_vanished_resources() {
    let items = demo_items();
    let w = World::new(items.clone()).await;
    w.rule("config-rule/scheduled.json").await.unwrap();
    let puts = w.config.put_evaluations();
    let reported: usize = puts.iter().map(|p| p["Evaluations"].as_array().unwrap().len()).sum();
    assert!(reported > 30, "{reported}");
    assert!(puts.iter().all(|p| p["Evaluations"].as_array().unwrap().len() <= 100));
    assert!(puts
        .iter()
        .flat_map(|p| p["Evaluations"].as_array().unwrap())
        .any(|e| e["ComplianceResourceType"] == "AWS::::Account"));
    let stamp = puts[0]["Evaluations"][0]["OrderingTimestamp"].as_f64().unwrap();
    assert_eq!(
        stamp, 1_795_305_600.373,
        "periodic results carry notificationCreationTime"
    );

    // batch-1 disappears from Config: the next periodic run reports it NOT_APPLICABLE.
    w.config.set_items(
        items
            .into_iter()
            .filter(|i| i["resourceId"] != "i-0bat000000000002")
            .collect(),
    );
    w.published().await;
    // The next period: AWS Config invokes the rule with a new result token.
    let first_run = w.config.put_evaluations().len();
    let mut next = event_json("config-rule/scheduled.json");
    next["resultToken"] = json!("the-next-period");
    w.rule_event(next).await.unwrap();
    let puts = w.config.put_evaluations();
    let gone: Vec<&Value> = puts
        .iter()
        .skip(first_run)
        .flat_map(|p| p["Evaluations"].as_array().unwrap())
        .filter(|e| e["ComplianceResourceId"] == "i-0bat000000000002")
        .collect();
    assert!(
        !gone.is_empty() && gone.iter().all(|e| e["ComplianceType"] == "NOT_APPLICABLE"),
        "{gone:?}"
    );
    let states = w.results("AWS::EC2::Instance", "i-0bat000000000002").await;
    assert!(states.iter().all(|(_, c)| c == "NOT_APPLICABLE"));
}

#[tokio::test]
async fn malformed_events_fail_with_a_message_and_write_nothing() {
    let w = World::new(demo_items()).await;
    let good = event_json("config-rule/change-ec2-instance.json");
    let mut cases = Vec::new();
    let mut no_token = good.clone();
    no_token.as_object_mut().unwrap().remove("resultToken");
    cases.push((no_token, "resultToken"));
    let mut bad_invoking = good.clone();
    bad_invoking["invokingEvent"] = "{not json".into();
    cases.push((bad_invoking, "invokingEvent"));
    let mut bad_params = good.clone();
    bad_params["ruleParameters"] = r#"{"plans":"servrs"}"#.into();
    cases.push((bad_params, "servrs"));
    let mut bad_item = good.clone();
    bad_item["invokingEvent"] = Value::String(good["invokingEvent"].as_str().unwrap().replace("\"running\"", "17"));
    cases.push((bad_item, "configuration.state.name"));
    for (payload, needle) in cases {
        let ev: ConfigEvent = serde_json::from_value(payload).unwrap();
        let err = config_rule::handler(
            &w.ports(),
            &w.reader,
            LambdaEvent::new(ev, Context::default()),
            &shared::app::pace::Pace::unbounded(),
        )
        .await
        .unwrap_err();
        let d: lambda_runtime::Diagnostic = err.into();
        assert_eq!(d.error_type, "MalformedEvent");
        assert!(d.error_message.contains(needle), "{needle}: {}", d.error_message);
    }
    let err = w
        .reevaluate(json!({"detail-type": "Something Else", "source": "x", "detail": {}}))
        .await
        .unwrap_err();
    // Named as unsupported, the event's value not quoted.
    assert!(
        err.to_string().contains("unsupported detail-type") && !err.to_string().contains("Something Else"),
        "{err}"
    );
    assert_eq!(w.table_items().await, 0);
    assert!(w.config.put_evaluations().is_empty());
}

#[tokio::test]
async fn a_role_change_re_evaluates_every_instance_using_it() {
    let w = World::new(demo_items()).await;
    // Baseline for both instances behind web-ssm's profile.
    w.reevaluate(event_json("event-reevaluator/config-item-change-iam-role.json"))
        .await
        .unwrap();
    assert_eq!(
        w.results("AWS::EC2::Instance", "i-0web000000000001")
            .await
            .iter()
            .find(|(c, _)| c == "servers.ssm-core-policy")
            .unwrap()
            .1,
        "COMPLIANT"
    );
    w.published().await;
    // DetachRolePolicy: Config now records the role without the core policy.
    let changed: Vec<Value> = demo_items()
        .into_iter()
        .map(|mut i| {
            if i["resourceName"] == "web-ssm-role" {
                let list = i["configuration"]["attachedManagedPolicies"].as_array_mut().unwrap();
                list.retain(|p| {
                    !p["policyArn"]
                        .as_str()
                        .unwrap()
                        .ends_with("AmazonSSMManagedInstanceCore")
                });
                i["configurationItemCaptureTime"] = "2026-11-20T08:16:30.000Z".into();
            }
            i
        })
        .collect();
    w.config.set_items(changed);
    let out = w
        .reevaluate(event_json("event-reevaluator/cloudtrail-detach-role-policy.json"))
        .await
        .unwrap();
    assert!(out.transitions >= 3, "{out:?}");
    let events = w.published().await;
    assert_matches_schemas(&events);
    for id in ["i-0web000000000001", "i-0sql000000000003"] {
        assert!(
            events.iter().any(|e| e["detail"]["resourceId"] == id
                && e["detail"]["checkId"] == "servers.ssm-core-policy"
                && e["detail"]["current"] == "NON_COMPLIANT"),
            "{id}: {events:?}"
        );
    }
    assert!(events
        .iter()
        .any(|e| e["detail"]["resourceId"] == "i-0sql000000000003" && e["detail"]["checkId"] == "sql.servers-chain"));
    w.roll_up().await;
    assert!(w
        .published()
        .await
        .iter()
        .any(|e| e["detail-type"] == "Plan Readiness Changed" && e["detail"]["plan"] == "servers"));
}

#[tokio::test]
async fn ec2_state_change_and_config_item_change_events() {
    let w = World::new(demo_items()).await;
    let out = w
        .reevaluate(event_json("event-reevaluator/ec2-state-change.json"))
        .await
        .unwrap();
    assert!(out.evaluations > 0);
    let r = w.results("AWS::EC2::Instance", "i-0old000000000004").await;
    assert!(
        r.iter()
            .any(|(c, v)| c == "servers.applicable" && v == "NOT_APPLICABLE"),
        "{r:?}"
    );
    // A CloudTrail call that failed changed nothing.
    let mut failed = event_json("event-reevaluator/cloudtrail-detach-role-policy.json");
    failed["detail"]["errorCode"] = "AccessDenied".into();
    assert_eq!(w.reevaluate(failed).await.unwrap().evaluations, 0);
}

fn with_capture(event: &Value, capture: &str, profile: bool) -> Value {
    let mut e = event.clone();
    let mut inv: Value = serde_json::from_str(e["invokingEvent"].as_str().unwrap()).unwrap();
    inv["configurationItem"]["configurationItemCaptureTime"] = capture.into();
    if profile {
        inv["configurationItem"]["configuration"]["iamInstanceProfile"] =
            json!({"arn": "arn:aws:iam::111122223333:instance-profile/web-ssm", "id": "AIPAX"});
    }
    e["invokingEvent"] = Value::String(inv.to_string());
    e
}

#[tokio::test]
async fn out_of_order_delivery_keeps_the_newest_state() {
    let w = World::new(demo_items()).await;
    let base = event_json("config-rule/change-ec2-instance.json");
    let newer = with_capture(&base, "2026-11-21T09:00:00.000Z", true);
    let older = with_capture(&base, "2026-11-20T08:15:42.517Z", false);
    for e in [newer, older] {
        let ev: ConfigEvent = serde_json::from_value(e).unwrap();
        config_rule::handler(
            &w.ports(),
            &w.reader,
            LambdaEvent::new(ev, Context::default()),
            &shared::app::pace::Pace::unbounded(),
        )
        .await
        .unwrap();
    }
    let r = w.results("AWS::EC2::Instance", "i-0bat000000000002").await;
    let profile = r.iter().find(|(c, _)| c == "servers.instance-profile").unwrap();
    assert_eq!(profile.1, "COMPLIANT", "the older event must not roll the state back");
}

#[tokio::test]
async fn a_failed_publish_is_retried_from_the_outbox_and_nothing_is_lost() {
    let w = World::new(demo_items()).await;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = calls.clone();
    // The bus is down for the first invocation.
    let bus = integration_tests::stub::Stub::start(move |_, body| {
        if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return (
                503,
                json!({"__type": "ServiceUnavailable", "message": "down"}).to_string(),
            );
        }
        let count = body["Entries"].as_array().unwrap().len();
        (
            200,
            json!({"FailedEntryCount": 0, "Entries": vec![json!({"EventId": "x"}); count]}).to_string(),
        )
    })
    .await;
    let conf = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .endpoint_url(&bus.url)
        .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::from_conf(conf), "b");
    let ports = Ports {
        publisher: &publisher,
        ..w.ports()
    };
    let event = || serde_json::from_value::<ConfigEvent>(event_json("config-rule/change-ec2-instance.json")).unwrap();
    let err = config_rule::handler(
        &ports,
        &w.reader,
        LambdaEvent::new(event(), Context::default()),
        &shared::app::pace::Pace::unbounded(),
    )
    .await
    .unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Retryable");
    // Lambda retries the same event: the state is already written, the transitions are not lost.
    let out = config_rule::handler(
        &ports,
        &w.reader,
        LambdaEvent::new(event(), Context::default()),
        &shared::app::pace::Pace::unbounded(),
    )
    .await
    .unwrap();
    let published: Vec<Value> = bus
        .calls("PutEvents")
        .into_iter()
        .skip(1)
        .flat_map(|b| b["Entries"].as_array().unwrap().clone())
        .collect();
    let changes = published
        .iter()
        .filter(|e| e["DetailType"] == "Prerequisite Compliance Changed")
        .count();
    assert!(
        changes > 0 && changes == out.transitions,
        "{changes} published, {} reported",
        out.transitions
    );
    // A third delivery publishes nothing more.
    let before = bus.calls("PutEvents").len();
    config_rule::handler(
        &ports,
        &w.reader,
        LambdaEvent::new(event(), Context::default()),
        &shared::app::pace::Pace::unbounded(),
    )
    .await
    .unwrap();
    let after: usize = bus
        .calls("PutEvents")
        .iter()
        .skip(before)
        .map(|b| b["Entries"].as_array().unwrap().len())
        .sum();
    assert_eq!(after, 0);
}

#[tokio::test]
async fn rollup_names_the_failed_records_and_a_retry_announces_what_was_left() {
    let w = World::new(demo_items()).await;
    w.rule("config-rule/change-ec2-instance.json").await.unwrap();
    w.published().await;
    let batch = w.stream.lock().unwrap().next_event();
    let first_result_seq = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["dynamodb"]["Keys"]["PK"]["S"]
                .as_str()
                .unwrap()
                .starts_with("RES#111122223333#")
        })
        .unwrap()["dynamodb"]["SequenceNumber"]
        .clone();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = calls.clone();
    let bus = integration_tests::stub::Stub::start(move |_, body| {
        if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return (
                503,
                json!({"__type": "ServiceUnavailable", "message": "down"}).to_string(),
            );
        }
        let count = body["Entries"].as_array().unwrap().len();
        (
            200,
            json!({"FailedEntryCount": 0, "Entries": vec![json!({"EventId": "x"}); count]}).to_string(),
        )
    })
    .await;
    let conf = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .endpoint_url(&bus.url)
        .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::from_conf(conf), "b");
    let deliver = |event: &Value| {
        let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(event.clone()).unwrap();
        readiness_rollup::handler(
            &w.store,
            &publisher,
            &w.settings,
            LambdaEvent::new(event, Context::default()),
        )
    };
    // The bus is down: the account's first record is reported failed, so Lambda retries from it.
    let failed = deliver(&batch).await.unwrap();
    let ids: Vec<Value> = failed
        .batch_item_failures
        .iter()
        .map(|f| json!(f.item_identifier))
        .collect();
    assert_eq!(ids, [first_result_seq]);
    // The retry announces every readiness change the failed attempt recorded but did not announce.
    assert!(deliver(&batch).await.unwrap().batch_item_failures.is_empty());
    let announced: Vec<Value> = bus
        .calls("PutEvents")
        .into_iter()
        .skip(1)
        .flat_map(|b| b["Entries"].as_array().unwrap().clone())
        .collect();
    assert!(announced
        .iter()
        .any(|e| e["DetailType"] == "Plan Readiness Changed" && e["Detail"].as_str().unwrap().contains("\"servers\"")));
    // A third delivery announces nothing more.
    let before = bus.calls("PutEvents").len();
    deliver(&batch).await.unwrap();
    let after: usize = bus
        .calls("PutEvents")
        .iter()
        .skip(before)
        .map(|b| b["Entries"].as_array().unwrap().len())
        .sum();
    assert_eq!(after, 0);

    // Malformed batches fail the invocation with a message and write nothing.
    let items = w.table_items().await;
    let mut no_pk = batch.clone();
    no_pk["Records"][0]["dynamodb"]["Keys"] = json!({"SK": {"S": "CHECK#x"}});
    let err = deliver(&no_pk).await.unwrap_err();
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "MalformedEvent");
    assert!(
        d.error_message.contains("Records[0]") && d.error_message.contains("PK"),
        "{}",
        d.error_message
    );
    assert_eq!(w.table_items().await, items);
    // The rollup's own rows (history, readiness) are not results: nothing to do.
    let only_history = json!({"Records": batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["dynamodb"]["Keys"]["PK"]["S"].as_str().unwrap().starts_with("RES#"))
        .cloned()
        .collect::<Vec<_>>()});
    assert!(deliver(&only_history).await.unwrap().batch_item_failures.is_empty());
    // The sample event in events/: one result change (rolled up) and its history row (ignored).
    let sample = event_json("readiness-rollup/stream-batch.json");
    let ev: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(sample.clone()).unwrap();
    assert_eq!(readiness_rollup::accounts_of(&ev).unwrap().len(), 1);
    assert!(deliver(&sample).await.unwrap().batch_item_failures.is_empty());
}

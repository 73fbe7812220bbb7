//! The AWS Config adapter over real HTTP against a recording loopback stub.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_config::config::{BehaviorVersion, Credentials, Region};
use chrono::{TimeZone, Utc};
use integration_tests::stub::Stub;
use serde_json::{json, Value};
use shared::app::ports::{ConfigReader, EvaluationReporter};
use shared::aws::config::ConfigApi;
use shared::contracts::config_rule::ConfigEvaluation;
use shared::domain::model::{Lookup, Resource};
use shared::domain::vocab::{Compliance, ResourceKey};

fn client(url: &str) -> ConfigApi {
    let conf = aws_sdk_config::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(url)
        .retry_config(aws_sdk_config::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    ConfigApi::new(aws_sdk_config::Client::from_conf(conf))
}

fn ev(id: &str, c: Compliance) -> ConfigEvaluation {
    ConfigEvaluation {
        compliance_resource_type: "AWS::EC2::Instance".into(),
        compliance_resource_id: id.into(),
        compliance_type: c,
        annotation: format!("annotation of {id}"),
        ordering_timestamp: Utc.with_ymd_and_hms(2026, 11, 20, 8, 15, 42).unwrap(),
    }
}

#[tokio::test]
async fn put_evaluations_sends_exactly_what_config_expects() {
    let stub = Stub::start(|_, body| {
        let first = &body["Evaluations"][0];
        (200, json!({"FailedEvaluations": [first]}).to_string())
    })
    .await;
    let failed = client(&stub.url)
        .put(
            "token-123",
            false,
            &[ev("i-1", Compliance::NonCompliant), ev("i-2", Compliance::Compliant)],
        )
        .await
        .unwrap();
    let calls = stub.calls("PutEvaluations");
    assert_eq!(calls.len(), 1);
    let body = &calls[0];
    assert_eq!(body["ResultToken"], "token-123");
    assert_eq!(body["TestMode"], false);
    let e = &body["Evaluations"];
    assert_eq!(e.as_array().unwrap().len(), 2);
    assert_eq!(e[0]["ComplianceResourceType"], "AWS::EC2::Instance");
    assert_eq!(e[0]["ComplianceResourceId"], "i-1");
    assert_eq!(e[0]["ComplianceType"], "NON_COMPLIANT");
    assert_eq!(e[0]["Annotation"], "annotation of i-1");
    assert_eq!(e[0]["OrderingTimestamp"].as_f64().unwrap(), 1_795_162_542.0);
    assert_eq!(e[1]["ComplianceType"], "COMPLIANT");
    assert_eq!(
        failed
            .iter()
            .map(|f| f.compliance_resource_id.as_str())
            .collect::<Vec<_>>(),
        ["i-1"]
    );
}

#[tokio::test]
async fn batch_get_retries_unprocessed_keys_and_parses_api_items() {
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    let stub = Stub::start(move |_, body| {
        let keys = body["resourceKeys"].as_array().unwrap().clone();
        let first = count.fetch_add(1, Ordering::SeqCst) == 0;
        let (done, later) = if first {
            keys.split_at(1)
        } else {
            keys.split_at(keys.len())
        };
        let items: Vec<Value> = done
            .iter()
            .map(|k| {
                json!({
                    "version": "1.3", "accountId": "111122223333", "awsRegion": "us-east-1",
                    "resourceType": k["resourceType"], "resourceId": k["resourceId"],
                    "configurationItemCaptureTime": 1_795_162_542.517, "configurationItemStatus": "OK",
                    "configuration": json!({"instanceId": k["resourceId"], "state": {"name": "running"},
                        "tags": [{"key": "Name", "value": "web"}]}).to_string(),
                    "supplementaryConfiguration": {}
                })
            })
            .collect();
        (
            200,
            json!({"baseConfigurationItems": items, "unprocessedResourceKeys": later}).to_string(),
        )
    })
    .await;
    let keys = [
        ResourceKey::new("AWS::EC2::Instance", "i-1"),
        ResourceKey::new("AWS::EC2::Instance", "i-2"),
    ];
    let items = client(&stub.url).batch_get(&keys).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.resource_id.as_str()).collect::<Vec<_>>(),
        ["i-1", "i-2"]
    );
    assert_eq!(
        stub.calls("BatchGetResourceConfig").len(),
        2,
        "the unprocessed key is asked again"
    );
    assert_eq!(
        items[0].tags.get("Name").map(String::as_str),
        Some("web"),
        "tags from the configuration"
    );
    assert!(matches!(&items[0].resource, Resource::Ec2Instance(_)));
    assert_eq!(
        items[0].capture_time,
        Some(Utc.timestamp_millis_opt(1_795_162_542_517).unwrap())
    );
}

#[tokio::test]
async fn select_pages_through_results_with_the_rendered_expression() {
    let stub = Stub::start(|_, body| {
        if body.get("NextToken").is_none() {
            (
                200,
                json!({"Results": [r#"{"resourceType":"AWS::IAM::Role","resourceId":"AROA1"}"#], "NextToken": "p2"})
                    .to_string(),
            )
        } else {
            (
                200,
                json!({"Results": [r#"{"resourceType":"AWS::IAM::Role","resourceId":"AROA2"}"#]}).to_string(),
            )
        }
    })
    .await;
    let lookup = Lookup::RolesInProfiles(vec!["arn:aws:iam::1:instance-profile/p".into()]);
    let keys = client(&stub.url).select(&lookup).await.unwrap();
    assert_eq!(
        keys,
        [
            ResourceKey::new("AWS::IAM::Role", "AROA1"),
            ResourceKey::new("AWS::IAM::Role", "AROA2")
        ]
    );
    let calls = stub.calls("SelectResourceConfig");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["Expression"],
        "SELECT resourceType, resourceId WHERE resourceType = 'AWS::IAM::Role' AND configuration.instanceProfileList.arn IN ('arn:aws:iam::1:instance-profile/p')"
    );
    assert_eq!(calls[1]["NextToken"], "p2");
    // A value that cannot be quoted safely never reaches a query: the type is listed and its
    // items matched instead (here none matches).
    let listing = Stub::start(|target, _| {
        if target.ends_with("BatchGetResourceConfig") {
            (
                200,
                json!({"baseConfigurationItems": [], "unprocessedResourceKeys": []}).to_string(),
            )
        } else {
            (
                200,
                json!({"Results": [r#"{"resourceType":"AWS::IAM::Role","resourceId":"AROA1"}"#]}).to_string(),
            )
        }
    })
    .await;
    let found = client(&listing.url)
        .select(&Lookup::Named("AWS::IAM::Role", vec!["x' OR '1'='1".into()]))
        .await
        .unwrap();
    assert!(found.is_empty());
    let sent = listing.calls("SelectResourceConfig");
    assert_eq!(
        sent.iter()
            .map(|c| c["Expression"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["SELECT resourceType, resourceId WHERE resourceType = 'AWS::IAM::Role'"]
    );
    assert_eq!(listing.calls("BatchGetResourceConfig").len(), 1);
}

#[tokio::test]
async fn history_gives_tags_and_relationships_and_not_discovered_is_none() {
    let stub = Stub::start(|_, body| {
        if body["resourceId"] == "gone" {
            return (400, json!({"__type": "ResourceNotDiscoveredException", "message": "not discovered"}).to_string());
        }
        (200, json!({"configurationItems": [{
            "accountId": "111122223333", "awsRegion": "us-east-1", "resourceType": "AWS::SSM::ManagedInstanceInventory",
            "resourceId": "i-1", "configurationItemCaptureTime": 1_795_162_542.0, "configurationItemStatus": "OK",
            "tags": {"team": "a"},
            "relationships": [{"resourceType": "AWS::EC2::Instance", "resourceId": "i-1", "relationshipName": "Is associated with "}],
            "configuration": json!({"AWS:InstanceInformation": {"Content": {"i-1": {"AgentVersion": "3.3", "PlatformName": "Ubuntu"}}}}).to_string(),
            "supplementaryConfiguration": {"instanceStatus": "\"Active\""}
        }]}).to_string())
    })
    .await;
    let c = client(&stub.url);
    let item = c
        .latest(&ResourceKey::new("AWS::SSM::ManagedInstanceInventory", "i-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(item.relationships[0].name.as_deref(), Some("Is associated with "));
    let Resource::SsmInventory(inv) = &item.resource else {
        panic!("not inventory")
    };
    assert_eq!(inv.instance_status.as_deref(), Some("Active"));
    assert_eq!(stub.calls("GetResourceConfigHistory")[0]["limit"], 1);
    assert!(c
        .latest(&ResourceKey::new("AWS::EC2::Instance", "gone"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn throttling_and_5xx_are_retryable_validation_is_not() {
    let stub = Stub::start(|_, body| match body["resourceId"].as_str() {
        Some("throttled") => (
            400,
            json!({"__type": "ThrottlingException", "message": "slow down"}).to_string(),
        ),
        Some("boom") => (500, "<html>Internal Server Error</html>".to_owned()),
        _ => (
            400,
            json!({"__type": "ValidationException", "message": "bad"}).to_string(),
        ),
    })
    .await;
    let c = client(&stub.url);
    for (id, retryable) in [("throttled", true), ("boom", true), ("bad", false)] {
        let e = c.latest(&ResourceKey::new("AWS::EC2::Instance", id)).await.unwrap_err();
        assert_eq!(e.retryable, retryable, "{id}: {e}");
        assert_eq!(e.operation, "config:GetResourceConfigHistory");
    }
}

#[tokio::test]
async fn a_lookup_too_long_for_one_query_is_split_and_finds_every_resource() {
    // 150 instances, one per subnet, all in one route table: the instances related to its subnets.
    let subnets: Vec<String> = (0..150).map(|n| format!("subnet-0{n:016x}")).collect();
    let items: Vec<Value> = subnets
        .iter()
        .enumerate()
        .map(|(n, s)| {
            json!({"awsAccountId": "111122223333", "awsRegion": "us-east-1", "resourceType": "AWS::EC2::Instance",
                "resourceId": format!("i-0{n:016x}"), "configurationItemCaptureTime": "2026-11-20T08:15:42.517Z",
                "configuration": {"subnetId": s},
                "relationships": [{"resourceType": "AWS::EC2::Subnet", "resourceId": s, "name": "Is contained in Subnet"}]})
        })
        .collect();
    let world = integration_tests::config_world::ConfigWorld::start(items).await;
    let keys = client(&world.stub.url)
        .select(&Lookup::RelatedTo(vec!["AWS::EC2::Instance"], subnets))
        .await
        .unwrap();
    assert_eq!(keys.len(), 150);
    let calls = world.stub.calls("SelectResourceConfig");
    assert!(calls.len() >= 2, "{} queries", calls.len());
    for c in &calls {
        let e = c["Expression"].as_str().unwrap();
        assert!(e.len() <= 4096, "{} characters", e.len());
    }
}

#[tokio::test]
async fn an_aws_error_is_reported_by_its_code_and_message_not_the_raw_response() {
    let stub = Stub::start(|_, _| {
        (
            400,
            json!({"__type": "InvalidExpressionException", "message": "The expression is not valid"}).to_string(),
        )
    })
    .await;
    let e = client(&stub.url)
        .select(&Lookup::AllOfType("AWS::EC2::Instance"))
        .await
        .unwrap_err();
    assert_eq!(e.message, "InvalidExpressionException: The expression is not valid");
    assert!(!e.retryable);
}

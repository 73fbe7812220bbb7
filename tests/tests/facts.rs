//! Facts from service APIs: SSM and CloudWatch Logs over the recording stub (moto has no SSM
//! DescribeInstanceInformation), EKS on moto; and their effect on the checks end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use integration_tests::config_world::ConfigWorld;
use integration_tests::moto;
use integration_tests::stub::Stub;
use serde_json::{json, Value};
use shared::app::collect::{collect, evaluate_targets};
use shared::aws::config::ConfigApi;
use shared::aws::facts::{LiveReader, ServiceFacts};
use shared::domain::model::ConfigurationItem;
use shared::domain::settings::Settings;
use shared::domain::vocab::Compliance;

macro_rules! client {
    ($krate:ident, $url:expr) => {{
        let conf = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new(
                "testing", "testing", None, None, "static",
            ))
            .endpoint_url($url)
            .retry_config($krate::config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        $krate::Client::from_conf(conf)
    }};
}

/// SSM and Logs answered by one stub: pings for i-1 and i-2, a Firehose subscription on `prod`.
async fn ssm_and_logs() -> Stub {
    Stub::start(|target, body| match target.rsplit('.').next().unwrap_or_default() {
        "DescribeInstanceInformation" => (
            200,
            json!({"InstanceInformationList": [
                {"InstanceId": "i-0web000000000001", "PingStatus": "Online", "AgentVersion": "3.3.40.0"},
                {"InstanceId": "i-0sql000000000003", "PingStatus": "ConnectionLost"}
            ]})
            .to_string(),
        ),
        "DescribeSubscriptionFilters" if body["logGroupName"] == "/aws/eks/prod-apps/cluster" => (
            200,
            json!({"subscriptionFilters": [{"filterName": "mdc", "logGroupName": "/aws/eks/prod-apps/cluster",
                "destinationArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/mdc-audit"}]})
            .to_string(),
        ),
        "DescribeSubscriptionFilters" => (
            400,
            json!({"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
                .to_string(),
        ),
        other => (
            400,
            json!({"__type": "UnknownOperationException", "message": other}).to_string(),
        ),
    })
    .await
}

fn demo() -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/demo-snapshot.json");
    serde_json::from_str::<Value>(&std::fs::read_to_string(root).unwrap()).unwrap()["configurationItems"]
        .as_array()
        .unwrap()
        .clone()
}

async fn eks_on_moto(cluster: &str) -> aws_sdk_eks::Client {
    let eks = aws_sdk_eks::Client::new(&moto::sdk_config());
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder()
        .subnet_ids("subnet-0aaa1111")
        .build();
    eks.create_cluster()
        .name(cluster)
        .role_arn("arn:aws:iam::111122223333:role/eks")
        .resources_vpc_config(vpc)
        .send()
        .await
        .unwrap();
    eks.create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name("ng-1")
        .node_role("arn:aws:iam::111122223333:role/node")
        .subnets("subnet-0aaa1111")
        .ami_type(aws_sdk_eks::types::AmiTypes::Al2X8664)
        .send()
        .await
        .unwrap();
    eks
}

#[tokio::test]
async fn ssm_ping_status_for_listed_and_unregistered_instances() {
    let stub = ssm_and_logs().await;
    let facts = ServiceFacts::new(
        client!(aws_sdk_ssm, &stub.url),
        client!(aws_sdk_eks, &stub.url),
        client!(aws_sdk_cloudwatchlogs, &stub.url),
    );
    let items: Vec<ConfigurationItem> = demo()
        .iter()
        .filter(|i| i["resourceType"] == "AWS::EC2::Instance")
        .map(|i| ConfigurationItem::from_json(&i.to_string(), None).unwrap())
        .collect();
    let got = facts.facts(&items).await.unwrap();
    let ping = |id: &str| {
        let n = items.iter().position(|i| i.resource_id == id).unwrap();
        got.iter()
            .find(|(i, _)| *i == n)
            .and_then(|(_, f)| f.ssm_ping_status.clone())
    };
    assert_eq!(ping("i-0web000000000001").as_deref(), Some("Online"));
    assert_eq!(ping("i-0sql000000000003").as_deref(), Some("ConnectionLost"));
    assert_eq!(
        ping("i-0bat000000000002").as_deref(),
        Some(""),
        "not listed = not registered"
    );
    let req = &stub.calls("DescribeInstanceInformation")[0];
    assert_eq!(req["Filters"][0]["Key"], "InstanceIds");
    assert_eq!(req["Filters"][0]["Values"].as_array().unwrap().len(), items.len());
}

#[tokio::test]
async fn eks_facts_from_moto_and_logs_and_their_effect_on_the_checks() {
    let stub = ssm_and_logs().await;
    let eks = eks_on_moto("prod-apps").await;
    let facts = ServiceFacts::new(
        client!(aws_sdk_ssm, &stub.url),
        eks,
        client!(aws_sdk_cloudwatchlogs, &stub.url),
    );
    let config = ConfigWorld::start(demo()).await;
    let reader = LiveReader {
        config: ConfigApi::new(client!(aws_sdk_config, &config.stub.url)),
        facts,
    };
    let items: Vec<ConfigurationItem> = demo()
        .iter()
        .filter(|i| {
            i["resourceId"] == "prod-apps"
                || i["resourceId"] == "i-0sql000000000003" && i["resourceType"] == "AWS::EC2::Instance"
        })
        .map(|i| ConfigurationItem::from_json(&i.to_string(), None).unwrap())
        .collect();
    let recorded: Vec<String> = shared::domain::model::types::recorded()
        .map(|t| t.name.to_owned())
        .collect();
    let settings = Settings::default();
    let c = collect(&reader, items, &settings, false, &recorded).await.unwrap();
    let evals = evaluate_targets(&c, &settings);
    let result = |rid: &str, check: &str| {
        evals
            .iter()
            .find(|e| e.resource_id == rid && e.check_id == check)
            .map(|e| (e.compliance, e.annotation.clone()))
            .unwrap()
    };
    assert_eq!(
        result("prod-apps", "containers.node-os").0,
        Compliance::Compliant,
        "AL2 node group from DescribeNodegroup"
    );
    assert_eq!(
        result("prod-apps", "containers.audit-pipeline").0,
        Compliance::Compliant,
        "roles recorded, Firehose subscription found"
    );
    // moto offers no access entries: the fact stays unknown, not false.
    assert_eq!(
        result("prod-apps", "containers.eks-access-entry").0,
        Compliance::InsufficientData
    );
    let ssm = result("i-0sql000000000003", "servers.ssm-agent-online");
    assert_eq!(ssm.0, Compliance::NonCompliant, "{}", ssm.1);
    assert!(ssm.1.contains("ConnectionLost"));
}

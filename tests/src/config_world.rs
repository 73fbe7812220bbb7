//! An AWS Config stand-in over the recording stub, backed by configuration items: answers
//! BatchGetResourceConfig, SelectResourceConfig (the SQL our adapter renders),
//! GetResourceConfigHistory and PutEvaluations over real HTTP.

use std::sync::{Arc, Mutex};

use chrono::DateTime;
use serde_json::{json, Value};
use shared::domain::model::{ConfigurationItem, Lookup};

use crate::stub::Stub;

/// The stand-in.
pub struct ConfigWorld {
    /// The HTTP stub (its `url` is the Config endpoint).
    pub stub: Stub,
    items: Arc<Mutex<Vec<(Value, ConfigurationItem)>>>,
    disabled: Arc<Mutex<Vec<String>>>,
}

fn static_type(t: &str) -> &'static str {
    shared::domain::model::types::by_name(t)
        .map(|info| info.name)
        .unwrap_or_else(|| Box::leak(t.to_owned().into_boxed_str()))
}

fn quoted(s: &str) -> Vec<String> {
    s.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Parses the SELECT our adapter renders back into a lookup.
pub fn parse_sql(sql: &str) -> Lookup {
    let (head, tail) = sql.split_once(" AND ").unwrap_or((sql, ""));
    let (types, values) = (quoted(head), quoted(tail));
    if tail.contains("configuration.instanceProfileList.arn") {
        Lookup::RolesInProfiles(values)
    } else if tail.contains("configuration.iamInstanceProfile.arn") {
        Lookup::InstancesWithProfiles(values)
    } else if tail.contains("relationships.resourceId") {
        Lookup::RelatedTo(types.iter().map(|t| static_type(t)).collect(), values)
    } else if tail.contains("resourceName IN") {
        Lookup::Named(static_type(&types[0]), values)
    } else if tail.contains("tags.tag") {
        Lookup::InstanceNamed(values[0].trim_start_matches("Name=").to_owned())
    } else if tail.contains("optionGroupName") {
        Lookup::InOptionGroup(values[0].clone())
    } else {
        Lookup::AllOfType(static_type(&types[0]))
    }
}

fn epoch(iso: &Value) -> Value {
    iso.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(Value::Null, |t| json!(t.timestamp_millis() as f64 / 1000.0))
}

/// The API (JSON protocol) form of a snapshot item: what BatchGet / history return.
fn api_form(raw: &Value, with_tags_and_relationships: bool) -> Value {
    let sup: serde_json::Map<String, Value> = raw["supplementaryConfiguration"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut v = json!({
        "version": "1.3",
        "accountId": raw["awsAccountId"], "awsRegion": raw["awsRegion"],
        "resourceType": raw["resourceType"], "resourceId": raw["resourceId"], "resourceName": raw["resourceName"],
        "arn": raw["ARN"], "configurationItemStatus": raw["configurationItemStatus"],
        "configurationItemCaptureTime": epoch(&raw["configurationItemCaptureTime"]),
        "configuration": if raw["configuration"].is_null() { Value::Null } else { Value::String(raw["configuration"].to_string()) },
        "supplementaryConfiguration": sup,
    });
    if with_tags_and_relationships {
        v["tags"] = raw["tags"].clone();
        v["relationships"] = json!(raw["relationships"]
            .as_array()
            .map(|a| a
                .iter()
                .map(
                    |r| json!({"resourceType": r["resourceType"], "resourceId": r["resourceId"],
                    "resourceName": r["resourceName"], "relationshipName": r.get("relationshipName").or(r.get("name"))})
                )
                .collect::<Vec<_>>())
            .unwrap_or_default());
    }
    v
}

fn parse_all(raw: Vec<Value>) -> Vec<(Value, ConfigurationItem)> {
    raw.into_iter()
        .map(|r| {
            let ci = ConfigurationItem::from_json(&r.to_string(), None).unwrap();
            (r, ci)
        })
        .collect()
}

/// The items a region's recorder holds in a world where each region belongs to one account (the
/// account of the region's items): its regional items, and the global ones of that account.
fn recorded_in<'a>(
    items: &'a [(Value, ConfigurationItem)],
    region: &str,
) -> (Option<String>, Vec<&'a (Value, ConfigurationItem)>) {
    let account = items
        .iter()
        .find(|(_, ci)| ci.region == region)
        .map(|(_, ci)| ci.account_id.clone());
    let mine = items
        .iter()
        .filter(|(_, ci)| ci.region == region || (ci.region == "global" && Some(&ci.account_id) == account.as_ref()))
        .collect();
    (account, mine)
}

/// STS's GetCallerIdentity answer (Query protocol, XML) for `account`.
pub fn caller_identity_xml(account: &str) -> String {
    format!(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/scanner</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
    )
}

/// The account an access key belongs to, as moto encodes it in the keys it hands out (AssumeRole
/// credentials): `ASIA`, eight base-32 characters of half the account id plus an offset, and a
/// character whose half of the alphabet gives the id's parity. `None` for other keys.
pub fn account_of_access_key(key: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const OFFSET: u64 = 549_755_813_888;
    let bytes = key.as_bytes();
    if bytes.len() < 13 || !key.starts_with("ASIA") {
        return None;
    }
    let mut n: u64 = 0;
    for c in &bytes[4..12] {
        n = (n << 5) | ALPHABET.iter().position(|a| a == c)? as u64;
    }
    let odd = ALPHABET.iter().position(|a| *a == bytes[12])? >= 16;
    Some(format!("{:012}", (n.checked_sub(OFFSET)? * 2) + u64::from(odd)))
}

/// Whose recorder answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorders {
    /// One recorder holding everything.
    One,
    /// One per region (the account of the region's items).
    PerRegion,
    /// One per account × region: the account of the signing access key, the signing region.
    PerAccount,
}

/// The account whose credentials the stand-in takes for its own (keys that name no account).
pub const HOME_ACCOUNT: &str = "111122223333";

impl ConfigWorld {
    /// Starts the stand-in over snapshot-form items.
    pub async fn start(raw_items: Vec<Value>) -> Self {
        Self::start_with(raw_items, Recorders::One).await
    }

    /// Starts the stand-in where each account × region has its own recorder, as in an
    /// organization: a request is answered from the items of the account its access key belongs
    /// to ([`account_of_access_key`]; [`HOME_ACCOUNT`] for keys that name none) and of the region
    /// it was signed for (plus that account's global items).
    pub async fn start_per_account(raw_items: Vec<Value>) -> Self {
        Self::start_with(raw_items, Recorders::PerAccount).await
    }

    /// The PutEvaluations request bodies so far, with the account whose credentials sent each.
    pub fn put_evaluations_by_account(&self) -> Vec<(String, Value)> {
        self.stub
            .requests()
            .into_iter()
            .filter(|r| r.target.ends_with("PutEvaluations"))
            .map(|r| {
                let account = r
                    .access_key
                    .as_deref()
                    .and_then(account_of_access_key)
                    .unwrap_or_else(|| HOME_ACCOUNT.to_owned());
                (account, r.body)
            })
            .collect()
    }

    /// Starts the stand-in where each region is one account's recorder (the account of the
    /// region's items): SelectResourceConfig, BatchGetResourceConfig and
    /// DescribeConfigurationRecorders answer for the region the request was signed for. The
    /// aggregate operations still see everything.
    pub async fn start_per_region(raw_items: Vec<Value>) -> Self {
        Self::start_with(raw_items, Recorders::PerRegion).await
    }

    async fn start_with(raw_items: Vec<Value>, recorders: Recorders) -> Self {
        let items = Arc::new(Mutex::new(parse_all(raw_items)));
        let disabled: Arc<Mutex<Vec<String>>> = Arc::default();
        let (world, off) = (items.clone(), disabled.clone());
        let stub = Stub::start_signer(move |target, body, signer| {
            let region = signer.region;
            // An opt-in region the account has not enabled does not know its credentials.
            if region.is_some_and(|r| off.lock().unwrap().iter().any(|d| d == r)) {
                return (
                    400,
                    json!({"__type": "UnrecognizedClientException",
                        "message": "The security token included in the request is invalid."})
                    .to_string(),
                );
            }
            // STS (Query protocol: `POST /`, the action in a form body): GetCallerIdentity, which
            // the CLI asks before reading, answered for the account the key signs as.
            if target == "POST /" {
                let account = signer
                    .access_key
                    .and_then(account_of_access_key)
                    .unwrap_or_else(|| HOME_ACCOUNT.to_owned());
                return (200, caller_identity_xml(&account));
            }
            let all = world.lock().unwrap();
            let (owner, visible) = match (recorders, region) {
                (Recorders::PerRegion, Some(r)) => recorded_in(&all, r),
                (Recorders::PerAccount, Some(r)) => {
                    let account = signer
                        .access_key
                        .and_then(account_of_access_key)
                        .unwrap_or_else(|| HOME_ACCOUNT.to_owned());
                    let mine = all
                        .iter()
                        .filter(|(_, ci)| ci.account_id == account && (ci.region == r || ci.region == "global"))
                        .collect();
                    (Some(account), mine)
                }
                _ => (None, all.iter().collect()),
            };
            let items = visible;
            let owner = owner.unwrap_or_else(|| "111122223333".to_owned());
            let op = target.rsplit('.').next().unwrap_or_default();
            match op {
                "BatchGetResourceConfig" => {
                    let keys: std::collections::HashSet<(&str, &str)> = body["resourceKeys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            (
                                k["resourceType"].as_str().unwrap_or_default(),
                                k["resourceId"].as_str().unwrap_or_default(),
                            )
                        })
                        .collect();
                    let found: Vec<Value> = items
                        .iter()
                        .filter(|(_, ci)| keys.contains(&(ci.resource_type.as_str(), ci.resource_id.as_str())))
                        .map(|(r, _)| api_form(r, false))
                        .collect();
                    (
                        200,
                        json!({"baseConfigurationItems": found, "unprocessedResourceKeys": []}).to_string(),
                    )
                }
                // Pages of `Limit` (at most 100, as Config's), with an opaque NextToken.
                "SelectResourceConfig" => {
                    let lookup = parse_sql(body["Expression"].as_str().unwrap_or_default());
                    let limit = body["Limit"].as_u64().map_or(100, |l| l.clamp(1, 100)) as usize;
                    let from: usize = body["NextToken"]
                        .as_str()
                        .and_then(|t| t.strip_prefix("page-"))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let matching: Vec<&ConfigurationItem> =
                        items.iter().filter(|(_, ci)| lookup.matches(ci)).map(|(_, ci)| ci).collect();
                    let results: Vec<String> = matching
                        .iter()
                        .skip(from)
                        .take(limit)
                        .map(|ci| json!({"resourceType": ci.resource_type, "resourceId": ci.resource_id}).to_string())
                        .collect();
                    let mut answer = json!({"Results": results});
                    if from + limit < matching.len() {
                        answer["NextToken"] = json!(format!("page-{}", from + limit));
                    }
                    (200, answer.to_string())
                }
                "GetResourceConfigHistory" => {
                    match items.iter().find(|(r, _)| {
                        r["resourceType"] == body["resourceType"] && r["resourceId"] == body["resourceId"]
                    }) {
                        Some((r, _)) => (200, json!({"configurationItems": [api_form(r, true)]}).to_string()),
                        None => (
                            400,
                            json!({"__type": "ResourceNotDiscoveredException", "message": "not discovered"})
                                .to_string(),
                        ),
                    }
                }
                // An aggregator over every item, whatever its account and region.
                "SelectAggregateResourceConfig" => {
                    let expression = body["Expression"].as_str().unwrap_or_default();
                    let types = quoted(expression);
                    let results: Vec<String> = all
                        .iter()
                        .filter(|(_, ci)| types.contains(&ci.resource_type))
                        .map(|(_, ci)| {
                            json!({"resourceType": ci.resource_type, "resourceId": ci.resource_id,
                                "accountId": ci.account_id, "awsRegion": ci.region})
                            .to_string()
                        })
                        .collect();
                    (200, json!({"Results": results}).to_string())
                }
                "BatchGetAggregateResourceConfig" => {
                    let ids = body["ResourceIdentifiers"].as_array().cloned().unwrap_or_default();
                    let found: Vec<Value> = all
                        .iter()
                        .filter(|(r, _)| {
                            ids.iter().any(|k| {
                                k["ResourceType"] == r["resourceType"]
                                    && k["ResourceId"] == r["resourceId"]
                                    && k["SourceAccountId"] == r["awsAccountId"]
                                    && k["SourceRegion"] == r["awsRegion"]
                            })
                        })
                        .map(|(r, _)| api_form(r, false))
                        .collect();
                    (
                        200,
                        json!({"BaseConfigurationItems": found, "UnprocessedResourceIdentifiers": []}).to_string(),
                    )
                }
                "PutEvaluations" => (200, json!({"FailedEvaluations": []}).to_string()),
                // The default recorder of a region that records everything, global types included.
                "DescribeConfigurationRecorders" => (
                    200,
                    json!({"ConfigurationRecorders": [{
                        "name": "default",
                        "roleARN": format!("arn:aws:iam::{owner}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
                        "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": true, "resourceTypes": [],
                            "exclusionByResourceTypes": {"resourceTypes": []},
                            "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}}
                    }]})
                    .to_string(),
                ),
                other => (
                    400,
                    json!({"__type": "UnknownOperationException", "message": other}).to_string(),
                ),
            }
        })
        .await;
        Self { stub, items, disabled }
    }

    /// Makes requests signed for `region` fail as in an opt-in region the account has not enabled.
    pub fn disable_region(&self, region: &str) {
        self.disabled.lock().unwrap().push(region.to_owned());
    }

    /// Replaces what Config has recorded.
    pub fn set_items(&self, raw: Vec<Value>) {
        *self.items.lock().unwrap() = parse_all(raw);
    }

    /// The PutEvaluations request bodies so far.
    pub fn put_evaluations(&self) -> Vec<Value> {
        self.stub.calls("PutEvaluations")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_name_their_account_as_moto_encodes_it() {
        // moto's `generate_access_key_id_from_account_id("123456789012", "ASIA")` begins so
        // (the rest is random): 123456789012 // 2 + offset = 0x8E5F4C8D0A, base-32 "RZPUZDIK",
        // then a character of the first half of the alphabet (even id).
        assert_eq!(
            account_of_access_key("ASIARZPUZDIKCXYZABCD").as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            account_of_access_key("ASIARZPUZDIKQXYZABCD").as_deref(),
            Some("123456789013")
        );
        assert_eq!(
            account_of_access_key("ASIAWO645SY5424HZU4X").as_deref(),
            Some("444455556667")
        );
        assert_eq!(account_of_access_key("testing"), None);
        assert_eq!(account_of_access_key("AKIAIOSFODNN7EXAMPLE"), None);
    }
}

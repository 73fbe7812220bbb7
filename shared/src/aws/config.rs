//! AWS Config: reading configuration items and reporting evaluations.

use std::collections::BTreeMap;

use aws_sdk_config::primitives::DateTime as SdkTime;
use aws_sdk_config::types::{ComplianceType, Evaluation, ResourceKey as SdkKey, ResourceType};
use aws_sdk_config::Client;
use serde_json::{json, Map, Value};

use super::port_error;
use crate::app::ports::{ConfigReader, EvaluationReporter, PortError};
use crate::contracts::config_rule::ConfigEvaluation;
use crate::domain::model::{ConfigurationItem, Lookup};
use crate::domain::vocab::{Compliance, ResourceKey};

/// [`ConfigReader`] and [`EvaluationReporter`] over the AWS Config API.
#[derive(Debug, Clone)]
pub struct ConfigApi {
    client: Client,
}

impl ConfigApi {
    /// The IAM actions reading configuration needs (none of them takes a resource ARN).
    pub const READ_PERMISSIONS: &'static [&'static str] = &[
        "config:BatchGetResourceConfig",
        "config:SelectResourceConfig",
        "config:GetResourceConfigHistory",
        "config:DescribeConfigurationRecorders",
    ];
    /// The IAM actions reporting evaluations needs.
    pub const REPORT_PERMISSIONS: &'static [&'static str] = &["config:PutEvaluations"];
}

impl ConfigApi {
    /// Wraps a client built once per cold start.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// What the region's configuration recorders record (DescribeConfigurationRecorders).
    pub async fn recording_scopes(&self) -> Result<Vec<crate::domain::model::types::RecordingScope>, PortError> {
        use crate::domain::model::types::RecordingScope;
        use aws_sdk_config::types::RecordingStrategyType;
        let out = self
            .client
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| port_error("config:DescribeConfigurationRecorders", e))?;
        let names = |types: &[ResourceType]| types.iter().map(|t| t.as_str().to_owned()).collect();
        Ok(out
            .configuration_recorders()
            .iter()
            .filter_map(|r| r.recording_group())
            .map(|g| {
                let strategy = g.recording_strategy().and_then(|s| s.use_only());
                match strategy {
                    Some(RecordingStrategyType::InclusionByResourceTypes) => {
                        RecordingScope::Only(names(g.resource_types()))
                    }
                    Some(RecordingStrategyType::ExclusionByResourceTypes) => RecordingScope::AllExcept(
                        g.exclusion_by_resource_types()
                            .map(|e| names(e.resource_types()))
                            .unwrap_or_default(),
                    ),
                    _ if g.all_supported() => RecordingScope::AllSupported {
                        include_global: g.include_global_resource_types(),
                    },
                    _ => RecordingScope::Only(names(g.resource_types())),
                }
            })
            .collect())
    }
}

/// Config's times are millisecond-precise, but arrive as epoch-second floats: round to the
/// millisecond so `…542.517` stays `.517` rather than `.516999…`.
fn time(t: Option<&SdkTime>) -> Value {
    use chrono::TimeZone;
    t.and_then(|t| {
        let millis = t.secs() * 1000 + i64::from((t.subsec_nanos() + 500_000) / 1_000_000);
        chrono::Utc.timestamp_millis_opt(millis).single()
    })
    .map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    })
}

/// API values of `supplementaryConfiguration` are JSON strings; keep the parsed value when it parses.
fn supplementary(m: Option<&std::collections::HashMap<String, String>>) -> Value {
    let map: Map<String, Value> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone())),
            )
        })
        .collect();
    Value::Object(map)
}

fn parse(v: &Value, operation: &'static str) -> Result<ConfigurationItem, PortError> {
    ConfigurationItem::from_json(&v.to_string(), None).map_err(|e| PortError {
        operation,
        message: format!("AWS Config returned an item this version cannot read: {e}"),
        retryable: false,
    })
}

/// The fields both API item shapes share, in the JSON our parser reads.
macro_rules! api_item {
    ($i:expr) => {
        json!({
            "accountId": $i.account_id(),
            "awsRegion": $i.aws_region(),
            "resourceType": $i.resource_type().map(|t| t.as_str()),
            "resourceId": $i.resource_id(),
            "resourceName": $i.resource_name(),
            "arn": $i.arn(),
            "configurationItemStatus": $i.configuration_item_status().map(|s| s.as_str()),
            "configurationItemCaptureTime": time($i.configuration_item_capture_time()),
            "configuration": $i.configuration(),
            "supplementaryConfiguration": supplementary($i.supplementary_configuration()),
        })
    };
}

fn base_item(i: &aws_sdk_config::types::BaseConfigurationItem) -> Value {
    api_item!(i)
}

/// History items also carry tags and relationships.
fn history_item(i: &aws_sdk_config::types::ConfigurationItem) -> Value {
    let tags: BTreeMap<&str, &str> = i
        .tags()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let relationships: Vec<Value> = i
        .relationships()
        .iter()
        .map(|r| {
            json!({
                "resourceType": r.resource_type().map(|t| t.as_str()),
                "resourceId": r.resource_id(),
                "resourceName": r.resource_name(),
                "relationshipName": r.relationship_name(),
            })
        })
        .collect();
    let mut v = api_item!(i);
    v["tags"] = json!(tags);
    v["relationships"] = Value::Array(relationships);
    v
}

fn invalid(operation: &'static str, e: impl std::fmt::Display) -> PortError {
    PortError {
        operation,
        message: e.to_string(),
        retryable: false,
    }
}

/// Sends `keys` 100 at a time through `call` (a BatchGet: items and unprocessed keys back),
/// sending unprocessed keys again with backoff, up to 5 times.
async fn in_batches<K, F, Fut>(operation: &'static str, mut pending: Vec<K>, call: F) -> Result<Vec<Value>, PortError>
where
    F: Fn(Vec<K>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Value>, Vec<K>), PortError>>,
{
    let mut out = Vec::new();
    let mut attempts = 0u32;
    while !pending.is_empty() {
        let batch: Vec<K> = pending.drain(..pending.len().min(100)).collect();
        let (items, unprocessed) = call(batch).await?;
        out.extend(items);
        if !unprocessed.is_empty() {
            attempts += 1;
            if attempts > 5 {
                return Err(PortError {
                    operation,
                    message: format!("{} keys still unprocessed after 5 retries", unprocessed.len()),
                    retryable: true,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempts)).await;
            pending.extend(unprocessed);
        }
    }
    Ok(out)
}

/// A resource in an aggregator: its source account and region, type and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AggregateKey {
    /// Source account.
    pub account_id: String,
    /// Source region.
    pub region: String,
    /// Type and id.
    pub key: ResourceKey,
}

impl ConfigApi {
    /// The IAM actions reading an organization through a Config aggregator needs.
    pub const AGGREGATE_PERMISSIONS: &'static [&'static str] = &[
        "config:SelectAggregateResourceConfig",
        "config:BatchGetAggregateResourceConfig",
    ];

    /// Every resource of `resource_type` AWS Config records here (SelectResourceConfig).
    pub async fn all_of_type(&self, resource_type: &'static str) -> Result<Vec<ResourceKey>, PortError> {
        self.select(&Lookup::AllOfType(resource_type)).await
    }

    /// The items of `keys` as the JSON our parser reads (BatchGetResourceConfig, 100 keys a
    /// call, unprocessed keys retried with backoff).
    pub async fn batch_get_json(&self, keys: &[ResourceKey]) -> Result<Vec<Value>, PortError> {
        const OP: &str = "config:BatchGetResourceConfig";
        let keys: Vec<SdkKey> = keys
            .iter()
            .map(|k| {
                SdkKey::builder()
                    .resource_type(ResourceType::from(k.resource_type.as_str()))
                    .resource_id(&k.resource_id)
                    .build()
                    .map_err(|e| invalid(OP, e))
            })
            .collect::<Result<_, _>>()?;
        in_batches(OP, keys, |batch| async move {
            let resp = self
                .client
                .batch_get_resource_config()
                .set_resource_keys(Some(batch))
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            Ok((
                resp.base_configuration_items().iter().map(base_item).collect(),
                resp.unprocessed_resource_keys().to_vec(),
            ))
        })
        .await
    }

    /// Every resource of `resource_types` an aggregator holds (SelectAggregateResourceConfig).
    pub async fn aggregate_keys(
        &self,
        aggregator: &str,
        resource_types: &[&str],
    ) -> Result<Vec<AggregateKey>, PortError> {
        const OP: &str = "config:SelectAggregateResourceConfig";
        if resource_types.iter().any(|t| t.contains('\'') || t.contains('\\')) {
            return Err(invalid(OP, "a resource type cannot be quoted"));
        }
        let types: Vec<String> = resource_types.iter().map(|t| format!("'{t}'")).collect();
        let expression = format!(
            "SELECT resourceType, resourceId, accountId, awsRegion WHERE resourceType IN ({})",
            types.join(", ")
        );
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .client
                .select_aggregate_resource_config()
                .configuration_aggregator_name(aggregator)
                .expression(&expression)
                .limit(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            for r in resp.results() {
                let v: Value = serde_json::from_str(r).map_err(|e| invalid(OP, format!("result is not JSON: {e}")))?;
                let field = |k: &str| v.get(k).and_then(Value::as_str);
                match (
                    field("accountId"),
                    field("awsRegion"),
                    field("resourceType"),
                    field("resourceId"),
                ) {
                    (Some(a), Some(region), Some(t), Some(id)) => keys.push(AggregateKey {
                        account_id: a.to_owned(),
                        region: region.to_owned(),
                        key: ResourceKey::new(t, id),
                    }),
                    _ => {
                        return Err(invalid(
                            OP,
                            "a result without accountId, awsRegion, resourceType or resourceId",
                        ))
                    }
                }
            }
            match resp.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// The items of `keys` from an aggregator (BatchGetAggregateResourceConfig, 100 a call,
    /// unprocessed identifiers retried with backoff), as the JSON our parser reads.
    pub async fn aggregate_items_json(&self, aggregator: &str, keys: &[AggregateKey]) -> Result<Vec<Value>, PortError> {
        use aws_sdk_config::types::AggregateResourceIdentifier;
        const OP: &str = "config:BatchGetAggregateResourceConfig";
        let ids: Vec<AggregateResourceIdentifier> = keys
            .iter()
            .map(|k| {
                AggregateResourceIdentifier::builder()
                    .source_account_id(&k.account_id)
                    .source_region(&k.region)
                    .resource_type(ResourceType::from(k.key.resource_type.as_str()))
                    .resource_id(&k.key.resource_id)
                    .build()
                    .map_err(|e| invalid(OP, e))
            })
            .collect::<Result<_, _>>()?;
        in_batches(OP, ids, |batch| async move {
            let resp = self
                .client
                .batch_get_aggregate_resource_config()
                .configuration_aggregator_name(aggregator)
                .set_resource_identifiers(Some(batch))
                .send()
                .await
                .map_err(|e| port_error(OP, e))?;
            Ok((
                resp.base_configuration_items().iter().map(base_item).collect(),
                resp.unprocessed_resource_identifiers().to_vec(),
            ))
        })
        .await
    }

    /// The account id in the role ARN of the region's configuration recorder, if there is one.
    pub async fn recorder_account(&self) -> Result<Option<String>, PortError> {
        let out = self
            .client
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| port_error("config:DescribeConfigurationRecorders", e))?;
        Ok(out
            .configuration_recorders()
            .iter()
            .filter_map(|r| r.role_arn())
            .filter_map(|arn| arn.split(':').nth(4))
            .find(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned))
    }
}

impl ConfigApi {
    /// What `lookup` selects, found without putting its values into a query: every resource of
    /// its types listed, read a hundred at a time and kept where [`Lookup::matches`]. For values
    /// no query can hold (a quote in an EC2 `Name` tag or an IAM path); costs a read of every
    /// resource of the type.
    async fn select_by_listing(&self, lookup: &Lookup) -> Result<Vec<ResourceKey>, PortError> {
        let mut found = Vec::new();
        for resource_type in crate::contracts::config_query::listed_types(lookup) {
            let mut token: Option<String> = None;
            loop {
                let (page, next) = self.list_page(resource_type, 100, token.take()).await?;
                for item in self.batch_get(&page).await? {
                    if lookup.matches(&item) {
                        found.push(ResourceKey::new(&item.resource_type, &item.resource_id));
                    }
                }
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        Ok(found)
    }

    /// One page (at most `limit`, at most 100: SelectResourceConfig's largest) of the keys
    /// `expression` selects, and the next page's token.
    async fn select_page(
        &self,
        expression: &str,
        limit: usize,
        token: Option<String>,
    ) -> Result<(Vec<ResourceKey>, Option<String>), PortError> {
        const OP: &str = "config:SelectResourceConfig";
        let resp = self
            .client
            .select_resource_config()
            .expression(expression)
            .limit(i32::try_from(limit.clamp(1, 100)).unwrap_or(100))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        let mut keys = Vec::with_capacity(resp.results().len());
        for r in resp.results() {
            let v: Value = serde_json::from_str(r).map_err(|e| invalid(OP, format!("result is not JSON: {e}")))?;
            match (
                v.get("resourceType").and_then(Value::as_str),
                v.get("resourceId").and_then(Value::as_str),
            ) {
                (Some(t), Some(id)) => keys.push(ResourceKey::new(t, id)),
                _ => return Err(invalid(OP, "a result without resourceType or resourceId")),
            }
        }
        let next = resp.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
        Ok((keys, next))
    }
}

impl ConfigReader for ConfigApi {
    async fn batch_get(&self, keys: &[ResourceKey]) -> Result<Vec<ConfigurationItem>, PortError> {
        const OP: &str = "config:BatchGetResourceConfig";
        self.batch_get_json(keys).await?.iter().map(|v| parse(v, OP)).collect()
    }

    async fn select(&self, lookup: &Lookup) -> Result<Vec<ResourceKey>, PortError> {
        let Some(expressions) = crate::contracts::config_query::select_expressions(lookup) else {
            return self.select_by_listing(lookup).await;
        };
        let mut keys = Vec::new();
        for expression in expressions {
            let mut token: Option<String> = None;
            loop {
                let (page, next) = self.select_page(&expression, 100, token.take()).await?;
                keys.extend(page);
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        // A resource can match more than one part: keep its first place.
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        Ok(keys)
    }

    async fn list_page(
        &self,
        resource_type: &'static str,
        limit: usize,
        token: Option<String>,
    ) -> Result<(Vec<ResourceKey>, Option<String>), PortError> {
        let lookup = Lookup::AllOfType(resource_type);
        match crate::contracts::config_query::select_expressions(&lookup).as_deref() {
            Some([expression]) => self.select_page(expression, limit, token).await,
            _ => Err(invalid(
                "config:SelectResourceConfig",
                format!("cannot express {lookup:?} as one query"),
            )),
        }
    }

    async fn latest(&self, key: &ResourceKey) -> Result<Option<ConfigurationItem>, PortError> {
        const OP: &str = "config:GetResourceConfigHistory";
        let resp = self
            .client
            .get_resource_config_history()
            .resource_type(ResourceType::from(key.resource_type.as_str()))
            .resource_id(&key.resource_id)
            .limit(1)
            .send()
            .await;
        match resp {
            Ok(r) => r
                .configuration_items()
                .first()
                .map(|i| parse(&history_item(i), OP))
                .transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_discovered_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(port_error(OP, e)),
        }
    }
}

fn compliance_type(c: Compliance) -> ComplianceType {
    match c {
        Compliance::Compliant => ComplianceType::Compliant,
        Compliance::NonCompliant => ComplianceType::NonCompliant,
        // Config takes no INSUFFICIENT_DATA from a rule; `config_rule::aggregate` never produces it.
        Compliance::NotApplicable | Compliance::InsufficientData => ComplianceType::NotApplicable,
    }
}

impl EvaluationReporter for ConfigApi {
    async fn put(
        &self,
        result_token: &str,
        test_mode: bool,
        evaluations: &[ConfigEvaluation],
    ) -> Result<Vec<ConfigEvaluation>, PortError> {
        const OP: &str = "config:PutEvaluations";
        let sdk: Vec<Evaluation> = evaluations
            .iter()
            .map(|e| {
                Evaluation::builder()
                    .compliance_resource_type(&e.compliance_resource_type)
                    .compliance_resource_id(&e.compliance_resource_id)
                    .compliance_type(compliance_type(e.compliance_type))
                    .annotation(&e.annotation)
                    .ordering_timestamp(SdkTime::from_millis(e.ordering_timestamp.timestamp_millis()))
                    .build()
                    .map_err(|err| invalid(OP, err))
            })
            .collect::<Result<_, _>>()?;
        let resp = self
            .client
            .put_evaluations()
            .set_evaluations(Some(sdk))
            .result_token(result_token)
            .test_mode(test_mode)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        Ok(resp
            .failed_evaluations()
            .iter()
            .filter_map(|f| {
                evaluations
                    .iter()
                    .find(|e| {
                        Some(e.compliance_resource_id.as_str()) == Some(f.compliance_resource_id())
                            && e.compliance_resource_type == f.compliance_resource_type()
                    })
                    .cloned()
            })
            .collect())
    }
}

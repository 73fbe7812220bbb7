//! The AWS Config custom-rule contract, pure parts: the invoking event, rule parameters, and
//! turning per-check results into the per-resource evaluations Config accepts.
//!
//! One Config rule reports one result per resource, while a resource has many checks: the
//! resource is NON_COMPLIANT if any check in the rule's scope is; else, if any check lacks data,
//! NOT_APPLICABLE annotated `INSUFFICIENT_DATA` (Config rejects INSUFFICIENT_DATA from a Lambda);
//! else COMPLIANT if any check is; else NOT_APPLICABLE.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::checks::{self, Check};
use crate::domain::error::{Error, Result};
use crate::domain::model::ConfigurationItem;
use crate::domain::vocab::{truncate_annotation, Compliance, Evaluation, Plan};

/// Longest annotation AWS Config accepts.
pub const CONFIG_ANNOTATION_MAX: usize = 256;
/// Longest `invokingEvent` accepted: 1 MiB. AWS Config sends a configuration item above 256 KB
/// as an oversized notification (a summary), so a real event is far below this.
pub const MAX_INVOKING_EVENT_BYTES: usize = 1 << 20;
/// Most evaluations one PutEvaluations call takes.
pub const PUT_EVALUATIONS_MAX: usize = 100;

/// `configurationItemSummary` of an oversized notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSummary {
    /// `resourceType`.
    pub resource_type: String,
    /// `resourceId`.
    pub resource_id: String,
    /// `awsAccountId`.
    pub aws_account_id: String,
    /// `awsRegion`.
    pub aws_region: String,
    /// `configurationItemCaptureTime`.
    #[serde(default)]
    pub configuration_item_capture_time: Option<DateTime<Utc>>,
    /// `configurationItemStatus`.
    #[serde(default)]
    pub configuration_item_status: Option<String>,
}

/// The parsed `invokingEvent`.
#[derive(Debug, Clone)]
pub enum InvokingEvent {
    /// `ConfigurationItemChangeNotification` (also what EventBridge's "Config Configuration Item
    /// Change" carries in `detail`).
    Change {
        /// The item.
        item: Box<ConfigurationItem>,
        /// `notificationCreationTime`.
        notification_time: Option<DateTime<Utc>>,
    },
    /// `OversizedConfigurationItemChangeNotification`: fetch the item with GetResourceConfigHistory.
    Oversized {
        /// What changed.
        summary: ItemSummary,
        /// `notificationCreationTime`.
        notification_time: Option<DateTime<Utc>>,
    },
    /// `ScheduledNotification` (and the legacy `ConfigurationSnapshotDeliveryCompleted`):
    /// re-evaluate everything recorded.
    Scheduled {
        /// `awsAccountId`.
        account_id: String,
        /// `notificationCreationTime`: the OrderingTimestamp of periodic results.
        notification_time: DateTime<Utc>,
    },
}

fn bad(what: &str, message: impl Into<String>) -> Error {
    Error::Input {
        source_name: what.to_owned(),
        message: message.into(),
    }
}

fn time_field(v: &Value, field: &str, what: &str) -> Result<Option<DateTime<Utc>>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| bad(what, format!("`{field}` `{s}` is not an RFC 3339 time: {e}"))),
        Some(other) => Err(bad(what, format!("`{field}` must be a string, found {other}"))),
    }
}

impl InvokingEvent {
    /// Parses an invoking event given as JSON (the Config rule event's `invokingEvent` string,
    /// or an EventBridge Config event's `detail`).
    pub fn parse(v: &Value) -> Result<Self> {
        const WHAT: &str = "invokingEvent";
        let message_type = v
            .get("messageType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(WHAT, "missing `messageType`"))?;
        let notification_time = time_field(v, "notificationCreationTime", WHAT)?;
        match message_type {
            "ConfigurationItemChangeNotification" => {
                let ci = v
                    .get("configurationItem")
                    .ok_or_else(|| bad(WHAT, "missing `configurationItem`"))?;
                let item = ConfigurationItem::from_json(&ci.to_string(), None)?;
                Ok(Self::Change {
                    item: Box::new(item),
                    notification_time,
                })
            }
            "OversizedConfigurationItemChangeNotification" => {
                let s = v
                    .get("configurationItemSummary")
                    .ok_or_else(|| bad(WHAT, "missing `configurationItemSummary`"))?;
                let summary: ItemSummary = serde_json::from_value(s.clone()).map_err(|e| {
                    bad(
                        WHAT,
                        format!("`configurationItemSummary`: {}", crate::domain::error::redacted(&e)),
                    )
                })?;
                Ok(Self::Oversized {
                    summary,
                    notification_time,
                })
            }
            "ScheduledNotification" | "ConfigurationSnapshotDeliveryCompleted" => {
                let account_id = v
                    .get("awsAccountId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(WHAT, "missing `awsAccountId`"))?
                    .to_owned();
                let notification_time =
                    notification_time.ok_or_else(|| bad(WHAT, "missing `notificationCreationTime`"))?;
                Ok(Self::Scheduled {
                    account_id,
                    notification_time,
                })
            }
            other => Err(bad(WHAT, format!("unsupported messageType `{other}`"))),
        }
    }

    /// Parses the `invokingEvent` string of a Config rule event (at most
    /// [`MAX_INVOKING_EVENT_BYTES`]).
    pub fn parse_str(s: &str) -> Result<Self> {
        if s.len() > MAX_INVOKING_EVENT_BYTES {
            return Err(bad(
                "invokingEvent",
                format!(
                    "{} bytes, more than {MAX_INVOKING_EVENT_BYTES} (AWS Config sends larger items as \
                     OversizedConfigurationItemChangeNotification)",
                    s.len()
                ),
            ));
        }
        let v: Value = serde_json::from_str(s).map_err(|e| {
            bad(
                "invokingEvent",
                format!("invalid JSON: {}", crate::domain::error::redacted(&e)),
            )
        })?;
        Self::parse(&v)
    }
}

/// Which checks a rule runs: `ruleParameters` `{"plans": "servers,sql", "checks": "..."}` (comma
/// separated strings, as Config's InputParameters are, or JSON arrays). Absent = everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    plans: Option<BTreeSet<Plan>>,
    checks: Option<BTreeSet<&'static str>>,
}

fn list(v: &Value, key: &str) -> Result<Option<Vec<String>>> {
    let what = "ruleParameters";
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(what, format!("`{key}` entries must be strings")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(other) => Err(bad(what, format!("`{key}` must be a string or a list, found {other}"))),
    }
}

impl Scope {
    /// Parses `ruleParameters` (a JSON object as a string; empty or absent = everything).
    /// Unknown keys, plans and checks are errors, so a typo cannot silently widen the rule.
    pub fn parse(rule_parameters: Option<&str>) -> Result<Self> {
        let what = "ruleParameters";
        let Some(text) = rule_parameters.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::default());
        };
        let v: Value = serde_json::from_str(text)
            .map_err(|e| bad(what, format!("invalid JSON: {}", crate::domain::error::redacted(&e))))?;
        let obj = v.as_object().ok_or_else(|| bad(what, "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| !["plans", "checks"].contains(&k.as_str())) {
            return Err(bad(
                what,
                format!("unknown parameter `{k}` (expected `plans`, `checks`)"),
            ));
        }
        let plans = list(&v, "plans")?
            .map(|ps| {
                ps.iter()
                    .map(|p| Plan::parse(p).ok_or_else(|| bad(what, format!("unknown plan `{p}`"))))
                    .collect::<Result<BTreeSet<_>>>()
            })
            .transpose()?;
        let checks = list(&v, "checks")?
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        checks::by_id(c)
                            .map(|c| c.id)
                            .ok_or_else(|| bad(what, format!("unknown check `{c}`")))
                    })
                    .collect::<Result<BTreeSet<_>>>()
            })
            .transpose()?;
        Ok(Self { plans, checks })
    }

    /// Whether the rule runs `check`.
    pub fn includes(&self, check: &Check) -> bool {
        self.plans.as_ref().is_none_or(|p| p.contains(&check.plan))
            && self.checks.as_ref().is_none_or(|c| c.contains(check.id))
    }

    /// Whether the rule runs the check `id`.
    pub fn includes_id(&self, id: &str) -> bool {
        checks::by_id(id).is_some_and(|c| self.includes(c))
    }
}

/// One evaluation as PutEvaluations takes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigEvaluation {
    /// `ComplianceResourceType`.
    pub compliance_resource_type: String,
    /// `ComplianceResourceId`.
    pub compliance_resource_id: String,
    /// `ComplianceType`: COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE only.
    pub compliance_type: Compliance,
    /// `Annotation`, at most 256 characters.
    pub annotation: String,
    /// `OrderingTimestamp`.
    pub ordering_timestamp: DateTime<Utc>,
}

/// Aggregates per-check results into one Config evaluation per resource, keeping only checks in
/// `scope`. `ordering` gives each resource's OrderingTimestamp.
pub fn aggregate(
    evaluations: &[Evaluation],
    scope: &Scope,
    ordering: impl Fn(&Evaluation) -> DateTime<Utc>,
) -> Vec<ConfigEvaluation> {
    let mut by_resource: BTreeMap<(&str, &str), Vec<&Evaluation>> = BTreeMap::new();
    for e in evaluations.iter().filter(|e| scope.includes_id(&e.check_id)) {
        by_resource
            .entry((&e.resource_type, &e.resource_id))
            .or_default()
            .push(e);
    }
    by_resource
        .into_iter()
        .map(|((rtype, rid), evs)| {
            let pick = |c: Compliance| evs.iter().filter(move |e| e.compliance == c);
            let summary = |c: Compliance| {
                pick(c)
                    .map(|e| format!("{}: {}", e.check_id, e.annotation))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let (compliance, annotation) = if pick(Compliance::NonCompliant).next().is_some() {
                (Compliance::NonCompliant, summary(Compliance::NonCompliant))
            } else if pick(Compliance::InsufficientData).next().is_some() {
                (
                    Compliance::NotApplicable,
                    format!("INSUFFICIENT_DATA: {}", summary(Compliance::InsufficientData)),
                )
            } else if pick(Compliance::Compliant).next().is_some() {
                let ids: Vec<&str> = pick(Compliance::Compliant).map(|e| e.check_id.as_str()).collect();
                (Compliance::Compliant, format!("compliant: {}", ids.join(", ")))
            } else {
                (Compliance::NotApplicable, summary(Compliance::NotApplicable))
            };
            let ordering_timestamp = evs.iter().map(|e| ordering(e)).max().unwrap_or_else(Utc::now);
            ConfigEvaluation {
                compliance_resource_type: rtype.to_owned(),
                compliance_resource_id: rid.to_owned(),
                compliance_type: compliance,
                annotation: truncate_annotation(annotation, CONFIG_ANNOTATION_MAX),
                ordering_timestamp,
            }
        })
        .collect()
}

/// The evaluation reported for a resource that left the rule's scope, was deleted, or is not
/// recorded: NOT_APPLICABLE, so Config drops its old result.
pub fn not_applicable(resource_type: &str, resource_id: &str, why: &str, at: DateTime<Utc>) -> ConfigEvaluation {
    ConfigEvaluation {
        compliance_resource_type: resource_type.to_owned(),
        compliance_resource_id: resource_id.to_owned(),
        compliance_type: Compliance::NotApplicable,
        annotation: truncate_annotation(why.to_owned(), CONFIG_ANNOTATION_MAX),
        ordering_timestamp: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vocab::Plan;

    fn ev(rid: &str, check: &str, c: Compliance, ann: &str) -> Evaluation {
        Evaluation {
            account_id: "1".into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: rid.into(),
            check_id: check.into(),
            plan: checks::by_id(check).map_or(Plan::Servers, |c| c.plan),
            compliance: c,
            annotation: ann.into(),
            capture_time: None,
        }
    }

    #[test]
    fn an_invoking_event_over_the_limit_is_refused_by_size_and_values_never_quoted() {
        let big = format!(
            r#"{{"messageType":"ScheduledNotification","pad":"{}"}}"#,
            "x".repeat(MAX_INVOKING_EVENT_BYTES)
        );
        let e = InvokingEvent::parse_str(&big).unwrap_err().to_string();
        assert!(e.contains("more than 1048576"), "{e}");
        assert!(!e.contains("xxxx"), "{e}");
        // A configuration value of the wrong type is named by its path, not quoted.
        let item = r#"{"messageType":"ConfigurationItemChangeNotification","configurationItem":{"resourceType":"AWS::EC2::Instance","resourceId":"i-1","awsAccountId":"1","awsRegion":"us-east-1","configuration":{"iamInstanceProfile":"TopSecretValue"}}}"#;
        let e = InvokingEvent::parse_str(item).unwrap_err().to_string();
        assert!(e.contains("configuration.iamInstanceProfile"), "{e}");
        assert!(!e.contains("TopSecretValue"), "{e}");
    }

    #[test]
    fn worst_result_wins_and_unknown_is_not_compliant() {
        let t = Utc::now();
        let evs = [
            ev("a", "servers.instance-profile", Compliance::Compliant, "ok"),
            ev("a", "servers.ssm-network", Compliance::NonCompliant, "no route"),
            ev("b", "servers.instance-profile", Compliance::Compliant, "ok"),
            ev(
                "b",
                "servers.ssm-agent-online",
                Compliance::InsufficientData,
                "needs SSM",
            ),
            ev("c", "servers.instance-profile", Compliance::Compliant, "ok"),
            ev("d", "servers.applicable", Compliance::NotApplicable, "stopped"),
        ];
        let out = aggregate(&evs, &Scope::default(), |_| t);
        let got: Vec<(&str, Compliance)> = out
            .iter()
            .map(|e| (e.compliance_resource_id.as_str(), e.compliance_type))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Compliance::NonCompliant),
                ("b", Compliance::NotApplicable),
                ("c", Compliance::Compliant),
                ("d", Compliance::NotApplicable)
            ]
        );
        assert!(out[0].annotation.starts_with("servers.ssm-network: no route"));
        assert!(out[1]
            .annotation
            .starts_with("INSUFFICIENT_DATA: servers.ssm-agent-online"));
    }

    #[test]
    fn annotations_are_cut_to_256() {
        let long = "x".repeat(1000);
        let out = aggregate(
            &[ev("a", "servers.ssm-network", Compliance::NonCompliant, &long)],
            &Scope::default(),
            |_| Utc::now(),
        );
        assert!(out[0].annotation.len() <= 256);
    }

    #[test]
    fn scope_narrows_and_rejects_typos() {
        let s = Scope::parse(Some(r#"{"plans":"sql, servers"}"#)).unwrap();
        assert!(s.includes_id("sql.target") && s.includes_id("servers.ssm-network") && !s.includes_id("oss.running"));
        let s = Scope::parse(Some(r#"{"checks":["oss.running"]}"#)).unwrap();
        assert!(s.includes_id("oss.running") && !s.includes_id("oss.role"));
        assert_eq!(Scope::parse(Some("")).unwrap(), Scope::default());
        assert_eq!(Scope::parse(Some("{}")).unwrap(), Scope::default());
        for bad in [
            r#"{"plan":"sql"}"#,
            r#"{"plans":"sqll"}"#,
            r#"{"checks":"sql.nope"}"#,
            "[1]",
            "{",
            r#"{"plans":3}"#,
        ] {
            assert!(Scope::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn invoking_events_parse_by_message_type() {
        let change = r#"{"configurationItem":{"configurationItemCaptureTime":"2026-11-20T08:15:42.517Z","awsAccountId":"123456789012","configurationItemStatus":"OK","resourceId":"i-1","ARN":"arn:aws:ec2:us-east-2:123456789012:instance/i-1","awsRegion":"us-east-2","resourceType":"AWS::EC2::Instance","tags":{},"relationships":[],"configuration":{"state":{"name":"running"}}},"messageType":"ConfigurationItemChangeNotification","notificationCreationTime":"2026-11-20T08:15:43.000Z","recordVersion":"1.3"}"#;
        assert!(matches!(
            InvokingEvent::parse_str(change).unwrap(),
            InvokingEvent::Change { .. }
        ));
        let over = r#"{"configurationItemSummary":{"changeType":"UPDATE","configurationItemVersion":"1.2","configurationItemCaptureTime":"2016-10-06T16:46:16.261Z","configurationStateId":0,"awsAccountId":"123456789012","configurationItemStatus":"OK","resourceType":"AWS::EC2::Instance","resourceId":"i-1","resourceName":null,"ARN":"arn:aws:ec2:us-west-2:123456789012:instance/i-1","awsRegion":"us-west-2"},"messageType":"OversizedConfigurationItemChangeNotification","notificationCreationTime":"2016-10-06T16:46:16.261Z","recordVersion":"1.0"}"#;
        assert!(matches!(
            InvokingEvent::parse_str(over).unwrap(),
            InvokingEvent::Oversized { .. }
        ));
        let sched = r#"{"awsAccountId":"123456789012","notificationCreationTime":"2016-07-13T21:50:00.373Z","messageType":"ScheduledNotification","recordVersion":"1.0"}"#;
        assert!(matches!(
            InvokingEvent::parse_str(sched).unwrap(),
            InvokingEvent::Scheduled { .. }
        ));
        for bad in [
            "",
            "{}",
            r#"{"messageType":"Nope"}"#,
            r#"{"messageType":"ScheduledNotification"}"#,
            r#"{"messageType":"ConfigurationItemChangeNotification","configurationItem":{"resourceType":"AWS::EC2::Instance"}}"#,
        ] {
            let e = InvokingEvent::parse_str(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("invokingEvent") || e.contains("configuration item"),
                "{bad}: {e}"
            );
        }
    }
}

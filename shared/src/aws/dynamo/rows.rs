//! How results, transitions and readiness are laid out as table items, and read back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::app::ports::PortError;
use crate::domain::plans::PlanStatus;
use crate::domain::state::{EvalKey, Recorded};
use crate::domain::vocab::{Compliance, Plan};

/// One table item.
pub(super) type Item = HashMap<String, AttributeValue>;

/// Sort-key prefix of the outbox rows.
pub(super) const PENDING: &str = "PENDING#";

pub(super) fn pending_sk(at: DateTime<Utc>, check_id: &str) -> String {
    format!("{PENDING}{}#{check_id}", iso(at))
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn get<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A number attribute, 0 when absent or unreadable.
pub(super) fn number(item: &Item, k: &str) -> u64 {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The key fields of a plan readiness row (`PK = PLANS`): region, plan, status.
pub(super) fn plan_row<'a>(item: &'a Item, operation: &'static str) -> Result<(&'a str, Plan, PlanStatus), PortError> {
    match (
        get(item, "awsRegion"),
        get(item, "plan").and_then(Plan::parse),
        get(item, "status").and_then(PlanStatus::parse),
    ) {
        (Some(region), Some(plan), Some(status)) => Ok((region, plan, status)),
        _ => Err(corrupt(
            operation,
            "plan item without a readable awsRegion/plan/status".into(),
        )),
    }
}

pub(super) fn corrupt(operation: &'static str, what: String) -> PortError {
    PortError {
        operation,
        message: format!("unexpected item in the table: {what}"),
        retryable: false,
    }
}

pub(super) fn invalid(e: impl std::fmt::Display) -> PortError {
    PortError {
        operation: "dynamodb:TransactWriteItems",
        message: e.to_string(),
        retryable: false,
    }
}

/// The partition key of a resource's results.
pub fn resource_pk(account: &str, region: &str, resource_type: &str, resource_id: &str) -> String {
    format!("RES#{account}#{region}#{resource_type}#{resource_id}")
}

/// A result row; `retain_days`: how long a retired result ([`Recorded::retired`]) is kept.
pub(super) fn result_item(k: &EvalKey, r: &Recorded, now: DateTime<Utc>, retain_days: i64) -> Item {
    let mut item = Item::new();
    item.insert(
        "PK".into(),
        s(resource_pk(
            &k.account_id,
            &k.aws_region,
            &k.resource_type,
            &k.resource_id,
        )),
    );
    item.insert("SK".into(), s(format!("CHECK#{}", k.check_id)));
    item.insert("GSI1PK".into(), s(format!("{}#{}", k.account_id, r.plan)));
    item.insert(
        "GSI1SK".into(),
        s(format!(
            "{}#{}#{}#{}#{}",
            r.compliance, k.aws_region, k.resource_type, k.resource_id, k.check_id
        )),
    );
    item.insert("accountId".into(), s(&k.account_id));
    item.insert("awsRegion".into(), s(&k.aws_region));
    item.insert("resourceType".into(), s(&k.resource_type));
    item.insert("resourceId".into(), s(&k.resource_id));
    item.insert("checkId".into(), s(&k.check_id));
    item.insert("plan".into(), s(r.plan.as_str()));
    item.insert("compliance".into(), s(r.compliance.as_str()));
    item.insert("annotation".into(), s(&r.annotation));
    item.insert("captureTime".into(), s(r.capture_time.map(iso).unwrap_or_default()));
    item.insert("evaluatedAt".into(), s(iso(now)));
    if r.retired() {
        item.insert(
            "expiresAt".into(),
            AttributeValue::N((now.timestamp() + retain_days * 86_400).to_string()),
        );
    }
    item
}

pub(super) fn recorded_of(item: &Item) -> Result<(EvalKey, Recorded), PortError> {
    const OP: &str = "dynamodb:Query";
    let field = |k: &str| get(item, k).ok_or_else(|| corrupt(OP, format!("missing {k}")));
    let key = EvalKey {
        account_id: field("accountId")?.to_owned(),
        aws_region: field("awsRegion")?.to_owned(),
        resource_type: field("resourceType")?.to_owned(),
        resource_id: field("resourceId")?.to_owned(),
        check_id: field("checkId")?.to_owned(),
    };
    let plan = Plan::parse(field("plan")?).ok_or_else(|| corrupt(OP, "bad plan".into()))?;
    let compliance = Compliance::parse(field("compliance")?).ok_or_else(|| corrupt(OP, "bad compliance".into()))?;
    let capture = field("captureTime")?;
    let capture_time = if capture.is_empty() {
        None
    } else {
        Some(
            DateTime::parse_from_rfc3339(capture)
                .map_err(|e| corrupt(OP, e.to_string()))?
                .with_timezone(&Utc),
        )
    };
    Ok((
        key,
        Recorded {
            plan,
            compliance,
            annotation: field("annotation")?.to_owned(),
            capture_time,
        },
    ))
}

/// When a row was written (`evaluatedAt`), if it says.
pub(super) fn evaluated_at(item: &Item) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(get(item, "evaluatedAt")?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

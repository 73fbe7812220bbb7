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

/// How many partitions the keys every account writes to (readiness rows, the transitions index)
/// are spread over: each holds 1/16 of the accounts' readiness and of the transitions, so that a
/// central table of 1,000 accounts stays far below DynamoDB's per-partition limits (see the
/// docs/deploy.md's arithmetic). Readers of every account query each shard.
pub const SHARDS: u32 = 16;

/// The shard of a key (FNV-1a), `00`…`15`.
pub fn shard(key: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{:02}", h % SHARDS)
}

/// The partition key of an account's plan readiness rows (`PLANS#<shard of the account>`): one
/// account's rows are one partition, every account's are [`SHARDS`] partitions.
pub fn plans_pk(account: &str) -> String {
    format!("PLANS#{}", shard(account))
}

/// Every partition key readiness rows can have.
pub fn all_plans_pks() -> Vec<String> {
    (0..SHARDS).map(|n| format!("PLANS#{n:02}")).collect()
}

/// The transitions index's partition key of a row whose table key is `pk` (`TRANSITIONS#<shard
/// of pk>`): transitions of one resource or readiness row stay in one partition, a burst of an
/// account's spreads over all of them.
pub fn transitions_pk(pk: &str) -> String {
    format!("TRANSITIONS#{}", shard(pk))
}

/// Every partition key of the transitions index.
pub fn all_transitions_pks() -> Vec<String> {
    (0..SHARDS).map(|n| format!("TRANSITIONS#{n:02}")).collect()
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
        account_id: field("accountId")?.to_owned().into(),
        aws_region: field("awsRegion")?.to_owned().into(),
        resource_type: field("resourceType")?.to_owned().into(),
        resource_id: field("resourceId")?.to_owned().into(),
        check_id: field("checkId")?.to_owned().into(),
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
            annotation: field("annotation")?.to_owned().into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_resources_spread_over_every_shard() {
        // 1,000 twelve-digit account ids, as an organization numbers them (no pattern to rely on).
        let mut per_shard = std::collections::BTreeMap::<String, usize>::new();
        for n in 0..1000u64 {
            let account = format!("{:012}", 100_000_000_000 + n * 7_919_317);
            *per_shard.entry(shard(&account)).or_default() += 1;
            assert!(plans_pk(&account).starts_with("PLANS#"));
        }
        assert_eq!(per_shard.len(), SHARDS as usize, "{per_shard:?}");
        let most = per_shard.values().max().copied().unwrap_or(0);
        assert!(
            most <= 1000 / SHARDS as usize * 2,
            "hottest shard holds {most} of 1,000: {per_shard:?}"
        );
        assert!(all_plans_pks().contains(&plans_pk("111122223333")));
        assert!(all_transitions_pks().contains(&transitions_pk(&resource_pk("1", "r", "t", "i"))));
    }
}

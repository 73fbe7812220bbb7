//! The state table's stream records, as the readiness rollup reads them: which rows are results,
//! whose account they belong to, and which version of the result each announces. The key layout
//! itself is the DynamoDB adapter's (`aws::dynamo`); this is the part of it the rollup's input
//! contract depends on.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::state::{EvalKey, RowVersion};

/// The account of a result row's keys (`RES#<account>#<region>#<type>#<id>`, `CHECK#<check>`),
/// or `None` for the table's other rows (history, plan readiness), which do not affect readiness.
pub fn result_row_account<'a>(pk: &'a str, sk: &str) -> Option<&'a str> {
    if !sk.starts_with("CHECK#") {
        return None;
    }
    let rest = pk.strip_prefix("RES#")?;
    rest.split('#').next().filter(|a| !a.is_empty())
}

/// The version of a result a stream record announces, from its image in DynamoDB JSON
/// (`{"accountId": {"S": "..."}, ...}`): the new image of an insert or modification, the old
/// image of a removal. `None` when the image lacks a field (a stream without images).
pub fn row_version(image: &Value, removed: bool) -> Option<RowVersion> {
    let field = |k: &str| image.get(k)?.get("S")?.as_str();
    let evaluated_at = DateTime::parse_from_rfc3339(field("evaluatedAt")?)
        .ok()?
        .with_timezone(&Utc);
    Some(RowVersion {
        key: EvalKey {
            account_id: field("accountId")?.to_owned().into(),
            aws_region: field("awsRegion")?.to_owned().into(),
            resource_type: field("resourceType")?.to_owned().into(),
            resource_id: field("resourceId")?.to_owned().into(),
            check_id: field("checkId")?.to_owned().into(),
        },
        evaluated_at,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_seen_by_a_read_of_it_or_of_a_newer_one() {
        let image = serde_json::json!({
            "accountId": {"S": "111122223333"}, "awsRegion": {"S": "us-east-1"},
            "resourceType": {"S": "AWS::EC2::Instance"}, "resourceId": {"S": "i-1"},
            "checkId": {"S": "servers.instance-profile"}, "evaluatedAt": {"S": "2026-01-01T00:00:00.005Z"}
        });
        let t = |ms: i64| Some(DateTime::from_timestamp_millis(1_767_225_600_000 + ms).unwrap());
        let written = row_version(&image, false).unwrap();
        assert!(!written.seen_in(None));
        assert!(!written.seen_in(t(4)));
        assert!(written.seen_in(t(5)) && written.seen_in(t(6)));
        let removed = row_version(&image, true).unwrap();
        assert!(removed.seen_in(None) && removed.seen_in(t(6)));
        assert!(!removed.seen_in(t(5)));
        assert_eq!(row_version(&serde_json::json!({"accountId": {"S": "1"}}), false), None);
    }
}

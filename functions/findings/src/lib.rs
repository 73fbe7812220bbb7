//! Security Hub findings: takes the "Prerequisite Compliance Changed" events the stack publishes
//! (through an SQS queue, in batches), and for each transition into or out of the imported
//! statuses imports the finding of the result **as recorded now** (read from the table, so a late
//! or repeated event never rolls a finding back) into the Security Hub of the result's account and
//! region, at most 100 findings a call. Messages whose finding could not be imported are reported
//! as batch item failures (SQS redelivers them, then dead-letters them to the failed-events
//! queue); a denied import is counted as `FindingsDenied`, which an alarm watches.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

#[cfg(feature = "aws")]
pub mod wiring;

use std::collections::BTreeMap;

use serde_json::Value;
use shared::contracts::events::COMPLIANCE_CHANGED;
use shared::domain::state::EvalKey;
use shared::domain::vocab::Compliance;

/// The imported statuses from `FINDINGS_STATUSES` (comma-separated compliance values; default
/// `NON_COMPLIANT`). COMPLIANT and NOT_APPLICABLE are never imported: they resolve findings.
pub fn imported_statuses(var: Option<&str>) -> Result<Vec<Compliance>, String> {
    let Some(v) = var.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(vec![Compliance::NonCompliant]);
    };
    v.split(',')
        .map(str::trim)
        .map(|s| match Compliance::parse(s) {
            Some(c @ (Compliance::NonCompliant | Compliance::InsufficientData)) => Ok(c),
            _ => Err("FINDINGS_STATUSES: a comma-separated list of NON_COMPLIANT and INSUFFICIENT_DATA".to_owned()),
        })
        .collect()
}

/// One queued transition: the result it names, and its statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The SQS message id (what a batch item failure names).
    pub message_id: String,
    /// The result.
    pub key: EvalKey,
    /// Its status before (`None`: first seen).
    pub previous: Option<Compliance>,
    /// Its status after.
    pub current: Compliance,
}

/// Reads one SQS message body: an EventBridge "Prerequisite Compliance Changed" event. What is
/// wrong is named, no value quoted.
pub fn parse_message(message_id: &str, body: &str) -> Result<Queued, String> {
    let v: Value = serde_json::from_str(body).map_err(|_| "the message body is not JSON".to_owned())?;
    if v["detail-type"].as_str() != Some(COMPLIANCE_CHANGED) {
        return Err(format!("the message is not a `{COMPLIANCE_CHANGED}` event"));
    }
    let d = &v["detail"];
    let field = |k: &str| -> Result<String, String> {
        d[k].as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("the event's detail has no `{k}`"))
    };
    let status = |k: &str| -> Result<Option<Compliance>, String> {
        match &d[k] {
            Value::Null => Ok(None),
            Value::String(s) => Compliance::parse(s)
                .map(Some)
                .ok_or_else(|| format!("the event's `{k}` is not a compliance value")),
            _ => Err(format!("the event's `{k}` is not a compliance value")),
        }
    };
    Ok(Queued {
        message_id: message_id.to_owned(),
        key: EvalKey {
            account_id: field("accountId")?.into(),
            aws_region: field("awsRegion")?.into(),
            resource_type: field("resourceType")?.into(),
            resource_id: field("resourceId")?.into(),
            check_id: field("checkId")?.into(),
        },
        previous: status("previous")?,
        current: status("current")?.ok_or("the event's detail has no `current`")?,
    })
}

/// The queued transitions that concern Security Hub, one per result (a batch may carry several
/// transitions of one result: the finding is built once, from what is recorded), with the
/// messages each answers for.
pub fn concerned(queued: &[Queued], imported: &[Compliance]) -> BTreeMap<EvalKey, Vec<String>> {
    let mut out: BTreeMap<EvalKey, Vec<String>> = BTreeMap::new();
    for q in queued {
        if shared::contracts::findings::concerns(q.previous, q.current, imported) {
            out.entry(q.key.clone()).or_default().push(q.message_id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(previous: Value, current: &str) -> String {
        serde_json::json!({"version": "0", "id": "1", "detail-type": COMPLIANCE_CHANGED, "source": "defender-prereqs",
            "account": "111122223333", "time": "2026-12-01T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"accountId": "111122223333", "awsRegion": "us-east-1", "resourceType": "AWS::EC2::Instance",
                "resourceId": "i-0abc", "checkId": "servers.instance-profile", "plan": "servers",
                "previous": previous, "current": current, "annotation": "x", "at": "2026-12-01T10:00:00.000Z"}})
        .to_string()
    }

    #[test]
    fn messages_are_read_and_bad_ones_named_without_their_values() {
        let q = parse_message("m1", &body(Value::Null, "NON_COMPLIANT")).unwrap();
        assert_eq!((q.previous, q.current), (None, Compliance::NonCompliant));
        assert_eq!(q.key.check_id, "servers.instance-profile");
        let bad = parse_message("m2", "AKIAEXAMPLESECRET").unwrap_err();
        assert!(!bad.contains("AKIA"), "{bad}");
        let bad = parse_message("m3", &body("s3cr3t".into(), "NON_COMPLIANT")).unwrap_err();
        assert!(bad.contains("previous") && !bad.contains("s3cr3t"), "{bad}");
    }

    #[test]
    fn one_finding_per_result_for_the_transitions_that_concern_security_hub() {
        let nc = [Compliance::NonCompliant];
        let a = parse_message("m1", &body(Value::Null, "NON_COMPLIANT")).unwrap();
        let b = parse_message("m2", &body("NON_COMPLIANT".into(), "COMPLIANT")).unwrap();
        let c = parse_message("m3", &body("INSUFFICIENT_DATA".into(), "COMPLIANT")).unwrap();
        let by_key = concerned(&[a.clone(), b, c], &nc);
        assert_eq!(by_key.len(), 1);
        assert_eq!(by_key[&a.key], ["m1", "m2"]);
    }

    #[test]
    fn imported_statuses_default_to_non_compliant_and_refuse_resolving_ones() {
        assert_eq!(imported_statuses(None).unwrap(), [Compliance::NonCompliant]);
        assert_eq!(
            imported_statuses(Some("NON_COMPLIANT, INSUFFICIENT_DATA")).unwrap(),
            [Compliance::NonCompliant, Compliance::InsufficientData]
        );
        assert!(imported_statuses(Some("COMPLIANT")).is_err());
    }
}

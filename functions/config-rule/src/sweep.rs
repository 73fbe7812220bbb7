//! The periodic run of the regions where no organization Config rule runs (a central deployment's
//! `SweepRegions`). Organization rules are regional: only the stack's region gets AWS Config's
//! scheduled invocations. EventBridge Scheduler invokes this function once per period instead:
//!
//! - the schedule's event, `{"sweep": {"regions": [...], "scheduledTime": "..."}}` (Scheduler
//!   fills `<aws.scheduler.scheduled-time>`), lists the organization's active accounts and queues
//!   one task per account × region on the function's continuation queue;
//! - each task, `{"sweep": {"account": "...", "region": "...", "scheduledTime": "..."}}`, runs
//!   that account × region's periodic run ([`shared::app::flows::config_rule`] with a scheduled
//!   notification) through the member role, records and publishes like any run, and reports
//!   nothing to AWS Config (no rule there to report to). A task longer than one invocation hands
//!   the rest on like any periodic run; its run id is its token, `sweep:<account>:<region>:<time>`,
//!   so a repeated schedule invocation or task resumes the same run instead of starting another.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::app::error::HandlerError;
use shared::app::ports::{EvaluationReporter, PortError};
use shared::contracts::config_rule::ConfigEvaluation;

/// A sweep event: the schedule's (`regions`) or one task (`account` and `region`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sweep {
    /// The schedule's: the regions to run.
    #[serde(default)]
    pub regions: Vec<String>,
    /// A task's account.
    pub account: Option<String>,
    /// A task's region.
    pub region: Option<String>,
    /// The schedule's time for this period (RFC 3339): the runs' notification time and identity.
    pub scheduled_time: chrono::DateTime<chrono::Utc>,
}

/// What a sweep invocation did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    /// Tasks queued (the schedule's invocation).
    pub queued: usize,
    /// The task's run, when this was a task.
    pub run: Option<shared::app::flows::RuleSummary>,
}

/// The sweep in `payload`, if it is one (`{"sweep": {...}}`); a malformed one is an error naming
/// the field, quoting nothing of it.
pub fn parse(payload: &Value) -> Result<Option<Sweep>, HandlerError> {
    let Some(body) = payload.get("sweep") else {
        return Ok(None);
    };
    let sweep: Sweep = serde_path_to_error::deserialize(body).map_err(|e| {
        // Name our field, never the event's: an unknown field's name is the sender's text.
        let known = ["regions", "account", "region", "scheduledTime"];
        let field = e.path().to_string();
        HandlerError::Malformed(if known.iter().any(|k| field.starts_with(k)) {
            format!("a sweep event: `{field}` is not as expected")
        } else {
            "a sweep event: only `regions`, `account`, `region` and `scheduledTime` are expected".to_owned()
        })
    })?;
    let task = sweep.account.is_some() || sweep.region.is_some();
    let valid = if task {
        sweep.regions.is_empty()
            && sweep
                .account
                .as_deref()
                .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            && sweep.region.as_deref().is_some_and(shared::aws::env::is_region_name)
    } else {
        !sweep.regions.is_empty() && sweep.regions.iter().all(|r| shared::aws::env::is_region_name(r))
    };
    if !valid {
        return Err(HandlerError::Malformed(
            "a sweep event names `regions` (region names), or one `account` (12 digits) and `region`".into(),
        ));
    }
    Ok(Some(sweep))
}

/// The tasks of a schedule's event over `accounts`.
pub fn tasks(sweep: &Sweep, accounts: &[String]) -> Vec<Value> {
    let time = sweep.scheduled_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = Vec::with_capacity(accounts.len() * sweep.regions.len());
    for a in accounts {
        for r in &sweep.regions {
            out.push(json!({"sweep": {"account": a, "region": r, "scheduledTime": time}}));
        }
    }
    out
}

/// A task's run token (its run's identity) and its scheduled-notification invoking event (the
/// shape of AWS Config's ScheduledNotification).
pub fn task_invocation(sweep: &Sweep, account: &str, region: &str) -> (String, String) {
    let time = sweep
        .scheduled_time
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let token = format!("sweep:{account}:{region}:{time}");
    let invoking = json!({
        "awsAccountId": account,
        "notificationCreationTime": time,
        "messageType": "ScheduledNotification",
        "recordVersion": "1.0",
    });
    (token, invoking.to_string())
}

/// Reports nothing: no Config rule runs where a sweep does.
#[derive(Debug, Clone, Copy)]
pub struct NoRule;

impl EvaluationReporter for NoRule {
    async fn put(&self, _: &str, _: bool, _: &[ConfigEvaluation]) -> Result<Vec<ConfigEvaluation>, PortError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_becomes_one_task_per_account_and_region() {
        let s = parse(
            &json!({"sweep": {"regions": ["eu-west-1", "ap-southeast-2"], "scheduledTime": "2026-12-06T10:00:00Z"}}),
        )
        .unwrap()
        .unwrap();
        let t = tasks(&s, &["111122223333".to_owned(), "444455556666".to_owned()]);
        assert_eq!(t.len(), 4);
        let task = parse(&t[3]).unwrap().unwrap();
        assert_eq!(
            (task.account.as_deref(), task.region.as_deref()),
            (Some("444455556666"), Some("ap-southeast-2"))
        );
        let (token, invoking) = task_invocation(&task, "444455556666", "ap-southeast-2");
        assert_eq!(token, "sweep:444455556666:ap-southeast-2:2026-12-06T10:00:00.000Z");
        assert!(invoking.contains("ScheduledNotification"));
        assert!(parse(&json!({"detail": {}})).unwrap().is_none());
    }

    #[test]
    fn a_malformed_sweep_is_refused_without_quoting_it() {
        for bad in [
            json!({"sweep": {"regions": [], "scheduledTime": "2026-12-06T10:00:00Z"}}),
            json!({"sweep": {"regions": ["evil;region"], "scheduledTime": "2026-12-06T10:00:00Z"}}),
            json!({"sweep": {"account": "evil", "region": "eu-west-1", "scheduledTime": "2026-12-06T10:00:00Z"}}),
            json!({"sweep": {"regions": ["eu-west-1"], "scheduledTime": "evil"}}),
            json!({"sweep": {"regions": ["eu-west-1"], "scheduledTime": "2026-12-06T10:00:00Z", "evil": 1}}),
        ] {
            let err = parse(&bad).unwrap_err().to_string();
            assert!(!err.contains("evil"), "{err}");
        }
    }
}

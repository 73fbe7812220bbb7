//! The three flows the functions run, generic over the ports so the functions stay thin and tests can drive
//! them with real event JSON:
//!
//! - [`config_rule`]: an AWS Config custom-rule invocation → evaluate → record → PutEvaluations;
//! - [`reevaluate`]: an EventBridge event → the changed resources and their dependants →
//!   evaluate → record → publish transitions;
//! - [`rollup`]: changed results from the table's stream → the readiness of their accounts →
//!   record → publish readiness transitions.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::app::collect::{collect, evaluate_targets, newest_of};
use crate::app::error::HandlerError;
use crate::app::ports::{
    ConfigReader, EvaluationReporter, EventPublisher, FactReader, PortError, ReadinessStore, ResultStore,
};
use crate::app::record::{publish_pending, record_and_publish, Summary};
use crate::contracts::cloudtrail;
use crate::contracts::config_rule::{self, ConfigEvaluation, InvokingEvent, Scope, PUT_EVALUATIONS_MAX};
use crate::domain::checks::ALL;
use crate::domain::model::types::{ec2, iam};
use crate::domain::model::{ConfigurationItem, Lookup};
use crate::domain::settings::Settings;
use crate::domain::state::{Delivery, NO_LONGER_RECORDED};
use crate::domain::vocab::{Evaluation, ResourceKey, ACCOUNT_TYPE};

/// What the use cases read, write and publish through.
pub struct Ports<'a, R, S, P> {
    /// AWS Config.
    pub reader: &'a R,
    /// The state table.
    pub store: &'a S,
    /// The event bus.
    pub publisher: &'a P,
    /// Settings.
    pub settings: &'a Settings,
    /// Types the Config recorder records.
    pub recorded_types: &'a [String],
}

/// The fields of a Config rule invocation the flow needs.
#[derive(Debug, Clone, Default)]
pub struct RuleInvocation<'a> {
    /// `invokingEvent` (a JSON string).
    pub invoking_event: Option<&'a str>,
    /// `ruleParameters` (a JSON string).
    pub rule_parameters: Option<&'a str>,
    /// `resultToken` (`TESTMODE` sends PutEvaluations in test mode).
    pub result_token: Option<&'a str>,
    /// `eventLeftScope`.
    pub event_left_scope: bool,
}

/// What a Config rule invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSummary {
    /// Evaluations sent with PutEvaluations.
    pub reported: usize,
    /// PutEvaluations calls.
    pub calls: usize,
    /// Compliance transitions published.
    pub transitions: usize,
}

/// Evaluates changed resources; `with_dependants`: also the resources whose results they move
/// (the instances using a changed role, and for IAM changes the account's own results).
async fn evaluate_changed<R: ConfigReader + FactReader>(
    ports: &Ports<'_, R, impl ResultStore, impl EventPublisher>,
    changed: Vec<ConfigurationItem>,
    with_dependants: bool,
) -> Result<Vec<Evaluation>, PortError> {
    let account_types = [iam::ROLE.name, iam::OIDC_PROVIDER.name];
    let accounts: BTreeSet<String> = changed
        .iter()
        .filter(|i| with_dependants && account_types.contains(&i.resource_type.as_str()))
        .map(|i| i.account_id.clone())
        .collect();
    let mut c = collect(
        ports.reader,
        changed,
        ports.settings,
        with_dependants,
        ports.recorded_types,
    )
    .await?;
    // IAM changes move account-level results too.
    for a in accounts {
        if let Some(id) = c.graph.account(&a) {
            if !c.targets.contains(&id) {
                c.targets.push(id);
            }
        }
    }
    Ok(evaluate_targets(&c, ports.settings))
}

/// How far ahead of this function's clock an event's time may be (clock skew).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Refuses a time in the future: it would date results after every real capture to come, so that
/// no later change could replace them (a forged event's way to freeze the state).
fn not_in_the_future(t: Option<DateTime<Utc>>, field: &str, now: DateTime<Utc>) -> Result<(), HandlerError> {
    match t {
        Some(t) if t > now + CLOCK_SKEW => Err(HandlerError::Malformed(format!(
            "`{field}` is in the future (more than {} minutes ahead of this function's clock)",
            CLOCK_SKEW.num_minutes()
        ))),
        _ => Ok(()),
    }
}

/// The result token of AWS Config's rule test.
const TEST_MODE_TOKEN: &str = "TESTMODE";

async fn put_all<E: EvaluationReporter>(
    reporter: &E,
    token: &str,
    evaluations: &[ConfigEvaluation],
) -> Result<usize, PortError> {
    let test_mode = token == TEST_MODE_TOKEN;
    let mut calls = 0;
    for chunk in evaluations.chunks(PUT_EVALUATIONS_MAX) {
        let mut failed = reporter.put(token, test_mode, chunk).await?;
        calls += 1;
        if !failed.is_empty() {
            // Config names the evaluations it could not record: send those once more.
            failed = reporter.put(token, test_mode, &failed).await?;
            calls += 1;
            if !failed.is_empty() {
                return Err(PortError {
                    operation: "config:PutEvaluations",
                    message: format!(
                        "{} evaluations failed twice, e.g. {}",
                        failed.len(),
                        failed[0].compliance_resource_id
                    ),
                    retryable: true,
                });
            }
        }
    }
    Ok(calls)
}

/// Handles one AWS Config custom-rule invocation.
pub async fn config_rule<R, E, S, P>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    inv: &RuleInvocation<'_>,
) -> Result<RuleSummary, HandlerError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
{
    let token = inv
        .result_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| HandlerError::Malformed("missing `resultToken`".into()))?;
    let scope = Scope::parse(inv.rule_parameters)?;
    let event = InvokingEvent::parse_str(
        inv.invoking_event
            .ok_or_else(|| HandlerError::Malformed("missing `invokingEvent`".into()))?,
    )?;
    // Before anything is read: the evidence is this recent at least.
    let delivery = Delivery::new(token);
    let now = Utc::now();
    let (to_record, to_report): (Vec<Evaluation>, Vec<ConfigEvaluation>) = match event {
        InvokingEvent::Change {
            item,
            notification_time,
        } => {
            not_in_the_future(item.capture_time, "configurationItemCaptureTime", now)?;
            change(
                ports,
                &scope,
                *item,
                notification_time.unwrap_or(now),
                inv.event_left_scope,
                true,
            )
            .await?
        }
        InvokingEvent::Oversized {
            summary,
            notification_time,
        } => {
            let key = ResourceKey::new(summary.resource_type.clone(), summary.resource_id.clone());
            let when = summary
                .configuration_item_capture_time
                .or(notification_time)
                .unwrap_or(now);
            match ports.reader.latest(&key).await? {
                Some(item) => change(ports, &scope, item, when, inv.event_left_scope, false).await?,
                None => (
                    Vec::new(),
                    vec![config_rule::not_applicable(
                        &summary.resource_type,
                        &summary.resource_id,
                        "the resource is not recorded",
                        when,
                    )],
                ),
            }
        }
        InvokingEvent::Scheduled {
            account_id,
            notification_time,
        } => scheduled(ports, &scope, &account_id, notification_time).await?,
    };
    // Config's rule test (TESTMODE) checks the rule, not the account: nothing is recorded or
    // published. Otherwise results are recorded, reported to Config, then their transitions
    // published: a failing bus cannot keep the results from Config (the outbox keeps the events,
    // and the retry publishes them).
    let pending = if token == TEST_MODE_TOKEN {
        Vec::new()
    } else {
        ports.store.record(&to_record, &delivery).await?
    };
    let calls = put_all(reporter, token, &to_report).await?;
    let transitions = publish_pending(ports.store, ports.publisher, &pending).await?;
    Ok(RuleSummary {
        reported: to_report.len(),
        calls,
        transitions,
    })
}

async fn change<R: ConfigReader + FactReader, S: ResultStore, P: EventPublisher>(
    ports: &Ports<'_, R, S, P>,
    scope: &Scope,
    item: ConfigurationItem,
    when: DateTime<Utc>,
    left_scope: bool,
    from_event: bool,
) -> Result<(Vec<Evaluation>, Vec<ConfigEvaluation>), PortError> {
    let ordering = item.capture_time.unwrap_or(when);
    let (rtype, rid) = (item.resource_type.clone(), item.resource_id.clone());
    if left_scope {
        return Ok((
            Vec::new(),
            vec![config_rule::not_applicable(
                &rtype,
                &rid,
                "the resource left the rule's scope",
                ordering,
            )],
        ));
    }
    let changed = if from_event {
        newest_of(ports.reader, vec![item]).await?
    } else {
        vec![item]
    };
    // One evaluation per change and check: this rule records and reports its own plans' checks
    // of the changed resource only. The other plans' rules evaluate theirs, and the EventBridge
    // path the resources that depend on it (see `reevaluate`).
    let mut evaluations = evaluate_changed(ports, changed, false).await?;
    evaluations.retain(|e| e.resource_type == rtype && e.resource_id == rid && scope.includes_id(&e.check_id));
    let mut report = config_rule::aggregate(&evaluations, scope, |e| e.capture_time.unwrap_or(ordering));
    if !report
        .iter()
        .any(|r| r.compliance_resource_type == rtype && r.compliance_resource_id == rid)
    {
        report.push(config_rule::not_applicable(
            &rtype,
            &rid,
            &format!("no prerequisite check in this rule applies to {rtype}"),
            ordering,
        ));
    }
    Ok((evaluations, report))
}

async fn scheduled<R: ConfigReader + FactReader, S: ResultStore, P: EventPublisher>(
    ports: &Ports<'_, R, S, P>,
    scope: &Scope,
    account: &str,
    when: DateTime<Utc>,
) -> Result<(Vec<Evaluation>, Vec<ConfigEvaluation>), PortError> {
    let types: BTreeSet<&'static str> = ALL
        .iter()
        .filter(|c| scope.includes(c))
        .flat_map(|c| c.resource_types.iter().copied())
        .filter(|t| *t != ACCOUNT_TYPE)
        .collect();
    let mut keys = Vec::new();
    for t in types {
        keys.extend(ports.reader.select(&Lookup::AllOfType(t)).await?);
    }
    let mut items = Vec::new();
    for chunk in keys.chunks(100) {
        items.extend(ports.reader.batch_get(chunk).await?);
    }
    let mut evaluations = if items.is_empty() {
        Vec::new()
    } else {
        evaluate_changed(ports, items, false).await?
    };
    // Account-level results, whatever was listed.
    let account_item = ConfigurationItem::account(account, Some(when));
    if !evaluations.iter().any(|e| e.resource_type == ACCOUNT_TYPE) {
        evaluations.extend(
            evaluate_changed(ports, vec![account_item], false)
                .await?
                .into_iter()
                .filter(|e| e.resource_type == ACCOUNT_TYPE),
        );
    }
    for e in &mut evaluations {
        if e.resource_type == ACCOUNT_TYPE {
            e.capture_time = Some(when);
        }
    }
    // Resources recorded before but gone now: NOT_APPLICABLE in Config and in the table; only
    // the results of this rule's checks (another plan's resources are not listed by this run).
    let current: BTreeSet<(String, String)> = evaluations
        .iter()
        .map(|e| (e.resource_type.clone(), e.resource_id.clone()))
        .collect();
    let in_scope: BTreeSet<&str> = ALL.iter().filter(|c| scope.includes(c)).map(|c| c.id).collect();
    let mut gone: Vec<Evaluation> = ports
        .store
        .account_results(account)
        .await?
        .into_iter()
        .filter(|e| in_scope.contains(e.check_id.as_str()))
        .filter(|e| !current.contains(&(e.resource_type.clone(), e.resource_id.clone())))
        .filter(|e| {
            e.compliance != crate::domain::vocab::Compliance::NotApplicable || e.annotation != NO_LONGER_RECORDED
        })
        .map(|mut e| {
            e.compliance = crate::domain::vocab::Compliance::NotApplicable;
            e.annotation = NO_LONGER_RECORDED.to_owned();
            // Dated with the last capture known, not this run's time: a listing can miss a
            // resource for a while (index lag), and its item, captured before this run, must
            // still decide when it shows up again.
            e
        })
        .collect();
    evaluations.append(&mut gone);
    let report = config_rule::aggregate(&evaluations, scope, |_| when);
    Ok((evaluations, report))
}

/// Handles one EventBridge event: `detail-type` "Config Configuration Item Change", "AWS API
/// Call via CloudTrail" or "EC2 Instance State-change Notification".
///
/// `delivery`: the event's identity (its `id`; a retry of the event has the same), which decides
/// which recorded transitions this invocation publishes.
pub async fn reevaluate<R: ConfigReader + FactReader, S: ResultStore, P: EventPublisher>(
    ports: &Ports<'_, R, S, P>,
    detail_type: &str,
    detail: &Value,
    delivery: &str,
) -> Result<Summary, HandlerError> {
    let delivery = Delivery::new(delivery);
    let from_config = detail_type == "Config Configuration Item Change";
    let changed: Vec<ConfigurationItem> = match detail_type {
        "Config Configuration Item Change" => match InvokingEvent::parse(detail)? {
            InvokingEvent::Change { item, .. } => {
                not_in_the_future(item.capture_time, "configurationItemCaptureTime", Utc::now())?;
                newest_of(ports.reader, vec![*item]).await?
            }
            InvokingEvent::Oversized { summary, .. } => {
                let key = ResourceKey::new(summary.resource_type, summary.resource_id);
                ports.reader.latest(&key).await?.into_iter().collect()
            }
            InvokingEvent::Scheduled { .. } => {
                return Err(HandlerError::Malformed(
                    "a scheduled notification is not a configuration change".into(),
                ))
            }
        },
        "AWS API Call via CloudTrail" => {
            let t = cloudtrail::targets(detail).map_err(HandlerError::Malformed)?;
            let mut keys = t.keys;
            for l in &t.lookups {
                keys.extend(ports.reader.select(l).await?);
            }
            let (accounts, others): (Vec<ResourceKey>, Vec<ResourceKey>) =
                keys.into_iter().partition(|k| k.resource_type == ACCOUNT_TYPE);
            let mut items = Vec::new();
            for chunk in others.chunks(100) {
                items.extend(ports.reader.batch_get(chunk).await?);
            }
            // Account-wide changes (OIDC providers, SCPs): the account is what changed.
            let now = detail
                .get("eventTime")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            not_in_the_future(now.map(|t| t.with_timezone(&Utc)), "eventTime", Utc::now())?;
            items.extend(
                accounts
                    .iter()
                    .map(|k| ConfigurationItem::account(&k.resource_id, now.map(|t| t.with_timezone(&Utc)))),
            );
            items
        }
        "EC2 Instance State-change Notification" => {
            let id = detail
                .get("instance-id")
                .and_then(Value::as_str)
                .ok_or_else(|| HandlerError::Malformed("EC2 state-change detail without `instance-id`".into()))?;
            ports
                .reader
                .batch_get(&[ResourceKey::new(ec2::INSTANCE.name, id)])
                .await?
        }
        other => return Err(HandlerError::Malformed(format!("unsupported detail-type `{other}`"))),
    };
    if changed.is_empty() {
        return Ok(Summary::default());
    }
    let own: BTreeSet<(String, String)> = changed
        .iter()
        .map(|i| (i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    let mut evaluations = evaluate_changed(ports, changed, true).await?;
    if from_config {
        // AWS Config invokes the declared plans' rules with the same change (their scopes are
        // their checks' resource types): those evaluate the changed resource's checks. This
        // path evaluates what depends on it, and the checks no rule covers.
        evaluations.retain(|e| {
            !own.contains(&(e.resource_type.clone(), e.resource_id.clone())) || !ports.settings.plan_declared(e.plan)
        });
    }
    Ok(record_and_publish(ports.store, ports.publisher, &evaluations, &delivery).await?)
}

/// What one rollup invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupSummary {
    /// Accounts whose readiness was recomputed.
    pub accounts: usize,
    /// Readiness transitions published.
    pub plan_transitions: usize,
    /// The readiness as embedded-metric records, for the function to print.
    #[serde(skip)]
    pub metrics: Vec<String>,
}

/// Recomputes, records and announces the plan readiness of `accounts` (see
/// [`crate::app::record::roll_up_account`]); `expected`: the result versions each account's
/// rollup must read (from the table's stream).
pub async fn rollup<S: ResultStore + ReadinessStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    accounts: &BTreeSet<String>,
    expected: &[crate::domain::state::RowVersion],
) -> Result<RollupSummary, HandlerError> {
    let mut plan_transitions = 0;
    let mut metrics = Vec::new();
    for account in accounts {
        let mine: Vec<_> = expected
            .iter()
            .filter(|v| &v.key.account_id == account)
            .cloned()
            .collect();
        let (n, m) = crate::app::record::roll_up_account(store, publisher, settings, account, &mine).await?;
        plan_transitions += n;
        metrics.extend(m);
    }
    Ok(RollupSummary {
        accounts: accounts.len(),
        plan_transitions,
        metrics,
    })
}

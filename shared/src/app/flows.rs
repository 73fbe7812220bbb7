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

use crate::app::collect::{collect, collect_with, dependant_keys, evaluate_targets, newest_of};
use crate::app::error::HandlerError;
use crate::app::pace::{FanOutCursor, Pace, Progress, RunCursor};
use crate::app::ports::{
    ConfigReader, Continuation, EvaluationReporter, EventPublisher, FactReader, LastReport, PortError, ReadinessStore,
    ReportedResource, ResultStore,
};
use crate::app::record::{publish_pending, record_and_publish, Summary};
use crate::contracts::cloudtrail;
use crate::contracts::config_rule::{self, ConfigEvaluation, InvokingEvent, Scope, PUT_EVALUATIONS_MAX};
use crate::domain::checks::ALL;
use crate::domain::model::types::{ec2, iam};
use crate::domain::model::ConfigurationItem;
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
    /// The region the rule runs in (its ARN's): a periodic run retires only results of this
    /// region (and of the global types its recorder records). `None`: every region's.
    pub region: Option<&'a str>,
    /// The rule's id (the last part of its ARN): a periodic run leaves out what this rule
    /// reported already, unchanged and recently. `None`: it reports everything.
    pub rule: Option<&'a str>,
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
    /// Pages of a periodic run done by this invocation.
    pub pages: usize,
    /// Whether the rest of the run was handed to a fresh invocation.
    pub handed_off: bool,
    /// Resources a periodic run did not report again: their evaluation is what the rule reported
    /// last, less than the refresh age ago.
    pub unchanged: usize,
    /// The invocation was for an account outside the central deployment's organization: refused
    /// before anything was read, written or reported.
    pub outsider: bool,
}

/// Evaluates changed resources; `with_accounts`: also the account-level results they move (IAM
/// roles and OIDC providers, and whatever their types' descriptions name as dependants). Their dependants are paged by
/// [`fan_out`].
async fn evaluate_changed<R: ConfigReader + FactReader>(
    ports: &Ports<'_, R, impl ResultStore, impl EventPublisher>,
    changed: Vec<ConfigurationItem>,
    with_accounts: bool,
) -> Result<Vec<Evaluation>, PortError> {
    let account_types = [iam::ROLE.name, iam::OIDC_PROVIDER.name];
    let mut accounts: BTreeSet<String> = changed
        .iter()
        .filter(|i| with_accounts && account_types.contains(&i.resource_type.as_str()))
        .map(|i| i.account_id.clone())
        .collect();
    if with_accounts {
        accounts.extend(crate::app::collect::dependant_accounts(&changed, ports.settings));
    }
    let mut c = collect(ports.reader, changed, ports.settings, false, ports.recorded_types).await?;
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
pub async fn config_rule<R, E, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    inv: &RuleInvocation<'_>,
    pace: &Pace<'_, C>,
) -> Result<RuleSummary, HandlerError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
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
        } => {
            let run = Periodic {
                scope: &scope,
                account: &account_id,
                region: inv.region,
                rule: inv.rule,
                when: notification_time,
                token,
            };
            return Ok(periodic(ports, reporter, &run, pace).await?);
        }
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
        ..RuleSummary::default()
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

/// A periodic run: one account (and region), one rule.
struct Periodic<'a> {
    scope: &'a Scope,
    account: &'a str,
    region: Option<&'a str>,
    rule: Option<&'a str>,
    when: DateTime<Utc>,
    token: &'a str,
}

/// Of a page's report, what AWS Config does not hold already: evaluations whose compliance or
/// annotation differ from what the rule last reported, or whose last report is older than
/// `refresh`. Returns them with the entries to record once they are sent, and how many were left
/// out.
async fn not_yet_reported<S: ResultStore>(
    store: &S,
    rule: &str,
    evaluations: &[Evaluation],
    report: Vec<ConfigEvaluation>,
    refresh: std::time::Duration,
) -> Result<(Vec<ConfigEvaluation>, Vec<(ReportedResource, LastReport)>, usize), PortError> {
    let mut at: std::collections::HashMap<(&str, &str), (&str, &str)> = std::collections::HashMap::new();
    for e in evaluations {
        at.entry((e.resource_type.as_str(), e.resource_id.as_str()))
            .or_insert((e.account_id.as_str(), e.aws_region.as_str()));
    }
    let resources: Vec<Option<ReportedResource>> = report
        .iter()
        .map(|r| {
            at.get(&(r.compliance_resource_type.as_str(), r.compliance_resource_id.as_str()))
                .map(|(a, g)| ReportedResource {
                    account_id: (*a).to_owned(),
                    aws_region: (*g).to_owned(),
                    resource_type: r.compliance_resource_type.clone(),
                    resource_id: r.compliance_resource_id.clone(),
                })
        })
        .collect();
    let known: Vec<ReportedResource> = resources.iter().flatten().cloned().collect();
    let mut last = store.reported(rule, &known).await?.into_iter();
    let now = Utc::now();
    let refresh = chrono::Duration::from_std(refresh).unwrap_or(chrono::Duration::MAX);
    let (mut send, mut marks, mut skipped) = (Vec::new(), Vec::new(), 0);
    for (r, resource) in report.into_iter().zip(resources) {
        let Some(resource) = resource else {
            send.push(r);
            continue;
        };
        let previous = last.next().flatten();
        let fresh = previous
            .is_some_and(|p| p.compliance == r.compliance_type && p.annotation == r.annotation && now - p.at < refresh);
        if fresh {
            skipped += 1;
        } else {
            marks.push((
                resource,
                LastReport {
                    compliance: r.compliance_type,
                    annotation: r.annotation.clone(),
                    at: now,
                },
            ));
            send.push(r);
        }
    }
    Ok((send, marks, skipped))
}

/// The resource types a periodic run of `scope` lists, in order.
fn periodic_types(scope: &Scope) -> Vec<&'static str> {
    let types: BTreeSet<&'static str> = ALL
        .iter()
        .filter(|c| scope.includes(c))
        .flat_map(|c| c.resource_types.iter().copied())
        .filter(|t| *t != ACCOUNT_TYPE)
        .collect();
    types.into_iter().collect()
}

/// The phase after the resources of `types[i]` (or after the account's results, `i` = 0).
fn type_phase(types: &[&str], i: usize) -> RunCursor {
    match types.get(i) {
        Some(t) => RunCursor::Type {
            resource_type: (*t).to_owned(),
            token: None,
        },
        None => RunCursor::Gone { after: None },
    }
}

/// Evaluates every resource of the account a page at a time (the account's own results, each
/// type's resources from Config's listing, then the results recorded for resources Config no
/// longer has), recording, reporting and publishing each page before the next; hands the rest on
/// when the invocation's time runs short (see [`crate::app::pace`]).
async fn periodic<R, E, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    reporter: &E,
    run: &Periodic<'_>,
    pace: &Pace<'_, C>,
) -> Result<RuleSummary, PortError>
where
    R: ConfigReader + FactReader,
    E: EvaluationReporter,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    let test_mode = run.token == TEST_MODE_TOKEN;
    let types = periodic_types(run.scope);
    let id = Delivery::new(run.token).origin;
    let mut progress = if test_mode {
        Progress {
            run: id,
            at: None,
            cursor: RunCursor::Account,
        }
    } else {
        Progress::read(ports.store, &id, RunCursor::Account).await?
    };
    let mut out = RuleSummary::default();
    let mut gone_keys = None;
    loop {
        if progress.cursor == RunCursor::Done {
            break;
        }
        // Config's rule test (TESTMODE) records nothing, progress included: it runs to the end.
        if out.pages > 0 && !test_mode && !pace.time_left() {
            pace.continuation.hand_off().await?;
            out.handed_off = true;
            break;
        }
        // Each page's evidence is read from now on.
        let delivery = Delivery::new(run.token);
        let (evaluations, next) = match &progress.cursor {
            RunCursor::Account => {
                let item = ConfigurationItem::account(run.account, Some(run.when));
                let mut evaluations: Vec<Evaluation> = evaluate_changed(ports, vec![item], false)
                    .await?
                    .into_iter()
                    .filter(|e| e.resource_type == ACCOUNT_TYPE)
                    .collect();
                for e in &mut evaluations {
                    e.capture_time = Some(run.when);
                }
                (evaluations, type_phase(&types, 0))
            }
            RunCursor::Type { resource_type, token } => {
                let Some(i) = types.iter().position(|t| t == resource_type) else {
                    // A type this rule no longer lists (the scope changed between invocations).
                    progress.advance(ports.store, RunCursor::Gone { after: None }).await?;
                    continue;
                };
                let mut keys = Vec::new();
                let mut token = token.clone();
                loop {
                    let want = pace.page.saturating_sub(keys.len()).max(1);
                    let (page, next) = ports.reader.list_page(types[i], want, token.take()).await?;
                    keys.extend(page);
                    token = next;
                    if token.is_none() || keys.len() >= pace.page {
                        break;
                    }
                }
                let mut items = Vec::with_capacity(keys.len());
                for chunk in keys.chunks(100) {
                    items.extend(ports.reader.batch_get(chunk).await?);
                }
                let evaluations = if items.is_empty() {
                    Vec::new()
                } else {
                    // Only the listed resources' own results: an item can also move another
                    // type's (an SSM inventory its instance's), which that type's pages report.
                    let listed: std::collections::HashSet<&ResourceKey> = keys.iter().collect();
                    let mut e = evaluate_changed(ports, items, false).await?;
                    e.retain(|e| listed.contains(&ResourceKey::new(e.resource_type.clone(), e.resource_id.clone())));
                    e
                };
                let next = match token {
                    Some(t) => RunCursor::Type {
                        resource_type: resource_type.clone(),
                        token: Some(t),
                    },
                    None => type_phase(&types, i + 1),
                };
                (evaluations, next)
            }
            RunCursor::Gone { after } => gone(ports, run, after.clone(), pace, &mut gone_keys).await?,
            RunCursor::Done => break,
        };
        let report = config_rule::aggregate(&evaluations, run.scope, |_| run.when);
        let (report, marks) = match run.rule {
            Some(rule) if !test_mode => {
                let (send, marks, skipped) =
                    not_yet_reported(ports.store, rule, &evaluations, report, pace.report_refresh).await?;
                out.unchanged += skipped;
                (send, marks)
            }
            _ => (report, Vec::new()),
        };
        let pending = if test_mode {
            Vec::new()
        } else {
            ports.store.record(&evaluations, &delivery).await?
        };
        out.calls += put_all(reporter, run.token, &report).await?;
        out.reported += report.len();
        if let Some(rule) = run.rule {
            ports.store.mark_reported(rule, &marks).await?;
        }
        out.transitions += publish_pending(ports.store, ports.publisher, &pending).await?;
        out.pages += 1;
        if test_mode {
            progress.cursor = next;
        } else if !progress.advance(ports.store, next).await? {
            // Another invocation of this run (a retry, a duplicate) finished this page first and
            // carries on from there.
            break;
        }
    }
    Ok(out)
}

/// The resources recorded for this account and region that may be gone, in key order after
/// `after`: those with results of `scope`'s checks not yet retired.
async fn gone_candidates<S: ResultStore>(
    store: &S,
    run: &Periodic<'_>,
    recorded_types: &[String],
    after: Option<&(String, String, String)>,
) -> Result<BTreeSet<(String, String, String)>, PortError> {
    let mut candidates = BTreeSet::new();
    store
        .fold_results(run.account, |e, _| {
            if e.resource_type == ACCOUNT_TYPE
                || !run.scope.includes_id(&e.check_id)
                || (e.compliance == crate::domain::vocab::Compliance::NotApplicable
                    && e.annotation == NO_LONGER_RECORDED)
            {
                return;
            }
            // This region's resources, and the global ones its recorder records.
            let here = match run.region {
                None => true,
                Some(r) => {
                    e.aws_region == r
                        || (e.aws_region == crate::domain::vocab::GLOBAL_REGION
                            && recorded_types.iter().any(|t| *t == e.resource_type))
                }
            };
            let key = (e.aws_region.into(), e.resource_type.into(), e.resource_id.into());
            if here && after.is_none_or(|a| &key > a) {
                candidates.insert(key);
            }
        })
        .await?;
    Ok(candidates)
}

/// A page of the gone phase: checks recorded resources against Config, 100 per
/// BatchGetResourceConfig, until the page is full or time runs short, and retires the results of
/// those Config no longer returns (NOT_APPLICABLE, "no longer recorded"; Config returns no
/// deleted resource).
async fn gone<R, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    run: &Periodic<'_>,
    after: Option<(String, String, String)>,
    pace: &Pace<'_, C>,
    known: &mut Option<BTreeSet<(String, String, String)>>,
) -> Result<(Vec<Evaluation>, RunCursor), PortError>
where
    R: ConfigReader + FactReader,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    // The account's results are read once per invocation, not once per page: every page of
    // this invocation takes its candidates from the same read (the keys only).
    if known.is_none() {
        *known = Some(gone_candidates(ports.store, run, ports.recorded_types, after.as_ref()).await?);
    }
    let empty = BTreeSet::new();
    let known_keys = known.as_ref().unwrap_or(&empty);
    let all: Vec<&(String, String, String)> = match &after {
        Some(a) => known_keys
            .range::<(String, String, String), _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
            .collect(),
        None => known_keys.iter().collect(),
    };
    let mut missing: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut last = None;
    let mut checked = 0;
    for chunk in all.chunks(100) {
        if checked > 0 && (checked >= pace.page || !pace.time_left()) {
            break;
        }
        let keys: Vec<ResourceKey> = chunk
            .iter()
            .map(|(_, t, id)| ResourceKey::new(t.clone(), id.clone()))
            .collect();
        let found: BTreeSet<(String, String)> = ports
            .reader
            .batch_get(&keys)
            .await?
            .into_iter()
            .map(|i| (i.resource_type, i.resource_id))
            .collect();
        for k in chunk {
            if !found.contains(&(k.1.clone(), k.2.clone())) {
                missing.insert((*k).clone());
            }
        }
        checked += chunk.len();
        last = chunk.last().map(|k| (*k).clone());
    }
    let next = match last {
        Some(l) if all.last() != Some(&&l) => RunCursor::Gone { after: Some(l) },
        _ => RunCursor::Done,
    };
    let mut retired = Vec::new();
    if !missing.is_empty() {
        ports
            .store
            .fold_results(run.account, |mut e, _| {
                let key = (
                    e.aws_region.to_string(),
                    e.resource_type.to_string(),
                    e.resource_id.to_string(),
                );
                if missing.contains(&key)
                    && run.scope.includes_id(&e.check_id)
                    && (e.compliance != crate::domain::vocab::Compliance::NotApplicable
                        || e.annotation != NO_LONGER_RECORDED)
                {
                    // Dated with the last capture known, not this run's time: if Config shows the
                    // resource again, its item, captured before this run, must still decide.
                    e.compliance = crate::domain::vocab::Compliance::NotApplicable;
                    e.annotation = NO_LONGER_RECORDED.into();
                    retired.push(e);
                }
            })
            .await?;
    }
    Ok((retired, next))
}

/// Handles one EventBridge event: `detail-type` "Config Configuration Item Change", "AWS API
/// Call via CloudTrail" or "EC2 Instance State-change Notification".
///
/// `delivery`: the event's identity (its `id`; a retry of the event has the same), which decides
/// which recorded transitions this invocation publishes. `region`: the event's region (where
/// AWS Config recorded a change): a rule of this deployment evaluates the changed resource's own
/// checks only there ([`Settings::rule_covers`]); elsewhere this flow does.
pub async fn reevaluate<R, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    detail_type: &str,
    detail: &Value,
    delivery: &str,
    region: Option<&str>,
    pace: &Pace<'_, C>,
) -> Result<Summary, HandlerError>
where
    R: ConfigReader + FactReader,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    let identity = delivery;
    // A Config change where a rule of this deployment runs: that rule evaluates the changed
    // resource's own checks.
    let rule_evaluates = detail_type == "Config Configuration Item Change" && ports.settings.rule_covers(region);
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
        _ => {
            return Err(HandlerError::Malformed(
                "unsupported detail-type (expected \"Config Configuration Item Change\", \"AWS API Call via CloudTrail\" or \"EC2 Instance State-change Notification\")"
                    .into(),
            ))
        }
    };
    if changed.is_empty() {
        return Ok(Summary::default());
    }
    // The run is this event: its id and content (a retry repeats both; two events that share an
    // id do not share a run).
    let run = Delivery::new(&format!("{identity}#{detail_type}#{detail}")).origin;
    Ok(fan_out(ports, changed, rule_evaluates, identity, &run, pace).await?)
}

/// Re-evaluates changed resources, then their dependants a page at a time (see
/// [`crate::app::pace`]). The run's progress is written only once it spans more than one page:
/// a change with few dependants costs no write more than its results.
async fn fan_out<R, S, P, C>(
    ports: &Ports<'_, R, S, P>,
    changed: Vec<ConfigurationItem>,
    rule_evaluates: bool,
    identity: &str,
    run: &str,
    pace: &Pace<'_, C>,
) -> Result<Summary, PortError>
where
    R: ConfigReader + FactReader,
    S: ResultStore,
    P: EventPublisher,
    C: Continuation,
{
    let own: BTreeSet<(String, String)> = changed
        .iter()
        .map(|i| (i.resource_type.clone(), i.resource_id.clone()))
        .collect();
    let mut progress = Progress::read(ports.store, run, FanOutCursor::Changed).await?;
    let mut dependants: Option<Vec<ResourceKey>> = None;
    let mut out = Summary::default();
    loop {
        if progress.cursor == FanOutCursor::Done {
            break;
        }
        if out.pages > 0 && !pace.time_left() {
            pace.continuation.hand_off().await?;
            out.handed_off = true;
            break;
        }
        let delivery = Delivery::new(identity);
        if dependants.is_none() {
            dependants = Some(dependant_keys(ports.reader, &changed, ports.settings).await?);
        }
        let deps = dependants.as_deref().unwrap_or_default();
        let (evaluations, next) = match &progress.cursor {
            FanOutCursor::Changed => {
                let mut evaluations = evaluate_changed(ports, changed.clone(), true).await?;
                if rule_evaluates {
                    // AWS Config invokes the declared plans' rules with the same change (their
                    // scopes are their checks' resource types): those evaluate the changed
                    // resource's checks. This path evaluates what depends on it, and the checks
                    // no rule covers. Where no rule runs (a region without the organization
                    // rules), this path evaluates the changed resource too.
                    evaluations.retain(|e| {
                        !own.contains(&(e.resource_type.to_string(), e.resource_id.to_string()))
                            || !ports.settings.plan_declared(e.plan)
                    });
                }
                let next = if deps.is_empty() {
                    FanOutCursor::Done
                } else {
                    FanOutCursor::Dependants { after: None }
                };
                (evaluations, next)
            }
            FanOutCursor::Dependants { after } => {
                let page: Vec<ResourceKey> = deps
                    .iter()
                    .filter(|k| {
                        after
                            .as_ref()
                            .is_none_or(|(t, i)| (&k.resource_type, &k.resource_id) > (t, i))
                    })
                    .take(pace.page)
                    .cloned()
                    .collect();
                let mut items = Vec::with_capacity(page.len());
                for chunk in page.chunks(100) {
                    items.extend(ports.reader.batch_get(chunk).await?);
                }
                let evaluations = if items.is_empty() {
                    Vec::new()
                } else {
                    let c = collect_with(
                        ports.reader,
                        items,
                        changed.clone(),
                        ports.settings,
                        ports.recorded_types,
                    )
                    .await?;
                    evaluate_targets(&c, ports.settings)
                };
                let next = match page.last() {
                    Some(l) if deps.last() != Some(l) => FanOutCursor::Dependants {
                        after: Some((l.resource_type.clone(), l.resource_id.clone())),
                    },
                    _ => FanOutCursor::Done,
                };
                (evaluations, next)
            }
            FanOutCursor::Done => break,
        };
        let page = record_and_publish(ports.store, ports.publisher, &evaluations, &delivery).await?;
        out.evaluations += page.evaluations;
        out.transitions += page.transitions;
        out.pages += 1;
        if next == FanOutCursor::Done && progress.at.is_none() {
            // Finished in its first page: nothing to resume, nothing to record.
            break;
        }
        if !progress.advance(ports.store, next).await? {
            break;
        }
    }
    Ok(out)
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

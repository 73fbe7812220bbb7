//! The deployed function's wiring, once per cold start: settings from the environment, the state
//! table (what each finding is built from) and, per account × region, Security Hub with the
//! account's credentials (the function's own, or a member role's in a central deployment).
//! `main` is this.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::{run as serve, service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;
use shared::app::error::HandlerError;
use shared::aws::accounts::{account_of_arn, unavailable};
use shared::aws::env::Adapters;
use shared::aws::securityhub::SecurityHubApi;
use shared::contracts::findings::{finding, Finding};
use shared::domain::vocab::Compliance;

/// Runs the function until the Lambda Runtime API stops handing out events.
pub async fn run() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let (_env, adapters) = Adapters::from_env(false).await?;
    let imported = crate::imported_statuses(std::env::var("FINDINGS_STATUSES").ok().as_deref())?;
    let home = std::env::var("AWS_REGION").map_err(|_| "AWS_REGION is not set")?;
    let (adapters, imported, home) = (&adapters, &imported, &home);
    serve(service_fn(move |event: LambdaEvent<Value>| async move {
        let event: LambdaEvent<SqsEvent> = shared::app::error::parse_invocation(event, "an SQS batch")?;
        let own = account_of_arn(&event.context.invoked_function_arn);
        handle(adapters, imported, home, own, event.payload).await
    }))
    .await
}

/// A finding to import, and the messages it answers for.
type Pending = (Finding, Vec<String>);

/// Imports the findings of one batch; the messages whose finding was not imported are the
/// batch's item failures.
async fn handle(
    adapters: &Adapters,
    imported: &[Compliance],
    home: &str,
    own: Option<&str>,
    batch: SqsEvent,
) -> Result<SqsBatchResponse, HandlerError> {
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut queued = Vec::new();
    for m in batch.records {
        let id = m.message_id.unwrap_or_default();
        match crate::parse_message(&id, m.body.as_deref().unwrap_or_default()) {
            Ok(q) => queued.push(q),
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "a message that is not a compliance transition");
                failed.insert(id);
            }
        }
    }
    // The finding of each result as recorded now, grouped by the Security Hub it goes to.
    let mut groups: BTreeMap<(String, String), Vec<Pending>> = BTreeMap::new();
    for (key, messages) in crate::concerned(&queued, imported) {
        match adapters.store.recorded(&key).await {
            Ok(now) => {
                let at = now.as_ref().and_then(|(_, at)| *at).unwrap_or_else(Utc::now);
                let f = finding(&key, now.as_ref().map(|(r, _)| r), at, home);
                groups
                    .entry((f.account_id.clone(), f.region.clone()))
                    .or_default()
                    .push((f, messages));
            }
            Err(e) => {
                tracing::error!(error = %e, "a result could not be read");
                failed.extend(messages);
            }
        }
    }
    let (mut done, mut refused, mut denied) = (0usize, 0usize, 0usize);
    for ((account, region), items) in groups {
        let messages = |ids: &mut BTreeSet<String>, only: Option<&str>| {
            for (f, m) in &items {
                if only.is_none_or(|id| id == f.id) {
                    ids.extend(m.iter().cloned());
                }
            }
        };
        let ports = match adapters.accounts.for_event(own, Some(&account), Some(&region)).await {
            Ok(p) => p,
            Err(e) => {
                unavailable("findings", e);
                messages(&mut failed, None);
                continue;
            }
        };
        let api = SecurityHubApi::in_region(&ports.sdk, &region);
        let findings: Vec<Finding> = items.iter().map(|(f, _)| f.clone()).collect();
        match api.import(&findings).await {
            Ok(no) => {
                for r in &no {
                    tracing::error!(account = %account, region = %region, code = %r.code, message = %r.message, "Security Hub refused a finding");
                    messages(&mut failed, Some(&r.id));
                }
                refused += no.len();
                done += findings.len() - no.len();
            }
            Err(e) => {
                // A denial (Security Hub not enabled, or the role without the permission) does
                // not heal by retrying: counted for the alarm; the messages are retried, then
                // dead-lettered, never dropped.
                if !e.retryable {
                    denied += 1;
                }
                tracing::error!(account = %account, region = %region, error = %e, "findings could not be imported");
                messages(&mut failed, None);
            }
        }
    }
    println!(
        "{}",
        shared::contracts::metrics::invocation(
            "findings",
            &[("Imported", done), ("Refused", refused), ("FindingsDenied", denied)],
            shared::contracts::metrics::now_ms(),
        )
    );
    let mut out = SqsBatchResponse::default();
    for id in failed {
        out.add_failure(id);
    }
    Ok(out)
}

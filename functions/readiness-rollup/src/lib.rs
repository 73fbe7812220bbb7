//! Readiness rollup, fed by the state table's stream: for every account whose results changed,
//! recomputes the account × region × plan readiness (SQL needs Servers needs the connector),
//! records it and publishes a "Plan Readiness Changed" event for every change.
//!
//! Records are grouped by account. When an account's rollup fails, the response names the first
//! stream record of that account as failed (`ReportBatchItemFailures`), so Lambda retries from
//! there; nothing before it is redone needlessly, nothing after it is skipped.

// The use-case futures nest deeply enough to exceed the default layout query depth.
#![recursion_limit = "256"]

#[cfg(feature = "aws")]
pub mod wiring;

use std::collections::BTreeSet;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use shared::app::error::HandlerError;
use shared::app::flows;
use shared::app::ports::{EventPublisher, ReadinessStore, ResultStore};
use shared::domain::settings::Settings;

/// The accounts a batch touches, in stream order, each with the sequence number of its first
/// record and the result versions its records announce (the rollup must read at least those).
/// Rows other than results (history, plan readiness) are ignored.
pub fn accounts_of(event: &Event) -> Result<Vec<AccountChanges>, HandlerError> {
    let mut out: Vec<AccountChanges> = Vec::new();
    for (i, r) in event.records.iter().enumerate() {
        let keys = serde_json::to_value(&r.change.keys)
            .map_err(|e| HandlerError::Malformed(format!("Records[{i}].dynamodb.Keys: {e}")))?;
        let pk = keys
            .pointer("/PK/S")
            .and_then(|v| v.as_str())
            .ok_or_else(|| HandlerError::Malformed(format!("Records[{i}].dynamodb.Keys has no string `PK`")))?;
        let sk = keys.pointer("/SK/S").and_then(|v| v.as_str()).unwrap_or("");
        let Some(account) = shared::contracts::stream::result_row_account(pk, sk) else {
            continue;
        };
        let seq = r
            .change
            .sequence_number
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| HandlerError::Malformed(format!("Records[{i}].dynamodb has no `SequenceNumber`")))?;
        let removed = r.event_name == "REMOVE";
        let image = if removed {
            &r.change.old_image
        } else {
            &r.change.new_image
        };
        let image = serde_json::to_value(image)
            .map_err(|e| HandlerError::Malformed(format!("Records[{i}].dynamodb image: {e}")))?;
        let version = shared::contracts::stream::row_version(&image, removed).filter(|v| v.key.account_id == account);
        match out.iter_mut().find(|c| c.account == account) {
            Some(c) => {
                // The last record of a row is the version to read (a write then its removal:
                // the removal).
                if let Some(v) = version {
                    c.versions.retain(|o| o.key != v.key);
                    c.versions.push(v);
                }
            }
            None => out.push(AccountChanges {
                account: account.to_owned(),
                first_sequence: seq,
                versions: version.into_iter().collect(),
            }),
        }
    }
    Ok(out)
}

/// One account's records in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChanges {
    /// The account.
    pub account: String,
    /// The sequence number of its first record (where a retry starts).
    pub first_sequence: String,
    /// The result versions its records announce (the last of each row).
    pub versions: Vec<shared::domain::state::RowVersion>,
}

/// Handles one batch as Lambda delivers it: the payload is parsed here, so that one of another
/// shape fails as `MalformedEvent` without quoting it.
pub async fn handle_payload<S, P>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    event: LambdaEvent<serde_json::Value>,
) -> Result<DynamoDbEventResponse, HandlerError>
where
    S: ResultStore + ReadinessStore,
    P: EventPublisher,
{
    let event = shared::app::error::parse_invocation(event, "a DynamoDB stream batch")?;
    handler(store, publisher, settings, event).await
}

/// Handles one batch of stream records.
pub async fn handler<S, P>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, HandlerError>
where
    S: ResultStore + ReadinessStore,
    P: EventPublisher,
{
    let accounts = accounts_of(&event.payload).map_err(|err| {
        tracing::error!(error_type = err.kind(), error = %err, "invocation failed");
        err
    })?;
    let mut failures = Vec::new();
    let mut published = 0;
    for AccountChanges {
        account,
        first_sequence: first_seq,
        versions,
    } in &accounts
    {
        let one = BTreeSet::from([account.clone()]);
        match flows::rollup(store, publisher, settings, &one, versions).await {
            Ok(s) => {
                published += s.plan_transitions;
                for line in &s.metrics {
                    println!("{line}");
                }
            }
            Err(err) => {
                tracing::error!(account = %account, error_type = err.kind(), error = %err, "rollup failed");
                let mut f = DynamoDbBatchItemFailure::default();
                f.item_identifier = Some(first_seq.clone());
                failures.push(f);
            }
        }
    }
    tracing::info!(
        records = event.payload.records.len(),
        accounts = accounts.len(),
        failed = failures.len(),
        plan_transitions = published,
        "rolled up"
    );
    println!(
        "{}",
        shared::contracts::metrics::invocation(
            "readiness-rollup",
            &[
                ("Accounts", accounts.len()),
                ("FailedAccounts", failures.len()),
                ("PlanTransitions", published),
            ],
            shared::contracts::metrics::now_ms(),
        )
    );
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}

//! Recording results and telling subscribers: how the evaluating flows end, and the readiness rollup.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::app::ports::{EventPublisher, PortError, ReadinessStore, ResultStore};
use crate::contracts::events::{compliance_event, readiness_event, OutboundEvent};
use crate::domain::plans::AccountRollup;
use crate::domain::settings::Settings;
use crate::domain::state::{Delivery, EvalKey, PendingTransition, RowVersion};
use crate::domain::vocab::Evaluation;

/// What one recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Results given.
    pub evaluations: usize,
    /// Compliance transitions published (new ones and ones left pending before).
    pub transitions: usize,
    /// Pages of a paged run done by this invocation.
    pub pages: usize,
    /// Whether the rest of the run was handed to a fresh invocation.
    pub handed_off: bool,
}

/// Records `evaluations` for `delivery`, publishes its compliance transitions, then clears them
/// from the outbox. A
/// failure anywhere fails the whole call, and a retry publishes what an earlier attempt left
/// pending. Plan readiness is not recomputed here: the rollup function does it from the table's
/// stream ([`roll_up`]).
pub async fn record_and_publish<S: ResultStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    evaluations: &[Evaluation],
    delivery: &Delivery,
) -> Result<Summary, PortError> {
    let pending = store.record(evaluations, delivery).await?;
    let transitions = publish_pending(store, publisher, &pending).await?;
    Ok(Summary {
        evaluations: evaluations.len(),
        transitions,
        ..Summary::default()
    })
}

/// Publishes recorded transitions, then clears them from the outbox. Returns how many.
pub async fn publish_pending<S: ResultStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    pending: &[PendingTransition],
) -> Result<usize, PortError> {
    let events: Vec<OutboundEvent> = pending.iter().map(compliance_event).collect();
    publisher.publish(&events).await?;
    store.mark_published(pending).await?;
    Ok(pending.len())
}

/// How many blockers and unverified checks a rollup keeps per region × plan (the counts have them
/// all): what a readiness row stores and more than an event lists.
pub const BLOCKERS_KEPT: usize = 100;

/// How many times a rollup reads and recomputes when other rollups of the same account keep
/// recording first.
const ROLLUP_ATTEMPTS: u32 = 5;

/// Recomputes, records and announces the plan readiness of `accounts` from the recorded results
/// (see [`roll_up_account`]). Returns the number of readiness events published and the
/// readiness as embedded-metric records ([`crate::contracts::metrics::readiness`]).
pub async fn roll_up<S: ResultStore + ReadinessStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    accounts: &BTreeSet<String>,
) -> Result<(usize, Vec<String>), PortError> {
    let mut published = 0;
    let mut metrics = Vec::new();
    for account in accounts {
        let (n, m) = roll_up_account(store, publisher, settings, account, &[]).await?;
        published += n;
        metrics.extend(m);
    }
    Ok((published, metrics))
}

/// Recomputes the account × region × plan readiness of one account from its recorded results,
/// records it, publishes a "Plan Readiness Changed" event for every plan whose status differs
/// from the one last announced, then marks those announced. A retry after a failure anywhere
/// announces what is still unannounced: nothing is lost, and subscribers see the net change.
///
/// Time order: the plan rows (and the account's rollup version) are read first, the results
/// after, and the readiness is recorded only over the version read, so of two concurrent rollups
/// the one that read older results cannot record after the other (it reads and recomputes).
/// `expected` are the result versions that triggered this rollup (the stream's images): a read
/// of the results (an eventually consistent index) that does not include them yet fails as
/// retryable rather than recording a readiness that misses them.
pub async fn roll_up_account<S: ResultStore + ReadinessStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    settings: &Settings,
    account: &str,
    expected: &[RowVersion],
) -> Result<(usize, Vec<String>), PortError> {
    let mut attempt = 0;
    let (rollup, transitions) = loop {
        attempt += 1;
        let read = store.plan_rows(account).await?;
        let mut acc = AccountRollup::new(Some(BLOCKERS_KEPT));
        let wanted: HashMap<&EvalKey, &RowVersion> = expected.iter().map(|v| (&v.key, v)).collect();
        let mut found: HashMap<EvalKey, DateTime<Utc>> = HashMap::new();
        store
            .fold_results(account, |e, at| {
                if !wanted.is_empty() {
                    let key = EvalKey::of(&e);
                    if let (true, Some(at)) = (wanted.contains_key(&key), at) {
                        found.insert(key, at);
                    }
                }
                acc.add(&e);
            })
            .await?;
        // A version the read does not show is fine when the read shows what the table holds
        // now (the row was written again or removed since); otherwise the index lags.
        let mut behind = 0;
        for v in expected {
            let shown = found.get(&v.key).copied();
            if !v.seen_in(shown) && store.written_at(&v.key).await? != shown {
                behind += 1;
            }
        }
        if behind > 0 {
            return Err(PortError {
                operation: "dynamodb:Query",
                message: format!(
                    "the results index of account {account} does not show {behind} of the changes to roll up yet (eventually consistent); retried later"
                ),
                retryable: true,
            });
        }
        let regions = acc.regions();
        let rollup = acc.finish(account, &regions, settings);
        if let Some(t) = store.record_plans(account, &rollup, &read).await? {
            break (rollup, t);
        }
        if attempt >= ROLLUP_ATTEMPTS {
            return Err(PortError {
                operation: "dynamodb:UpdateItem",
                message: format!("account {account}: other rollups kept recording first after {attempt} attempts"),
                retryable: true,
            });
        }
    };
    let events: Vec<OutboundEvent> = transitions
        .iter()
        .filter_map(|t| {
            rollup
                .iter()
                .find(|p| p.aws_region == t.aws_region && p.plan == t.plan)
                .map(|now| readiness_event(t, now))
        })
        .collect();
    publisher.publish(&events).await?;
    store.mark_plans_announced(&transitions).await?;
    let metrics = crate::contracts::metrics::readiness(&rollup, Utc::now().timestamp_millis());
    Ok((events.len(), metrics))
}

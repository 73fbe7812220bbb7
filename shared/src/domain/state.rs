//! Recorded compliance state and what changed: the pure comparison every store (the CLI's
//! embedded database, the functions' DynamoDB table) uses, so that "what changed since last
//! time" means the same everywhere. Older results never overwrite newer ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::plans::{PlanReadiness, PlanStatus};
use crate::domain::vocab::{Compliance, Evaluation, Plan, Text};

/// Identity of one recorded result: resource × check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalKey {
    /// Account id.
    pub account_id: Text,
    /// Region.
    pub aws_region: Text,
    /// Resource type.
    pub resource_type: Text,
    /// Resource id.
    pub resource_id: Text,
    /// Check id.
    pub check_id: Text,
}

impl EvalKey {
    /// The key of an evaluation.
    pub fn of(e: &Evaluation) -> Self {
        Self {
            account_id: e.account_id.clone(),
            aws_region: e.aws_region.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            check_id: e.check_id.clone(),
        }
    }
}

/// The annotation of results whose resource was deleted.
pub const RESOURCE_DELETED: &str = "the resource was deleted";

/// The annotation of results whose resource AWS Config no longer records.
pub const NO_LONGER_RECORDED: &str = "no longer recorded by AWS Config";

/// One recorded result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The plan.
    pub plan: Plan,
    /// The result.
    pub compliance: Compliance,
    /// Why.
    pub annotation: Text,
    /// Capture time of the configuration it was based on.
    pub capture_time: Option<DateTime<Utc>>,
}

impl Recorded {
    /// Whether this result only says its resource is gone (deleted, or no longer recorded): a
    /// store keeps it for a while (so the transition to it and a late event still compare with
    /// it), then lets it expire instead of keeping a row per deleted resource for ever.
    pub fn retired(&self) -> bool {
        self.compliance == Compliance::NotApplicable
            && (self.annotation == RESOURCE_DELETED || self.annotation == NO_LONGER_RECORDED)
    }

    /// The evaluation this recorded result of `key` stands for.
    pub fn into_evaluation(self, key: EvalKey) -> Evaluation {
        Evaluation {
            account_id: key.account_id,
            aws_region: key.aws_region,
            resource_type: key.resource_type,
            resource_id: key.resource_id,
            check_id: key.check_id,
            plan: self.plan,
            compliance: self.compliance,
            annotation: self.annotation,
            capture_time: self.capture_time,
        }
    }
}

/// A change of one resource × check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Which result.
    #[serde(flatten)]
    pub key: EvalKey,
    /// The plan.
    pub plan: Plan,
    /// Before (`None`: first seen).
    pub previous: Option<Compliance>,
    /// After (`None`: the resource is gone from the input).
    pub current: Option<Compliance>,
    /// Why (the new annotation, or the last one for a removal).
    pub annotation: Text,
}

/// A change of one plan's readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanTransition {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// Before (`None`: first seen).
    pub previous: Option<PlanStatus>,
    /// After.
    pub current: PlanStatus,
}

/// What to write, and what changed.
#[derive(Debug, Default, Clone)]
pub struct Diff {
    /// Results to insert or replace (new or changed, never older than what is recorded).
    pub upserts: Vec<(EvalKey, Recorded)>,
    /// Results to delete: their resource is gone from an input that covers its account.
    pub removals: Vec<EvalKey>,
    /// Compliance changes, removals included. Annotation-only changes are written but not listed.
    pub transitions: Vec<Transition>,
    /// Results ignored because what is recorded comes from a newer capture.
    pub stale: usize,
    /// Results identical to what is recorded (nothing to write).
    pub unchanged: usize,
    /// Results identical to what is recorded but from a newer capture: rewritten with its time
    /// only (in `upserts`, with no transition).
    pub redated: usize,
}

/// Compares a scan's results with what is recorded. `covered_accounts` are the accounts the
/// input describes in full: a recorded result of such an account missing from `current` is
/// removed, unless it was captured after `input_time` (the input is older than the state).
pub fn diff(
    previous: &HashMap<EvalKey, Recorded>,
    current: &[Evaluation],
    covered_accounts: &BTreeSet<String>,
    input_time: Option<DateTime<Utc>>,
) -> Diff {
    compare(previous, current, covered_accounts, input_time)
}

fn compare(
    previous: &HashMap<EvalKey, Recorded>,
    current: &[Evaluation],
    covered_accounts: &BTreeSet<String>,
    input_time: Option<DateTime<Utc>>,
) -> Diff {
    let mut d = Diff::default();
    let mut seen: BTreeSet<EvalKey> = BTreeSet::new();
    for e in current {
        let key = EvalKey::of(e);
        seen.insert(key.clone());
        let rec = Recorded {
            plan: e.plan,
            compliance: e.compliance,
            annotation: e.annotation.clone(),
            capture_time: e.capture_time,
        };
        match previous.get(&key) {
            Some(old)
                if old.capture_time.is_some() && rec.capture_time.is_some() && old.capture_time > rec.capture_time =>
            {
                d.stale += 1;
            }
            Some(old) if old.compliance == rec.compliance && old.annotation == rec.annotation => {
                // The same result from a newer capture: re-date the row (no transition), so that a
                // late event captured in between cannot win over this newer evidence.
                if rec.capture_time > old.capture_time {
                    d.redated += 1;
                    d.upserts.push((key, rec));
                } else {
                    d.unchanged += 1;
                }
            }
            Some(old) => {
                if old.compliance != rec.compliance {
                    d.transitions.push(Transition {
                        key: key.clone(),
                        plan: e.plan,
                        previous: Some(old.compliance),
                        current: Some(rec.compliance),
                        annotation: rec.annotation.clone(),
                    });
                }
                d.upserts.push((key, rec));
            }
            None => {
                d.transitions.push(Transition {
                    key: key.clone(),
                    plan: e.plan,
                    previous: None,
                    current: Some(rec.compliance),
                    annotation: rec.annotation.clone(),
                });
                d.upserts.push((key, rec));
            }
        }
    }
    let mut gone: Vec<(&EvalKey, &Recorded)> = previous
        .iter()
        .filter(|(k, _)| covered_accounts.contains(k.account_id.as_str()) && !seen.contains(*k))
        .filter(|(_, r)| match (r.capture_time, input_time) {
            (Some(rec), Some(input)) => rec <= input,
            _ => true,
        })
        .collect();
    gone.sort_by(|a, b| a.0.cmp(b.0));
    for (k, r) in gone {
        d.transitions.push(Transition {
            key: k.clone(),
            plan: r.plan,
            previous: Some(r.compliance),
            current: None,
            annotation: r.annotation.clone(),
        });
        d.removals.push(k.clone());
    }
    d.transitions.sort_by(|a, b| a.key.cmp(&b.key));
    d
}

/// Plan readiness changes between two rollups.
pub fn plan_diff(
    previous: &BTreeMap<(String, String, Plan), PlanStatus>,
    current: &[PlanReadiness],
) -> Vec<PlanTransition> {
    current
        .iter()
        .filter_map(|p| {
            let before = previous
                .get(&(p.account_id.clone(), p.aws_region.clone(), p.plan))
                .copied();
            (before != Some(p.status)).then(|| PlanTransition {
                account_id: p.account_id.clone(),
                aws_region: p.aws_region.clone(),
                plan: p.plan,
                previous: before,
                current: p.status,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(id: &str, c: Compliance, t: i64) -> Evaluation {
        Evaluation {
            account_id: "1".into(),
            aws_region: "r".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: id.into(),
            check_id: "servers.instance-profile".into(),
            plan: Plan::Servers,
            compliance: c,
            annotation: format!("{c}").into(),
            capture_time: Utc.timestamp_opt(t, 0).single(),
        }
    }

    fn record(d: &Diff, state: &mut HashMap<EvalKey, Recorded>) {
        for (k, r) in &d.upserts {
            state.insert(k.clone(), r.clone());
        }
        for k in &d.removals {
            state.remove(k);
        }
    }

    #[test]
    fn first_change_same_stale_and_removed() {
        let accts: BTreeSet<String> = ["1".to_owned()].into();
        let mut state = HashMap::new();
        let d = diff(
            &state,
            &[
                ev("a", Compliance::Compliant, 10),
                ev("b", Compliance::NonCompliant, 10),
            ],
            &accts,
            None,
        );
        assert_eq!((d.upserts.len(), d.transitions.len()), (2, 2));
        record(&d, &mut state);

        // Same input again: nothing to write.
        let d = diff(
            &state,
            &[
                ev("a", Compliance::Compliant, 10),
                ev("b", Compliance::NonCompliant, 10),
            ],
            &accts,
            None,
        );
        assert_eq!((d.upserts.len(), d.unchanged, d.transitions.len()), (0, 2, 0));

        // An older capture never overwrites a newer one.
        let d = diff(
            &state,
            &[
                ev("a", Compliance::NonCompliant, 5),
                ev("b", Compliance::NonCompliant, 10),
            ],
            &accts,
            None,
        );
        assert_eq!((d.upserts.len(), d.stale), (0, 1));

        // b fixed, a deleted.
        let d = diff(
            &state,
            &[ev("b", Compliance::Compliant, 20)],
            &accts,
            Utc.timestamp_opt(20, 0).single(),
        );
        assert_eq!(d.removals.len(), 1);
        let kinds: Vec<_> = d
            .transitions
            .iter()
            .map(|t| (t.key.resource_id.as_str(), t.previous, t.current))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a", Some(Compliance::Compliant), None),
                ("b", Some(Compliance::NonCompliant), Some(Compliance::Compliant))
            ]
        );
    }

    #[test]
    fn an_older_input_does_not_remove_newer_state() {
        let accts: BTreeSet<String> = ["1".to_owned()].into();
        let mut state = HashMap::new();
        record(
            &diff(&state, &[ev("a", Compliance::Compliant, 100)], &accts, None),
            &mut state,
        );
        let d = diff(&state, &[], &accts, Utc.timestamp_opt(50, 0).single());
        assert!(d.removals.is_empty());
        let other: BTreeSet<String> = ["2".to_owned()].into();
        assert!(diff(&state, &[], &other, None).removals.is_empty());
    }
}

/// A recorded compliance transition whose event may not have been published yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransition {
    /// What changed.
    pub transition: crate::domain::state::Transition,
    /// When (the capture time of the configuration that caused it, else the evaluation time).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Which delivery recorded it ([`origin_of`] its identity; empty when unknown).
    pub origin: String,
}

/// One delivery recording results: which ([`origin_of`] its identity) and when it started
/// reading the evidence they were computed from (service-API facts are read after that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// [`origin_of`] the delivery's identity.
    pub origin: String,
    /// When it started reading its evidence.
    pub evidence_at: DateTime<Utc>,
}

impl Delivery {
    /// A delivery identified by `identity` (a Config result token, an EventBridge event id)
    /// that starts reading its evidence now.
    pub fn new(identity: &str) -> Self {
        Self {
            origin: origin_of(identity),
            evidence_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 3),
        }
    }
}

/// Whether a result of `capture` computed from evidence read from `evidence_at` is older than
/// one recorded from the same capture with evidence read from `recorded_evidence_at`: of two
/// results of the same configuration, the one whose service-API facts were read later wins.
pub fn older_evidence(
    capture: Option<DateTime<Utc>>,
    evidence_at: DateTime<Utc>,
    recorded_capture: Option<DateTime<Utc>>,
    recorded_evidence_at: Option<DateTime<Utc>>,
) -> bool {
    capture == recorded_capture && recorded_evidence_at.is_some_and(|r| r > evidence_at)
}

/// A short, stable identifier of a delivery (a Config result token, an EventBridge event id): a
/// retry of the same delivery has the same one. FNV-1a, not a secret's digest: it only tells
/// deliveries apart.
pub fn origin_of(identity: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A recorded change, as a report lists it: a plan's readiness, or one resource × check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordedChange {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Account id.
    pub account_id: String,
    /// Region (`global` for IAM).
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// `None`: the plan's readiness changed; else (resource type, resource id, check id).
    pub result: Option<(String, String, String)>,
    /// Before (empty: first seen).
    pub previous: String,
    /// After (empty: removed).
    pub current: String,
}

/// How long a transition may stay unpublished before a recording of its resource from another
/// delivery takes it over: the delivery that recorded it publishes it (its retries too), so
/// concurrent deliveries touching one resource do not publish each other's transitions twice;
/// one that gave up leaves it to the next recording of the resource after this long (no
/// invocation outlives Lambda's 15-minute limit).
pub const ORPHANED_AFTER: chrono::Duration = chrono::Duration::minutes(15);

impl PendingTransition {
    /// Whether a recording by delivery `origin` at `now` publishes this one: its own (recorded by
    /// this delivery or an earlier attempt of it), or one left behind.
    pub fn to_publish(&self, origin: &str, now: DateTime<Utc>) -> bool {
        self.origin == origin || self.at + ORPHANED_AFTER < now
    }
}

/// A version of one recorded result, as the table's stream announces it: the rollup that the
/// change triggers must read at least this version (or, for a removal, no longer the removed one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowVersion {
    /// Which result.
    pub key: EvalKey,
    /// When that version was written (`evaluatedAt`; strictly increasing per result).
    pub evaluated_at: DateTime<Utc>,
    /// The row was deleted (expired), not written.
    pub removed: bool,
}

impl RowVersion {
    /// Whether a read that found the result written at `found` (`None`: not found) includes
    /// this version or a newer one.
    pub fn seen_in(&self, found: Option<DateTime<Utc>>) -> bool {
        match (self.removed, found) {
            (false, Some(at)) => at >= self.evaluated_at,
            (false, None) => false,
            (true, Some(at)) => at > self.evaluated_at,
            (true, None) => true,
        }
    }
}

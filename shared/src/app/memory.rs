//! In-memory implementations of the ports: the same contracts as the AWS adapters, over plain
//! collections, so the flows can be tested in milliseconds and fuzzed without a network.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::app::ports::{
    ConfigReader, Continuation, EvaluationReporter, EventPublisher, FactReader, LastReport, PlanRow, PlanRows,
    PortError, ReadinessReader, ReadinessStore, ReportedResource, ResultStore,
};
use crate::contracts::config_rule::ConfigEvaluation;
use crate::contracts::events::OutboundEvent;
use crate::domain::model::{ConfigurationItem, LiveFacts, Lookup};
use crate::domain::plans::{PlanReadiness, PlanStatus, ReadinessRow};
use crate::domain::state::{self, Delivery, EvalKey, PendingTransition, PlanTransition, Recorded};
use crate::domain::vocab::{Evaluation, Plan, ResourceKey};

/// An in-memory [`ConfigReader`] and [`FactReader`] over a fixed set of items (tests, and
/// evaluating a snapshot through the same path the functions use). It knows the service-API facts
/// it is given, and no others.
#[derive(Debug, Default)]
pub struct MemoryReader {
    items: Vec<ConfigurationItem>,
    facts: Vec<(ResourceKey, LiveFacts)>,
}

impl MemoryReader {
    /// A reader over `items` that knows no service-API facts.
    pub fn new(items: Vec<ConfigurationItem>) -> Self {
        Self {
            items,
            facts: Vec::new(),
        }
    }

    /// The same reader, knowing `facts` of the resource `key`.
    #[must_use]
    pub fn with_facts(mut self, key: ResourceKey, facts: LiveFacts) -> Self {
        self.facts.push((key, facts));
        self
    }
}

impl FactReader for MemoryReader {
    async fn facts(&self, items: &[ConfigurationItem]) -> Result<Vec<(usize, LiveFacts)>, PortError> {
        Ok(items
            .iter()
            .enumerate()
            .flat_map(|(n, i)| {
                self.facts
                    .iter()
                    .filter(|(k, _)| k.resource_type == i.resource_type && k.resource_id == i.resource_id)
                    .map(move |(_, f)| (n, f.clone()))
            })
            .collect())
    }
}

impl ConfigReader for MemoryReader {
    async fn batch_get(&self, keys: &[ResourceKey]) -> Result<Vec<ConfigurationItem>, PortError> {
        Ok(self
            .items
            .iter()
            .filter(|i| {
                keys.iter()
                    .any(|k| k.resource_type == i.resource_type && k.resource_id == i.resource_id)
            })
            .cloned()
            .collect())
    }

    async fn select(&self, lookup: &Lookup) -> Result<Vec<ResourceKey>, PortError> {
        Ok(self
            .items
            .iter()
            .filter(|i| lookup.matches(i))
            .map(|i| ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()))
            .collect())
    }

    async fn latest(&self, key: &ResourceKey) -> Result<Option<ConfigurationItem>, PortError> {
        Ok(self.batch_get(std::slice::from_ref(key)).await?.into_iter().next())
    }

    /// Pages of at most 100, as SelectResourceConfig's; the token is an offset.
    async fn list_page(
        &self,
        resource_type: &'static str,
        limit: usize,
        token: Option<String>,
    ) -> Result<(Vec<ResourceKey>, Option<String>), PortError> {
        let page_size = limit.clamp(1, 100);
        let from: usize = match token {
            Some(t) => t.parse().map_err(|_| PortError {
                operation: "list_page",
                message: "invalid next token".into(),
                retryable: false,
            })?,
            None => 0,
        };
        let all = self.select(&Lookup::AllOfType(resource_type)).await?;
        let page: Vec<ResourceKey> = all.iter().skip(from).take(page_size).cloned().collect();
        let next = (from + page_size < all.len()).then(|| (from + page_size).to_string());
        Ok((page, next))
    }
}

/// A [`Continuation`] that counts its hand-offs (the tests of paged runs: each one is to be
/// followed by another invocation with the same event).
#[derive(Debug, Default)]
pub struct CountingContinuation(pub std::sync::atomic::AtomicUsize);

impl Continuation for CountingContinuation {
    async fn hand_off(&self) -> Result<(), PortError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// A configuration reader whose service-API facts are all unknown: for evaluating what AWS
/// Config alone shows (a snapshot, or a test of configuration only). The checks that need a fact
/// then report INSUFFICIENT_DATA. The deployed functions never use it: their wiring reads facts
/// from the service APIs (`aws::facts::LiveReader`).
#[derive(Debug, Clone)]
pub struct WithoutFacts<R>(pub R);

impl<R: ConfigReader> ConfigReader for WithoutFacts<R> {
    async fn batch_get(&self, keys: &[ResourceKey]) -> Result<Vec<ConfigurationItem>, PortError> {
        self.0.batch_get(keys).await
    }

    async fn select(&self, lookup: &Lookup) -> Result<Vec<ResourceKey>, PortError> {
        self.0.select(lookup).await
    }

    async fn latest(&self, key: &ResourceKey) -> Result<Option<ConfigurationItem>, PortError> {
        self.0.latest(key).await
    }

    async fn list_page(
        &self,
        resource_type: &'static str,
        limit: usize,
        token: Option<String>,
    ) -> Result<(Vec<ResourceKey>, Option<String>), PortError> {
        self.0.list_page(resource_type, limit, token).await
    }
}

impl<R: Sync> FactReader for WithoutFacts<R> {
    async fn facts(&self, _: &[ConfigurationItem]) -> Result<Vec<(usize, LiveFacts)>, PortError> {
        Ok(Vec::new())
    }
}

/// What a [`MemoryStore`] holds.
#[derive(Debug, Default)]
struct Tables {
    results: HashMap<EvalKey, Recorded>,
    outbox: Vec<PendingTransition>,
    history: Vec<PendingTransition>,
    plans: BTreeMap<(String, String, Plan), (PlanReadiness, Option<PlanStatus>)>,
    rollup_versions: HashMap<String, u64>,
    progress: HashMap<String, String>,
    reported: HashMap<(String, ReportedResource), LastReport>,
    folds: usize,
}

/// The state store in memory, with the DynamoDB adapter's semantics: per resource, only new or
/// changed results are written and never over a newer capture; every compliance transition gets
/// a history row and an outbox row until it is marked published; readiness rows remember the
/// status last announced.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panicking test thread cannot leave the tables half-written: every write below is
        // one statement over owned values.
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many times an account's results were read whole ([`ResultStore::fold_results`]).
    pub fn folds(&self) -> usize {
        self.lock().folds
    }

    /// Every transition ever recorded, oldest first.
    pub fn history(&self) -> Vec<PendingTransition> {
        self.lock().history.clone()
    }

    /// Transitions recorded but not marked published.
    pub fn outbox(&self) -> Vec<PendingTransition> {
        self.lock().outbox.clone()
    }

    /// The recorded result of one resource × check.
    pub fn result(&self, resource_type: &str, resource_id: &str, check_id: &str) -> Option<Recorded> {
        self.lock()
            .results
            .iter()
            .find(|(k, _)| k.resource_type == resource_type && k.resource_id == resource_id && k.check_id == check_id)
            .map(|(_, r)| r.clone())
    }
}

fn resource_of(k: &EvalKey) -> (&str, &str, &str, &str) {
    (&k.account_id, &k.aws_region, &k.resource_type, &k.resource_id)
}

fn resource_evaluated(e: &Evaluation) -> (&str, &str, &str, &str) {
    (&e.account_id, &e.aws_region, &e.resource_type, &e.resource_id)
}

impl ResultStore for MemoryStore {
    async fn record(
        &self,
        evaluations: &[Evaluation],
        delivery: &Delivery,
    ) -> Result<Vec<PendingTransition>, PortError> {
        // One writer at a time here: no result can come from older evidence than the recorded one.
        let origin = delivery.origin.as_str();
        let now: DateTime<Utc> = Utc::now();
        let mut t = self.lock();
        let resources: BTreeSet<(&str, &str, &str, &str)> = evaluations.iter().map(resource_evaluated).collect();
        for resource in &resources {
            let previous: HashMap<EvalKey, Recorded> = t
                .results
                .iter()
                .filter(|(k, _)| resource_of(k) == *resource)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let evals: Vec<Evaluation> = evaluations
                .iter()
                .filter(|e| resource_evaluated(e) == *resource)
                .cloned()
                .collect();
            let d = state::diff(&previous, &evals, &BTreeSet::new(), None);
            for (k, rec) in d.upserts {
                t.results.insert(k, rec);
            }
            for transition in d.transitions {
                let p = PendingTransition {
                    transition,
                    at: now,
                    origin: origin.to_owned(),
                };
                t.history.push(p.clone());
                t.outbox.push(p);
            }
        }
        let mut pending: Vec<PendingTransition> = t
            .outbox
            .iter()
            .filter(|p| resources.contains(&resource_of(&p.transition.key)) && p.to_publish(origin, now))
            .cloned()
            .collect();
        pending.sort_by(|a, b| (&a.transition.key, a.at).cmp(&(&b.transition.key, b.at)));
        Ok(pending)
    }

    async fn mark_published(&self, transitions: &[PendingTransition]) -> Result<(), PortError> {
        self.lock().outbox.retain(|p| !transitions.contains(p));
        Ok(())
    }

    async fn account_results(&self, account: &str) -> Result<Vec<Evaluation>, PortError> {
        let mut out: Vec<Evaluation> = self
            .lock()
            .results
            .iter()
            .filter(|(k, _)| k.account_id == account)
            .map(|(k, r)| r.clone().into_evaluation(k.clone()))
            .collect();
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }

    async fn reported(&self, rule: &str, resources: &[ReportedResource]) -> Result<Vec<Option<LastReport>>, PortError> {
        let t = self.lock();
        Ok(resources
            .iter()
            .map(|r| t.reported.get(&(rule.to_owned(), r.clone())).cloned())
            .collect())
    }

    async fn mark_reported(&self, rule: &str, reports: &[(ReportedResource, LastReport)]) -> Result<(), PortError> {
        let mut t = self.lock();
        for (r, l) in reports {
            t.reported.insert((rule.to_owned(), r.clone()), l.clone());
        }
        Ok(())
    }

    async fn progress(&self, run: &str) -> Result<Option<String>, PortError> {
        Ok(self.lock().progress.get(run).cloned())
    }

    async fn advance(&self, run: &str, from: Option<&str>, to: &str) -> Result<bool, PortError> {
        let mut t = self.lock();
        if t.progress.get(run).map(String::as_str) != from {
            return Ok(false);
        }
        t.progress.insert(run.to_owned(), to.to_owned());
        Ok(true)
    }

    async fn written_at(&self, _: &EvalKey) -> Result<Option<DateTime<Utc>>, PortError> {
        // Results in memory carry no write time (nor does `fold_results`).
        Ok(None)
    }

    async fn fold_results<F: FnMut(Evaluation, Option<DateTime<Utc>>) + Send>(
        &self,
        account: &str,
        mut f: F,
    ) -> Result<(), PortError> {
        self.lock().folds += 1;
        for e in self.account_results(account).await? {
            f(e, None);
        }
        Ok(())
    }
}

fn digest(p: &PlanReadiness) -> String {
    format!(
        "{:?}",
        (
            p.status,
            &p.blockers,
            p.blocker_count,
            &p.unverified,
            p.unverified_count
        )
    )
}

impl ReadinessStore for MemoryStore {
    async fn plan_rows(&self, account: &str) -> Result<PlanRows, PortError> {
        let t = self.lock();
        Ok(PlanRows {
            version: t.rollup_versions.get(account).copied().unwrap_or(0),
            rows: t
                .plans
                .iter()
                .filter(|((a, _, _), _)| a == account)
                .map(|((_, region, plan), (p, announced))| {
                    (
                        (region.clone(), *plan),
                        PlanRow {
                            status: p.status,
                            announced: *announced,
                            digest: digest(p),
                        },
                    )
                })
                .collect(),
        })
    }

    async fn record_plans(
        &self,
        account: &str,
        plans: &[PlanReadiness],
        read: &PlanRows,
    ) -> Result<Option<Vec<PlanTransition>>, PortError> {
        let mut t = self.lock();
        let version = t.rollup_versions.entry(account.to_owned()).or_default();
        if *version != read.version {
            return Ok(None);
        }
        *version += 1;
        let mut out = Vec::new();
        for p in plans.iter().filter(|p| p.account_id == account) {
            let key = (p.account_id.clone(), p.aws_region.clone(), p.plan);
            let announced = t.plans.get(&key).and_then(|(_, a)| *a);
            t.plans.insert(key, (p.clone(), announced));
            if announced != Some(p.status) {
                out.push(PlanTransition {
                    account_id: p.account_id.clone(),
                    aws_region: p.aws_region.clone(),
                    plan: p.plan,
                    previous: announced,
                    current: p.status,
                });
            }
        }
        Ok(Some(out))
    }

    async fn mark_plans_announced(&self, transitions: &[PlanTransition]) -> Result<(), PortError> {
        let mut t = self.lock();
        for tr in transitions {
            let key = (tr.account_id.clone(), tr.aws_region.clone(), tr.plan);
            // A newer rollup may have changed the status since: it announces that itself.
            if let Some((p, announced)) = t.plans.get_mut(&key) {
                if p.status == tr.current {
                    *announced = Some(tr.current);
                }
            }
        }
        Ok(())
    }
}

impl ReadinessReader for MemoryStore {
    async fn readiness(&self) -> Result<Vec<ReadinessRow>, PortError> {
        Ok(self
            .lock()
            .plans
            .values()
            .map(|(p, _)| ReadinessRow {
                account_id: p.account_id.clone(),
                aws_region: p.aws_region.clone(),
                plan: p.plan,
                status: p.status,
                blockers: p.blockers.clone(),
                blocker_count: p.blocker_count,
                unverified: p.unverified_count,
            })
            .collect())
    }

    async fn results(&self, account: &str) -> Result<Vec<Evaluation>, PortError> {
        self.account_results(account).await
    }

    async fn changes(&self, since: DateTime<Utc>) -> Result<Vec<state::RecordedChange>, PortError> {
        // Readiness transitions are not kept in memory, only their announcements.
        Ok(self
            .lock()
            .history
            .iter()
            .filter(|p| p.at >= since)
            .map(|p| {
                let t = &p.transition;
                state::RecordedChange {
                    at: p.at,
                    account_id: t.key.account_id.to_string(),
                    aws_region: t.key.aws_region.to_string(),
                    plan: t.plan,
                    result: Some((
                        t.key.resource_type.to_string(),
                        t.key.resource_id.to_string(),
                        t.key.check_id.to_string(),
                    )),
                    previous: t.previous.map_or("", |c| c.as_str()).to_owned(),
                    current: t.current.map_or("", |c| c.as_str()).to_owned(),
                }
            })
            .collect())
    }
}

/// Keeps every event it is asked to publish.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    events: Mutex<Vec<OutboundEvent>>,
}

impl MemoryPublisher {
    /// Everything published so far.
    pub fn events(&self) -> Vec<OutboundEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PortError> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(events);
        Ok(())
    }
}

/// Keeps every PutEvaluations call: the result token, test mode and the evaluations.
#[derive(Debug, Default)]
pub struct MemoryReporter {
    calls: Mutex<Vec<(String, bool, Vec<ConfigEvaluation>)>>,
}

impl MemoryReporter {
    /// Every call so far.
    pub fn calls(&self) -> Vec<(String, bool, Vec<ConfigEvaluation>)> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl EvaluationReporter for MemoryReporter {
    async fn put(
        &self,
        result_token: &str,
        test_mode: bool,
        evaluations: &[ConfigEvaluation],
    ) -> Result<Vec<ConfigEvaluation>, PortError> {
        if evaluations.len() > crate::contracts::config_rule::PUT_EVALUATIONS_MAX {
            return Err(PortError {
                operation: "config:PutEvaluations",
                message: format!("{} evaluations in one call (at most 100)", evaluations.len()),
                retryable: false,
            });
        }
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((result_token.to_owned(), test_mode, evaluations.to_vec()));
        Ok(Vec::new())
    }
}

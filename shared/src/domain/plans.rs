//! Defender plans, their dependency graph and the per account × region × plan readiness rollup.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::settings::Settings;
use crate::domain::vocab::{Compliance, Evaluation, Plan, Text, GLOBAL_REGION};

/// Readiness of a plan in one account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanStatus {
    /// Every gating prerequisite is verified, none NON_COMPLIANT, and the plans it needs are ready.
    Ready,
    /// At least one gating prerequisite is NON_COMPLIANT, or a plan it needs is blocked.
    Blocked,
    /// Nothing blocks it, but the input could not verify some gating prerequisite (listed in
    /// `unverified` with why), or a plan it needs is unverified. Not READY.
    Unverified,
    /// The plan is not declared, or nothing in this region is in its scope.
    NotApplicable,
}

impl PlanStatus {
    /// Every status.
    pub const ALL: [PlanStatus; 4] = [
        PlanStatus::Ready,
        PlanStatus::Unverified,
        PlanStatus::Blocked,
        PlanStatus::NotApplicable,
    ];

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::Blocked => "BLOCKED",
            Self::Unverified => "UNVERIFIED",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// Why a plan is blocked: a NON_COMPLIANT check on a resource, or a blocked plan it needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase", tag = "kind")]
pub enum Blocker {
    /// A check is NON_COMPLIANT.
    #[serde(rename = "check")]
    Check {
        /// The check id.
        check_id: Text,
        /// The resource type.
        resource_type: Text,
        /// The resource id.
        resource_id: Text,
        /// Why.
        annotation: Text,
    },
    /// A plan this one needs is blocked in the same account and region.
    #[serde(rename = "plan")]
    Plan {
        /// The blocked plan.
        plan: Plan,
    },
}

/// A gating check the input could not decide, or a plan needed that is unverified: shown and
/// serialized as one line (`checkId resourceType resourceId: why`, `plan <plan>: unverified`),
/// ordered as that line, and held as the results' own shared texts (a large account has a
/// hundred thousand of them: a line each was a fifth of its scan's memory).
#[derive(Clone)]
pub enum Unverified {
    /// A gating check the input could not decide, and why.
    Check {
        /// The check id.
        check_id: Text,
        /// The resource type.
        resource_type: Text,
        /// The resource id.
        resource_id: Text,
        /// Why.
        annotation: Text,
    },
    /// A plan this one needs is unverified in the same account and region.
    Plan(Plan),
    /// A line as written elsewhere.
    Line(Text),
}

impl Unverified {
    /// The pieces of its line.
    fn pieces(&self) -> [&str; 7] {
        match self {
            Self::Check {
                check_id,
                resource_type,
                resource_id,
                annotation,
            } => [check_id, " ", resource_type, " ", resource_id, ": ", annotation],
            Self::Plan(plan) => ["plan ", plan.as_str(), ": unverified", "", "", "", ""],
            Self::Line(line) => [line, "", "", "", "", "", ""],
        }
    }

    /// The texts it holds from the accounts (to make them safe to print).
    pub fn texts_mut(&mut self) -> Vec<&mut Text> {
        match self {
            Self::Check {
                check_id,
                resource_type,
                resource_id,
                annotation,
            } => vec![check_id, resource_type, resource_id, annotation],
            Self::Plan(_) => Vec::new(),
            Self::Line(line) => vec![line],
        }
    }

    /// Whether its line holds a control character.
    pub fn has_control(&self) -> bool {
        self.pieces().iter().any(|p| p.chars().any(char::is_control))
    }
}

/// Compares the concatenations of `a` and `b` as strings are compared, without building them.
fn cmp_joined(a: &[&str], b: &[&str]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let mut a = a.iter().map(|s| s.as_bytes()).filter(|s| !s.is_empty());
    let mut b = b.iter().map(|s| s.as_bytes()).filter(|s| !s.is_empty());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        if x.is_empty() {
            x = match a.next() {
                Some(next) => next,
                None if y.is_empty() && b.next().is_none() => return Ordering::Equal,
                None => return Ordering::Less,
            };
        }
        if y.is_empty() {
            y = match b.next() {
                Some(next) => next,
                None => return Ordering::Greater,
            };
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            Ordering::Equal => (x, y) = (&x[n..], &y[n..]),
            other => return other,
        }
    }
}

impl Ord for Unverified {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_joined(&self.pieces(), &other.pieces())
    }
}

impl PartialOrd for Unverified {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Unverified {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Unverified {}

impl PartialEq<str> for Unverified {
    fn eq(&self, other: &str) -> bool {
        cmp_joined(&self.pieces(), &[other]).is_eq()
    }
}

impl PartialEq<&str> for Unverified {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for Unverified {
    fn eq(&self, other: &String) -> bool {
        *self == **other
    }
}

impl std::fmt::Display for Unverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pieces().iter().try_for_each(|p| f.write_str(p))
    }
}

impl std::fmt::Debug for Unverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl From<&str> for Unverified {
    fn from(line: &str) -> Self {
        Self::Line(line.into())
    }
}

impl From<String> for Unverified {
    fn from(line: String) -> Self {
        Self::Line(line.into())
    }
}

impl Serialize for Unverified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Unverified {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Text::deserialize(d).map(Self::Line)
    }
}

/// A recorded readiness, as stores keep it (the unverified checks as a count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessRow {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// READY / BLOCKED / NOT_APPLICABLE.
    pub status: PlanStatus,
    /// Why it is blocked (all of it, or the first ones a store keeps).
    pub blockers: Vec<Blocker>,
    /// How many blockers there are in all.
    pub blocker_count: usize,
    /// How many checks the input could not decide.
    pub unverified: usize,
}

/// The rollup of one plan in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReadiness {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub aws_region: String,
    /// The plan.
    pub plan: Plan,
    /// READY / BLOCKED / NOT_APPLICABLE.
    pub status: PlanStatus,
    /// Why it is blocked (empty unless BLOCKED): all of it, or the first ones when the rollup
    /// keeps a bounded number ([`AccountRollup::new`]).
    pub blockers: Vec<Blocker>,
    /// How many blockers there are in all (the stores and events carry it; not in the CLI's
    /// JSON, which lists them all).
    #[serde(skip)]
    pub blocker_count: usize,
    /// Gating checks the input could not decide, and why (`checkId resourceType resourceId: why`),
    /// and the plans it needs that are unverified (`plan <plan>: unverified`); all or the first
    /// ones, like `blockers`.
    pub unverified: Vec<Unverified>,
    /// How many unverified checks there are in all (like `blocker_count`).
    #[serde(skip)]
    pub unverified_count: usize,
    /// Distinct resources with a NON_COMPLIANT result of this plan (gating or not) in this region
    /// or global.
    #[serde(skip)]
    pub non_compliant_resources: usize,
}

/// Rolls evaluations up per account × region × plan. Regions are those with regional items;
/// account-level and IAM (`global`) results count in every region of their account. A region's
/// plan is NOT_APPLICABLE when the plan is not declared, or (for plans other than the connector)
/// when no regional resource is in its scope. Only gating checks ([`crate::domain::checks::Check::gating`])
/// block a plan or leave it UNVERIFIED. Every blocker and unverified check is listed.
pub fn rollup(
    evaluations: &[Evaluation],
    regions_by_account: &BTreeMap<String, Vec<String>>,
    settings: &Settings,
) -> Vec<PlanReadiness> {
    let mut accounts: BTreeMap<&str, AccountRollup> = regions_by_account
        .keys()
        .map(|a| (a.as_str(), AccountRollup::new(None)))
        .collect();
    for e in evaluations {
        if let Some(acc) = accounts.get_mut(e.account_id.as_str()) {
            acc.add(e);
        }
    }
    let mut out = Vec::new();
    for (account, regions) in regions_by_account {
        if let Some(acc) = accounts.remove(account.as_str()) {
            out.extend(acc.finish(account, regions, settings));
        }
    }
    out
}

/// One account's readiness, folded a result at a time so that an account of any size is rolled
/// up in memory bounded by what is kept: with a `cap`, the first `cap` blockers and unverified
/// checks (in their sorted order) of each region × plan, and the counts of all of them.
#[derive(Debug)]
pub struct AccountRollup {
    cap: Option<usize>,
    acc: BTreeMap<(Text, Plan), Acc>,
    regions: BTreeSet<Text>,
}

#[derive(Default, Debug)]
struct Acc {
    blockers: Kept<Blocker>,
    blocker_count: usize,
    unverified: Kept<Unverified>,
    unverified_count: usize,
    in_scope: bool,
    /// Resources with a NON_COMPLIANT result (type, id), counted once each.
    non_compliant: Kept<(Text, Text)>,
}

/// The smallest `cap` distinct values added (all of them without a cap), gathered as they come
/// and put in order when taken, or whenever twice the cap has come: the same values as a sorted
/// set trimmed on each insert, in a third less memory and without a tree insert per value (a
/// large account's rollup folds six hundred thousand results).
#[derive(Debug)]
struct Kept<T> {
    values: Vec<T>,
    cap: Option<usize>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            cap: None,
        }
    }
}

impl<T: Ord> Kept<T> {
    fn with_cap(cap: Option<usize>) -> Self {
        Self {
            values: Vec::new(),
            cap,
        }
    }

    fn add(&mut self, value: T) {
        self.values.push(value);
        if self.cap.is_some_and(|c| self.values.len() >= 2 * c.max(1)) {
            self.settle();
        }
    }

    /// In order, each once, trimmed to the cap.
    fn settle(&mut self) {
        self.values.sort_unstable();
        self.values.dedup();
        if let Some(c) = self.cap {
            self.values.truncate(c);
        }
    }

    /// The distinct values, in order.
    fn into_sorted(mut self) -> Vec<T> {
        self.settle();
        self.values
    }

    /// How many distinct values there are (all of them: without a cap).
    fn distinct(&mut self) -> usize {
        self.settle();
        self.values.len()
    }
}

impl Acc {
    fn with_cap(cap: Option<usize>) -> Self {
        Self {
            blockers: Kept::with_cap(cap),
            unverified: Kept::with_cap(cap),
            ..Self::default()
        }
    }

    /// Adds what another accumulator (the account's global results) holds.
    fn absorb(&mut self, other: &Acc) {
        for b in &other.blockers.values {
            self.blockers.add(b.clone());
        }
        for u in &other.unverified.values {
            self.unverified.add(u.clone());
        }
        self.blocker_count += other.blocker_count;
        self.unverified_count += other.unverified_count;
        self.non_compliant
            .values
            .extend(other.non_compliant.values.iter().cloned());
    }
}

impl AccountRollup {
    /// An empty rollup keeping at most `cap` blockers and unverified checks per region × plan
    /// (`None`: all of them).
    pub fn new(cap: Option<usize>) -> Self {
        Self {
            cap,
            acc: BTreeMap::new(),
            regions: BTreeSet::new(),
        }
    }

    /// Folds one recorded result in (each resource × check once).
    pub fn add(&mut self, e: &Evaluation) {
        if e.aws_region != GLOBAL_REGION && !self.regions.contains(&e.aws_region) {
            self.regions.insert(e.aws_region.clone());
        }
        let key = (e.aws_region.clone(), e.plan);
        let cap = self.cap;
        let a = self.acc.entry(key).or_insert_with(|| Acc::with_cap(cap));
        if e.aws_region != GLOBAL_REGION && e.compliance != Compliance::NotApplicable {
            a.in_scope = true;
        }
        if e.compliance == Compliance::NonCompliant {
            a.non_compliant.add((e.resource_type.clone(), e.resource_id.clone()));
        }
        // Azure not read at all: the `azure.*` results say so and gate nothing.
        let gating = crate::domain::checks::by_id(&e.check_id).is_none_or(|c| c.gating)
            && !(e.compliance == Compliance::InsufficientData
                && e.annotation.starts_with(crate::domain::azure::NOT_READ));
        match e.compliance {
            _ if !gating => {}
            Compliance::NonCompliant => {
                a.blocker_count += 1;
                a.blockers.add(Blocker::Check {
                    check_id: e.check_id.clone(),
                    resource_type: e.resource_type.clone(),
                    resource_id: e.resource_id.clone(),
                    annotation: e.annotation.clone(),
                });
            }
            Compliance::InsufficientData => {
                a.unverified_count += 1;
                a.unverified.add(Unverified::Check {
                    check_id: e.check_id.clone(),
                    resource_type: e.resource_type.clone(),
                    resource_id: e.resource_id.clone(),
                    annotation: e.annotation.clone(),
                });
            }
            _ => {}
        }
    }

    /// The regions the account has regional results in (the global pseudo-region only when
    /// there is nothing else).
    pub fn regions(&self) -> Vec<String> {
        if self.regions.is_empty() {
            vec![GLOBAL_REGION.to_owned()]
        } else {
            self.regions.iter().map(|r| r.as_str().to_owned()).collect()
        }
    }

    /// The readiness of `account` in each of `regions`.
    pub fn finish(mut self, account: &str, regions: &[String], settings: &Settings) -> Vec<PlanReadiness> {
        let settings = &*settings.for_account(account);
        let global: BTreeMap<Plan, Acc> = Plan::ALL
            .into_iter()
            .filter_map(|p| self.acc.remove(&(Text::from(GLOBAL_REGION), p)).map(|a| (p, a)))
            .collect();
        let mut out = Vec::new();
        for region in regions {
            let mut statuses: BTreeMap<Plan, PlanStatus> = BTreeMap::new();
            for plan in Plan::ALL {
                let mut a = self
                    .acc
                    .remove(&(Text::from(region), plan))
                    .unwrap_or_else(|| Acc::with_cap(self.cap));
                if let Some(g) = global.get(&plan) {
                    a.absorb(g);
                }
                let non_compliant_resources = a.non_compliant.distinct();
                let mut blockers: Vec<Blocker> = a.blockers.into_sorted();
                let mut blocker_count = a.blocker_count;
                let mut unverified: Vec<Unverified> = a.unverified.into_sorted();
                let mut unverified_count = a.unverified_count;
                if let Some(req) = plan.requires() {
                    match statuses.get(&req) {
                        Some(PlanStatus::Blocked) => {
                            blockers.insert(0, Blocker::Plan { plan: req });
                            blocker_count += 1;
                        }
                        Some(PlanStatus::Unverified) => {
                            unverified.insert(0, Unverified::Plan(req));
                            unverified_count += 1;
                        }
                        _ => {}
                    }
                }
                if let Some(c) = self.cap {
                    blockers.truncate(c);
                    unverified.truncate(c);
                }
                let status = if !settings.plan_declared(plan) || (plan != Plan::Cspm && !a.in_scope) {
                    blockers.clear();
                    unverified.clear();
                    blocker_count = 0;
                    unverified_count = 0;
                    PlanStatus::NotApplicable
                } else if blocker_count > 0 {
                    PlanStatus::Blocked
                } else if unverified_count > 0 {
                    PlanStatus::Unverified
                } else {
                    PlanStatus::Ready
                };
                statuses.insert(plan, status);
                out.push(PlanReadiness {
                    account_id: account.to_owned(),
                    aws_region: region.clone(),
                    plan,
                    status,
                    blockers,
                    blocker_count,
                    unverified,
                    unverified_count,
                    non_compliant_resources,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(check: &str, id: &str, c: Compliance) -> Evaluation {
        let plan = check.split('.').next().and_then(Plan::parse).unwrap_or(Plan::Cspm);
        let account = matches!(plan, Plan::Cspm);
        Evaluation {
            account_id: "111122223333".into(),
            aws_region: if account { GLOBAL_REGION } else { "us-east-1" }.into(),
            resource_type: if account {
                "AWS::::Account"
            } else {
                "AWS::EC2::Instance"
            }
            .into(),
            resource_id: id.into(),
            check_id: check.into(),
            plan,
            compliance: c,
            annotation: format!("why {check}").into(),
            capture_time: None,
        }
    }

    fn status(evals: &[Evaluation], plan: Plan) -> (PlanStatus, Vec<String>) {
        let regions = BTreeMap::from([("111122223333".to_owned(), vec!["us-east-1".to_owned()])]);
        let p = rollup(evals, &regions, &Settings::default())
            .into_iter()
            .find(|p| p.plan == plan)
            .unwrap_or_else(|| panic!("no {plan} row"));
        (p.status, p.unverified.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn ready_means_verified_and_unverified_says_what_and_why() {
        use Compliance::{Compliant, InsufficientData, NonCompliant};
        let verified = [
            ev("cspm.monitor-role", "111122223333", Compliant),
            ev("servers.instance-profile", "i-1", Compliant),
        ];
        assert_eq!(status(&verified, Plan::Cspm).0, PlanStatus::Ready);
        assert_eq!(status(&verified, Plan::Servers).0, PlanStatus::Ready);

        let unknown_role = [
            ev("cspm.monitor-role", "111122223333", InsufficientData),
            ev("servers.instance-profile", "i-1", Compliant),
        ];
        let (s, why) = status(&unknown_role, Plan::Cspm);
        assert_eq!(s, PlanStatus::Unverified);
        assert_eq!(
            why,
            ["cspm.monitor-role AWS::::Account 111122223333: why cspm.monitor-role"]
        );
        // A plan that needs an unverified plan is not READY either.
        let (s, why) = status(&unknown_role, Plan::Servers);
        assert_eq!(
            (s, why),
            (PlanStatus::Unverified, vec!["plan cspm: unverified".to_owned()])
        );

        // NON_COMPLIANT wins over unverified.
        let blocked = [
            ev("servers.instance-profile", "i-1", NonCompliant),
            ev("servers.ssm-agent-online", "i-1", InsufficientData),
        ];
        assert_eq!(status(&blocked, Plan::Servers).0, PlanStatus::Blocked);
    }

    #[test]
    fn an_unverified_check_is_ordered_compared_and_written_as_its_line() {
        let check = |c: &str, t: &str, id: &str, why: &str| Unverified::Check {
            check_id: c.into(),
            resource_type: t.into(),
            resource_id: id.into(),
            annotation: why.into(),
        };
        // Pieces that are prefixes of one another, and texts that hold the separators.
        let all = [
            check("servers.ssm", "AWS::EC2::Instance", "i-1", "why"),
            check("servers.ssm", "AWS::EC2::Instance", "i-1 x", "why"),
            check("servers.ssm", "AWS::EC2::Instance", "i-1:", "z"),
            check("servers.ssm", "AWS::EC2::Instance", "i-1", "why not"),
            check("servers.ssm", "AWS::EC2::Instance", "i-1", ""),
            check("servers.ssm-agent", "AWS::EC2::Instance", "i-1", "why"),
            check("servers.ssm", "AWS::EC2::Instance:", "i-1", "why"),
            check("", "", "", ""),
            Unverified::Plan(Plan::Cspm),
            Unverified::from("plan cspm: unverified"),
            Unverified::from("servers.ssm AWS::EC2::Instance i-1: why"),
            Unverified::from("plan"),
            Unverified::from(""),
        ];
        for a in &all {
            for b in &all {
                let (la, lb) = (a.to_string(), b.to_string());
                assert_eq!(a.cmp(b), la.cmp(&lb), "{la:?} against {lb:?}");
                assert_eq!(a == b, la == lb, "{la:?} against {lb:?}");
            }
            assert_eq!(*a, a.to_string());
            assert_eq!(
                serde_json::to_value(a).ok(),
                Some(serde_json::Value::from(a.to_string()))
            );
        }
        assert_eq!(
            all[0].to_string(),
            "servers.ssm AWS::EC2::Instance i-1: why",
            "checkId resourceType resourceId: why"
        );
        assert_eq!(Unverified::Plan(Plan::Sql).to_string(), "plan sql: unverified");
    }

    #[test]
    fn advisory_checks_gate_nothing() {
        use Compliance::{Compliant, InsufficientData, NonCompliant};
        let evals = [
            ev("cspm.monitor-role", "111122223333", Compliant),
            ev("oss.applicable", "db-1", Compliant),
            ev("oss.cw-exports", "db-1", InsufficientData),
        ];
        assert_eq!(status(&evals, Plan::Oss), (PlanStatus::Ready, Vec::new()));
        let quota = [
            ev("cspm.monitor-role", "111122223333", Compliant),
            ev("oss.applicable", "db-1", Compliant),
            ev("oss.quota", "db-1", NonCompliant),
        ];
        assert_eq!(status(&quota, Plan::Oss).0, PlanStatus::Ready);
    }
}

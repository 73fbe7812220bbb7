//! Accepted exceptions: a suppressions file naming results a team has looked at and accepted,
//! each with a reason and an expiry date.
//!
//! A suppression never changes a result: evaluations, plan statuses and what the store records
//! stay as the checks found them. It is a layer over the outputs: every output marks a suppressed
//! result as such (with the reason and the date), every plan row says what its status would be
//! with the accepted results set aside, and the exit status (`--fail-on-blocked`,
//! `--fail-on-unverified`) follows that accepted status. A plan whose only blockers are accepted
//! is still shown BLOCKED, with "accepted" beside it: READY is said only of what was verified.
//! An expired entry is not applied, and is named in the notes and on standard error.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use shared::domain::engine::ScanResult;
use shared::domain::plans::{self, PlanReadiness, PlanStatus};
use shared::domain::settings::Settings;
use shared::domain::vocab::{Evaluation, Plan, GLOBAL_REGION};

/// One accepted exception, as the file has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Check id, or a pattern (`*` matches any run of characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Resource id pattern (the id AWS Config records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Account id pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Region pattern (account-level and IAM results are in region `global`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Why the result is accepted.
    pub reason: String,
    /// The last day the entry applies (UTC).
    pub expires: chrono::NaiveDate,
}

/// The suppressions file's entries.
#[derive(Debug, Default)]
pub struct Suppressions {
    entries: Vec<Entry>,
    source: String,
}

/// What a file's `[[suppress]]` table may hold.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    check: Option<String>,
    resource: Option<String>,
    account: Option<String>,
    region: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppress: Vec<RawEntry>,
}

impl Suppressions {
    /// Reads and checks a suppressions file (TOML: `[[suppress]]` tables).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("suppressions file {name}: {e}"))?;
        Self::parse(&text, &name)
    }

    /// Parses suppressions text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let first = e.to_string();
            let first = first
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            format!("suppressions file {source}: not valid: {first}")
        })?;
        let mut entries = Vec::with_capacity(raw.suppress.len());
        for (i, r) in raw.suppress.into_iter().enumerate() {
            let at = |what: &str| format!("suppressions file {source}: entry {}: {what}", i + 1);
            if r.check.is_none() && r.resource.is_none() && r.account.is_none() {
                return Err(at(
                    "names no check, resource or account, so it would accept every result; give at least one",
                ));
            }
            let reason = r
                .reason
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| at("has no reason; say why the result is accepted (reason = \"...\")"))?;
            let expires = match r.expires {
                None => {
                    return Err(at(
                        "has no expiry date; add expires = 2027-01-31 (the last day it applies)",
                    ))
                }
                Some(v) => date(&v).ok_or_else(|| at("expires is not a date like 2027-01-31"))?,
            };
            if let Some(c) = &r.check {
                if !c.contains('*') && shared::domain::checks::by_id(c).is_none() {
                    return Err(at(&format!(
                        "check {c:?} is no check id; `defender-prereqs checks` lists them (or use a pattern with *)"
                    )));
                }
            }
            entries.push(Entry {
                check: r.check,
                resource: r.resource,
                account: r.account,
                region: r.region,
                reason,
                expires,
            });
        }
        Ok(Self {
            entries,
            source: source.to_owned(),
        })
    }

    /// The entries in force on `today`, and a note for each expired one.
    fn in_force(&self, today: chrono::NaiveDate) -> (Vec<(usize, &Entry)>, Vec<String>) {
        let mut live = Vec::new();
        let mut notes = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if e.expires < today {
                notes.push(format!(
                    "suppression {} of {} expired on {} and is not applied: {}",
                    i + 1,
                    self.source,
                    e.expires,
                    describe(e)
                ));
            } else {
                live.push((i, e));
            }
        }
        (live, notes)
    }

    /// Marks the results the entries in force on `today` accept, and each plan row's status
    /// with them set aside, a part of the scan at a time ([`Applying::add`]: whole accounts,
    /// before any display filter), so that a scan need not keep every account's results to
    /// apply the file.
    pub fn applying(&self, today: chrono::NaiveDate) -> Applying<'_> {
        let (live, notes) = self.in_force(today);
        Applying {
            suppressions: self,
            used: vec![false; self.entries.len()],
            live,
            applied: Applied {
                entries: self.entries.clone(),
                marks: HashMap::new(),
                accepted: HashMap::new(),
                notes,
            },
        }
    }
}

/// Suppressions being applied to a scan's parts (see [`Suppressions::applying`]).
pub struct Applying<'a> {
    suppressions: &'a Suppressions,
    live: Vec<(usize, &'a Entry)>,
    used: Vec<bool>,
    applied: Applied,
}

impl Applying<'_> {
    /// Applies the file to whole accounts' results and plan rows.
    pub fn add(&mut self, result: &ScanResult, settings: &Settings) {
        let (live, used) = (&self.live, &mut self.used);
        let marks = &mut self.applied.marks;
        let mut marked = false;
        let mut kept: Vec<Evaluation> = Vec::with_capacity(result.evaluations.len());
        for e in &result.evaluations {
            match live.iter().find(|(_, s)| matches(s, e)) {
                Some((i, _)) => {
                    used[*i] = true;
                    marks.insert(key_of(e), *i);
                    marked = true;
                }
                None => kept.push(e.clone()),
            }
        }
        if !marked {
            return;
        }
        let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in &result.plans {
            let r = regions.entry(p.account_id.clone()).or_default();
            if !r.contains(&p.aws_region) {
                r.push(p.aws_region.clone());
            }
        }
        let mut without = plans::rollup(&kept, &regions, settings);
        let by_place: HashMap<(&str, &str, Plan), &PlanReadiness> = result
            .plans
            .iter()
            .map(|p| ((p.account_id.as_str(), p.aws_region.as_str(), p.plan), p))
            .collect();
        for w in without.drain(..) {
            if let Some(p) = by_place.get(&(w.account_id.as_str(), w.aws_region.as_str(), w.plan)) {
                let blockers = p.blockers.len().saturating_sub(w.blockers.len());
                let unverified = p.unverified.len().saturating_sub(w.unverified.len());
                if w.status != p.status || blockers > 0 || unverified > 0 {
                    self.applied.accepted.insert(
                        (w.account_id.clone(), w.aws_region.clone(), w.plan),
                        Accepted {
                            status: w.status,
                            blockers,
                            unverified,
                        },
                    );
                }
            }
        }
    }

    /// What is applied so far (its notes not yet said): the marks of the parts added.
    pub fn current(&self) -> &Applied {
        &self.applied
    }

    /// What was applied, with a note for each entry in force that matched no result.
    pub fn finish(mut self) -> Applied {
        for (i, e) in &self.live {
            if !self.used[*i] {
                self.applied.notes.push(format!(
                    "suppression {} of {} matches no result: {}",
                    i + 1,
                    self.suppressions.source,
                    describe(e)
                ));
            }
        }
        self.applied
    }
}

/// A result's identity: account, region, check, resource type, resource id.
type Key = (String, String, String, String, String);

fn key_of(e: &Evaluation) -> Key {
    (
        e.account_id.as_str().to_owned(),
        e.aws_region.as_str().to_owned(),
        e.check_id.as_str().to_owned(),
        e.resource_type.as_str().to_owned(),
        e.resource_id.as_str().to_owned(),
    )
}

/// A plan row with its accepted results set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The status the row would have without the accepted results.
    pub status: PlanStatus,
    /// Blockers accepted.
    pub blockers: usize,
    /// Unverified checks accepted.
    pub unverified: usize,
}

/// The suppressions applied to one scan.
#[derive(Debug, Default)]
pub struct Applied {
    entries: Vec<Entry>,
    marks: HashMap<Key, usize>,
    accepted: HashMap<(String, String, Plan), Accepted>,
    /// Expired entries, and entries that matched nothing.
    pub notes: Vec<String>,
}

impl Applied {
    /// The entry accepting this result, if any.
    pub fn evaluation(&self, e: &Evaluation) -> Option<&Entry> {
        self.result(
            &e.account_id,
            &e.aws_region,
            &e.check_id,
            &e.resource_type,
            &e.resource_id,
        )
    }

    /// The entry accepting the result of `check_id` on a resource, seen from a plan row in
    /// `region` (account-level and IAM results are recorded under `global`).
    pub fn result(
        &self,
        account: &str,
        region: &str,
        check_id: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Option<&Entry> {
        if self.marks.is_empty() {
            return None;
        }
        let at = |r: &str| {
            let k = (
                account.to_owned(),
                r.to_owned(),
                check_id.to_owned(),
                resource_type.to_owned(),
                resource_id.to_owned(),
            );
            self.marks.get(&k).and_then(|i| self.entries.get(*i))
        };
        at(region).or_else(|| at(GLOBAL_REGION))
    }

    /// The row's status with its accepted results set aside, when they change anything.
    pub fn plan(&self, p: &PlanReadiness) -> Option<Accepted> {
        self.accepted
            .get(&(p.account_id.clone(), p.aws_region.clone(), p.plan))
            .copied()
    }

    /// The status the exit code follows: the accepted one where there is one.
    pub fn status(&self, p: &PlanReadiness) -> PlanStatus {
        self.plan(p).map_or(p.status, |a| a.status)
    }

    /// How many results were accepted.
    pub fn count(&self) -> usize {
        self.marks.len()
    }
}

/// What an output says of a suppressed result.
#[derive(serde::Serialize)]
pub struct Mark<'a> {
    /// Why.
    pub reason: &'a str,
    /// The last day it applies.
    pub expires: chrono::NaiveDate,
}

impl<'a> From<&'a Entry> for Mark<'a> {
    fn from(e: &'a Entry) -> Self {
        Self {
            reason: &e.reason,
            expires: e.expires,
        }
    }
}

fn matches(s: &Entry, e: &Evaluation) -> bool {
    let field = |pattern: &Option<String>, value: &str| pattern.as_deref().is_none_or(|p| glob(p, value));
    field(&s.check, &e.check_id)
        && field(&s.resource, &e.resource_id)
        && field(&s.account, &e.account_id)
        && field(&s.region, &e.aws_region)
}

fn describe(e: &Entry) -> String {
    let mut parts = Vec::new();
    for (name, v) in [
        ("check", &e.check),
        ("resource", &e.resource),
        ("account", &e.account),
        ("region", &e.region),
    ] {
        if let Some(v) = v {
            parts.push(format!("{name} {v}"));
        }
    }
    format!("{} ({})", parts.join(", "), e.reason)
}

/// A TOML date (`2027-01-31`) or a string holding one.
fn date(v: &toml::Value) -> Option<chrono::NaiveDate> {
    match v {
        toml::Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d
            .date
            .and_then(|d| chrono::NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))),
        _ => None,
    }
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_nothing_else() {
        assert!(glob("i-0abc*", "i-0abc123"));
        assert!(glob("*", ""));
        assert!(glob("servers.*", "servers.ssm-agent-online"));
        assert!(glob("*agent*", "servers.ssm-agent-online"));
        assert!(!glob("servers.*", "sql.servers-chain"));
        assert!(!glob("i-0abc", "i-0abc123"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn entries_need_a_target_a_reason_a_date_and_a_real_check() {
        let ok = Suppressions::parse(
            "[[suppress]]\ncheck = \"servers.*\"\nreason = \"lab\"\nexpires = 2027-01-31\n[[suppress]]\naccount = \"1*\"\nreason = \"x\"\nexpires = \"2027-02-01\"\n",
            "s.toml",
        )
        .unwrap();
        assert_eq!(ok.entries.len(), 2);
        assert_eq!(
            ok.entries[1].expires,
            chrono::NaiveDate::from_ymd_opt(2027, 2, 1).unwrap()
        );
        for (text, says) in [
            (
                "[[suppress]]\nreason = \"r\"\nexpires = 2027-01-31\n",
                "names no check, resource or account",
            ),
            ("[[suppress]]\naccount = \"1\"\nexpires = 2027-01-31\n", "has no reason"),
            ("[[suppress]]\naccount = \"1\"\nreason = \"r\"\n", "has no expiry date"),
            (
                "[[suppress]]\naccount = \"1\"\nreason = \"r\"\nexpires = \"soon\"\n",
                "not a date",
            ),
            (
                "[[suppress]]\ncheck = \"servers.agent\"\nreason = \"r\"\nexpires = 2027-01-31\n",
                "is no check id",
            ),
            ("[[suppress]]\nacount = \"1\"\n", "not valid"),
        ] {
            let e = Suppressions::parse(text, "s.toml").unwrap_err();
            assert!(e.contains(says) && e.starts_with("suppressions file s.toml"), "{e}");
        }
    }
}

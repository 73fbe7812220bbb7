//! What a scan prints beyond the text report: the filters every output honours, and the
//! streaming exports of evaluations (JSON Lines, CSV) for inputs too large to read on a screen.

use std::io::Write;

use clap::ValueEnum;
use shared::domain::engine::ScanResult;
use shared::domain::plans::{Blocker, PlanReadiness, PlanStatus};
use shared::domain::state::{PlanTransition, Transition};
use shared::domain::vocab::{Compliance, Evaluation, Plan, GLOBAL_REGION};

use crate::names::Names;
use crate::suppress::{Accepted, Applied, Mark};

/// A compliance value on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// COMPLIANT.
    Compliant,
    /// NON_COMPLIANT.
    NonCompliant,
    /// INSUFFICIENT_DATA.
    InsufficientData,
    /// NOT_APPLICABLE.
    NotApplicable,
}

impl Only {
    fn compliance(self) -> Compliance {
        match self {
            Self::Compliant => Compliance::Compliant,
            Self::NonCompliant => Compliance::NonCompliant,
            Self::InsufficientData => Compliance::InsufficientData,
            Self::NotApplicable => Compliance::NotApplicable,
        }
    }
}

/// A plan status on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// READY.
    Ready,
    /// BLOCKED.
    Blocked,
    /// UNVERIFIED.
    Unverified,
    /// NOT_APPLICABLE.
    NotApplicable,
}

impl Status {
    fn status(self) -> PlanStatus {
        match self {
            Self::Ready => PlanStatus::Ready,
            Self::Blocked => PlanStatus::Blocked,
            Self::Unverified => PlanStatus::Unverified,
            Self::NotApplicable => PlanStatus::NotApplicable,
        }
    }
}

/// What to show. Empty lists mean everything. Filters choose what is shown and exported, never
/// what is evaluated or recorded.
#[derive(Default)]
pub struct Filter {
    /// Plans.
    pub plans: Vec<Plan>,
    /// Account ids.
    pub accounts: Vec<String>,
    /// Regions (account-level and IAM results, recorded under `global`, count in every region).
    pub regions: Vec<String>,
    /// Plan statuses (plan rows).
    pub statuses: Vec<Status>,
    /// Compliance values (evaluations).
    pub only: Vec<Only>,
}

impl Filter {
    fn place(&self, account: &str, region: &str, plan: Plan) -> bool {
        (self.plans.is_empty() || self.plans.contains(&plan))
            && (self.accounts.is_empty() || self.accounts.iter().any(|a| a == account))
            && (self.regions.is_empty() || region == GLOBAL_REGION || self.regions.iter().any(|r| r == region))
    }

    /// Whether a plan row is shown.
    pub fn plan(&self, p: &PlanReadiness) -> bool {
        self.place(&p.account_id, &p.aws_region, p.plan)
            && (self.statuses.is_empty() || self.statuses.iter().any(|s| s.status() == p.status))
    }

    /// Whether an evaluation is shown.
    pub fn evaluation(&self, e: &Evaluation) -> bool {
        self.place(&e.account_id, &e.aws_region, e.plan)
            && (self.only.is_empty() || self.only.iter().any(|o| o.compliance() == e.compliance))
    }

    /// Whether a change is shown.
    pub fn transition(&self, t: &Transition) -> bool {
        self.place(&t.key.account_id, &t.key.aws_region, t.plan)
    }

    /// Whether a readiness change is shown.
    pub fn plan_transition(&self, t: &PlanTransition) -> bool {
        self.place(&t.account_id, &t.aws_region, t.plan)
            && (self.statuses.is_empty() || self.statuses.iter().any(|s| s.status() == t.current))
    }

    /// Whether anything is filtered.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
            && self.accounts.is_empty()
            && self.regions.is_empty()
            && self.statuses.is_empty()
            && self.only.is_empty()
    }

    /// The part of `result` shown.
    pub fn apply(&self, result: ScanResult) -> ScanResult {
        if self.is_empty() {
            return result;
        }
        ScanResult {
            evaluations: result.evaluations.into_iter().filter(|e| self.evaluation(e)).collect(),
            plans: result.plans.into_iter().filter(|p| self.plan(p)).collect(),
            azure: result
                .azure
                .into_iter()
                .filter(|a| self.accounts.is_empty() || self.accounts.contains(&a.account_id))
                .collect(),
            ..result
        }
    }
}

/// The JSON output, serialized from borrowed parts (never copied into a JSON tree).
#[derive(serde::Serialize)]
pub struct Document<'a> {
    /// Evaluations shown, each with `suppressed` when an accepted exception covers it.
    pub evaluations: Marked<'a, Evaluation>,
    /// Plan rows shown, each with `accepted` when accepted exceptions change it.
    pub plans: Marked<'a, PlanReadiness>,
    /// What changed (recorded scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes<'a>>,
    /// What could not be read (with --keep-going).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<&'a [String]>,
    /// What the inputs cannot show.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
    /// Per account, the Azure half beside the AWS half (when Azure was read).
    #[serde(skip_serializing_if = "<[shared::domain::engine::AzureView]>::is_empty")]
    pub azure: &'a [shared::domain::engine::AzureView],
}

/// The `changes` member.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes<'a> {
    /// Start time of the previous scan.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Compliance changes shown.
    pub transitions: Vec<&'a Transition>,
    /// Readiness changes shown.
    pub plan_transitions: Vec<&'a PlanTransition>,
    /// Input items older than what was recorded.
    pub stale: usize,
}

/// Rows of one kind with what the suppressions file says of each (nothing without one).
pub struct Marked<'a, T> {
    /// The rows.
    pub rows: &'a [T],
    /// The suppressions applied, if a file was given.
    pub applied: Option<&'a Applied>,
    /// Resource names beside ids.
    pub names: Option<&'a Names>,
}

/// An evaluation and, when an accepted exception covers it, `suppressed: {reason, expires}`.
#[derive(serde::Serialize)]
struct MarkedEvaluation<'a> {
    #[serde(flatten)]
    evaluation: &'a Evaluation,
    /// The name AWS Config records (or an instance's Name tag), where it is not the id.
    #[serde(rename = "resourceName", skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<Mark<'a>>,
}

/// A plan row and, when accepted exceptions change it, `accepted: {status, blockers, unverified}`.
#[derive(serde::Serialize)]
struct MarkedPlan<'a> {
    #[serde(flatten)]
    plan: &'a PlanReadiness,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<Accepted>,
}

fn marked_evaluation<'a>(
    evaluation: &'a Evaluation,
    applied: Option<&'a Applied>,
    names: Option<&'a Names>,
) -> MarkedEvaluation<'a> {
    MarkedEvaluation {
        evaluation,
        resource_name: names.and_then(|n| {
            n.get(
                &evaluation.account_id,
                &evaluation.resource_type,
                &evaluation.resource_id,
            )
        }),
        suppressed: applied.and_then(|a| a.evaluation(evaluation)).map(Mark::from),
    }
}

impl serde::Serialize for Marked<'_, Evaluation> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.rows.iter().map(|e| marked_evaluation(e, self.applied, self.names)))
    }
}

impl serde::Serialize for Marked<'_, PlanReadiness> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.rows.iter().map(|p| MarkedPlan {
            plan: p,
            accepted: self.applied.and_then(|a| a.plan(p)),
        }))
    }
}

/// Writes the JSON output's `evaluations` entries, each preceded by a comma unless `first`
/// (then no longer first): the entries of the document's list, written as they come.
pub fn write_json_rows(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    names: Option<&Names>,
    first: &mut bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for e in evaluations {
        if !std::mem::take(first) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &marked_evaluation(e, applied, names))?;
    }
    Ok(())
}

/// Writes the JSON output's `plans` entries as [`write_json_rows`] writes its evaluations.
pub fn write_json_plans(
    plans: &[PlanReadiness],
    applied: Option<&Applied>,
    first: &mut bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for p in plans {
        if !std::mem::take(first) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(
            &mut *out,
            &MarkedPlan {
                plan: p,
                accepted: applied.and_then(|a| a.plan(p)),
            },
        )?;
    }
    Ok(())
}

/// The start of the JSON document ([`Document`]) up to its `evaluations` entries.
pub const JSON_START: &str = r#"{"evaluations":["#;

/// The start of the JSON document with no evaluations and no plans: the rest of a document
/// whose entries were written apart follows it.
pub const JSON_EMPTY_START: &str = r#"{"evaluations":[],"plans":[]"#;

/// Writes one JSON object per evaluation and line (the JSON output's `evaluations` entries).
pub fn write_jsonl(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    names: Option<&Names>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for e in evaluations {
        serde_json::to_writer(&mut *out, &marked_evaluation(e, applied, names))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The CSV columns (with a suppressions file, a last column `suppressed`: the reason and the
/// expiry date of the accepted exception covering the result).
pub const CSV_HEADER: &str = "accountId,awsRegion,plan,checkId,resourceType,resourceId,compliance,annotation";

/// Writes the evaluations as CSV (RFC 4180: fields with a comma, quote or line break quoted).
/// A field a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or
/// carriage return) is prefixed with `'`, and a field holding `;` is quoted (a spreadsheet set to
/// a semicolon-separated locale splits an unquoted one there, and the part after it could be a
/// formula; OWASP, "CSV Injection"): resource names and tags come from the accounts scanned.
pub fn write_csv(evaluations: &[Evaluation], applied: Option<&Applied>, out: &mut impl Write) -> std::io::Result<()> {
    write_csv_header(applied.is_some(), out)?;
    write_csv_rows(evaluations, applied, out)?;
    out.flush()
}

/// The CSV header line ([`write_csv`]), with the `suppressed` column when a suppressions file
/// is applied.
pub fn write_csv_header(suppressions: bool, out: &mut impl Write) -> std::io::Result<()> {
    if suppressions {
        writeln!(out, "{CSV_HEADER},suppressed")
    } else {
        writeln!(out, "{CSV_HEADER}")
    }
}

/// The CSV rows of `evaluations` ([`write_csv`]).
pub fn write_csv_rows(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    for e in evaluations {
        let fields = [
            e.account_id.as_str(),
            e.aws_region.as_str(),
            e.plan.as_str(),
            e.check_id.as_str(),
            e.resource_type.as_str(),
            e.resource_id.as_str(),
            e.compliance.as_str(),
            e.annotation.as_str(),
        ];
        let mut line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        if let Some(a) = applied {
            line.push(csv_field(
                &a.evaluation(e)
                    .map(|s| format!("{} (until {})", s.reason, s.expires))
                    .unwrap_or_default(),
            ));
        }
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

/// Writes plan readiness as JUnit XML, valid against Jenkins' JUnit schema (junit-4.xsd: a
/// `<skipped>` carries its reason as text, and only suites count skipped tests): a suite per account and region, a test case per plan. BLOCKED is a
/// `<failure>` listing its blockers; UNVERIFIED and NOT_APPLICABLE are `<skipped>` with why;
/// READY passes. Text from the accounts is XML-escaped, control characters dropped.
///
/// With a suppressions file, a row's accepted status decides: a BLOCKED plan whose every blocker
/// is accepted is skipped ("BLOCKED, every blocker accepted"), and accepted blockers are marked.
pub fn write_junit(plans: &[PlanReadiness], applied: Option<&Applied>, out: &mut impl Write) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    let mut suites: BTreeMap<(&str, &str), Vec<&PlanReadiness>> = BTreeMap::new();
    for p in plans {
        suites.entry((&p.account_id, &p.aws_region)).or_default().push(p);
    }
    let status = |p: &PlanReadiness| applied.map_or(p.status, |a| a.status(p));
    // A failure is a row still blocked once accepted blockers are set aside; every other row
    // that is not READY is skipped (a blocked row whose blockers are all accepted included).
    let failures = |ps: &[&PlanReadiness]| ps.iter().filter(|p| status(p) == PlanStatus::Blocked).count();
    let skipped = |ps: &[&PlanReadiness]| {
        ps.iter()
            .filter(|p| p.status != PlanStatus::Ready && status(p) != PlanStatus::Blocked)
            .count()
    };
    let all: Vec<&PlanReadiness> = plans.iter().collect();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="defender-prereqs" tests="{}" failures="{}">"#,
        all.len(),
        failures(&all),
    )?;
    for ((account, region), ps) in &suites {
        writeln!(
            out,
            r#"  <testsuite name="{} {}" tests="{}" failures="{}" skipped="{}">"#,
            xml(account),
            xml(region),
            ps.len(),
            failures(ps),
            skipped(ps)
        )?;
        for p in ps {
            let name = format!(
                r#"name="{}" classname="{}.{}""#,
                xml(p.plan.as_str()),
                xml(account),
                xml(region)
            );
            let lines: Vec<String> = p
                .blockers
                .iter()
                .map(|b| match b {
                    Blocker::Check {
                        check_id,
                        resource_type,
                        resource_id,
                        annotation,
                    } => {
                        let accepted = applied
                            .and_then(|a| a.result(account, region, check_id, resource_type, resource_id))
                            .map(|s| format!(" [accepted until {}: {}]", s.expires, s.reason))
                            .unwrap_or_default();
                        format!("{check_id} {resource_type} {resource_id}: {annotation}{accepted}")
                    }
                    Blocker::Plan { plan } => format!("requires plan {}, which is blocked", plan.as_str()),
                })
                .collect();
            match p.status {
                PlanStatus::Ready => writeln!(out, "    <testcase {name}/>")?,
                PlanStatus::Blocked if status(p) != PlanStatus::Blocked => writeln!(
                    out,
                    r#"    <testcase {name}><skipped>BLOCKED, every blocker accepted (accepted status {}): {}</skipped></testcase>"#,
                    status(p).as_str(),
                    xml(&lines.join("; "))
                )?,
                PlanStatus::Blocked => {
                    writeln!(
                        out,
                        r#"    <testcase {name}><failure type="BLOCKED" message="{} blocker(s)">{}</failure></testcase>"#,
                        p.blocker_count.max(p.blockers.len()),
                        xml(&lines.join("\n"))
                    )?;
                }
                PlanStatus::Unverified => writeln!(
                    out,
                    r#"    <testcase {name}><skipped>UNVERIFIED: {}</skipped></testcase>"#,
                    xml(&p
                        .unverified
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "))
                )?,
                PlanStatus::NotApplicable => {
                    writeln!(
                        out,
                        r#"    <testcase {name}><skipped>NOT_APPLICABLE</skipped></testcase>"#
                    )?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// Text as XML character data or an attribute value: escaped as for HTML (`&<>"'`), a line break
/// as a character reference, other control characters dropped (XML 1.0 cannot carry them).
fn xml(s: &str) -> String {
    let kept: String = s.chars().filter(|c| *c == '\n' || !c.is_control()).collect();
    crate::html::esc(&kept).replace('\n', "&#10;")
}

fn csv_field(f: &str) -> String {
    let guarded = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{f}")
    } else {
        f.to_owned()
    };
    if guarded.contains([',', ';', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        // Semicolon locales split unquoted fields at `;`: quoted, the formula stays inside.
        assert_eq!(csv_field("name;=HYPERLINK(\"x\")"), "\"name;=HYPERLINK(\"\"x\"\")\"");
    }
}

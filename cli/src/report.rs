//! The human-readable report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use console::Style;
use shared::domain::checks;
use shared::domain::engine::ScanResult;
use shared::domain::plans::{Blocker, PlanStatus};
use shared::domain::state::Transition;
use shared::domain::vocab::{Compliance, Plan, GLOBAL_REGION};

use crate::mirror::Coverage;
use crate::store::Recording;

/// What the text report shows besides the scan itself.
pub struct ReportInput<'a> {
    /// Name of the input.
    pub source: &'a str,
    /// Snapshot id, if any.
    pub snapshot_id: Option<&'a str>,
    /// What the store recorded (None with --no-store).
    pub recording: Option<&'a Recording>,
    /// Items skipped with --keep-going, as messages.
    pub errors: &'a [String],
    /// One line per input (what it was, how many items).
    pub inputs: &'a [String],
    /// Account → the regions (`global` for IAM) with a complete recording, where absence counts.
    pub complete: &'a BTreeMap<String, Vec<String>>,
    /// What the inputs cannot show (a live read's limits).
    pub notes: &'a [String],
    /// Accepted exceptions, when a suppressions file was given.
    pub applied: Option<&'a crate::suppress::Applied>,
    /// Resource names beside ids.
    pub names: Option<&'a crate::names::Names>,
    /// List unverified checks and every transition.
    pub verbose: bool,
    /// Counts per account × plan and the top blockers instead of every blocker.
    pub summary: bool,
    /// The command line that produced the report, to suggest narrower ones.
    pub command: &'a str,
    /// The results by compliance, where they were counted as they came instead of kept (the
    /// result then holds none).
    pub counted: Option<&'a BTreeMap<Compliance, usize>>,
    /// The summary's blockers, tallied as the accounts came (the plan rows may then hold none;
    /// see [`BlockerTally`]).
    pub tally: &'a BlockerTally,
}

/// What the summary says of blockers (each check's distinct blocked resources and their
/// accounts) and how many lines the full report would print, tallied a part at a time, so that
/// the plan rows of an organization need not keep every blocker once the report is known to
/// be a summary. Each account's rows come in one part.
#[derive(Debug, Default)]
pub struct BlockerTally {
    /// Blocker lines the full report would print.
    pub lines: usize,
    /// Check id -> (distinct resources it blocks, accounts they are in).
    checks: BTreeMap<String, (usize, usize)>,
}

impl BlockerTally {
    /// Adds whole accounts' plan rows.
    pub fn add(&mut self, plans: &[shared::domain::plans::PlanReadiness]) {
        self.lines += plans.iter().map(|p| p.blockers.len()).sum::<usize>();
        // Distinct resources per blocking check (an account-level result blocks every region).
        let mut blocked: BTreeMap<&str, BTreeSet<(&str, &str, &str)>> = BTreeMap::new();
        for p in plans {
            for b in &p.blockers {
                if let Blocker::Check {
                    check_id,
                    resource_type,
                    resource_id,
                    ..
                } = b
                {
                    blocked
                        .entry(check_id)
                        .or_default()
                        .insert((&p.account_id, resource_type, resource_id));
                }
            }
        }
        for (id, resources) in blocked {
            let accounts = resources.iter().map(|r| r.0).collect::<BTreeSet<_>>().len();
            let (r, a) = self.checks.entry(id.to_owned()).or_default();
            *r += resources.len();
            *a += accounts;
        }
    }

    /// The tally of plan rows that keep every blocker.
    pub fn of(plans: &[shared::domain::plans::PlanReadiness]) -> Self {
        let mut tally = Self::default();
        tally.add(plans);
        tally
    }
}

/// Blocker lines above which the text report is a summary unless --full.
pub const SUMMARY_ABOVE: usize = 60;

fn status_style(s: PlanStatus) -> (Style, &'static str) {
    match s {
        PlanStatus::Ready => (Style::new().green().bold(), "✔"),
        PlanStatus::Blocked => (Style::new().red().bold(), "✘"),
        PlanStatus::Unverified => (Style::new().yellow().bold(), "?"),
        PlanStatus::NotApplicable => (Style::new().dim(), "–"),
    }
}

fn compliance_style(c: Option<Compliance>) -> Style {
    match c {
        Some(Compliance::Compliant) => Style::new().green(),
        Some(Compliance::NonCompliant) => Style::new().red(),
        Some(Compliance::InsufficientData) => Style::new().yellow(),
        _ => Style::new().dim(),
    }
}

/// Renders the report.
/// `s` as it may be printed on a terminal: control characters (ESC and CSI, which start escape
/// sequences, carriage returns, line breaks) written as `\u{1b}`. Resource ids, names, tags and
/// annotations come from the accounts scanned.
pub fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    shared::domain::error::printable(s)
}

fn make_safe<T: std::ops::Deref<Target = str> + From<String>>(s: &mut T) {
    if let std::borrow::Cow::Owned(o) = safe(s) {
        *s = o.into();
    }
}

fn any_control<S: AsRef<str>>(mut strings: impl Iterator<Item = S>) -> bool {
    strings.any(|s| s.as_ref().chars().any(char::is_control))
}

/// The result with every string from the accounts made [`safe`] (borrowed when none needs it).
fn safe_result(result: &ScanResult) -> std::borrow::Cow<'_, ScanResult> {
    fn blockers(p: &shared::domain::plans::PlanReadiness) -> Vec<&str> {
        p.blockers
            .iter()
            .flat_map(|b| match b {
                Blocker::Check {
                    check_id,
                    resource_type,
                    resource_id,
                    annotation,
                } => vec![&**check_id, resource_type, resource_id, annotation],
                Blocker::Plan { .. } => vec![],
            })
            .collect()
    }
    let needed = result.evaluations.iter().any(|e| {
        any_control(
            [
                &e.account_id,
                &e.aws_region,
                &e.resource_type,
                &e.resource_id,
                &e.annotation,
            ]
            .into_iter(),
        )
    }) || result.plans.iter().any(|p| {
        any_control([p.account_id.as_str(), &p.aws_region].into_iter().chain(blockers(p)))
            || p.unverified.iter().any(shared::domain::plans::Unverified::has_control)
    }) || result.azure.iter().any(|v| {
        any_control(
            [&v.account_id, &v.connector]
                .into_iter()
                .chain(&v.azure_features)
                .chain(&v.azure_roles)
                .chain(&v.overridden_by_settings)
                .chain(&v.aws_readiness)
                .chain(&v.missing),
        )
    });
    if !needed {
        return std::borrow::Cow::Borrowed(result);
    }
    let mut r = result.clone();
    for e in &mut r.evaluations {
        for s in [
            &mut e.account_id,
            &mut e.aws_region,
            &mut e.resource_type,
            &mut e.resource_id,
            &mut e.annotation,
        ] {
            make_safe(s);
        }
    }
    for p in &mut r.plans {
        make_safe(&mut p.account_id);
        make_safe(&mut p.aws_region);
        p.unverified
            .iter_mut()
            .flat_map(shared::domain::plans::Unverified::texts_mut)
            .for_each(make_safe);
        for b in &mut p.blockers {
            if let Blocker::Check {
                check_id,
                resource_type,
                resource_id,
                annotation,
            } = b
            {
                for s in [check_id, resource_type, resource_id, annotation] {
                    make_safe(s);
                }
            }
        }
    }
    for v in &mut r.azure {
        make_safe(&mut v.account_id);
        make_safe(&mut v.connector);
        for list in [
            &mut v.azure_features,
            &mut v.azure_roles,
            &mut v.overridden_by_settings,
            &mut v.aws_readiness,
            &mut v.missing,
        ] {
            list.iter_mut().for_each(make_safe);
        }
    }
    std::borrow::Cow::Owned(r)
}

/// The recording with every string from the accounts made [`safe`] (None: none needs it).
fn safe_recording(rec: &Recording) -> Option<Recording> {
    let needed = rec.diff.transitions.iter().any(|t| {
        any_control(
            [
                &t.key.account_id,
                &t.key.aws_region,
                &t.key.resource_type,
                &t.key.resource_id,
                &t.annotation,
            ]
            .into_iter(),
        )
    }) || rec
        .plan_transitions
        .iter()
        .any(|t| any_control([&t.account_id, &t.aws_region].into_iter()));
    if !needed {
        return None;
    }
    let mut diff = shared::domain::state::Diff {
        transitions: rec.diff.transitions.clone(),
        stale: rec.diff.stale,
        ..Default::default()
    };
    for t in &mut diff.transitions {
        for s in [
            &mut t.key.account_id,
            &mut t.key.aws_region,
            &mut t.key.resource_type,
            &mut t.key.resource_id,
            &mut t.annotation,
        ] {
            make_safe(s);
        }
    }
    let mut plan_transitions = rec.plan_transitions.clone();
    for t in &mut plan_transitions {
        make_safe(&mut t.account_id);
        make_safe(&mut t.aws_region);
    }
    Some(Recording {
        previous_scan: rec.previous_scan,
        diff,
        plan_transitions,
    })
}

/// The text report. Every string from the inputs, the accounts and the store is printed
/// [`safe`]: a resource id or tag cannot move the cursor, retitle the terminal or forge a line.
pub fn render(result: &ScanResult, input: &ReportInput<'_>) -> String {
    let result = safe_result(result);
    let recording = input.recording.and_then(safe_recording);
    let lines = |v: &[String]| -> Vec<String> { v.iter().map(|s| safe(s).into_owned()).collect() };
    let (errors, inputs, notes) = (lines(input.errors), lines(input.inputs), lines(input.notes));
    let complete: BTreeMap<String, Vec<String>> = input
        .complete
        .iter()
        .map(|(a, r)| (safe(a).into_owned(), lines(r)))
        .collect();
    let source = safe(input.source);
    let snapshot_id = input.snapshot_id.map(safe);
    let command = safe(input.command);
    render_safe(
        &result,
        &ReportInput {
            source: &source,
            snapshot_id: snapshot_id.as_deref(),
            recording: recording.as_ref().or(input.recording),
            errors: &errors,
            inputs: &inputs,
            complete: &complete,
            notes: &notes,
            applied: input.applied,
            names: input.names,
            verbose: input.verbose,
            summary: input.summary,
            command: &command,
            counted: input.counted,
            tally: input.tally,
        },
    )
}

fn render_safe(result: &ScanResult, input: &ReportInput<'_>) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let snap = input
        .snapshot_id
        .map(|s| format!(" (snapshot {s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}{snap}",
        bold.apply_to("defender-prereqs scan of"),
        input.source
    );
    let ignored: usize = result.ignored_types.values().sum();
    let _ = writeln!(
        out,
        "{} configuration items read, {} evaluations{}",
        result.items,
        input
            .counted
            .map_or(result.evaluations.len(), |c| c.values().sum::<usize>()),
        if ignored > 0 {
            format!(
                ", {ignored} items of {} types no check reads",
                result.ignored_types.len()
            )
        } else {
            String::new()
        }
    );
    if input.inputs.len() > 1 || input.verbose {
        for line in input.inputs {
            let _ = writeln!(out, "  {}", dim.apply_to(line));
        }
    }
    let complete = if input.complete.is_empty() {
        "none (the absence of a resource is evidence nowhere)".to_owned()
    } else {
        input
            .complete
            .iter()
            .map(|(a, regions)| format!("{a} {}", regions.join(", ")))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let _ = writeln!(out, "{} {complete}", dim.apply_to("complete recordings:"));
    for n in input.notes {
        let _ = writeln!(out, "{} {n}", Style::new().yellow().apply_to("note:"));
    }
    let mut by_account: BTreeMap<&str, Vec<&shared::domain::plans::PlanReadiness>> = BTreeMap::new();
    for p in &result.plans {
        by_account.entry(&p.account_id).or_default().push(p);
    }
    if input.summary {
        render_summary(&mut out, input.tally, &by_account, input.command);
        by_account.clear();
    }
    // Account-level and IAM results hold in every region: their blockers are shown once per
    // account, not once per region.
    let account_wide = |resource_type: &str| {
        resource_type == shared::domain::vocab::ACCOUNT_TYPE
            || shared::domain::graph::region_key(resource_type, "") == shared::domain::vocab::GLOBAL_REGION
    };
    for (account, plans) in by_account {
        let _ = writeln!(out, "\n{}", bold.apply_to(format!("Account {account}")));
        let mut wide: BTreeMap<(Plan, &str, &str, &str), &str> = BTreeMap::new();
        for p in &plans {
            for b in &p.blockers {
                if let Blocker::Check {
                    check_id,
                    resource_type,
                    resource_id,
                    annotation,
                } = b
                {
                    if account_wide(resource_type) {
                        wide.insert((p.plan, check_id, resource_type, resource_id), annotation);
                    }
                }
            }
        }
        if !wide.is_empty() {
            let _ = writeln!(
                out,
                "  {}",
                bold.apply_to("account-wide (IAM and account-level checks, every region)")
            );
            let mut fixes: BTreeSet<&str> = BTreeSet::new();
            for ((plan, check_id, resource_type, resource_id), annotation) in &wide {
                fixes.insert(check_id);
                let accepted = input
                    .applied
                    .and_then(|a| a.result(account, GLOBAL_REGION, check_id, resource_type, resource_id));
                let name = input.names.and_then(|n| n.get(account, resource_type, resource_id));
                write_blocker(
                    &mut out,
                    Some(*plan),
                    (check_id, resource_type, resource_id, name),
                    annotation,
                    accepted,
                );
            }
            write_fixes(&mut out, fixes);
        }
        let mut region = "";
        // A region's NOT_APPLICABLE plans share one line, after its other plans.
        let mut not_applicable: Vec<Plan> = Vec::new();
        for p in plans {
            if p.aws_region != region {
                write_not_applicable(&mut out, &mut not_applicable);
                region = &p.aws_region;
                let _ = writeln!(out, "  {}", bold.apply_to(region));
            }
            if p.status == PlanStatus::NotApplicable && input.applied.and_then(|a| a.plan(p)).is_none() {
                not_applicable.push(p.plan);
                continue;
            }
            let (style, mark) = status_style(p.status);
            let unverified = if p.unverified.is_empty() {
                String::new()
            } else {
                let n = p.unverified.len();
                format!(
                    "  {}",
                    dim.apply_to(format!(
                        "({n} check{} unverified{})",
                        if n == 1 { "" } else { "s" },
                        if input.verbose { "" } else { "; -v lists them" }
                    ))
                )
            };
            let accepted = match input.applied.and_then(|a| a.plan(p)) {
                Some(a) if a.status != p.status => format!(
                    "  {}",
                    Style::new().cyan().apply_to(format!(
                        "(accepted: {} with {} accepted exception{} set aside)",
                        a.status.as_str(),
                        a.blockers + a.unverified,
                        if a.blockers + a.unverified == 1 { "" } else { "s" }
                    ))
                ),
                Some(a) => format!(
                    "  {}",
                    dim.apply_to(format!("({} accepted exception(s))", a.blockers + a.unverified))
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "    {} {:<11} {:<15} {}{unverified}{accepted}",
                style.apply_to(mark),
                p.plan.as_str(),
                style.apply_to(p.status.as_str()),
                dim.apply_to(p.plan.title())
            );
            let mut fixes: BTreeSet<&str> = BTreeSet::new();
            let wide_here = p
                .blockers
                .iter()
                .filter(|b| matches!(b, Blocker::Check { resource_type, .. } if account_wide(resource_type)))
                .count();
            if wide_here > 0 {
                let _ = writeln!(
                    out,
                    "        {} {wide_here} account-wide blocker{}, listed above",
                    Style::new().red().apply_to("•"),
                    if wide_here == 1 { "" } else { "s" }
                );
            }
            for b in &p.blockers {
                if matches!(b, Blocker::Check { resource_type, .. } if account_wide(resource_type)) {
                    continue;
                }
                match b {
                    Blocker::Plan { plan } => {
                        let _ = writeln!(
                            out,
                            "        {} requires plan {plan}, which is blocked",
                            Style::new().red().apply_to("•")
                        );
                    }
                    Blocker::Check {
                        check_id,
                        resource_type,
                        resource_id,
                        annotation,
                    } => {
                        fixes.insert(check_id);
                        let accepted = input
                            .applied
                            .and_then(|a| a.result(account, &p.aws_region, check_id, resource_type, resource_id));
                        let name = input.names.and_then(|n| n.get(account, resource_type, resource_id));
                        write_blocker(
                            &mut out,
                            None,
                            (check_id, resource_type, resource_id, name),
                            annotation,
                            accepted,
                        );
                    }
                }
            }
            write_fixes(&mut out, fixes);
            if input.verbose {
                for u in &p.unverified {
                    let _ = writeln!(out, "        {} {u}", Style::new().yellow().apply_to("?"));
                }
            }
        }
        write_not_applicable(&mut out, &mut not_applicable);
    }
    render_azure(&mut out, &result.azure);
    let mut counts: BTreeMap<Compliance, usize> = input.counted.cloned().unwrap_or_default();
    for e in &result.evaluations {
        *counts.entry(e.compliance).or_default() += 1;
    }
    let count = |c| counts.get(&c).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} {} compliant, {} non-compliant, {} not applicable, {} insufficient data",
        bold.apply_to("Evaluations:"),
        Style::new().green().apply_to(count(Compliance::Compliant)),
        Style::new().red().apply_to(count(Compliance::NonCompliant)),
        count(Compliance::NotApplicable),
        Style::new().yellow().apply_to(count(Compliance::InsufficientData)),
    );
    if let Some(a) = input.applied {
        let _ = writeln!(
            out,
            "{} {} result{} accepted by the suppressions file (marked ~)",
            bold.apply_to("Accepted exceptions:"),
            a.count(),
            if a.count() == 1 { "" } else { "s" }
        );
    }
    if let Some(rec) = input.recording {
        render_changes(&mut out, rec, input.verbose);
    }
    if !input.errors.is_empty() {
        let _ = writeln!(
            out,
            "\n{} {} not read:",
            Style::new().red().bold().apply_to("Errors:"),
            input.errors.len()
        );
        for e in input.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    out
}

/// `– not applicable: servers, sql` for the plans collected, which are then forgotten.
fn write_not_applicable(out: &mut String, plans: &mut Vec<Plan>) {
    if plans.is_empty() {
        return;
    }
    let names: Vec<&str> = plans.iter().map(|p| p.as_str()).collect();
    let (style, mark) = status_style(PlanStatus::NotApplicable);
    let _ = writeln!(
        out,
        "    {} {}",
        style.apply_to(mark),
        Style::new()
            .dim()
            .apply_to(format!("not applicable: {}", names.join(", ")))
    );
    plans.clear();
}

/// One blocking result: `• [plan] check type id` and, below, why (and the accepted exception
/// covering it, if any).
fn write_blocker(
    out: &mut String,
    plan: Option<Plan>,
    (check_id, resource_type, resource_id, name): (&str, &str, &str, Option<&str>),
    why: &str,
    accepted: Option<&crate::suppress::Entry>,
) {
    let plan = plan
        .map(|p| format!("{} ", Style::new().dim().apply_to(p.as_str())))
        .unwrap_or_default();
    // The name comes from the accounts scanned: escaped like every other text from them.
    let name = name.map(|n| format!(" ({})", safe(n))).unwrap_or_default();
    let _ = writeln!(
        out,
        "        {} {plan}{} {resource_type} {resource_id}{name}\n          {why}",
        if accepted.is_some() {
            Style::new().cyan().apply_to("~")
        } else {
            Style::new().red().apply_to("•")
        },
        Style::new().bold().apply_to(check_id),
    );
    if let Some(s) = accepted {
        let _ = writeln!(
            out,
            "          {}",
            Style::new()
                .cyan()
                .apply_to(format!("accepted until {}: {}", s.expires, safe(&s.reason)))
        );
    }
}

/// The fix of each check, once.
fn write_fixes<'a>(out: &mut String, ids: impl IntoIterator<Item = &'a str>) {
    for id in ids {
        if let Some(c) = checks::by_id(id) {
            let _ = writeln!(
                out,
                "        {} {id}: {}",
                Style::new().cyan().apply_to("fix"),
                c.remediation
            );
        }
    }
}

/// Per account, what Azure says is switched on beside what AWS is missing for it.
fn render_azure(out: &mut String, views: &[shared::domain::engine::AzureView]) {
    if views.is_empty() {
        return;
    }
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let _ = writeln!(out, "\n{}", bold.apply_to("Azure and AWS, side by side"));
    for v in views {
        let _ = writeln!(out, "  {}", bold.apply_to(format!("Account {}", v.account_id)));
        let plans: Vec<String> = v.azure_plans.iter().map(|p| p.as_str().to_owned()).collect();
        let _ = writeln!(out, "    {} connector {}", dim.apply_to("Azure:"), v.connector);
        if !v.azure_plans.is_empty() {
            let _ = writeln!(
                out,
                "           plans {}; features {}; roles named {}",
                list(&plans),
                list(&v.azure_features),
                list(&v.azure_roles)
            );
        }
        if !v.overridden_by_settings.is_empty() {
            let _ = writeln!(
                out,
                "    {} {} (the settings file overrides the connector)",
                Style::new().yellow().apply_to("settings:"),
                v.overridden_by_settings.join(", ")
            );
        }
        if !v.aws_readiness.is_empty() {
            let _ = writeln!(out, "    {}   {}", dim.apply_to("AWS:"), v.aws_readiness.join(" · "));
        }
        for m in &v.missing {
            let _ = writeln!(out, "    {} {m}", Style::new().red().apply_to("missing:"));
        }
    }
}

/// Counts per account × plan, the checks blocking the most resources, and narrower commands.
fn render_summary(
    out: &mut String,
    tally: &BlockerTally,
    by_account: &BTreeMap<&str, Vec<&shared::domain::plans::PlanReadiness>>,
    command: &str,
) {
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let _ = writeln!(
        out,
        "\n{} regions per plan that are {}",
        bold.apply_to("Summary:"),
        dim.apply_to("BLOCKED / UNVERIFIED / READY (not applicable left out)")
    );
    let _ = write!(out, "  {:<14}", "account");
    for plan in Plan::ALL {
        let _ = write!(out, " {:<12}", plan.as_str());
    }
    let _ = writeln!(out);
    for (account, plans) in by_account {
        let _ = write!(out, "  {account:<14}");
        for plan in Plan::ALL {
            let n = |s: PlanStatus| plans.iter().filter(|p| p.plan == plan && p.status == s).count();
            let (b, u, r) = (n(PlanStatus::Blocked), n(PlanStatus::Unverified), n(PlanStatus::Ready));
            let cell = format!("{b}/{u}/{r}");
            let style = if b > 0 {
                Style::new().red()
            } else if u > 0 {
                Style::new().yellow()
            } else {
                Style::new().green()
            };
            let _ = write!(out, " {}", style.apply_to(format!("{cell:<12}")));
        }
        let _ = writeln!(out);
    }
    let mut top: Vec<(&str, usize, usize)> = tally
        .checks
        .iter()
        .map(|(id, (resources, accounts))| (id.as_str(), *resources, *accounts))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !top.is_empty() {
        let _ = writeln!(out, "\n{}", bold.apply_to("Top blockers:"));
    }
    for (id, resources, accounts) in top.iter().take(10) {
        let _ = writeln!(
            out,
            "  {} {} resource{} in {} account{}",
            Style::new().red().apply_to(format!("{:<30}", safe(id))),
            resources,
            if *resources == 1 { "" } else { "s" },
            accounts,
            if *accounts == 1 { "" } else { "s" }
        );
        if let Some(c) = checks::by_id(id) {
            // The first sentence; the full text is in `--full` and `defender-prereqs checks`.
            let fix = c.remediation.split_once(". ").map_or(c.remediation, |(first, _)| first);
            let _ = writeln!(out, "    {} {fix}", Style::new().cyan().apply_to("fix"));
        }
    }
    if top.len() > 10 {
        let _ = writeln!(out, "  … {} more checks block resources", top.len() - 10);
    }
    let account = by_account.keys().next().copied().unwrap_or("ACCOUNT");
    let plan = top
        .first()
        .and_then(|(id, ..)| checks::by_id(id))
        .map_or("servers", |c| c.plan.as_str());
    let _ = writeln!(out, "\n{}", bold.apply_to("Where to look next:"));
    let _ = writeln!(out, "  {command} --account {account} --plan {plan} --full");
    let _ = writeln!(out, "  {command} --only non-compliant --format csv > non-compliant.csv");
    let _ = writeln!(
        out,
        "  defender-prereqs report     {}",
        dim.apply_to("(HTML report of the recorded state)")
    );
}

fn render_changes(out: &mut String, rec: &Recording, verbose: bool) {
    let bold = Style::new().bold();
    let Some(since) = rec.previous_scan else {
        let _ = writeln!(
            out,
            "\n{} first scan recorded; the next scan will report what changed.",
            bold.apply_to("Changes:")
        );
        return;
    };
    let d = &rec.diff;
    let new = d.transitions.iter().filter(|t| t.previous.is_none()).count();
    let removed = d.transitions.iter().filter(|t| t.current.is_none()).count();
    let changed = d.transitions.len() - new - removed;
    let _ = writeln!(
        out,
        "\n{} since {}: {changed} changed, {new} new, {removed} removed{}",
        bold.apply_to("Changes"),
        since.format("%Y-%m-%d %H:%M:%S UTC"),
        if d.stale > 0 {
            format!(", {} older than recorded state (ignored)", d.stale)
        } else {
            String::new()
        }
    );
    for t in &rec.plan_transitions {
        let (style, _) = status_style(t.current);
        let before = t.previous.map_or("(new)", PlanStatus::as_str);
        let _ = writeln!(
            out,
            "  plan {:<11} {} {}: {before} → {}",
            t.plan.as_str(),
            t.account_id,
            t.aws_region,
            style.apply_to(t.current.as_str())
        );
    }
    // Results of a resource that is gone are one line per resource unless --verbose.
    let mut gone: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    if !verbose {
        for t in d.transitions.iter().filter(|t| t.current.is_none()) {
            *gone
                .entry((&t.key.account_id, &t.key.resource_type, &t.key.resource_id))
                .or_default() += 1;
        }
    }
    for ((account, rtype, rid), n) in &gone {
        let _ = writeln!(
            out,
            "  removed {rtype} {rid} in {account} ({n} result{})",
            if *n == 1 { "" } else { "s" }
        );
    }
    let interesting: Vec<&Transition> = d
        .transitions
        .iter()
        .filter(|t| verbose || (t.previous.is_some() && t.current.is_some() && t.previous != t.current))
        .collect();
    const LIMIT: usize = 50;
    for t in interesting.iter().take(if verbose { usize::MAX } else { LIMIT }) {
        let before = t.previous.map_or("(new)", Compliance::as_str);
        let after = t.current.map_or("(gone)", Compliance::as_str);
        let _ = writeln!(
            out,
            "  {} {} {}: {} → {}",
            t.key.check_id,
            t.key.resource_type,
            t.key.resource_id,
            compliance_style(t.previous).apply_to(before),
            compliance_style(t.current).apply_to(after)
        );
    }
    if !verbose && interesting.len() > LIMIT {
        let _ = writeln!(out, "  … {} more (use --verbose)", interesting.len() - LIMIT);
    }
}

/// Account → its regions (`global` for IAM) with a complete recording, with their capture time
/// (once, when they share it).
pub fn complete_regions(coverage: &BTreeMap<(String, String), Coverage>) -> BTreeMap<String, Vec<String>> {
    type Time = Option<chrono::DateTime<chrono::Utc>>;
    let mut by_account: BTreeMap<&str, Vec<(&str, Time)>> = BTreeMap::new();
    for ((account, region), c) in coverage {
        by_account.entry(account).or_default().push((region, c.time));
    }
    let at = |t: Time| {
        t.map(|t| t.format(" (%Y-%m-%d %H:%M UTC)").to_string())
            .unwrap_or_default()
    };
    by_account
        .into_iter()
        .map(|(account, regions)| {
            let shared_time = regions.iter().all(|r| r.1 == regions[0].1);
            let mut names: Vec<String> = regions
                .iter()
                .map(|(r, t)| {
                    if shared_time {
                        (*r).to_owned()
                    } else {
                        format!("{r}{}", at(*t))
                    }
                })
                .collect();
            if let (true, Some(last)) = (shared_time, names.last_mut()) {
                last.push_str(&at(regions[0].1));
            }
            (account.to_owned(), names)
        })
        .collect()
}

/// The plans in order, for listings.
pub fn plan_names() -> String {
    Plan::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

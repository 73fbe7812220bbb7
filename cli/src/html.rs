//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched)
//! with readiness per plan and per account, the blocking resources and how to fix them. Every
//! value from the input is escaped: resource ids, tags and annotations come from the accounts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use shared::domain::checks;
use shared::domain::plans::{Blocker, PlanStatus, ReadinessRow};
use shared::domain::vocab::{Compliance, Evaluation, Plan};

/// Resources listed per check; the rest are counted.
pub const MAX_RESOURCES_PER_CHECK: usize = 200;

/// What the report shows.
pub struct ReportData {
    /// Where the state was read from (table name or database path).
    pub source: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Recorded readiness per account × region × plan.
    pub readiness: Vec<ReadinessRow>,
    /// Recorded results per resource × check.
    pub results: Vec<Evaluation>,
    /// What changed in the last `days` days.
    pub changes: Vec<shared::domain::state::RecordedChange>,
    /// How many days `changes` covers.
    pub days: u32,
}

/// Whether `plan` needs `base`, directly or through the plans it needs.
fn needs(plan: Plan, base: Plan) -> bool {
    let mut p = Some(plan);
    while let Some(q) = p {
        if q == base {
            return true;
        }
        p = q.requires();
    }
    false
}

/// Per failing check, the account × region × plan readiness rows it blocks: its own plan's and
/// those of the plans that need it, where they are BLOCKED (an IAM or account-level result counts
/// in every region of its account).
fn impact<'a>(
    rows: &'a [ReadinessRow],
    failing: &[&'a Evaluation],
) -> BTreeMap<&'a str, BTreeSet<(&'a str, &'a str, Plan)>> {
    let mut out: BTreeMap<&str, BTreeSet<(&str, &str, Plan)>> = BTreeMap::new();
    for e in failing {
        let gating = checks::ALL.iter().find(|c| c.id == e.check_id).is_none_or(|c| c.gating);
        let entry = out.entry(e.check_id.as_str()).or_default();
        if !gating {
            continue;
        }
        for r in rows.iter().filter(|r| {
            r.account_id == e.account_id
                && r.status == PlanStatus::Blocked
                && (e.aws_region == shared::domain::vocab::GLOBAL_REGION || r.aws_region == e.aws_region)
                && needs(r.plan, e.plan)
        }) {
            entry.insert((r.account_id.as_str(), r.aws_region.as_str(), r.plan));
        }
    }
    out
}

/// The "Unverified" section: gating checks the recorded data could not decide, grouped by check
/// and why, with how many resources and accounts each leaves unverified (a plan they gate is not
/// READY until they are decided).
fn unverified_section(results: &[Evaluation]) -> String {
    /// The resources (account, type, id) and the accounts one check leaves unverified, for one reason.
    type Left<'a> = (BTreeSet<(&'a str, &'a str, &'a str)>, BTreeSet<&'a str>);
    let mut by: BTreeMap<(&str, &str), Left<'_>> = BTreeMap::new();
    for e in results.iter().filter(|e| {
        e.compliance == Compliance::InsufficientData
            && checks::ALL.iter().find(|c| c.id == e.check_id).is_none_or(|c| c.gating)
    }) {
        let (resources, accounts) = by.entry((e.check_id.as_str(), e.annotation.as_str())).or_default();
        resources.insert((e.account_id.as_str(), e.resource_type.as_str(), e.resource_id.as_str()));
        accounts.insert(e.account_id.as_str());
    }
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<section id="unverified"><h2>Unverified checks <span class="muted">({} checks could not be decided from the recorded data)</span></h2>"##,
        by.keys().map(|(c, _)| *c).collect::<BTreeSet<_>>().len()
    );
    if by.is_empty() {
        h.push_str("<p>Every gating check was decided.</p></section>");
        return h;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|((check, why), (resources, _))| (std::cmp::Reverse(resources.len()), *check, *why));
    h.push_str(r##"<table><thead><tr><th>Check</th><th>Why</th><th class="num">Resources</th><th class="num">Accounts</th></tr></thead><tbody>"##);
    for ((check, why), (resources, accounts)) in rows.iter().take(MAX_CHANGES_LISTED) {
        let _ = write!(
            h,
            r##"<tr data-unverified="{c}"><td><code>{c}</code></td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"##,
            esc(why),
            resources.len(),
            accounts.len(),
            c = esc(check),
        );
    }
    h.push_str("</tbody></table>");
    if rows.len() > MAX_CHANGES_LISTED {
        let _ = write!(
            h,
            r##"<p class="muted">and {} more.</p>"##,
            rows.len() - MAX_CHANGES_LISTED
        );
    }
    h.push_str("</section>");
    h
}

/// The "Azure and AWS" section, when Azure was read: per account, the `azure.*` results (the
/// connector and its offerings, the roles they name joined to the account's IAM roles, the
/// connector's health, the principal's roles) beside the account's readiness per plan.
fn azure_section(results: &[Evaluation], readiness: &[ReadinessRow]) -> String {
    let not_read = shared::domain::azure::NOT_READ;
    let mut by: BTreeMap<&str, BTreeMap<&str, &Evaluation>> = BTreeMap::new();
    for e in results.iter().filter(|e| e.check_id.starts_with("azure.")) {
        by.entry(e.account_id.as_str())
            .or_default()
            .insert(e.check_id.as_str(), e);
    }
    by.retain(|_, checks| checks.values().any(|e| !e.annotation.starts_with(not_read)));
    if by.is_empty() {
        return String::new();
    }
    let mut h = String::new();
    let _ = write!(
        h,
        r##"<section id="azure"><h2>Azure and AWS, side by side <span class="muted">({} read from Azure)</span></h2><table><thead><tr><th>Account</th><th>Azure connector</th><th>Roles its offerings name, in AWS</th><th>Connector health</th><th>Principal's roles</th><th>AWS readiness per plan</th></tr></thead><tbody>"##,
        accounts_count(by.len())
    );
    let cell = |checks: &BTreeMap<&str, &Evaluation>, ids: &[&str]| -> String {
        ids.iter()
            .filter_map(|id| checks.get(id))
            .map(|e| {
                format!(
                    r##"<div><span class="c-{c}">{c}</span> {}</div>"##,
                    esc(&e.annotation),
                    c = e.compliance.as_str()
                )
            })
            .collect()
    };
    for (account, checks) in by.iter().take(MATRIX_PAGE) {
        let mut plans = String::new();
        for plan in Plan::ALL {
            let rows: Vec<&ReadinessRow> = readiness
                .iter()
                .filter(|r| r.account_id == *account && r.plan == plan)
                .collect();
            if let Some(worst) = [PlanStatus::Blocked, PlanStatus::Unverified, PlanStatus::Ready]
                .into_iter()
                .find(|s| rows.iter().any(|r| r.status == *s))
            {
                let _ = write!(
                    plans,
                    r##"<div>{} <span class="s-{s}">{s}</span></div>"##,
                    plan.as_str(),
                    s = worst.as_str()
                );
            }
        }
        let _ = write!(
            h,
            r##"<tr data-azure-account="{a}"><td>{a}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{plans}</td></tr>"##,
            cell(checks, &["azure.connector"]),
            cell(checks, &["azure.offering-roles"]),
            cell(checks, &["azure.connector-health"]),
            cell(checks, &["azure.rbac-owner", "azure.rbac-ciem", "azure.rbac-operate"]),
            a = esc(account),
        );
    }
    h.push_str("</tbody></table>");
    if by.len() > MATRIX_PAGE {
        let _ = write!(
            h,
            r##"<p class="muted">and {} more accounts.</p>"##,
            by.len() - MATRIX_PAGE
        );
    }
    h.push_str("</section>");
    h
}

/// Accounts per page of the account × plan matrix.
pub const MATRIX_PAGE: usize = 100;

/// The anchor of an account × plan's blockers.
fn why_id(account: &str, plan: Plan) -> String {
    format!("why-{}-{}", esc(account), plan.as_str())
}

/// Blockers listed per account × plan (the rest counted).
pub const WHY_LISTED: usize = 10;

/// "Why each plan is blocked": per blocked account × plan (the matrix's cells link here), the
/// blocking results over the account's regions and the plans it waits for, linked to theirs.
fn why_section(rows: &[ReadinessRow]) -> String {
    type Why<'a> = (
        BTreeSet<&'a str>,
        BTreeMap<(&'a str, &'a str, &'a str), (BTreeSet<&'a str>, &'a str)>,
        BTreeSet<Plan>,
        usize,
    );
    let mut by: BTreeMap<(&str, Plan), Why<'_>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == PlanStatus::Blocked) {
        let (regions, checks, plans, unlisted) = by.entry((r.account_id.as_str(), r.plan)).or_default();
        regions.insert(r.aws_region.as_str());
        let mut listed = 0;
        for b in &r.blockers {
            match b {
                Blocker::Check {
                    check_id,
                    resource_type,
                    resource_id,
                    annotation,
                } => {
                    listed += 1;
                    let (in_regions, _) = checks
                        .entry((check_id.as_str(), resource_type.as_str(), resource_id.as_str()))
                        .or_insert_with(|| (BTreeSet::new(), annotation.as_str()));
                    in_regions.insert(r.aws_region.as_str());
                }
                Blocker::Plan { plan } => {
                    listed += 1;
                    plans.insert(*plan);
                }
            }
        }
        // The stores keep the first blockers of a row and count the rest.
        *unlisted = (*unlisted).max(r.blocker_count.saturating_sub(listed));
    }
    let mut h = format!(
        r##"<section id="why"><h2>Why each plan is blocked <span class="muted">({} account × plan, by account)</span></h2>"##,
        by.len()
    );
    if by.is_empty() {
        h.push_str("<p>No plan is blocked.</p></section>");
        return h;
    }
    for ((account, plan), (regions, checks, plans, unlisted)) in &by {
        let _ = write!(
            h,
            r##"<article id="{id}" class="why"><h3><code>{a}</code> · {t} <span class="muted">(blocked in {r})</span></h3><ul>"##,
            id = why_id(account, *plan),
            a = esc(account),
            t = esc(plan_title(*plan)),
            r = esc(&regions.iter().copied().collect::<Vec<_>>().join(", ")),
        );
        for p in plans {
            let _ = write!(
                h,
                r##"<li>waits for <a href="#{}">{}</a>, which is blocked</li>"##,
                why_id(account, *p),
                esc(plan_title(*p))
            );
        }
        for ((check, rtype, rid), (in_regions, why)) in checks.iter().take(WHY_LISTED) {
            let _ = write!(
                h,
                r##"<li><code>{}</code> {} <code>{}</code> <span class="muted">({})</span>: {}</li>"##,
                esc(check),
                esc(rtype),
                esc(rid),
                esc(&in_regions.iter().copied().collect::<Vec<_>>().join(", ")),
                esc(why)
            );
        }
        let more = checks.len().saturating_sub(WHY_LISTED) + unlisted;
        if more > 0 {
            let _ = write!(
                h,
                r##"<li class="muted">and {more} more (<code>report --csv</code> writes them all)</li>"##
            );
        }
        h.push_str("</ul></article>");
    }
    h.push_str("</section>");
    h
}

/// The account × plan matrix: per account and plan the worst status over the account's regions
/// and how many regions are ready. Every account is listed, those with the most blocked plans
/// first, in pages of [`MATRIX_PAGE`] (the first open, the others folded).
fn matrix(rows: &[ReadinessRow]) -> String {
    let mut cells: BTreeMap<(&str, Plan), [usize; 4]> = BTreeMap::new();
    for r in rows {
        let c = cells.entry((r.account_id.as_str(), r.plan)).or_default();
        let i = match r.status {
            PlanStatus::Ready => 0,
            PlanStatus::Blocked => 1,
            PlanStatus::Unverified => 2,
            PlanStatus::NotApplicable => 3,
        };
        c[i] += 1;
    }
    let mut waits_for: BTreeMap<(&str, Plan), BTreeSet<Plan>> = BTreeMap::new();
    for r in rows {
        for b in &r.blockers {
            if let Blocker::Plan { plan } = b {
                waits_for
                    .entry((r.account_id.as_str(), r.plan))
                    .or_default()
                    .insert(*plan);
            }
        }
    }
    let mut accounts: BTreeMap<&str, usize> = BTreeMap::new();
    for ((a, _), c) in &cells {
        *accounts.entry(a).or_default() += usize::from(c[1] > 0);
    }
    let mut order: Vec<(&str, usize)> = accounts.into_iter().collect();
    order.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let head = {
        let mut t = String::from("<table><thead><tr><th>Account</th>");
        for p in Plan::ALL {
            let _ = write!(t, "<th>{}</th>", esc(plan_title(p)));
        }
        t.push_str("</tr></thead><tbody>");
        t
    };
    let mut h = format!(
        r##"<section id="accounts-matrix"><h2>Readiness per account <span class="muted">({}, most blocked plans first)</span></h2>"##,
        accounts_count(order.len())
    );
    for (n, page) in order.chunks(MATRIX_PAGE).enumerate() {
        if n > 0 {
            let _ = write!(
                h,
                r##"<details class="matrix-page"><summary>Accounts {}–{}</summary>"##,
                n * MATRIX_PAGE + 1,
                n * MATRIX_PAGE + page.len()
            );
        }
        h.push_str(&head);
        for (a, _) in page {
            let _ = write!(h, r##"<tr data-account="{0}"><td><code>{0}</code></td>"##, esc(a));
            for p in Plan::ALL {
                let [ready, blocked, unverified, _] = cells.get(&(*a, p)).copied().unwrap_or_default();
                let applicable = ready + blocked + unverified;
                let worst = if blocked > 0 {
                    PlanStatus::Blocked
                } else if unverified > 0 {
                    PlanStatus::Unverified
                } else if ready > 0 {
                    PlanStatus::Ready
                } else {
                    PlanStatus::NotApplicable
                };
                let detail = if applicable > 0 {
                    format!("{ready}/{applicable} regions ready")
                } else {
                    "not applicable".to_owned()
                };
                // A blocked or unverified cell links to why; a plan blocked through another
                // plan names and links that plan.
                let status = if matches!(worst, PlanStatus::Blocked) {
                    format!(
                        r##"<a class="s-{s}" href="#{id}">{s}</a>"##,
                        s = worst.as_str(),
                        id = why_id(a, p)
                    )
                } else {
                    format!(r##"<span class="s-{s}">{s}</span>"##, s = worst.as_str())
                };
                let waits: Vec<String> = waits_for
                    .get(&(*a, p))
                    .into_iter()
                    .flatten()
                    .map(|w| format!(r##"<a href="#{}">{}</a>"##, why_id(a, *w), esc(plan_title(*w))))
                    .collect();
                let waits = if waits.is_empty() {
                    String::new()
                } else {
                    format!(r##"<br><span class="waits">waits for {}</span>"##, waits.join(", "))
                };
                let _ = write!(
                    h,
                    r##"<td class="cell-{s}" data-plan="{p}" data-status="{s}">{status}<br><span class="muted">{detail}</span>{waits}</td>"##,
                    s = worst.as_str(),
                    p = p.as_str()
                );
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        if n > 0 {
            h.push_str("</details>");
        }
    }
    h.push_str("</section>");
    h
}

/// Pages of resources listed per check (the rest are counted).
pub const MAX_PAGES: usize = 50;

/// Readiness changes the report lists (the counts cover them all).
pub const MAX_CHANGES_LISTED: usize = 200;

/// The "Changes" section: every readiness change (newest first, up to
/// [`MAX_CHANGES_LISTED`]), and the result changes counted per check and new status.
fn changes_section(data: &ReportData) -> String {
    let mut h = String::new();
    let mut plans: Vec<&shared::domain::state::RecordedChange> =
        data.changes.iter().filter(|c| c.result.is_none()).collect();
    plans.sort_by(|a, b| b.cmp(a));
    let results: Vec<&shared::domain::state::RecordedChange> =
        data.changes.iter().filter(|c| c.result.is_some()).collect();
    let _ = write!(
        h,
        r##"<section id="changes"><h2>Changes in the last {} days <span class="muted">({} readiness, {} results)</span></h2>"##,
        data.days,
        plans.len(),
        results.len()
    );
    if data.changes.is_empty() {
        h.push_str("<p>Nothing changed.</p></section>");
        return h;
    }
    if !plans.is_empty() {
        h.push_str(r##"<table id="readiness-changes"><thead><tr><th>When (UTC)</th><th>Account</th><th>Region</th><th>Plan</th><th>From</th><th>To</th></tr></thead><tbody>"##);
        for c in plans.iter().take(MAX_CHANGES_LISTED) {
            let shown = |s: &str| if s.is_empty() { "—".to_owned() } else { esc(s) };
            let _ = write!(
                h,
                r##"<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class="s-{p}">{}</td><td class="s-{c}">{}</td></tr>"##,
                c.at.format("%Y-%m-%d %H:%M"),
                esc(&c.account_id),
                esc(&c.aws_region),
                c.plan.as_str(),
                shown(&c.previous),
                shown(&c.current),
                p = esc(&c.previous),
                c = esc(&c.current),
            );
        }
        h.push_str("</tbody></table>");
        if plans.len() > MAX_CHANGES_LISTED {
            let _ = write!(
                h,
                r##"<p class="muted">and {} earlier readiness changes.</p>"##,
                plans.len() - MAX_CHANGES_LISTED
            );
        }
    }
    if !results.is_empty() {
        // Per check: how many results became each status (most changed checks first).
        let mut per_check: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for c in &results {
            if let Some((_, _, check)) = &c.result {
                *per_check
                    .entry(check.as_str())
                    .or_default()
                    .entry(if c.current.is_empty() {
                        "removed"
                    } else {
                        c.current.as_str()
                    })
                    .or_default() += 1;
            }
        }
        let mut rows: Vec<(&str, BTreeMap<&str, usize>)> = per_check.into_iter().collect();
        rows.sort_by_key(|(id, n)| (std::cmp::Reverse(n.values().sum::<usize>()), *id));
        h.push_str(r##"<table id="result-changes"><thead><tr><th>Check</th><th class="num">To NON_COMPLIANT</th><th class="num">To COMPLIANT</th><th class="num">To INSUFFICIENT_DATA</th><th class="num">To NOT_APPLICABLE or gone</th></tr></thead><tbody>"##);
        for (id, n) in rows {
            let of = |k: &str| n.get(k).copied().unwrap_or(0);
            let other = n.values().sum::<usize>() - of("NON_COMPLIANT") - of("COMPLIANT") - of("INSUFFICIENT_DATA");
            let _ = write!(
                h,
                r##"<tr data-check="{}"><td><code>{}</code></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"##,
                esc(id),
                esc(id),
                of("NON_COMPLIANT"),
                of("COMPLIANT"),
                of("INSUFFICIENT_DATA"),
                other
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
    h
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
:root{--ready:#2e7d32;--blocked:#c62828;--na:#9e9e9e;--ink:#1f2933;--muted:#5f6b7a;--line:#d9dee5}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);margin:0;background:#f6f8fa}
header{background:#0f2540;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#c9d6e3}
main{padding:24px 32px;max-width:1280px}section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 20px}
h2{font-size:17px;margin:0 0 12px}h3{font-size:15px;margin:18px 0 6px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{flex:1;min-width:150px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fff}
.tile b{display:block;font-size:24px}.tile span{color:var(--muted)}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:20px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6;font-weight:600}td.num{text-align:right}
.s-READY{color:var(--ready);font-weight:600}.s-BLOCKED{color:var(--blocked);font-weight:600}.s-UNVERIFIED{color:#b26a00;font-weight:600}.s-NOT_APPLICABLE{color:var(--na)}.c-COMPLIANT{color:var(--ready);font-weight:600}.c-NON_COMPLIANT{color:var(--blocked);font-weight:600}.c-INSUFFICIENT_DATA{color:#b26a00;font-weight:600}.c-NOT_APPLICABLE{color:var(--na)}
td.cell-READY{background:#e6f4ea}td.cell-BLOCKED{background:#fdecea}td.cell-UNVERIFIED{background:#fff4e0}td.cell-NOT_APPLICABLE{background:#f2f2f2;color:var(--muted)}
.fix{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:6px 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}.muted{color:var(--muted)}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
";

fn status_color(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Ready => "#2e7d32",
        PlanStatus::Blocked => "#c62828",
        PlanStatus::Unverified => "#ef8f00",
        PlanStatus::NotApplicable => "#9e9e9e",
    }
}

fn plan_title(p: Plan) -> &'static str {
    match p {
        Plan::Cspm => "Connector & Defender CSPM",
        Plan::Servers => "Defender for Servers",
        Plan::Sql => "Defender for SQL",
        Plan::Containers => "Defender for Containers",
        Plan::Oss => "Defender for OSS databases",
    }
}

/// Stacked horizontal bars: account × regions per status, one bar per plan.
fn readiness_chart(rows: &[ReadinessRow]) -> String {
    let (label_w, bar_w, row_h, top) = (200.0, 360.0, 34.0, 10.0);
    let height = top + row_h * Plan::ALL.len() as f64 + 30.0;
    let mut svg = format!(
        r##"<svg id="readiness-chart" role="img" aria-label="Readiness per plan" viewBox="0 0 {w} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">"##,
        w = label_w + bar_w + 60.0
    );
    for (i, plan) in Plan::ALL.into_iter().enumerate() {
        let y = top + row_h * i as f64;
        let count = |s: PlanStatus| rows.iter().filter(|r| r.plan == plan && r.status == s).count();
        let counts = PlanStatus::ALL.map(|s| (s, count(s)));
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="12" fill="#1f2933">{}</text>"##,
            esc(plan_title(plan)),
            ty = y + 17.0
        );
        let mut x = label_w;
        for (status, n) in counts {
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / total.max(1) as f64;
            let _ = write!(
                svg,
                r##"<rect class="bar" data-plan="{p}" data-status="{s}" data-count="{n}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="22" fill="{c}"><title>{p} {s}: {n}</title></rect>"##,
                p = plan.as_str(),
                s = status.as_str(),
                c = status_color(status),
            );
            if w > 18.0 {
                let _ = write!(
                    svg,
                    r##"<text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="#fff" text-anchor="middle">{n}</text>"##,
                    tx = x + w / 2.0,
                    ty = y + 15.0
                );
            }
            x += w;
        }
        if total == 0 {
            let _ = write!(
                svg,
                r##"<text x="{label_w}" y="{ty}" font-size="11" fill="#5f6b7a">no data</text>"##,
                ty = y + 15.0
            );
        }
    }
    let ly = height - 10.0;
    // From the left edge, so that the longest label (NOT_APPLICABLE) ends inside the drawing.
    for (i, s) in PlanStatus::ALL.into_iter().enumerate() {
        let lx = 130.0 * i as f64;
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="{ry}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ly}" font-size="11" fill="#1f2933">{s}</text>"##,
            ry = ly - 9.0,
            tx = lx + 14.0,
            c = status_color(s),
            s = s.as_str()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars: distinct NON_COMPLIANT resources per plan.
fn non_compliant_chart(results: &[Evaluation]) -> String {
    let per_plan: Vec<(Plan, usize)> = Plan::ALL
        .into_iter()
        .map(|p| {
            let n = results
                .iter()
                .filter(|e| e.plan == p && e.compliance == Compliance::NonCompliant)
                .map(|e| (&e.account_id, &e.aws_region, &e.resource_type, &e.resource_id))
                .collect::<BTreeSet<_>>()
                .len();
            (p, n)
        })
        .collect();
    let max = per_plan.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let min = per_plan.iter().map(|(_, n)| *n).filter(|n| *n > 0).min().unwrap_or(1);
    // Counts that span orders of magnitude (one plan with 5 blocked resources, another with
    // 5,000) are drawn on a log scale, said so, so that the small ones stay visible.
    let log = max / min >= 100;
    let height = |n: usize| -> f64 {
        if n == 0 {
            0.0
        } else if log {
            150.0 * (1.0 + n as f64).log10() / (1.0 + max as f64).log10()
        } else {
            150.0 * n as f64 / max as f64
        }
    };
    let (w, h, base, slot) = (520.0, 220.0, 180.0, 100.0);
    let mut svg = format!(
        r##"<svg id="noncompliant-chart" data-scale="{scale}" role="img" aria-label="Non-compliant resources per plan{note}" viewBox="0 0 {w} {h}" width="100%" xmlns="http://www.w3.org/2000/svg"><line x1="10" y1="{base}" x2="{x2}" y2="{base}" stroke="#d9dee5"/>"##,
        x2 = w - 10.0,
        scale = if log { "log" } else { "linear" },
        note = if log { " (log scale)" } else { "" },
    );
    if log {
        let _ = write!(
            svg,
            r##"<text x="{x}" y="14" font-size="11" text-anchor="end" fill="#5f6b7a">log scale</text>"##,
            x = w - 10.0
        );
    }
    for (i, (plan, n)) in per_plan.iter().enumerate() {
        let bh = height(*n);
        let x = 20.0 + slot * i as f64;
        let _ = write!(
            svg,
            r##"<rect class="bar" data-plan="{p}" data-count="{n}" x="{x}" y="{y:.1}" width="60" height="{bh:.1}" fill="#c62828"><title>{p}: {n}</title></rect><text x="{tx}" y="{ty:.1}" font-size="12" text-anchor="middle" fill="#1f2933">{n}</text><text x="{tx}" y="{ly}" font-size="12" text-anchor="middle" fill="#5f6b7a">{p}</text>"##,
            p = plan.as_str(),
            y = base - bh,
            tx = x + 30.0,
            ty = base - bh - 5.0,
            ly = base + 18.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Renders the report.
/// `1 account`, `3 accounts`.
fn accounts_count(n: usize) -> String {
    format!("{n} account{}", if n == 1 { "" } else { "s" })
}

pub fn render(data: &ReportData) -> String {
    let rows = &data.readiness;
    let accounts: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.account_id.as_str())
        .chain(data.results.iter().map(|e| e.account_id.as_str()))
        .collect();
    let places: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.account_id.as_str(), r.aws_region.as_str()))
        .collect();
    let blocked = rows.iter().filter(|r| r.status == PlanStatus::Blocked).count();
    let ready = rows.iter().filter(|r| r.status == PlanStatus::Ready).count();
    let unverified = rows.iter().filter(|r| r.status == PlanStatus::Unverified).count();
    let non_compliant: Vec<&Evaluation> = data
        .results
        .iter()
        .filter(|e| e.compliance == Compliance::NonCompliant)
        .collect();
    let nc_resources: BTreeSet<(&str, &str, &str, &str)> = non_compliant
        .iter()
        .map(|e| {
            (
                e.account_id.as_str(),
                e.aws_region.as_str(),
                e.resource_type.as_str(),
                e.resource_id.as_str(),
            )
        })
        .collect();

    let mut h = String::new();
    let _ = write!(
        h,
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="generator" content="defender-prereqs {ver}"><title>Defender for Cloud prerequisites report</title><style>{CSS}</style></head><body>"##,
        ver = env!("CARGO_PKG_VERSION")
    );
    let _ = write!(
        h,
        r##"<header><h1>Defender for Cloud prerequisites</h1><p>Source <code>{}</code> · generated {}</p></header><main>"##,
        esc(&data.source),
        data.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = write!(
        h,
        r##"<section id="summary"><h2>Summary</h2><div class="tiles"><div class="tile"><b id="accounts">{}</b><span>accounts</span></div><div class="tile"><b>{}</b><span>account × regions</span></div><div class="tile"><b id="ready-count" class="s-READY">{ready}</b><span>plans ready</span></div><div class="tile"><b id="unverified-count" class="s-UNVERIFIED">{unverified}</b><span>plans unverified</span></div><div class="tile"><b id="blocked-count" class="s-BLOCKED">{blocked}</b><span>plans blocked</span></div><div class="tile"><b id="noncompliant-count">{}</b><span>non-compliant resources</span></div></div></section>"##,
        accounts.len(),
        places.len(),
        nc_resources.len()
    );
    if rows.is_empty() && data.results.is_empty() {
        h.push_str(r##"<section><h2>Nothing recorded yet</h2><p>Run a scan (<code>defender-prereqs scan</code>) or deploy the stack and wait for the first evaluations.</p></section>"##);
    }
    let _ = write!(
        h,
        r##"<section><h2>Charts</h2><div class="charts"><figure><figcaption><b>Readiness per plan</b> <span class="muted">(account × regions)</span></figcaption>{}</figure><figure><figcaption><b>Non-compliant resources per plan</b> <span class="muted" id="noncompliant-note">({} in all: a resource failing checks of several plans counts in each)</span></figcaption>{}</figure></div></section>"##,
        readiness_chart(rows),
        nc_resources.len(),
        non_compliant_chart(&data.results)
    );

    h.push_str(&matrix(rows));

    // Blocking resources, grouped by check, with the fix; the fixes that unblock the most plan
    // readiness rows (then resources) first.
    let mut by_check: BTreeMap<&str, Vec<&Evaluation>> = BTreeMap::new();
    for e in &non_compliant {
        by_check.entry(e.check_id.as_str()).or_default().push(e);
    }
    let blocks = impact(rows, &non_compliant);
    let mut ordered: Vec<(&str, &Vec<&Evaluation>)> = by_check.iter().map(|(k, v)| (*k, v)).collect();
    ordered.sort_by_key(|(id, list)| {
        (
            std::cmp::Reverse(blocks.get(id).map_or(0, BTreeSet::len)),
            std::cmp::Reverse(list.len()),
            *id,
        )
    });
    let _ = write!(
        h,
        r##"<section id="blockers"><h2>Blocking resources <span class="muted">({} checks failing; the fixes that unblock the most plans first)</span></h2>"##,
        by_check.len()
    );
    if by_check.is_empty() {
        h.push_str("<p>No check is NON_COMPLIANT.</p>");
    }
    for (check_id, list) in &ordered {
        let check = checks::ALL.iter().find(|c| c.id == *check_id);
        let unblocks = blocks.get(check_id).map_or(0, BTreeSet::len);
        let _ = write!(
            h,
            r##"<article class="check" data-check="{id}" data-blocks="{unblocks}"><h3><code>{id}</code> {title} <span class="muted">· {plan} · {n} resource{s} · {what}</span></h3>"##,
            id = esc(check_id),
            title = esc(check.map_or("(check not in this version's catalog)", |c| c.title)),
            plan = esc(check.map_or("?", |c| c.plan.as_str())),
            n = list.len(),
            s = if list.len() == 1 { "" } else { "s" },
            what = if check.is_some_and(|c| !c.gating) {
                "advisory: blocks no plan".to_owned()
            } else {
                format!(
                    "blocks {unblocks} plan{} (account × region × plan)",
                    if unblocks == 1 { "" } else { "s" }
                )
            }
        );
        if let Some(c) = check {
            let _ = write!(
                h,
                r##"<div class="fix"><b>How to fix:</b> {}{}</div>"##,
                esc(c.remediation),
                if c.inferred {
                    " <i>(inferred prerequisite: its threshold is configurable)</i>"
                } else {
                    ""
                }
            );
        }
        // Pages of MAX_RESOURCES_PER_CHECK: the first open, the next ones folded (no script),
        // up to MAX_PAGES; what is beyond is counted (`--csv` has every one).
        let header = "<table><thead><tr><th>Account</th><th>Region</th><th>Resource type</th><th>Resource</th><th>Why</th></tr></thead><tbody>";
        for (n, page) in list.chunks(MAX_RESOURCES_PER_CHECK).take(MAX_PAGES).enumerate() {
            if n > 0 {
                let first = n * MAX_RESOURCES_PER_CHECK + 1;
                let _ = write!(
                    h,
                    r##"<details class="page"><summary>resources {first}–{} of {}</summary>"##,
                    first + page.len() - 1,
                    list.len()
                );
            }
            h.push_str(header);
            for e in page {
                let _ = write!(
                    h,
                    r##"<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"##,
                    esc(&e.account_id),
                    esc(&e.aws_region),
                    esc(&e.resource_type),
                    esc(&e.resource_id),
                    esc(&e.annotation)
                );
            }
            h.push_str("</tbody></table>");
            if n > 0 {
                h.push_str("</details>");
            }
        }
        let shown = MAX_RESOURCES_PER_CHECK * MAX_PAGES;
        if list.len() > shown {
            let _ = write!(
                h,
                r##"<p class="muted">and {} more (<code>report --csv</code> writes them all).</p>"##,
                list.len() - shown
            );
        }
        h.push_str("</article>");
    }
    h.push_str("</section>");

    h.push_str(&why_section(rows));
    h.push_str(&azure_section(&data.results, &data.readiness));
    h.push_str(&unverified_section(&data.results));
    h.push_str(&changes_section(data));

    // Every account × region × plan.
    h.push_str(r##"<section id="details"><h2>Readiness details</h2><table><thead><tr><th>Account</th><th>Region</th><th>Plan</th><th>Status</th><th class="num">Blockers</th><th class="num">Unverified checks</th><th>Blocked by plan</th></tr></thead><tbody>"##);
    // In the product's order: account, region, then the plans as Defender lists them.
    let mut ordered: Vec<&ReadinessRow> = rows.iter().collect();
    ordered.sort_by(|a, b| (&a.account_id, &a.aws_region, a.plan).cmp(&(&b.account_id, &b.aws_region, b.plan)));
    for r in ordered {
        let needs: Vec<&str> = r
            .blockers
            .iter()
            .filter_map(|b| match b {
                shared::domain::plans::Blocker::Plan { plan } => Some(plan.as_str()),
                shared::domain::plans::Blocker::Check { .. } => None,
            })
            .collect();
        let _ = write!(
            h,
            r##"<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class="s-{s}">{s}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"##,
            esc(&r.account_id),
            esc(&r.aws_region),
            r.plan.as_str(),
            r.blocker_count,
            r.unverified,
            esc(&needs.join(", ")),
            s = r.status.as_str()
        );
    }
    h.push_str("</tbody></table></section>");
    h.push_str(r##"<p class="muted">Made by defender-prereqs. READY means every gating prerequisite was verified and none is NON_COMPLIANT; UNVERIFIED means nothing blocks the plan but the recorded data could not decide some gating prerequisite.</p></main></body></html>"##);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_lists_every_account_in_pages_most_blocked_first() {
        let mut rows = Vec::new();
        for n in 0..250u64 {
            for region in ["us-east-1", "eu-west-1"] {
                for p in Plan::ALL {
                    rows.push(ReadinessRow {
                        account_id: format!("{:012}", 100_000_000_000 + n),
                        aws_region: region.into(),
                        plan: p,
                        // Every seventh account has two blocked plans, in one region.
                        status: if n % 7 == 0 && region == "eu-west-1" && matches!(p, Plan::Servers | Plan::Sql) {
                            PlanStatus::Blocked
                        } else {
                            PlanStatus::Ready
                        },
                        blockers: vec![],
                        blocker_count: 0,
                        unverified: 0,
                    });
                }
            }
        }
        let h = matrix(&rows);
        assert_eq!(h.matches("<tr data-account=").count(), 250);
        assert_eq!(h.matches(r#"<details class="matrix-page">"#).count(), 2);
        assert!(h.contains("Accounts 101–200") && h.contains("Accounts 201–250"));
        // The 36 accounts with blocked plans come first, before any other.
        let first_ready = h.find(r#"<tr data-account="100000000001">"#).unwrap();
        let last_blocked = h.rfind(r#"<tr data-account="100000000245">"#).unwrap();
        assert!(last_blocked < first_ready);
        assert!(h.contains(r##"data-plan="servers" data-status="BLOCKED"><a class="s-BLOCKED" href="#why-100000000000-servers">BLOCKED</a><br><span class="muted">1/2 regions ready"##));
    }

    /// At an organization's size: every blocked cell of the matrix links to its account × plan's
    /// blockers, a plan blocked through another links to that plan's, every link lands on an id
    /// of the page, the details follow the product's plan order, and the legend fits.
    #[test]
    fn every_blocked_cell_links_to_why_at_a_thousand_accounts() {
        let mut rows = Vec::new();
        for n in 0..1000u64 {
            let account = format!("{:012}", 200_000_000_000 + n);
            for region in ["us-east-1", "eu-west-1"] {
                for p in Plan::ALL {
                    let blocked_servers = n % 3 == 0 && region == "us-east-1";
                    let (status, blockers) = match p {
                        Plan::Servers if blocked_servers => (
                            PlanStatus::Blocked,
                            vec![Blocker::Check {
                                check_id: "servers.instance-profile".into(),
                                resource_type: "AWS::EC2::Instance".into(),
                                resource_id: format!("i-{n:017x}").into(),
                                annotation: "no IAM instance profile attached".into(),
                            }],
                        ),
                        Plan::Sql if blocked_servers => {
                            (PlanStatus::Blocked, vec![Blocker::Plan { plan: Plan::Servers }])
                        }
                        _ => (PlanStatus::Ready, vec![]),
                    };
                    rows.push(ReadinessRow {
                        account_id: account.clone(),
                        aws_region: region.into(),
                        plan: p,
                        blocker_count: blockers.len(),
                        status,
                        blockers,
                        unverified: 0,
                    });
                }
            }
        }
        let data = ReportData {
            source: "test".into(),
            generated_at: Utc::now(),
            readiness: rows,
            results: vec![],
            changes: vec![],
            days: 7,
        };
        let h = render(&data);
        let blocked_accounts = (0..1000).filter(|n| n % 3 == 0).count();
        assert_eq!(h.matches(r#"<article id="why-"#).count(), 2 * blocked_accounts);
        // The SQL cell of each blocked account, and its SQL article.
        assert_eq!(h.matches("waits for <a href=").count(), 2 * blocked_accounts);
        let ids: BTreeSet<&str> = h
            .split(r#" id=""#)
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let mut links = 0;
        for target in h.split(r##"href="#"##).skip(1).filter_map(|s| s.split('"').next()) {
            assert!(
                ids.contains(target),
                "a link to #{target}, which the page does not have"
            );
            links += 1;
        }
        // Two blocked cells per blocked account, the SQL cell's link to Servers, and the same
        // link in the SQL article.
        assert!(links >= 4 * blocked_accounts, "{links}");
        assert!(h.contains(r##"<a href="#why-200000000000-servers">Defender for Servers</a>"##));
        // Readiness details: account, region, then Defender's plan order.
        let details = &h[h.find(r#"<section id="details">"#).unwrap()..];
        let first: Vec<&str> = details
            .split("<tr><td><code>200000000000</code></td><td>eu-west-1</td><td>")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .collect();
        assert_eq!(first, ["cspm", "servers", "sql", "containers", "oss"]);
        assert!(!h.contains(r#"<th class="num">Other</th>"#));
        // The legend's last label starts where its longest text still ends inside the viewBox.
        let chart = &h[h.find(r#"<svg id="readiness-chart""#).unwrap()..];
        let width: f64 = chart
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        let na = chart.find(">NOT_APPLICABLE</text>").unwrap();
        let x: f64 = chart[..na]
            .rsplit("<text x=\"")
            .next()
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        // 14 characters of an 11-pixel sans-serif font: under 7 pixels each.
        assert!(
            x + 14.0 * 7.0 <= width,
            "NOT_APPLICABLE at x={x} in a drawing {width} wide"
        );
    }

    #[test]
    fn input_is_escaped_everywhere() {
        let nasty = "<script>alert('x')</script>&\"";
        let data = ReportData {
            source: nasty.into(),
            generated_at: Utc::now(),
            readiness: vec![ReadinessRow {
                account_id: nasty.into(),
                aws_region: nasty.into(),
                plan: Plan::Servers,
                status: PlanStatus::Blocked,
                blockers: vec![],
                blocker_count: 0,
                unverified: 0,
            }],
            results: vec![Evaluation {
                account_id: nasty.into(),
                aws_region: nasty.into(),
                resource_type: nasty.into(),
                resource_id: nasty.into(),
                check_id: nasty.into(),
                plan: Plan::Servers,
                compliance: Compliance::NonCompliant,
                annotation: nasty.into(),
                capture_time: None,
            }],
            changes: vec![
                shared::domain::state::RecordedChange {
                    at: Utc::now(),
                    account_id: nasty.into(),
                    aws_region: nasty.into(),
                    plan: Plan::Servers,
                    result: Some((nasty.into(), nasty.into(), nasty.into())),
                    previous: nasty.into(),
                    current: nasty.into(),
                },
                shared::domain::state::RecordedChange {
                    at: Utc::now(),
                    account_id: nasty.into(),
                    aws_region: nasty.into(),
                    plan: Plan::Servers,
                    result: None,
                    previous: nasty.into(),
                    current: nasty.into(),
                },
            ],
            days: 7,
        };
        let html = render(&data);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
    }

    #[test]
    fn charts_count_statuses_and_distinct_resources() {
        let row = |region: &str, plan, status| ReadinessRow {
            account_id: "111122223333".into(),
            aws_region: region.into(),
            plan,
            status,
            blockers: vec![],
            blocker_count: 0,
            unverified: 0,
        };
        let chart = readiness_chart(&[
            row("us-east-1", Plan::Servers, PlanStatus::Ready),
            row("eu-west-1", Plan::Servers, PlanStatus::Blocked),
            row("eu-north-1", Plan::Servers, PlanStatus::Blocked),
        ]);
        assert!(chart.contains(r##"data-plan="servers" data-status="BLOCKED" data-count="2""##));
        assert!(chart.contains(r##"data-plan="servers" data-status="READY" data-count="1""##));
        let e = |id: &str, check: &str| Evaluation {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: id.into(),
            check_id: check.into(),
            plan: Plan::Servers,
            compliance: Compliance::NonCompliant,
            annotation: Default::default(),
            capture_time: None,
        };
        let chart = non_compliant_chart(&[e("i-1", "a"), e("i-1", "b"), e("i-2", "a")]);
        assert!(chart.contains(r##"data-plan="servers" data-count="2""##), "{chart}");
    }

    #[test]
    fn fixes_are_ordered_by_the_plans_they_unblock() {
        let row = |plan, status| ReadinessRow {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            plan,
            status,
            blockers: vec![],
            blocker_count: 0,
            unverified: 0,
        };
        let e = |region: &str, rtype: &str, id: &str, check: &str, plan| Evaluation {
            account_id: "111122223333".into(),
            aws_region: region.into(),
            resource_type: rtype.into(),
            resource_id: id.into(),
            check_id: check.into(),
            plan,
            compliance: Compliance::NonCompliant,
            annotation: Default::default(),
            capture_time: None,
        };
        // The connector's role blocks CSPM and every plan that needs it; two instances without a
        // profile block Servers and SQL on EC2.
        let data = ReportData {
            source: "t".into(),
            generated_at: Utc::now(),
            readiness: vec![
                row(Plan::Cspm, PlanStatus::Blocked),
                row(Plan::Servers, PlanStatus::Blocked),
                row(Plan::Sql, PlanStatus::Blocked),
                row(Plan::Containers, PlanStatus::Blocked),
                row(Plan::Oss, PlanStatus::NotApplicable),
            ],
            results: vec![
                e(
                    "us-east-1",
                    "AWS::EC2::Instance",
                    "i-1",
                    "servers.instance-profile",
                    Plan::Servers,
                ),
                e(
                    "us-east-1",
                    "AWS::EC2::Instance",
                    "i-2",
                    "servers.instance-profile",
                    Plan::Servers,
                ),
                e(
                    "global",
                    "AWS::::Account",
                    "111122223333",
                    "cspm.monitor-role",
                    Plan::Cspm,
                ),
            ],
            changes: vec![],
            days: 7,
        };
        let html = render(&data);
        let cspm = html
            .find(r#"data-check="cspm.monitor-role" data-blocks="4""#)
            .expect("cspm blocks 4");
        let servers = html
            .find(r#"data-check="servers.instance-profile" data-blocks="2""#)
            .expect("servers blocks 2");
        assert!(cspm < servers, "the fix that unblocks more comes first");
    }

    #[test]
    fn long_lists_are_paged_not_cut() {
        let e = |n: usize| Evaluation {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: format!("i-{n:05}").into(),
            check_id: "servers.instance-profile".into(),
            plan: Plan::Servers,
            compliance: Compliance::NonCompliant,
            annotation: Default::default(),
            capture_time: None,
        };
        let data = ReportData {
            source: "t".into(),
            generated_at: Utc::now(),
            readiness: vec![],
            results: (0..450).map(e).collect(),
            changes: vec![],
            days: 7,
        };
        let html = render(&data);
        assert!(
            (0..450).all(|n| html.contains(&format!("<code>i-{n:05}</code>"))),
            "every resource listed"
        );
        assert_eq!(html.matches(r#"<details class="page">"#).count(), 2);
        assert!(html.contains("resources 201–400 of 450") && html.contains("resources 401–450 of 450"));
    }

    #[test]
    fn counts_spanning_orders_of_magnitude_are_drawn_on_a_log_scale() {
        let e = |plan, n: usize| Evaluation {
            account_id: "111122223333".into(),
            aws_region: "us-east-1".into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: format!("i-{n}").into(),
            check_id: "c".into(),
            plan,
            compliance: Compliance::NonCompliant,
            annotation: Default::default(),
            capture_time: None,
        };
        let close: Vec<Evaluation> = (0..30)
            .map(|n| e(Plan::Servers, n))
            .chain((0..3).map(|n| e(Plan::Oss, n)))
            .collect();
        assert!(non_compliant_chart(&close).contains(r#"data-scale="linear""#));
        let wide: Vec<Evaluation> = (0..3000)
            .map(|n| e(Plan::Servers, n))
            .chain((0..3).map(|n| e(Plan::Oss, n)))
            .collect();
        let chart = non_compliant_chart(&wide);
        assert!(chart.contains(r#"data-scale="log""#) && chart.contains(">log scale</text>"));
        // The small bar stays visible: over a tenth of the tallest, not a thousandth.
        let bar = |plan: &str| -> f64 {
            let at = chart.find(&format!(r#"data-plan="{plan}""#)).unwrap();
            let h = &chart[at..];
            let start = h.find("height=\"").unwrap() + 8;
            h[start..start + h[start..].find('"').unwrap()].parse().unwrap()
        };
        assert!(
            bar("oss") > bar("servers") / 10.0,
            "{} vs {}",
            bar("oss"),
            bar("servers")
        );
    }
}

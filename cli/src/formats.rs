//! Findings for other tools: SARIF 2.1.0 (GitHub code scanning and other SARIF readers), OCSF
//! Compliance Findings (security data lakes, Amazon Security Lake), and ASFF (AWS Security Hub,
//! the findings function's own mapping). Accepted exceptions are carried in each format's own
//! terms: SARIF `suppressions`, OCSF `status_id` Suppressed, ASFF `Workflow.Status` SUPPRESSED.
//!
//! Which results: SARIF and ASFF carry the open ones (NON_COMPLIANT, INSUFFICIENT_DATA): a SARIF
//! reader treats every result as a problem, and an alert absent from the next upload is closed.
//! OCSF carries every decided result and every undecided one (COMPLIANT as Pass, NON_COMPLIANT
//! as Fail, INSUFFICIENT_DATA as Unknown); NOT_APPLICABLE results are left out of all three.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::contracts::findings;
use shared::domain::checks::{self, Check};
use shared::domain::state::{EvalKey, Recorded};
use shared::domain::vocab::{Compliance, Evaluation, GLOBAL_REGION};

use crate::suppress::Applied;

/// Where the results came from, for formats that name it.
pub struct Origin<'a> {
    /// The input as the report names it (a file, a directory, a live read).
    pub source: &'a str,
    /// When the scan ran.
    pub at: DateTime<Utc>,
    /// Resource names beside ids.
    pub names: Option<&'a crate::names::Names>,
}

impl Origin<'_> {
    fn name(&self, e: &Evaluation) -> Option<&str> {
        self.names
            .and_then(|n| n.get(&e.account_id, &e.resource_type, &e.resource_id))
    }
}

fn open(e: &Evaluation) -> bool {
    matches!(e.compliance, Compliance::NonCompliant | Compliance::InsufficientData)
}

fn gating(check: Option<&Check>) -> bool {
    check.is_some_and(|c| c.gating)
}

/// SARIF 2.1.0: one run, a rule per check, a result per open evaluation with the resource as a
/// logical location. The physical location is the input (SARIF readers such as GitHub code
/// scanning need one; a resource has no file). `partialFingerprints` keep an alert the same
/// alert across runs.
pub fn write_sarif(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    origin: &Origin<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let rules: Vec<Value> = checks::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id,
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": format!("{} ({}){}", c.title, c.plan.title(), if c.gating { "" } else { "; advisory, gates nothing" })},
                "help": {"text": c.remediation},
                "helpUri": findings::documentation(c.plan),
                "defaultConfiguration": {"level": if c.gating { "error" } else { "warning" }},
                "properties": {"tags": [c.plan.as_str(), "defender-for-cloud", "aws"]},
            })
        })
        .collect();
    let index: BTreeMap<&str, usize> = checks::ALL.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let results: Vec<Value> = evaluations
        .iter()
        .filter(|e| open(e))
        .map(|e| {
            let check = checks::by_id(&e.check_id);
            let level = match (e.compliance, gating(check)) {
                (Compliance::NonCompliant, true) => "error",
                (Compliance::NonCompliant, false) => "warning",
                _ => "note",
            };
            let place = format!(
                "{}/{}/{}/{}",
                e.account_id, e.aws_region, e.resource_type, e.resource_id
            );
            let mut r = json!({
                "ruleId": e.check_id,
                "level": level,
                "message": {"text": format!(
                    "{} {} {}{} in account {} ({}): {}",
                    e.compliance.as_str(),
                    e.resource_type,
                    e.resource_id,
                    origin.name(e).map(|n| format!(" ({n})")).unwrap_or_default(),
                    e.account_id,
                    e.aws_region,
                    e.annotation
                )},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": origin.source.replace(' ', "%20")}},
                    "logicalLocations": [{"name": e.resource_id, "fullyQualifiedName": place, "kind": "resource"}],
                }],
                "partialFingerprints": {"resourceCheck/v1": format!("{place}/{}", e.check_id)},
                "properties": {
                    "accountId": e.account_id,
                    "awsRegion": e.aws_region,
                    "plan": e.plan.as_str(),
                    "compliance": e.compliance.as_str(),
                },
            });
            if let Some(i) = index.get(e.check_id.as_str()) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(s) = applied.and_then(|a| a.evaluation(e)) {
                r["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!("{} (until {})", s.reason, s.expires),
                }]);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "defender-prereqs",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://learn.microsoft.com/azure/defender-for-cloud/quickstart-onboard-aws",
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": origin.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}],
            "results": results,
        }],
    });
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    out.flush()
}

/// OCSF 1.5 Compliance Findings (class 2003), one JSON object per line, with the cloud profile
/// (account and region in `cloud`).
pub fn write_ocsf(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    origin: &Origin<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let time = origin.at.timestamp_millis();
    for e in evaluations.iter().filter(|e| e.compliance != Compliance::NotApplicable) {
        let check = checks::by_id(&e.check_id);
        // compliance.status_id: 1 Pass, 3 Fail, 0 Unknown.
        let (status_id, status) = match e.compliance {
            Compliance::Compliant => (1, "Pass"),
            Compliance::NonCompliant => (3, "Fail"),
            _ => (0, "Unknown"),
        };
        // severity_id: 4 High for a gating failure, 2 Low for an advisory one, 3 Medium for an
        // undecided result, 1 Informational for a pass.
        let (severity_id, severity) = match (e.compliance, gating(check)) {
            (Compliance::NonCompliant, true) => (4, "High"),
            (Compliance::NonCompliant, false) => (2, "Low"),
            (Compliance::InsufficientData, _) => (3, "Medium"),
            _ => (1, "Informational"),
        };
        let suppressed = applied.and_then(|a| a.evaluation(e));
        // Finding status_id: 1 New, 3 Suppressed.
        let (finding_status_id, finding_status) = if suppressed.is_some() {
            (3, "Suppressed")
        } else {
            (1, "New")
        };
        let title = check.map_or(e.check_id.as_str(), |c| c.title);
        let mut f = json!({
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2003,
            "class_name": "Compliance Finding",
            "activity_id": 1,
            "activity_name": "Create",
            "type_uid": 200_301,
            "type_name": "Compliance Finding: Create",
            "time": time,
            "severity_id": severity_id,
            "severity": severity,
            "status_id": finding_status_id,
            "status": finding_status,
            "message": e.annotation,
            "metadata": {
                "version": "1.5.0",
                "product": {"name": "defender-prereqs", "vendor_name": "defender-prereqs", "version": env!("CARGO_PKG_VERSION")},
                "profiles": ["cloud"],
                "log_name": origin.source,
            },
            "cloud": {
                "provider": "AWS",
                "region": e.aws_region,
                "account": {"uid": e.account_id, "name": e.account_id, "type": "AWS Account", "type_id": 10},
            },
            "finding_info": {
                "uid": format!("defender-prereqs/{}/{}/{}/{}/{}", e.account_id, e.aws_region, e.resource_type, e.resource_id, e.check_id),
                "title": title,
                "desc": e.annotation,
                "types": [e.plan.as_str()],
            },
            "compliance": {
                "control": e.check_id,
                "standards": [format!("Microsoft Defender for Cloud prerequisites: {}", e.plan.title())],
                "status_id": status_id,
                "checks": [{"uid": e.check_id, "name": title, "status": status, "status_id": status_id}],
            },
            "resources": [{
                "type": e.resource_type,
                "uid": e.resource_id,
                "region": e.aws_region,
                "cloud_partition": shared::domain::vocab::partition(&e.aws_region),
            }],
        });
        if let Some(c) = check {
            f["remediation"] = json!({"desc": c.remediation, "references": [findings::documentation(c.plan)]});
        }
        if let Some(n) = origin.name(e) {
            f["resources"][0]["name"] = json!(n);
        }
        if let Some(s) = suppressed {
            f["status_detail"] = json!(format!("accepted until {}: {}", s.expires, s.reason));
        }
        serde_json::to_writer(&mut *out, &f)?;
        writeln!(out)?;
    }
    out.flush()
}

/// ASFF findings as one JSON array (`aws securityhub batch-import-findings --findings
/// file://findings.json` takes up to 100 a call): the findings function's mapping. Account-level
/// and IAM results (region `global`) are given the account's first scanned region.
pub fn write_asff(
    evaluations: &[Evaluation],
    applied: Option<&Applied>,
    home: &BTreeMap<String, String>,
    origin: &Origin<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let findings: Vec<Value> = evaluations
        .iter()
        .filter(|e| open(e))
        .map(|e| {
            let recorded = Recorded {
                plan: e.plan,
                compliance: e.compliance,
                annotation: e.annotation.clone(),
                capture_time: e.capture_time,
            };
            let region = home.get(e.account_id.as_str()).map_or("us-east-1", String::as_str);
            let mut f = findings::finding(&EvalKey::of(e), Some(&recorded), origin.at, region).to_asff();
            if let Some(s) = applied.and_then(|a| a.evaluation(e)) {
                f["Workflow"] = json!({"Status": "SUPPRESSED"});
                f["Note"] = json!({
                    // ASFF caps a note at 512 characters.
                    "Text": format!("accepted until {}: {}", s.expires, s.reason).chars().take(512).collect::<String>(),
                    "UpdatedBy": "defender-prereqs suppressions file",
                    "UpdatedAt": origin.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                });
            }
            f
        })
        .collect();
    serde_json::to_writer(&mut *out, &findings)?;
    writeln!(out)?;
    out.flush()
}

/// Each account's first scanned region (the home of its global results in ASFF).
pub fn home_regions(plans: &[shared::domain::plans::PlanReadiness]) -> BTreeMap<String, String> {
    let mut home: BTreeMap<String, String> = BTreeMap::new();
    for p in plans.iter().filter(|p| p.aws_region != GLOBAL_REGION) {
        let h = home.entry(p.account_id.clone()).or_insert_with(|| p.aws_region.clone());
        if p.aws_region < *h {
            h.clone_from(&p.aws_region);
        }
    }
    home
}

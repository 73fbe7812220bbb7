//! `azure.connector-health`: the connector's health reports in Azure say it is healthy.

use crate::domain::checks::support::azure::{connector, AZURE_TRIGGERS, CONNECTOR_PERMISSIONS};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

const MAX_STEPS: usize = 300;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(connector(ctx));
    let account = &ctx.item.account_id;
    let Some(reports) = c.health_for(account) else {
        return Outcome::unknown(format!(
            "the health reports of connector {} could not be read: {}",
            c.name,
            c.health_error.as_deref().unwrap_or("not read")
        ));
    };
    let reports: Vec<_> = reports.collect();
    let (mut healthy, mut not_applicable, mut issues, mut unhealthy, mut other) = (0, 0, Vec::new(), 0, Vec::new());
    for r in &reports {
        match r.properties.status.as_ref().and_then(|s| s.code.as_deref()) {
            Some("Healthy") => healthy += 1,
            Some("NotApplicable") => not_applicable += 1,
            Some("NotHealthy") => {
                unhealthy += 1;
                for i in &r.properties.issues {
                    let mut steps = i.remediation_steps.clone().unwrap_or_default();
                    if steps.len() > MAX_STEPS {
                        let cut = (0..=MAX_STEPS).rev().find(|&n| steps.is_char_boundary(n)).unwrap_or(0);
                        steps.truncate(cut);
                        steps.push('…');
                    }
                    issues.push(format!("{}: {}", i.issue_name.as_deref().unwrap_or("unnamed issue"), steps.trim()));
                }
            }
            code => other.push(code.unwrap_or("no status").to_owned()),
        }
    }
    if unhealthy > 0 {
        return Outcome::non_compliant(format!(
            "connector {} is NotHealthy in {unhealthy} of {} health report{}{}",
            c.name,
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            if issues.is_empty() { String::new() } else { format!(": {}", issues.join(" | ")) }
        ));
    }
    if !other.is_empty() {
        return Outcome::unknown(format!("connector {} reports unknown health statuses: {}", c.name, other.join(", ")));
    }
    if healthy > 0 {
        let total = healthy + not_applicable;
        let counted = if not_applicable > 0 {
            format!("{total} health reports: {healthy} Healthy, {not_applicable} NotApplicable")
        } else if healthy == 1 {
            "1 health report".to_owned()
        } else {
            format!("{healthy} health reports, all Healthy")
        };
        let others = c.health_reports.as_ref().map_or(0, Vec::len).saturating_sub(reports.len());
        let others = if others > 0 {
            format!("; {others} more for other accounts of the connector")
        } else {
            String::new()
        };
        return Outcome::compliant(format!(
            "connector {} is Healthy for account {account} ({counted}{others})",
            c.name
        ));
    }
    if not_applicable > 0 {
        return Outcome::not_applicable(format!("connector {}'s health reports are NotApplicable", c.name));
    }
    Outcome::unknown(format!(
        "connector {} has no health report for account {account} yet (Defender for Cloud writes them after onboarding)",
        c.name
    ))
}

/// `azure.connector-health`: the connector's health reports in Azure say it is healthy.
pub static CHECK: Check = Check {
    id: "azure.connector-health",
    plan: Plan::Cspm,
    title: "The connector's health reports in Azure are Healthy",
    resource_types: &[ACCOUNT_TYPE],
    triggers: AZURE_TRIGGERS,
    remediation: "Follow each health issue's remediation steps (Defender for Cloud > Environment settings > the \
        connector > health); they usually mean redeploying or updating the CloudFormation stack or StackSet. The \
        health reports API is a preview (2023-05-01-preview).",
    permissions: CONNECTOR_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

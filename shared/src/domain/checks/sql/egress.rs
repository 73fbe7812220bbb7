//! `sql.egress`: the SQL host can reach Arc and the Arc data services.

use crate::domain::checks::support::ec2::declared_egress;
use crate::domain::checks::support::sql_host::sql_instance;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (inst, _) = or_return!(sql_instance(ctx));
    let facts = ctx.settings.facts_for(&ctx.item.account_id);
    let both = match (facts.arc_egress_allowed, facts.sql_egress_allowed) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        // One half declared allowed: a path out exists whatever the routes Config shows (a
        // firewall or transit gateway it does not record), so the other half is unverified,
        // never blocked for want of a route (servers.arc-egress reads the same declaration).
        (Some(true), None) => {
            return Outcome::unknown(format!(
                "declared: outbound 443 to the Arc endpoints (settings facts.arc_egress_allowed); confirm \
                 *.{}.arcdataservices.com is allowed too (no Arc proxy), then set facts.sql_egress_allowed",
                ctx.item.region
            ))
        }
        (None, Some(true)) => {
            return Outcome::unknown(
                "declared: outbound 443 to *.<region>.arcdataservices.com (settings facts.sql_egress_allowed); \
                 confirm the Azure Arc endpoints are allowed too, then set facts.arc_egress_allowed",
            )
        }
        (None, None) => None,
    };
    declared_egress(
        ctx,
        inst,
        both,
        &format!(
            "outbound 443 to the Arc endpoints and *.{}.arcdataservices.com (no Arc proxy)",
            ctx.item.region
        ),
        "sql_egress_allowed",
    )
}

/// `sql.egress`: the SQL host can reach Arc and the Arc data services.
pub static CHECK: Check = Check {
    id: "sql.egress",
    plan: Plan::Sql,
    title: "SQL host can reach Azure Arc and *.<region>.arcdataservices.com",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::Periodic,
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Allow outbound 443 to the Azure Arc endpoints and *.<region>.arcdataservices.com without the Arc \
        proxy (unsupported for SQL), then declare facts.arc_egress_allowed and facts.sql_egress_allowed.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

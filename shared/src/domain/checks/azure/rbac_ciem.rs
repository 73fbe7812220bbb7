//! `azure.rbac-ciem`: where CIEM is on, the principal holds the Entra role Application
//! Administrator or Cloud Application Administrator.

use crate::domain::azure::{Coverage, APPLICATION_ADMIN_ROLE, CLOUD_APPLICATION_ADMIN_ROLE};
use crate::domain::checks::support::azure::{side, AZURE_TRIGGERS};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let side = or_return!(side(ctx));
    let on_connector = match ctx.settings.coverage(side, &ctx.item.account_id) {
        Coverage::Covered(c) => c.offerings().ciem,
        _ => false,
    };
    if !ctx.settings.features.ciem && !on_connector {
        return Outcome::not_applicable("permissions management (CIEM) is neither on the connector nor declared (features.ciem)");
    }
    let Some(principal) = &side.principal else {
        return Outcome::unknown("the principal to judge is unknown: set azure.principal_id, or sign in as that identity");
    };
    let Some(assignments) = &side.entra_role_assignments else {
        return Outcome::unknown(format!(
            "the Entra role assignments of {} could not be read: {} (the reader needs Microsoft Graph \
             RoleManagement.Read.Directory)",
            principal.id,
            side.entra_error.as_deref().unwrap_or("not read")
        ));
    };
    let who = format!("{} ({})", principal.id, principal.source);
    let groups = side.entra_groups.as_deref().unwrap_or_default();
    let held = assignments.iter().find(|a| {
        (a.principal_id.eq_ignore_ascii_case(&principal.id) || groups.iter().any(|g| a.principal_id.eq_ignore_ascii_case(g)))
            && (a.directory_scope_id.is_empty() || a.directory_scope_id == "/")
            && [APPLICATION_ADMIN_ROLE, CLOUD_APPLICATION_ADMIN_ROLE]
                .iter()
                .any(|r| a.role_definition_id.eq_ignore_ascii_case(r))
    });
    match held {
        Some(a) => Outcome::compliant(format!(
            "{who} holds {} in the directory{}",
            if a.role_definition_id.eq_ignore_ascii_case(APPLICATION_ADMIN_ROLE) {
                "Application Administrator"
            } else {
                "Cloud Application Administrator"
            },
            if a.principal_id.eq_ignore_ascii_case(&principal.id) {
                String::new()
            } else {
                format!(" through group {}", a.principal_id)
            }
        )),
        None if side.entra_groups.is_none() => Outcome::unknown(format!(
            "{who} holds neither Application Administrator nor Cloud Application Administrator directly; its \
             group memberships could not be read ({}), so a role held through a role-assignable group is unknown \
             (the reader needs Microsoft Graph GroupMember.Read.All or Directory.Read.All)",
            side.entra_groups_error.as_deref().unwrap_or("not read")
        )),
        None => Outcome::non_compliant(format!(
            "{who} holds neither Application Administrator nor Cloud Application Administrator directory-wide, \
             directly or through its {} security group(s), needed for CIEM",
            groups.len()
        )),
    }
}

/// `azure.rbac-ciem`: the principal holds an Entra application administrator role for CIEM.
pub static CHECK: Check = Check {
    id: "azure.rbac-ciem",
    plan: Plan::Cspm,
    title: "For CIEM, the principal holds Application Administrator or Cloud Application Administrator",
    resource_types: &[ACCOUNT_TYPE],
    triggers: AZURE_TRIGGERS,
    remediation: "Assign the Entra role Application Administrator or Cloud Application Administrator to whoever \
        enables permissions management (CIEM) on the connector: it registers the CIEM application.",
    permissions: &[
        "Microsoft Graph RoleManagement.Read.Directory",
        "Microsoft Graph GroupMember.Read.All (roles held through groups)",
    ],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

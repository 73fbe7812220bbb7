//! The Azure half as the `azure.*` checks read it: whether Azure was read, which connector covers
//! the account, and which subscription and principal the RBAC checks judge.

use crate::domain::azure::{AzureSide, Connector, Coverage, Principal, RoleAssignment, NOT_READ};
use crate::domain::checks::{Ctx, Outcome, Trigger};

/// Azure is read on a schedule (the periodic run, or each scan).
pub(crate) const AZURE_TRIGGERS: &[Trigger] = &[Trigger::Periodic];

/// Azure read permissions of the connector checks.
pub(crate) const CONNECTOR_PERMISSIONS: &[&str] = &["Microsoft.Security/securityConnectors/read (Reader)"];

/// Azure read permissions of the Azure RBAC checks.
pub(crate) const RBAC_PERMISSIONS: &[&str] = &["Microsoft.Authorization/roleAssignments/read (Reader)"];

/// What was read, or the outcome when Azure was not read at all.
pub(crate) fn side<'a>(ctx: &Ctx<'a>) -> Result<&'a AzureSide, Outcome> {
    let side = ctx.settings.azure_side.as_deref().ok_or_else(|| {
        Outcome::unknown(format!(
            "{NOT_READ}: give the subscription holding the AWS connector (scan --azure-subscription ID or all, or \
             settings azure.subscriptions) to check this"
        ))
    })?;
    // One plain reason for every Azure check when the sign-in itself failed.
    match &side.sign_in_error {
        Some(why) => Err(Outcome::unknown(format!(
            "Azure was not read: signing in to Microsoft Entra failed ({why})"
        ))),
        None => Ok(side),
    }
}

/// The connector covering the account; without one, NOT_APPLICABLE (the `azure.connector`
/// check reports it) or INSUFFICIENT_DATA when unreadable subscriptions could hold it.
pub(crate) fn connector<'a>(ctx: &Ctx<'a>) -> Result<&'a Connector, Outcome> {
    let account = &ctx.item.account_id;
    match ctx.settings.coverage(side(ctx)?, account) {
        Coverage::Covered(c) => Ok(c),
        Coverage::Unknown { errors } => Err(Outcome::unknown(format!(
            "no connector read covers account {account}, and some subscriptions could not be read: {}",
            errors.join("; ")
        ))),
        Coverage::None { .. } | Coverage::Excluded(_) => Err(Outcome::not_applicable(format!(
            "no connector covers account {account} (see azure.connector)"
        ))),
        Coverage::Ambiguous { candidates } => Err(Outcome::unknown(ambiguous(account, &candidates))),
        Coverage::NotRead => Err(Outcome::unknown(NOT_READ)),
    }
}

/// Why an organization connector that could cover `account` is not taken to.
pub(crate) fn ambiguous(account: &str, candidates: &[String]) -> String {
    format!(
        "organization connector(s) {} could cover account {account}, but which organization the account is in is \
         not known: set facts.organization_management_account (or accounts.{account}.organization_management_account) \
         in settings",
        candidates.join(", ")
    )
}

/// The principal and the subscription its Azure roles are judged on: the covering connector's,
/// else the only subscription read.
pub(crate) fn principal_and_subscription<'a>(ctx: &Ctx<'a>) -> Result<(&'a Principal, String), Outcome> {
    let side = side(ctx)?;
    let principal = side.principal.as_ref().ok_or_else(|| {
        Outcome::unknown(
            "the principal to judge is unknown: set azure.principal_id (the Entra object id of whoever enables the \
             plans), or sign in as that identity",
        )
    })?;
    let account = &ctx.item.account_id;
    let subscription = match ctx.settings.coverage(side, account) {
        Coverage::Covered(c) => c.subscription().map(str::to_owned),
        _ if side.subscriptions.len() == 1 => side.subscriptions.first().map(|s| s.id.clone()),
        _ => None,
    };
    let subscription = subscription.ok_or_else(|| {
        Outcome::unknown(format!(
            "no connector covers account {account} yet and several subscriptions were read: read the one that will \
             hold the connector alone to check the roles there"
        ))
    })?;
    Ok((principal, subscription))
}

/// The principal's role assignments that apply to the whole subscription.
pub(crate) fn subscription_roles<'a>(ctx: &Ctx<'a>, subscription: &str) -> Result<Vec<&'a RoleAssignment>, Outcome> {
    let side = side(ctx)?;
    let read = side.subscription(subscription).ok_or_else(|| {
        Outcome::unknown(format!(
            "subscription {subscription} holds the connector but was not read: add it to the subscriptions read"
        ))
    })?;
    let principal = side.principal.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
    match (&read.role_assignments, &read.role_assignments_error, &read.error) {
        (Some(list), _, _) => Ok(list
            .iter()
            .filter(|a| a.covers_subscription(subscription))
            .filter(|a| {
                a.properties.principal_id.is_empty()
                    || a.properties.principal_id.eq_ignore_ascii_case(principal)
                    || a.properties.principal_type.as_deref() == Some("Group")
            })
            .collect()),
        (None, Some(e), _) | (None, None, Some(e)) => Err(Outcome::unknown(format!(
            "the role assignments on subscription {subscription} could not be read: {e}"
        ))),
        (None, None, None) => Err(Outcome::unknown(format!(
            "the role assignments on subscription {subscription} were not read"
        ))),
    }
}

/// The first assignment of one of `roles`, with how it applies.
pub(crate) fn holds<'a>(assignments: &[&'a RoleAssignment], roles: &[&str]) -> Option<&'a RoleAssignment> {
    assignments
        .iter()
        .copied()
        .find(|a| roles.iter().any(|r| a.role_guid().eq_ignore_ascii_case(r)))
}

//! `azure.offering-roles`: every role the connector's offerings name exists in the account and
//! trusts the Defender OIDC provider; the join of the two halves, both ways.

use crate::domain::checks::support::azure::connector;
use crate::domain::checks::support::roles::role_trusts_provider;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::iam;
use crate::domain::model::Resource;
use crate::domain::settings::RoleNames;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE, GLOBAL_REGION};

/// Every role name the connector stacks create (defaults and the settings' names).
fn known_defender_roles(settings: &RoleNames) -> Vec<String> {
    let defaults = RoleNames::default();
    let mut names: Vec<String> = defaults.all().into_iter().chain(settings.all()).cloned().collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    names
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(connector(ctx));
    let account = &ctx.item.account_id;
    let offerings = c.offerings();
    if offerings.roles.is_empty() {
        return Outcome::not_applicable(format!("connector {}'s offerings name no AWS role", c.name));
    }
    let mut problems = Vec::new();
    let mut ok = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for role in &offerings.roles {
        if named.iter().any(|n| n.eq_ignore_ascii_case(&role.name)) {
            continue;
        }
        named.push(&role.name);
        let side = format!("{} {}", role.offering, role.field);
        match ctx.graph.role_by_name(account, &role.name) {
            None => problems.push(format!("{side} names role {}, which does not exist in account {account}", role.name)),
            Some(item) => {
                let Resource::IamRole(r) = &item.resource else { continue };
                if role.service_role {
                    ok.push(role.name.clone());
                } else if let Err(e) = role_trusts_provider(&ctx.with_item(item), r) {
                    problems.push(format!("{side} names role {}: {e}", role.name));
                } else {
                    ok.push(role.name.clone());
                }
            }
        }
    }
    let unnamed: Vec<String> = known_defender_roles(&ctx.settings.roles)
        .into_iter()
        .filter(|n| !named.iter().any(|m| m.eq_ignore_ascii_case(n)))
        .filter(|n| ctx.graph.role_by_name(account, n).is_some())
        .collect();
    let extra = if unnamed.is_empty() {
        String::new()
    } else {
        format!(
            "; in AWS but named by no offering of {}: {} (a feature switched off in Azure, or left over)",
            c.name,
            unnamed.join(", ")
        )
    };
    if problems.is_empty() {
        return Outcome::compliant(format!(
            "every role connector {} names exists and trusts the Defender provider: {}{extra}",
            c.name,
            ok.join(", ")
        ));
    }
    if !ctx.graph.records(account, GLOBAL_REGION, iam::ROLE.name) {
        return Outcome::unknown(format!(
            "not verified: the input holds no AWS::IAM::Role items for account {account}; roles connector {} names: {}",
            c.name,
            named.join(", ")
        ));
    }
    Outcome::non_compliant(format!("{}{extra}", problems.join("; ")))
}

const TRIGGERS: &[Trigger] = &[
    Trigger::Periodic,
    Trigger::ConfigChange(iam::ROLE.name),
    Trigger::CloudTrail(crate::domain::checks::support::IAM, "CreateRole"),
    Trigger::CloudTrail(crate::domain::checks::support::IAM, "DeleteRole"),
    Trigger::CloudTrail(crate::domain::checks::support::IAM, "UpdateAssumeRolePolicy"),
];

/// `azure.offering-roles`: every role the connector's offerings name exists and trusts the provider.
pub static CHECK: Check = Check {
    id: "azure.offering-roles",
    plan: Plan::Cspm,
    title: "Every AWS role the connector's offerings name exists and trusts the Defender provider",
    resource_types: &[ACCOUNT_TYPE],
    triggers: TRIGGERS,
    remediation: "Deploy (or update) the CloudFormation stack or StackSet the connector generated after its last \
        change in Azure: it creates each role the offerings name (cloudRoleArn), trusting the Defender OIDC provider. \
        Roles the audit-log pipeline gives to AWS services (cloudWatchToKinesis, kinesisToS3) need only exist \
        (inferred). A Defender role no offering names is reported, never a blocker: switch its feature on in Azure \
        or delete the role.",
    permissions: &[
        "Microsoft.Security/securityConnectors/read (Reader)",
        "iam:GetRole",
    ],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

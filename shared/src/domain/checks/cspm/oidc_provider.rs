//! `cspm.oidc-provider`: the Defender OIDC identity provider exists with the connector's audiences.

use crate::domain::vocab::GLOBAL_REGION;
use crate::domain::checks::support::IAM;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::iam;
use crate::domain::model::{OidcProvider, Resource};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

fn normalise_url(url: &str) -> &str {
    let url = url.strip_prefix("https://").unwrap_or(url);
    url.trim_end_matches('/')
}

fn provider_outcome(ctx: &Ctx<'_>, p: &OidcProvider) -> Outcome {
    let want = &ctx.settings.oidc.audiences;
    let missing: Vec<&str> = want
        .iter()
        .filter(|a| !p.client_id_list.contains(a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Outcome::non_compliant(format!(
            "the Defender OIDC provider lacks audience(s) {} (a provider created earlier, e.g. by Microsoft Sentinel, \
             does not carry Defender's audiences)",
            missing.join(", ")
        ));
    }
    if want.is_empty() {
        Outcome::compliant("the Defender OIDC provider exists (audiences not checked: set oidc.audiences in settings)")
    } else {
        Outcome::compliant("the Defender OIDC provider exists with the configured audiences")
    }
}

fn is_defender_provider(ctx: &Ctx<'_>, p: &OidcProvider, arn: Option<&str>) -> bool {
    let want = normalise_url(&ctx.settings.oidc.provider_url);
    p.url
        .as_deref()
        .is_some_and(|u| normalise_url(u).eq_ignore_ascii_case(want))
        || arn.is_some_and(|a| a.trim_end_matches('/').ends_with(&format!("oidc-provider/{want}")))
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    match &ctx.item.resource {
        Resource::OidcProvider(p) => {
            if !is_defender_provider(ctx, p, ctx.item.arn.as_deref().or(p.arn.as_deref())) {
                return Outcome::not_applicable("not the Defender for Cloud identity provider");
            }
            provider_outcome(ctx, p)
        }
        Resource::Account => {
            let account = &ctx.item.account_id;
            let found = ctx.graph.oidc_providers(account).find_map(|i| match &i.resource {
                Resource::OidcProvider(p) if is_defender_provider(ctx, p, i.arn.as_deref().or(p.arn.as_deref())) => {
                    Some(p)
                }
                _ => None,
            });
            match found {
                Some(p) => provider_outcome(ctx, p),
                None if ctx.graph.records(account, GLOBAL_REGION, iam::OIDC_PROVIDER.name) => Outcome::non_compliant(format!(
                    "no IAM OIDC provider for {} in account {account}: deploy the connector's CloudFormation stack",
                    ctx.settings.oidc.provider_url
                )),
                None => Outcome::unknown(format!(
                    "no AWS::IAM::OIDCProvider items for account {account} in the input: record that type, or check \
                     IAM for the provider {}",
                    ctx.settings.oidc.provider_url
                )),
            }
        }
        _ => Outcome::not_applicable("not an OIDC provider or account"),
    }
}

/// `cspm.oidc-provider`: the Defender OIDC identity provider exists with the connector's audiences.
pub static CHECK: Check = Check {
    id: "cspm.oidc-provider",
    plan: Plan::Cspm,
    title: "Defender OIDC identity provider exists with the connector's audiences",
    resource_types: &[iam::OIDC_PROVIDER.name, ACCOUNT_TYPE],
    triggers: &[
        Trigger::ConfigChange(iam::OIDC_PROVIDER.name),
        Trigger::CloudTrail(IAM, "CreateOpenIDConnectProvider"),
        Trigger::CloudTrail(IAM, "DeleteOpenIDConnectProvider"),
        Trigger::CloudTrail(IAM, "AddClientIDToOpenIDConnectProvider"),
        Trigger::CloudTrail(IAM, "RemoveClientIDFromOpenIDConnectProvider"),
        Trigger::CloudTrail(IAM, "UpdateOpenIDConnectProviderThumbprint"),
    ],
    remediation: "Deploy (or update) the connector's CloudFormation stack so that it creates the IAM OIDC provider \
        sts.windows.net/33e01921-4d64-4f8c-a055-5bdaffd5e33d/ with Defender's audiences. If Microsoft Sentinel created \
        the provider first, add Defender's audiences to it instead of creating a second one. The exact URL form is \
        inferred; configure oidc.provider_url and oidc.audiences in settings.",
    permissions: &["iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

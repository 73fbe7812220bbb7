//! Connector / Defender CSPM: the root every plan needs.

use super::{
    account_roles_outcome, declared, no_extra, role_item_outcome, Check, Compliance, Ctx, Outcome, RoleRequirement,
    Trigger,
};
use crate::domain::model::{OidcProvider, Resource};
use crate::domain::vocab::Plan;

use crate::domain::model::types::{cloudformation, iam};
use crate::domain::vocab::ACCOUNT_TYPE;
use Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA};

const IAM: &str = "iam.amazonaws.com";

/// Trust-policy and policy changes of a connector role.
pub(super) const ROLE_TRIGGERS: &[Trigger] = &[
    Trigger::ConfigChange(iam::ROLE.name),
    Trigger::CloudTrail(IAM, "CreateRole"),
    Trigger::CloudTrail(IAM, "DeleteRole"),
    Trigger::CloudTrail(IAM, "UpdateAssumeRolePolicy"),
    Trigger::CloudTrail(IAM, "AttachRolePolicy"),
    Trigger::CloudTrail(IAM, "DetachRolePolicy"),
    Trigger::CloudTrail(IAM, "PutRolePolicy"),
    Trigger::CloudTrail(IAM, "DeleteRolePolicy"),
    Trigger::CloudTrail(IAM, "PutRolePermissionsBoundary"),
];

/// Permissions to read a role live.
pub(super) const ROLE_PERMISSIONS: &[&str] = &[
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
];

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

fn oidc_provider(ctx: &Ctx<'_>) -> Outcome {
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
                None if ctx.graph.records(account, iam::OIDC_PROVIDER.name) => Outcome::non_compliant(format!(
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
pub static OIDC_PROVIDER: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: oidc_provider,
};

fn role_has_policy(role: &crate::domain::model::IamRole) -> Option<String> {
    (!role.has_any_policy()).then(|| "it has no attached or inline policy".to_owned())
}

fn monitor_role(ctx: &Ctx<'_>) -> Outcome {
    let names = [ctx.settings.roles.cspm_monitor.clone()];
    let reqs = [RoleRequirement {
        what: "CSPM monitoring",
        names: &names,
    }];
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, role_has_policy),
        _ => role_item_outcome(ctx, &reqs, role_has_policy),
    }
}

/// `cspm.monitor-role`: the CSPM monitoring role trusts the Defender provider and has a policy.
pub static MONITOR_ROLE: Check = Check {
    id: "cspm.monitor-role",
    plan: Plan::Cspm,
    title: "CSPM monitoring role trusts the Defender provider and has policies",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Redeploy the connector's CloudFormation stack: it creates the role CspmMonitorAws (confirm the \
        role name configured in the connector; set roles.cspm_monitor) trusting the Defender OIDC provider through \
        sts:AssumeRoleWithWebIdentity, with its read-only policy attached.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: monitor_role,
};

fn stack_healthy(ctx: &Ctx<'_>) -> Outcome {
    let Resource::CfnStack(stack) = &ctx.item.resource else {
        return Outcome::not_applicable("not a CloudFormation stack");
    };
    let names = &ctx.settings.connector_stack_names;
    let name = stack
        .stack_name
        .as_deref()
        .or(ctx.item.resource_name.as_deref())
        .unwrap_or_default();
    if names.is_empty() {
        return Outcome::not_applicable("no connector stack configured (settings connector_stack_names)");
    }
    if !names.iter().any(|n| n == name) {
        return Outcome::not_applicable(format!("stack {name} is not a configured connector stack"));
    }
    match stack.stack_status.as_deref() {
        None => Outcome::unknown(format!("stack {name}: StackStatus is not in the configuration item")),
        Some(s) if s.contains("FAILED") || s.contains("ROLLBACK") => {
            Outcome::non_compliant(format!("connector stack {name} is {s}"))
        }
        Some(s) if s.ends_with("_COMPLETE") => Outcome::compliant(format!("connector stack {name} is {s}")),
        Some(s) => Outcome::unknown(format!("connector stack {name} is {s} (in progress)")),
    }
}

/// `cspm.stack-healthy`: the connector's CloudFormation stack completed.
pub static STACK_HEALTHY: Check = Check {
    id: "cspm.stack-healthy",
    plan: Plan::Cspm,
    title: "Connector CloudFormation stack is in a complete state",
    resource_types: &[cloudformation::STACK.name],
    triggers: &[Trigger::ConfigChange(cloudformation::STACK.name)],
    remediation: "Open the stack's events in CloudFormation, fix the failed resource (often a name clash with an \
        existing OIDC provider or role) and update the stack; delete stacks stuck in ROLLBACK_COMPLETE and redeploy. \
        The StackStatus path in the configuration item is inferred.",
    permissions: &["cloudformation:DescribeStacks"],
    inferred: true,
    outcomes: &[C, NC, NA, U],
    evaluate: stack_healthy,
};

fn sts_regions(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings
            .facts_for(&ctx.item.account_id)
            .sts_active_in_connector_regions,
        "AWS STS is active in every connector region",
        "sts_active_in_connector_regions",
        "call sts:GetCallerIdentity against each regional STS endpoint (IAM > Account settings)",
    )
}

/// `cspm.sts-regions`: STS is active in every connector region.
pub static STS_REGIONS: Check = Check {
    id: "cspm.sts-regions",
    plan: Plan::Cspm,
    title: "AWS STS is active in every connector region",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[Trigger::Periodic],
    remediation: "In IAM > Account settings, activate the STS regional endpoint of every region the connector \
        covers. Checking each regional endpoint with sts:GetCallerIdentity is inferred.",
    permissions: &["sts:GetCallerIdentity"],
    inferred: true,
    outcomes: &[C, NC, U],
    evaluate: sts_regions,
};

fn scp_no_deny(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).no_scp_denies_defender,
        "no SCP or permissions boundary denies the Defender roles' actions",
        "no_scp_denies_defender",
        "review organizations:ListPoliciesForTarget / DescribePolicy (or iam:SimulatePrincipalPolicy)",
    )
}

/// `cspm.scp-no-deny`: no SCP or boundary denies the Defender roles' actions.
pub static SCP_NO_DENY: Check = Check {
    id: "cspm.scp-no-deny",
    plan: Plan::Cspm,
    title: "No SCP or permissions boundary denies the Defender roles",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[
        Trigger::Periodic,
        Trigger::CloudTrail("organizations.amazonaws.com", "AttachPolicy"),
        Trigger::CloudTrail("organizations.amazonaws.com", "UpdatePolicy"),
    ],
    remediation: "Exempt the Defender roles (CspmMonitorAws and the DefenderForCloud-* / MDCContainers* roles) from \
        service control policies and permissions boundaries that deny sts, iam, ec2, eks, rds or ssm actions. How to \
        verify it through Organizations or the policy simulator is inferred.",
    permissions: &[
        "organizations:ListPoliciesForTarget",
        "organizations:DescribePolicy",
        "iam:SimulatePrincipalPolicy",
    ],
    inferred: true,
    outcomes: &[C, NC, U],
    evaluate: scp_no_deny,
};

fn feature_requirements<'s>(ctx: &Ctx<'s>) -> Vec<RoleRequirement<'s>> {
    let (f, r) = (&ctx.settings.features, &ctx.settings.roles);
    let mut reqs = Vec::new();
    if f.agentless_scanning {
        reqs.push(RoleRequirement {
            what: "agentless scanning",
            names: std::slice::from_ref(&r.agentless_scanner),
        });
    }
    if f.data_discovery {
        for name in &r.data_discovery {
            reqs.push(RoleRequirement {
                what: "sensitive data discovery",
                names: std::slice::from_ref(name),
            });
        }
    }
    if f.ciem {
        for name in &r.ciem {
            reqs.push(RoleRequirement {
                what: "permissions management (CIEM)",
                names: std::slice::from_ref(name),
            });
        }
    }
    if f.k8s_api_access {
        reqs.push(RoleRequirement {
            what: "Kubernetes API access",
            names: &r.containers_k8s_discovery,
        });
    }
    if f.registry_access {
        reqs.push(RoleRequirement {
            what: "registry access",
            names: &r.containers_image_assessment,
        });
    }
    reqs
}

fn feature_roles(ctx: &Ctx<'_>) -> Outcome {
    let reqs = feature_requirements(ctx);
    if reqs.is_empty() {
        return Outcome::not_applicable("no connector feature that needs a role is declared (settings features)");
    }
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, no_extra),
        _ => role_item_outcome(ctx, &reqs, no_extra),
    }
}

/// `cspm.feature-roles`: every declared connector feature has its role, trusting the provider.
pub static FEATURE_ROLES: Check = Check {
    id: "cspm.feature-roles",
    plan: Plan::Cspm,
    title: "Roles of the declared connector features exist and trust the Defender provider",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Update the connector's CloudFormation stack after switching features on in Azure (agentless \
        scanning: DefenderForCloud-AgentlessScanner; data discovery: SensitiveDataDiscovery and \
        DefenderForCloud-DataSecurityPostureDB; CIEM: DefenderForCloud-Ciem and DefenderForCloud-OidcCiem; Kubernetes \
        API: MDCContainersAgentlessDiscoveryK8sRole; registry: MDCContainersImageAssessmentRole). Declare features \
        in settings.features.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: feature_roles,
};

//! `cspm.feature-roles`: every declared connector feature has its role, trusting the provider.

use crate::domain::checks::support::roles::{
    account_roles_outcome, no_extra, role_item_outcome, RoleRequirement, ROLE_PERMISSIONS, ROLE_TRIGGERS,
};
use crate::domain::checks::{Check, Ctx, Outcome};
use crate::domain::model::types::iam;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::{Plan, ACCOUNT_TYPE};

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

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
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
pub static CHECK: Check = Check {
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
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

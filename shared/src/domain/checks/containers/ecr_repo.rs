//! `containers.ecr-repo`: the image assessment role can read the repository.

use crate::domain::vocab::GLOBAL_REGION;
use crate::domain::checks::support::roles::ROLE_PERMISSIONS;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ecr, iam};
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

/// Managed policies that grant ECR image reads.
const ECR_READ_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess",
    "arn:aws:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly",
];

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let repo = match &ctx.item.resource {
        Resource::EcrPublicRepository(_) => {
            return Outcome::not_applicable(
                "public repositories are not supported by registry vulnerability assessment",
            );
        }
        Resource::EcrRepository(r) => r,
        _ => return Outcome::not_applicable("not an ECR repository"),
    };
    if !ctx.settings.features.registry_access {
        return Outcome::not_applicable("registry access is not declared (settings features.registry_access)");
    }
    let account = &ctx.item.account_id;
    let names = &ctx.settings.roles.containers_image_assessment;
    let Some(role_item) = names.iter().find_map(|n| ctx.graph.role_by_name(account, n)) else {
        if ctx.graph.records(account, GLOBAL_REGION, iam::ROLE.name) {
            return Outcome::non_compliant(format!("role {} does not exist", names.join(" or ")));
        }
        return Outcome::unknown(format!(
            "role {} cannot be confirmed: no AWS::IAM::Role items in the input",
            names.join(" or ")
        ));
    };
    let Resource::IamRole(role) = &role_item.resource else {
        return Outcome::unknown("the image assessment role could not be read");
    };
    let role_name = role.role_name.as_deref().unwrap_or(&role_item.resource_id);
    let role_arn = role
        .arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{role_name}"));
    let reads = ECR_READ_POLICIES.iter().any(|p| role.has_managed_policy(p)) || role.inline_allows("ecr:BatchGetImage");
    if !reads {
        if role.attached_managed_policies.is_empty() {
            return Outcome::non_compliant(format!("role {role_arn} has no policy granting ecr:BatchGetImage"));
        }
        return Outcome::unknown(format!(
            "role {role_arn} has customer-managed policies whose documents are not in the input; cannot confirm ECR read"
        ));
    }
    let name = repo.repository_name.as_deref().unwrap_or(&ctx.item.resource_id);
    if let Some(doc) = &repo.repository_policy_text {
        for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"] {
            if doc.denies(&role_arn, action) {
                return Outcome::non_compliant(format!("repository {name}'s policy denies {action} to {role_arn}"));
            }
        }
    }
    Outcome::compliant(format!("repository {name} is readable by {role_arn}"))
}

/// `containers.ecr-repo`: the image assessment role can read the repository.
pub static CHECK: Check = Check {
    id: "containers.ecr-repo",
    plan: Plan::Containers,
    title: "ECR repository is readable by Defender's image assessment role",
    resource_types: &[ecr::REPOSITORY.name, ecr::PUBLIC_REPOSITORY.name],
    triggers: &[
        Trigger::ConfigChange(ecr::REPOSITORY.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail("ecr.amazonaws.com", "SetRepositoryPolicy"),
        Trigger::CloudTrail("ecr.amazonaws.com", "DeleteRepositoryPolicy"),
    ],
    remediation: "Update the connector stack with registry access enabled (MDCContainersImageAssessmentRole) and \
        remove repository-policy Deny statements that cover that role.",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};

//! Amazon ECR: private and public repositories.

use serde::Deserialize;

use super::super::policy::PolicyDocument;
use super::{typed, Recording, TrailRef, TypeInfo};
use crate::domain::model::Resource;

/// `AWS::ECR::Repository`: images Defender for Containers assesses.
pub const REPOSITORY: TypeInfo = TypeInfo {
    name: "AWS::ECR::Repository",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::EcrRepository(typed(json)?)),
    joins: super::none,
    neighbourhood: super::eks::connector_roles,
    dependants: super::nothing,
    trail: &[TrailRef::Name {
        source: "ecr.amazonaws.com",
        keys: &["repositoryName"],
    }],
};

/// `AWS::ECR::PublicRepository`: public repositories, which Defender does not scan.
pub const PUBLIC_REPOSITORY: TypeInfo = TypeInfo {
    name: "AWS::ECR::PublicRepository",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::EcrPublicRepository(typed(json)?)),
    joins: super::none,
    neighbourhood: super::nothing,
    dependants: super::nothing,
    trail: &[],
};

/// `AWS::ECR::Repository` / `AWS::ECR::PublicRepository` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EcrRepository {
    /// `RepositoryName`.
    #[serde(alias = "repositoryName")]
    pub repository_name: Option<String>,
    /// `RepositoryPolicyText` (object or JSON string).
    #[serde(alias = "repositoryPolicyText")]
    pub repository_policy_text: Option<PolicyDocument>,
}

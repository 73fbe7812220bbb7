//! AWS CloudFormation: the connector's stacks.

use serde::Deserialize;

use super::{typed, Recording, TypeInfo};
use crate::domain::model::Resource;

/// `AWS::CloudFormation::Stack`: the stacks the connector's onboarding template creates.
pub const STACK: TypeInfo = TypeInfo {
    name: "AWS::CloudFormation::Stack",
    recording: Recording::Regional,
    parse: |json, _| Ok(Resource::CfnStack(typed(json)?)),
    joins: super::none,
    neighbourhood: super::nothing,
    dependants: super::nothing,
    trail: &[],
};

/// `AWS::CloudFormation::Stack` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CfnStack {
    /// `StackName`.
    #[serde(alias = "stackName")]
    pub stack_name: Option<String>,
    /// `StackStatus`.
    #[serde(alias = "stackStatus")]
    pub stack_status: Option<String>,
}

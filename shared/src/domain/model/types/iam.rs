//! AWS Identity and Access Management: roles and OIDC providers (global types).

use serde::Deserialize;

use super::super::policy::PolicyDocument;
use super::super::resources::nullable;
use super::{typed, JoinKey, Recording, TrailRef, TypeInfo};
use crate::domain::model::{ConfigurationItem, Lookup, Needs, Resource};
use crate::domain::settings::Settings;
use crate::domain::vocab::ResourceKey;

/// `AWS::IAM::Role`: instance-profile roles and the connector's roles.
pub const ROLE: TypeInfo = TypeInfo {
    name: "AWS::IAM::Role",
    recording: Recording::Global,
    parse: |json, _| Ok(Resource::IamRole(Box::new(typed(json)?))),
    joins: |item| {
        let Resource::IamRole(role) = &item.resource else {
            return Vec::new();
        };
        let name = role
            .role_name
            .as_deref()
            .or(item.resource_name.as_deref())
            .unwrap_or_default();
        let mut keys = vec![JoinKey::RoleName {
            account: item.account_id.clone(),
            name: name.to_ascii_lowercase(),
        }];
        keys.extend(
            role.instance_profile_list
                .iter()
                .filter_map(|p| p.arn.clone())
                .map(JoinKey::RoleInProfile),
        );
        keys
    },
    neighbourhood: account_context,
    dependants: |item, _| {
        let mut n = Needs::default();
        if let Resource::IamRole(r) = &item.resource {
            let arns: Vec<String> = r.instance_profile_list.iter().filter_map(|p| p.arn.clone()).collect();
            if !arns.is_empty() {
                n.lookup(Lookup::InstancesWithProfiles(arns));
            }
        }
        n.key(ResourceKey::new(super::account::ACCOUNT.name, item.account_id.clone()));
        // The containers checks read connector roles by name.
        n.lookup(Lookup::AllOfType(super::eks::CLUSTER.name));
        n.lookup(Lookup::AllOfType(super::ecr::REPOSITORY.name));
        n
    },
    trail: &[TrailRef::Name {
        source: "iam.amazonaws.com",
        keys: &["roleName"],
    }],
};

/// `AWS::IAM::OIDCProvider`: the Defender connector's identity provider.
pub const OIDC_PROVIDER: TypeInfo = TypeInfo {
    name: "AWS::IAM::OIDCProvider",
    recording: Recording::Global,
    parse: |json, _| Ok(Resource::OidcProvider(typed(json)?)),
    joins: |item| {
        vec![JoinKey::OidcProvider {
            account: item.account_id.clone(),
        }]
    },
    neighbourhood: account_context,
    dependants: |item, _| {
        let mut n = Needs::default();
        n.key(ResourceKey::new(super::account::ACCOUNT.name, item.account_id.clone()));
        n
    },
    // CloudTrail names providers by ARN: such calls touch the account (see `account`).
    trail: &[],
};

/// What account-level results read: the connector roles by name and every OIDC provider.
pub(crate) fn account_context(_: &ConfigurationItem, s: &Settings) -> Needs {
    let mut n = Needs::default();
    n.lookup(Lookup::Named(ROLE.name, super::connector_role_names(s)));
    n.lookup(Lookup::AllOfType(OIDC_PROVIDER.name));
    n
}

/// `AWS::IAM::Role` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IamRole {
    /// `roleName`.
    #[serde(alias = "RoleName")]
    pub role_name: Option<String>,
    /// `arn`.
    #[serde(alias = "Arn")]
    pub arn: Option<String>,
    /// `assumeRolePolicyDocument` (object or URL-encoded string).
    #[serde(alias = "AssumeRolePolicyDocument")]
    pub assume_role_policy_document: Option<PolicyDocument>,
    /// `attachedManagedPolicies`.
    #[serde(alias = "AttachedManagedPolicies", deserialize_with = "nullable")]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    /// `rolePolicyList` (inline policies).
    #[serde(alias = "RolePolicyList", deserialize_with = "nullable")]
    pub role_policy_list: Vec<InlinePolicy>,
    /// `instanceProfileList`.
    #[serde(alias = "InstanceProfileList", deserialize_with = "nullable")]
    pub instance_profile_list: Vec<InstanceProfile>,
}

/// One attached managed policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttachedPolicy {
    /// `policyArn`.
    #[serde(alias = "PolicyArn")]
    pub policy_arn: Option<String>,
    /// `policyName`.
    #[serde(alias = "PolicyName")]
    pub policy_name: Option<String>,
}

/// One inline policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InlinePolicy {
    /// `policyName`.
    #[serde(alias = "PolicyName")]
    pub policy_name: Option<String>,
    /// `policyDocument` (URL-encoded string in Config items).
    #[serde(alias = "PolicyDocument")]
    pub policy_document: Option<PolicyDocument>,
}

/// One instance profile the role belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceProfile {
    /// `arn`.
    #[serde(alias = "Arn")]
    pub arn: Option<String>,
    /// `instanceProfileName`.
    #[serde(alias = "InstanceProfileName")]
    pub instance_profile_name: Option<String>,
}

impl IamRole {
    /// Whether any attached or inline policy exists.
    pub fn has_any_policy(&self) -> bool {
        !self.attached_managed_policies.is_empty() || !self.role_policy_list.is_empty()
    }

    /// Whether the managed policy `arn` is attached.
    pub fn has_managed_policy(&self, arn: &str) -> bool {
        self.attached_managed_policies
            .iter()
            .any(|p| p.policy_arn.as_deref() == Some(arn))
    }

    /// Whether an inline policy allows `action`.
    pub fn inline_allows(&self, action: &str) -> bool {
        self.role_policy_list
            .iter()
            .filter_map(|p| p.policy_document.as_ref())
            .any(|d| d.allows(action))
    }
}

/// `AWS::IAM::OIDCProvider` configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OidcProvider {
    /// `Url` (IAM stores it without the scheme).
    #[serde(alias = "url")]
    pub url: Option<String>,
    /// `ClientIdList`: the audiences.
    #[serde(alias = "clientIdList", alias = "clientIDList", deserialize_with = "nullable")]
    pub client_id_list: Vec<String>,
    /// `ThumbprintList`.
    #[serde(alias = "thumbprintList", deserialize_with = "nullable")]
    pub thumbprint_list: Vec<String>,
    /// `Arn`.
    #[serde(alias = "arn")]
    pub arn: Option<String>,
}

//! The account pseudo-resource that account-level checks report on (not recorded by AWS Config).

use super::{JoinKey, Recording, TrailRef, TypeInfo};
use crate::domain::model::Resource;

/// `AWS::::Account`: one per account in the input, built by the resource graph.
pub const ACCOUNT: TypeInfo = TypeInfo {
    name: crate::domain::vocab::ACCOUNT_TYPE,
    recording: Recording::Synthetic,
    parse: |_, _| Ok(Resource::Account),
    joins: |_| Vec::<JoinKey>::new(),
    neighbourhood: super::iam::account_context,
    dependants: super::nothing,
    // Changes whose targets CloudTrail does not name: SCPs, OIDC providers (by ARN).
    trail: &[
        TrailRef::Every {
            source: "organizations.amazonaws.com",
            name_contains: "",
        },
        TrailRef::Every {
            source: "iam.amazonaws.com",
            name_contains: "OpenIDConnectProvider",
        },
    ],
};

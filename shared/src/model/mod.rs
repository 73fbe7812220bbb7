//! Domain model: AWS Config configuration items, normalised resources and IAM policy documents.

pub mod item;
pub mod policy;
pub mod resources;

pub use item::{ConfigurationItem, ItemStatus, Relationship};
pub use policy::PolicyDocument;
pub use resources::*;

/// `resourceType` of the synthetic account resource that account-level checks report on.
pub const ACCOUNT_TYPE: &str = "AWS::::Account";
/// Region given to account-level (and IAM, which is global) evaluations.
pub const GLOBAL_REGION: &str = "global";

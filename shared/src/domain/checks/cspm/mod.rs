//! Connector / Defender CSPM: the root every plan needs.

pub mod feature_roles;
pub mod monitor_role;
pub mod oidc_provider;
pub mod scp_no_deny;
pub mod stack_healthy;
pub mod sts_regions;

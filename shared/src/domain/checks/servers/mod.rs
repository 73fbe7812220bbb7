//! Defender for Servers (EC2): SSM reachability and Arc auto-provisioning prerequisites.

pub mod agentless_eligible;
pub mod applicable;
pub mod arc_autoprov_role;
pub mod arc_egress;
pub mod instance_profile;
pub mod os_supported;
pub mod ssm_agent_online;
pub mod ssm_core_policy;
pub mod ssm_network;
pub mod tagging_allowed;

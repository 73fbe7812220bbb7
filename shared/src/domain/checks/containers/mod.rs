//! Defender for Containers on EKS and ECR.

pub mod audit_pipeline;
pub mod ecr_repo;
pub mod eks_access_entry;
pub mod eks_api_reachable;
pub mod eks_audit_logging;
pub mod eks_auth_mode;
pub mod eks_version;
pub mod fargate;
pub mod node_os;
pub mod sensor_egress;

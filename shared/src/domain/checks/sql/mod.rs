//! Defender for SQL on EC2 and RDS Custom: needs the Servers pipeline (Arc comes from it).

pub mod egress;
pub mod os_version;
pub mod rds_custom;
pub mod servers_chain;
pub mod target;

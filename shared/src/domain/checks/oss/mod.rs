//! Defender for open-source relational databases (RDS PostgreSQL, MySQL, MariaDB and Aurora).

pub mod applicable;
pub mod audit_params;
pub mod cw_exports;
pub mod multiaz_cluster;
pub mod param_in_sync;
pub mod plugin_version;
pub mod quota;
pub mod role;
pub mod running;

//! Helpers shared by the checks of several plans, each in a module named for what it reads.

pub(crate) mod azure;
pub(crate) mod declared;
pub(crate) mod ec2;
pub(crate) mod eks;
pub(crate) mod rds;
pub(crate) mod roles;
pub(crate) mod sql_host;

pub(crate) const IAM: &str = "iam.amazonaws.com";

pub(crate) const EC2: &str = "ec2.amazonaws.com";

pub(crate) const EKS: &str = "eks.amazonaws.com";

pub(crate) const RDS: &str = "rds.amazonaws.com";

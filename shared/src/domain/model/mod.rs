//! Domain model: AWS Config configuration items, the description and typed configuration of every
//! resource type the checks read ([`types`]), IAM policy documents and the lookups that find
//! related resources.

pub mod item;
pub mod lookup;
pub mod policy;
pub mod resources;
pub mod types;

pub use item::{ConfigurationItem, ItemStatus, Relationship};
pub use lookup::{Lookup, Needs};
pub use policy::PolicyDocument;
pub use resources::{LiveFacts, Resource};
pub use types::{
    cloudformation::CfnStack,
    ec2::{
        ConfigTag, Ec2Instance, Ec2LiveFacts, InstanceProfileRef, InstanceState, ProductCode, Route, RouteTable,
        RouteTableAssociation, VpcEndpoint,
    },
    ecr::EcrRepository,
    eks::{
        EksAccessConfig, EksCluster, EksClusterLogging, EksFargateProfile, EksLiveFacts, EksLogType, EksLogging,
        EksVpcConfig,
    },
    iam::{AttachedPolicy, IamRole, InlinePolicy, InstanceProfile, OidcProvider},
    rds::{
        RdsCluster, RdsClusterMember, RdsInstance, RdsOption, RdsOptionGroup, RdsOptionGroupMembership,
        RdsOptionSetting, RdsParameterGroupStatus,
    },
    ssm::{inventory_instance, Application, InstanceInformation, InventorySection, SsmInventory},
};

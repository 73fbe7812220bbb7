//! Domain model: AWS Config configuration items, normalised resources, IAM policy documents and
//! the lookups that find related resources.

pub mod item;
pub mod lookup;
pub mod policy;
pub mod resources;

pub use item::{ConfigurationItem, ItemStatus, Relationship};
pub use lookup::{Lookup, Needs};
pub use policy::PolicyDocument;
pub use resources::*;

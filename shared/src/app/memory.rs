//! In-memory implementations of the ports: the same contracts as the AWS adapters, over plain
//! collections, so the flows can be tested in milliseconds and fuzzed without a network.

use crate::app::ports::{ConfigReader, PortError};
use crate::domain::model::{ConfigurationItem, Lookup};
use crate::domain::vocab::ResourceKey;

/// An in-memory [`ConfigReader`] over a fixed set of items (tests, and evaluating a snapshot
/// through the same path the functions use).
#[derive(Debug, Default)]
pub struct MemoryReader {
    items: Vec<ConfigurationItem>,
}

impl MemoryReader {
    /// A reader over `items`.
    pub fn new(items: Vec<ConfigurationItem>) -> Self {
        Self { items }
    }
}

impl ConfigReader for MemoryReader {
    async fn batch_get(&self, keys: &[ResourceKey]) -> Result<Vec<ConfigurationItem>, PortError> {
        Ok(self
            .items
            .iter()
            .filter(|i| {
                keys.iter()
                    .any(|k| k.resource_type == i.resource_type && k.resource_id == i.resource_id)
            })
            .cloned()
            .collect())
    }

    async fn select(&self, lookup: &Lookup) -> Result<Vec<ResourceKey>, PortError> {
        Ok(self
            .items
            .iter()
            .filter(|i| lookup.matches(i))
            .map(|i| ResourceKey::new(i.resource_type.clone(), i.resource_id.clone()))
            .collect())
    }

    async fn latest(&self, key: &ResourceKey) -> Result<Option<ConfigurationItem>, PortError> {
        Ok(self.batch_get(std::slice::from_ref(key)).await?.into_iter().next())
    }
}

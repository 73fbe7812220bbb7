//! Errors of the core library.

use std::fmt;

/// Where in an input a bad configuration item sits, so the message can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLocation {
    /// Position of the item in its input (0-based), when it came from a list.
    pub index: Option<usize>,
    /// `resourceType`, when it could be read.
    pub resource_type: Option<String>,
    /// `resourceId`, when it could be read.
    pub resource_id: Option<String>,
}

impl fmt::Display for ItemLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "configuration item #{i}")?,
            None => write!(f, "configuration item")?,
        }
        match (&self.resource_type, &self.resource_id) {
            (Some(t), Some(id)) => write!(f, " ({t} {id})"),
            (Some(t), None) => write!(f, " ({t})"),
            (None, Some(id)) => write!(f, " ({id})"),
            (None, None) => Ok(()),
        }
    }
}

/// Everything that can go wrong in the core. Every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration item could not be read; `field` is the JSON path inside the item.
    #[error("{location}: field `{field}`: {message}")]
    Item {
        location: ItemLocation,
        field: String,
        message: String,
    },
    /// The input as a whole is not a snapshot, a list of items or an item.
    #[error("{source_name}: {message}")]
    Input { source_name: String, message: String },
    /// The settings file is invalid.
    #[error("settings {source_name}: {message}")]
    Settings { source_name: String, message: String },
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

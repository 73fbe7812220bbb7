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

/// A serde_json error's message without the input's values, for messages that reach logs and
/// Lambda error responses: `invalid type: string "…", expected u64` becomes `invalid type: string,
/// expected u64`, `unknown variant `…`` loses the variant. Field names and positions stay (they
/// say where the problem is); configuration contents do not.
pub fn redacted(e: &serde_json::Error) -> String {
    redact(&e.to_string())
}

fn redact(message: &str) -> String {
    // serde's Data errors: "<kind>: <unexpected>, expected <what>[ at line L column C]".
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (unexpected, tail) = rest.split_once(", expected ").unwrap_or((rest, ""));
            // Keep only the kind ("string", "integer", "map"), never the value.
            let kind = unexpected
                .split([' ', '`', '"'])
                .next()
                .filter(|k| k.chars().all(|c| c.is_ascii_alphabetic()))
                .unwrap_or("value");
            return if tail.is_empty() {
                format!("{prefix}{kind}")
            } else {
                format!("{prefix}{kind}, expected {tail}")
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let tail = rest.split_once("`, ").map_or("", |(_, t)| t);
        return format!("unknown variant, {tail}").trim_end_matches(", ").to_owned();
    }
    // Anything else: drop quoted strings, in case a custom error quotes input.
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' if !quoted => {
                quoted = true;
                out.push_str("\"…");
            }
            '"' => {
                quoted = false;
                out.push('"');
            }
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        redacted(&serde_json::from_str::<T>(json).unwrap_err())
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        count: u64,
        kind: Kind,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        A,
    }

    #[test]
    fn values_never_survive_but_fields_and_positions_do() {
        let m = message_of::<Shape>(r#"{"count": "AKIASECRETVALUE", "kind": "A"}"#);
        assert!(!m.contains("AKIASECRETVALUE"), "{m}");
        assert!(
            m.starts_with("invalid type: string, expected u64 at line 1 column"),
            "{m}"
        );

        let m = message_of::<Shape>(r#"{"count": 1, "kind": "password123"}"#);
        assert!(!m.contains("password123"), "{m}");
        assert!(m.starts_with("unknown variant, expected `A`"), "{m}");

        let m = message_of::<Shape>(r#"{"count": -5, "kind": "A"}"#);
        assert!(!m.contains("-5"), "{m}");
        assert!(m.starts_with("invalid value: integer, expected u64"), "{m}");

        let m = message_of::<Shape>(r#"{"kind": "A"}"#);
        assert!(m.starts_with("missing field `count`"), "{m}");

        let m = message_of::<Shape>(r#"{"count": 1, "kind": "A""#);
        assert!(m.contains("line 1"), "{m}");
    }

    #[test]
    fn other_messages_lose_quoted_strings() {
        assert_eq!(redact(r#"bad "secret" here"#), r#"bad "…" here"#);
    }
}

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
    /// The line of the input the item starts on, when it is part of the input's text.
    pub line: Option<u32>,
}

impl fmt::Display for ItemLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "configuration item #{i}")?,
            None => write!(f, "configuration item")?,
        }
        if let Some(l) = self.line {
            write!(f, " at line {l}")?;
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

/// `s` as it may be written to a log line, an error response or a terminal: control characters
/// (line breaks, carriage returns, ESC and CSI, which start terminal escape sequences) written as
/// `\u{a}`. A value from an event or an account cannot forge a log line or move a cursor.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// The first words of `s`, at most about `max` characters, cut between words (` ...` when cut).
pub fn first_words(s: &str, max: usize) -> String {
    let mut out = String::new();
    for word in s.split_whitespace() {
        if out.len() + word.len() > max {
            out.push_str(" ...");
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A serde_json error's message without the input's values, for messages that reach logs and
/// Lambda error responses: `invalid type: string "…", expected u64` becomes `invalid type: string,
/// expected u64`, `unknown variant `…`` loses the variant. Field names and positions stay (they
/// say where the problem is); configuration contents do not.
pub fn redacted(e: &serde_json::Error) -> String {
    plain(&redact(&e.to_string()))
}

/// serde's words for what it expected, in the words of JSON: no Rust type names.
fn plain(message: &str) -> String {
    let mut out = message.to_owned();
    if let Some(at) = out.find("data did not match any variant of untagged enum") {
        let tail = out[at..]
            .find(" at line ")
            .map(|i| out[at + i..].to_owned())
            .unwrap_or_default();
        out = format!("{}a value of none of the accepted shapes{tail}", &out[..at]);
    }
    for (rust, json) in [
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
        ("expected unit", "expected null"),
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: list"),
    ] {
        if let Some(i) = out.find(rust) {
            let end = i + rust.len();
            // Whole words only (`expected u64` but not a longer name).
            if out[end..].chars().next().is_none_or(|c| !c.is_alphanumeric()) {
                out.replace_range(i..end, json);
            }
        }
    }
    // `expected struct Ec2Instance`, `expected enum Compliance`, `expected tuple struct X`.
    for (kind, json) in [
        ("struct ", "an object"),
        ("tuple struct ", "a list"),
        ("enum ", "one of the known values"),
    ] {
        let pattern = format!("expected {kind}");
        if let Some(i) = out.find(&pattern) {
            let name_end = out[i + pattern.len()..]
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .map_or(out.len(), |e| i + pattern.len() + e);
            out.replace_range(i..name_end, &format!("expected {json}"));
        }
    }
    out
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
            m.starts_with("invalid type: string, expected a whole number at line 1 column"),
            "{m}"
        );

        let m = message_of::<Shape>(r#"{"count": 1, "kind": "password123"}"#);
        assert!(!m.contains("password123"), "{m}");
        assert!(m.starts_with("unknown variant, expected `A`"), "{m}");

        let m = message_of::<Shape>(r#"{"count": -5, "kind": "A"}"#);
        assert!(!m.contains("-5"), "{m}");
        assert!(m.starts_with("invalid value: integer, expected a whole number"), "{m}");

        let m = message_of::<Shape>(r#"{"kind": "A"}"#);
        assert!(m.starts_with("missing field `count`"), "{m}");

        let m = message_of::<Shape>(r#"{"count": 1, "kind": "A""#);
        assert!(m.contains("line 1"), "{m}");
    }

    #[test]
    fn messages_speak_json_not_rust() {
        let m = message_of::<Shape>(r#"{"count": [1], "kind": "A"}"#);
        assert!(m.starts_with("invalid type: list, expected a whole number"), "{m}");
        let m = message_of::<Shape>(r#""not an object""#);
        assert!(m.starts_with("invalid type: string, expected an object"), "{m}");
        let m = message_of::<Shape>(r#"{"count": 1, "kind": {"a": 1}}"#);
        assert!(!m.contains("Kind"), "{m}");
        let m = message_of::<Vec<Shape>>(r#"{"count": 1}"#);
        assert!(m.starts_with("invalid type: object, expected a list"), "{m}");
    }

    #[test]
    fn other_messages_lose_quoted_strings() {
        assert_eq!(redact(r#"bad "secret" here"#), r#"bad "…" here"#);
    }
}

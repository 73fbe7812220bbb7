//! The repository's shipped inputs, as the tests and benches read them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// A file under `events/`, parsed.
pub fn event_json(name: &str) -> Value {
    let path = root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo snapshot's configuration items, as JSON.
pub fn demo_items() -> Vec<Value> {
    event_json("demo-snapshot.json")["configurationItems"]
        .as_array()
        .expect("configurationItems")
        .clone()
}

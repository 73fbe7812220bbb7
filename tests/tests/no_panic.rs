//! Bad input never panics: every field of every demo item, at every depth, is replaced by each
//! kind of JSON value; the item must then either parse and evaluate, or fail with an error that
//! names the item.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::{json, Value};
use shared::domain::engine::scan;
use shared::domain::model::ConfigurationItem;
use shared::domain::settings::Settings;

fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for p in &path[..path.len() - 1] {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).unwrap(),
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    match cur {
        Value::Object(m) => {
            m.insert(path[path.len() - 1].clone(), new);
        }
        Value::Array(a) => a[path[path.len() - 1].parse::<usize>().unwrap()] = new,
        _ => unreachable!(),
    }
}

#[test]
fn type_confusion_in_any_field_is_an_error_or_an_outcome_never_a_panic() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/demo-snapshot.json")).unwrap();
    let snap: Value = serde_json::from_str(&text).unwrap();
    let items = snap["configurationItems"].as_array().unwrap();
    let replacements = [
        json!(null),
        json!(7),
        json!(-1.5),
        json!("%7Bx"),
        json!([]),
        json!({}),
        json!([{"a": null}]),
        json!(true),
    ];
    let settings = Settings::default();
    let all_parsed: Vec<ConfigurationItem> = items
        .iter()
        .enumerate()
        .map(|(i, v)| ConfigurationItem::from_json(&v.to_string(), Some(i)).unwrap())
        .collect();
    let (mut parsed, mut rejected) = (0, 0);
    for (index, item) in items.iter().enumerate() {
        let mut all = Vec::new();
        paths(item, &mut Vec::new(), &mut all);
        for path in &all {
            for r in &replacements {
                let mut mutated = item.clone();
                set(&mut mutated, path, r.clone());
                match ConfigurationItem::from_json(&mutated.to_string(), Some(index)) {
                    Ok(ci) => {
                        parsed += 1;
                        // Evaluate it together with the rest of the snapshot, so joins are exercised.
                        let mut others = all_parsed.clone();
                        others[index] = ci;
                        let _ = scan(others, &settings);
                    }
                    Err(e) => {
                        rejected += 1;
                        assert!(
                            e.to_string().contains(&format!("#{index}")),
                            "error does not name the item: {e}"
                        );
                    }
                }
            }
        }
    }
    assert!(parsed > 1000 && rejected > 1000, "parsed {parsed}, rejected {rejected}");
}

//! The crate's layers and module graph, read from the source: the domain uses nothing outside
//! itself, contracts use only the domain, the application uses no adapter, and no two modules
//! depend on each other in a circle.
//!
//! A module here is a layer's direct child (`domain::checks`, `app::flows`, `aws::dynamo`): what a
//! module's own files say about each other (a module and its sub-modules) is not a dependency. Every
//! path that starts with `crate::`, `super::` or `self::` is resolved against the file's place in the
//! tree, in `use` declarations and in code alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first, and the layers each may use besides itself.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("contracts", &["domain"]),
    ("app", &["domain", "contracts"]),
    ("aws", &["domain", "contracts", "app"]),
    ("azure", &["domain"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `domain/checks/mod.rs` → `[domain, checks]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Strips comments and string literals, so that prose and messages are not read as paths.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'r' && b.get(i + 1) == Some(&b'#') && b.get(i + 2) == Some(&b'"') {
            i += 3;
            while i < b.len() && !(b[i] == b'"' && b.get(i + 1) == Some(&b'#')) {
                i += 1;
            }
            i += 2;
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path a file names, expanded from `use` trees (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| code_at(&bytes, i, p) && (i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != ':'));
        if starts.is_none() {
            i += 1;
            continue;
        }
        let (paths, end) = tree(&bytes, i);
        out.extend(paths);
        i = end.max(i + 1);
    }
    out
}

fn code_at(s: &[char], i: usize, p: &str) -> bool {
    p.chars().enumerate().all(|(k, c)| s.get(i + k) == Some(&c))
}

/// Parses a path or use tree at `i`; returns the expanded paths and where it ends.
fn tree(s: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut prefix = String::new();
    loop {
        while s.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if s.get(i) == Some(&'{') {
            i += 1;
            let mut out = Vec::new();
            loop {
                while s.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                if s.get(i) == Some(&'}') || i >= s.len() {
                    return (out, i + 1);
                }
                let (sub, end) = tree(s, i);
                out.extend(sub.into_iter().map(|p| format!("{prefix}{p}")));
                i = end;
            }
        }
        let start = i;
        while s.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '*') {
            i += 1;
        }
        prefix.extend(&s[start..i]);
        if s.get(i) == Some(&':') && s.get(i + 1) == Some(&':') {
            prefix.push_str("::");
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// Resolves a path to the (layer, module) it names, from the file at `here`.
fn target(here: &[String], path: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = path.split("::").collect();
    let mut abs: Vec<String> = Vec::new();
    let mut rest = &segs[..];
    match segs[0] {
        "crate" => rest = &segs[1..],
        "self" | "super" => {
            abs = here.to_vec();
            while let Some(first) = rest.first() {
                match *first {
                    "self" => {}
                    "super" => {
                        abs.pop();
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    abs.extend(rest.iter().map(|s| (*s).to_owned()));
    match abs.as_slice() {
        [layer, module, ..] if LAYERS.iter().any(|(l, _)| l == layer) => {
            Some((layer.clone(), module.trim_end_matches('*').to_owned()))
        }
        _ => None,
    }
}

/// Module → the modules it uses.
fn module_graph() -> BTreeMap<(String, String), BTreeSet<(String, String)>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
    for f in files {
        let here = module_of(&f);
        let [layer, module, ..] = here.as_slice() else {
            continue; // lib.rs and the layers' own mod.rs declare modules only
        };
        let from = (layer.clone(), module.clone());
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        let entry = graph.entry(from.clone()).or_default();
        for p in paths_in(&code) {
            if let Some(to) = target(&here, &p) {
                if to != from && !to.1.is_empty() {
                    entry.insert(to);
                }
            }
        }
    }
    graph
}

#[test]
fn the_path_reader_sees_use_trees_and_inline_paths() {
    let code = code_only(
        "use crate::domain::{vocab::{Compliance, Plan}, graph};\nlet x = super::super::model::Y; // crate::aws::no\n\"crate::app::no\"",
    );
    assert_eq!(
        paths_in(&code),
        [
            "crate::domain::vocab::Compliance",
            "crate::domain::vocab::Plan",
            "crate::domain::graph",
            "super::super::model::Y"
        ]
    );
    let here = ["domain".to_owned(), "checks".to_owned(), "servers".to_owned()];
    assert_eq!(
        target(&here, "super::super::model::Y"),
        Some(("domain".into(), "model".into()))
    );
    assert_eq!(target(&here, "super::Check"), Some(("domain".into(), "checks".into())));
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let mut wrong = Vec::new();
    for ((layer, module), deps) in module_graph() {
        let allowed = LAYERS.iter().find(|(l, _)| *l == layer).unwrap().1;
        for (dl, dm) in deps {
            if dl != layer && !allowed.contains(&dl.as_str()) {
                wrong.push(format!("{layer}::{module} uses {dl}::{dm}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_cycles() {
    let graph = module_graph();
    assert!(graph.len() > 20, "the graph was not read: {graph:?}");
    // Depth-first search; a back edge is a cycle.
    fn visit(
        n: &(String, String),
        g: &BTreeMap<(String, String), BTreeSet<(String, String)>>,
        state: &mut BTreeMap<(String, String), u8>,
        stack: &mut Vec<(String, String)>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for d in g.get(n).into_iter().flatten() {
            match state.get(d).copied().unwrap_or(0) {
                0 => visit(d, g, state, stack, cycles),
                1 => {
                    let at = stack.iter().position(|s| s == d).unwrap_or(0);
                    let names: Vec<String> = stack[at..]
                        .iter()
                        .chain(std::iter::once(d))
                        .map(|(l, m)| format!("{l}::{m}"))
                        .collect();
                    cycles.push(names.join(" -> "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for n in graph.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            visit(n, &graph, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

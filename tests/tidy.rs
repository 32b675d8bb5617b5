//! Tidy: the architecture invariants of ARCHITECTURE.md, checked on every test run.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Crates that tie code to a browser or a UI framework.
const WEB_CRATES: &[&str] =
    &["leptos", "web-sys", "js-sys", "wasm-bindgen", "wasm-bindgen-futures", "gloo-net", "gloo-utils", "plotters"];

/// `name -> dependency names` from Cargo.lock.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock = fs::read_to_string(Path::new(ROOT).join("Cargo.lock")).expect("Cargo.lock is committed");
    let mut graph = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block.lines().find_map(|l| l.strip_prefix("name = ")).expect("name").trim_matches('"').to_string();
        let deps = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or(""))
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').trim_matches('"').split(' ').next().map(str::to_string))
            .filter(|d| !d.is_empty())
            .collect();
        graph.entry(name).or_insert(deps);
    }
    graph
}

#[test]
fn engine_depends_on_nothing_from_the_browser() {
    let graph = lock_graph();
    let mut seen = BTreeSet::new();
    let mut todo = vec!["meterlens-engine".to_string()];
    while let Some(name) = todo.pop() {
        // The one known path: the Parquet crate turns on chrono's `clock`, whose local-time-zone lookup
        // (iana-time-zone) asks the browser's Intl through js-sys on wasm32. The engine never asks for local time.
        if seen.insert(name.clone()) && name != "iana-time-zone" {
            todo.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    assert!(seen.contains("csv-core"), "graph was read: {seen:?}");
    let web: Vec<&&str> = WEB_CRATES.iter().filter(|c| seen.contains(**c)).collect();
    assert!(web.is_empty(), "meterlens-engine depends (maybe indirectly) on {web:?}");
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn only_src_web_touches_browser_apis() {
    let web_dir = Path::new(ROOT).join("src/web");
    let mut offenders = Vec::new();
    for dir in ["src", "crates/engine/src", "crates/cli/src"] {
        for file in rust_files(&Path::new(ROOT).join(dir)) {
            if file.starts_with(&web_dir) || file.ends_with("src/main.rs") && dir == "src" {
                continue;
            }
            let text = fs::read_to_string(&file).unwrap();
            for needle in ["web_sys", "js_sys", "wasm_bindgen", "gloo_net", "JsCast"] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", file.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "browser APIs outside src/web: {offenders:#?}");
}

#[test]
fn every_rust_file_opens_with_its_purpose() {
    let mut missing = Vec::new();
    for dir in ["src", "crates/engine/src", "crates/cli/src", "crates/cli/tests", "tests"] {
        for file in rust_files(&Path::new(ROOT).join(dir)) {
            if !fs::read_to_string(&file).unwrap().starts_with("//!") {
                missing.push(file.display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "files without a //! purpose line: {missing:#?}");
}

#[test]
fn engine_never_panics_on_input_by_construction() {
    // `.unwrap()` and `panic!` have no place in engine code; `expect` is kept for proven invariants and says which.
    let mut uses = Vec::new();
    for file in rust_files(&Path::new(ROOT).join("crates/engine/src")) {
        if file.components().any(|c| c.as_os_str() == "tests") || file.ends_with("tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            if (line.contains(".unwrap()") || line.contains("panic!(")) && !line.trim_start().starts_with("//") {
                uses.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(uses.is_empty(), "unwrap/panic in engine code: {uses:#?}");
}

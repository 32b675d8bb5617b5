//! The `meterlens` command line as users and scripts see it: output shapes, exit codes, the embedded sample.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn meterlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterlens"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("meterlens runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// A deliberately simple quote-aware CSV split, independent of the engine's parser.
fn naive_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[test]
fn summary_json_matches_an_independent_computation() {
    let fixture = "tests/fixtures/usagesummary-small.csv";
    let text = std::fs::read_to_string(root().join(fixture)).unwrap();
    let meters = std::fs::read_to_string(root().join("crates/engine/data/azs-meters.csv")).unwrap();
    let unit_of: BTreeMap<String, String> = naive_csv(&meters)
        .into_iter()
        .skip(1)
        .map(|r| (r[0].replace('-', "").to_uppercase(), r[2].clone()))
        .collect();
    let rows = naive_csv(&text);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (start, qty, meter, rg, sub) = (
        col("UsageStartTime"),
        col("Quantity"),
        col("MeterId"),
        col("resourceGroup"),
        col("subscription"),
    );
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    let (mut kept, mut admin, mut rejected) = (0u64, 0u64, 0u64);
    let mut subscriptions = std::collections::BTreeSet::new();
    for r in &rows[1..] {
        let date_ok = r[start].split(' ').next().unwrap().split('/').count() == 3;
        let Ok(q) = r[qty].parse::<f64>() else {
            rejected += 1;
            continue;
        };
        if !date_ok {
            rejected += 1;
            continue;
        }
        if r[rg].starts_with("system.") {
            admin += 1;
            continue;
        }
        kept += 1;
        subscriptions.insert(r[sub].clone());
        let unit = unit_of
            .get(&r[meter].replace('-', "").to_uppercase())
            .cloned()
            .unwrap_or("(unknown unit)".into());
        *expected.entry(unit).or_default() += q;
    }

    let summary = json_of(&meterlens(&["summary", "--json", fixture]));
    assert_eq!(summary["rows"], kept);
    assert_eq!(summary["admin_rows_excluded"], admin);
    assert_eq!(summary["subscriptions"], subscriptions.len() as u64);
    let input = &summary["inputs"][0];
    assert_eq!(input["format"], "azs-usagesummary-csv");
    assert_eq!(input["rejected"], rejected);
    assert_eq!(input["rows"], kept + admin);
    assert_eq!(input["issues"][0]["line"], 10);
    assert_eq!(input["issues"][0]["column"], "UsageStartTime");
    let quantity = summary["quantity"].as_object().unwrap();
    assert_eq!(quantity.len(), expected.len());
    for (unit, want) in &expected {
        let got = quantity[unit].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{unit}: {got} vs {want}");
    }
    assert_eq!(summary["cost"], serde_json::json!({}));
    assert_eq!(summary["groups"], serde_json::json!([]));
}

#[test]
fn group_by_day_and_subscription() {
    let summary = json_of(&meterlens(&[
        "summary",
        "--json",
        "--by",
        "day,subscription",
        "tests/fixtures/usagesummary-small.csv",
    ]));
    let groups = summary["groups"].as_array().unwrap();
    let rows: u64 = groups.iter().map(|g| g["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, summary["rows"].as_u64().unwrap());
    assert_eq!(groups[0]["key"]["day"], "2026-10-01");
    assert!(groups[0]["key"]["subscription"].is_string());
}

#[test]
fn include_admin_counts_infrastructure_rows() {
    let summary = json_of(&meterlens(&[
        "summary",
        "--json",
        "--include-admin",
        "tests/fixtures/usagesummary-small.csv",
    ]));
    assert_eq!(
        (
            summary["rows"].as_u64(),
            summary["admin_rows_excluded"].as_u64()
        ),
        (Some(9), Some(0))
    );
}

#[test]
fn the_embedded_sample_is_the_generator_output() {
    let generated = meterlens(&[
        "generate",
        "--rows",
        "1500",
        "--seed",
        "2026",
        "--format",
        "usagesummary-csv",
    ]);
    assert!(generated.status.success());
    let committed = std::fs::read(root().join("public/sample/usage-sample.csv")).unwrap();
    assert!(
        generated.stdout == committed,
        "public/sample/usage-sample.csv is stale: regenerate it (see README)"
    );
}

#[test]
fn generated_files_read_back_with_every_row() {
    let dir = std::env::temp_dir().join(format!("meterlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("gen.csv");
    let status = meterlens(&[
        "generate",
        "--rows",
        "4321",
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(status.status.success());
    let summary = json_of(&meterlens(&[
        "summary",
        "--json",
        "--include-admin",
        out.to_str().unwrap(),
    ]));
    assert_eq!(summary["rows"], 4321);
    assert_eq!(summary["inputs"][0]["rejected"], 0);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unreadable_files_fail_with_a_message_and_unknown_options_are_named() {
    let output = meterlens(&["summary", "Cargo.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Cargo.toml") && stderr.contains("not a usage file"),
        "{stderr}"
    );
    let output = meterlens(&[
        "summary",
        "--by",
        "colour",
        "tests/fixtures/usagesummary-small.csv",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("valid dimensions"));
    let output = meterlens(&["summary", "no-such-file.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.csv"));
}

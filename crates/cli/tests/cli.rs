//! The `meterlens` command line as users and scripts see it: output shapes, exit codes, the embedded sample.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn meterlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterlens")).args(args).current_dir(root()).output().expect("meterlens runs")
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
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
    let unit_of: BTreeMap<String, String> =
        naive_csv(&meters).into_iter().skip(1).map(|r| (r[0].replace('-', "").to_uppercase(), r[2].clone())).collect();
    let rows = naive_csv(&text);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (start, qty, meter, rg, sub) =
        (col("UsageStartTime"), col("Quantity"), col("MeterId"), col("resourceGroup"), col("subscription"));
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
        let unit = unit_of.get(&r[meter].replace('-', "").to_uppercase()).cloned().unwrap_or("(unknown unit)".into());
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
    let summary =
        json_of(&meterlens(&["summary", "--json", "--include-admin", "tests/fixtures/usagesummary-small.csv"]));
    assert_eq!((summary["rows"].as_u64(), summary["admin_rows_excluded"].as_u64()), (Some(9), Some(0)));
}

#[test]
fn the_embedded_sample_is_the_generator_output() {
    let generated = meterlens(&["generate", "--rows", "1500", "--seed", "2026", "--format", "usagesummary-csv"]);
    assert!(generated.status.success());
    let committed = std::fs::read(root().join("public/sample/usage-sample.csv")).unwrap();
    assert!(generated.stdout == committed, "public/sample/usage-sample.csv is stale: regenerate it (see README)");
}

#[test]
fn generated_files_read_back_with_every_row() {
    let dir = std::env::temp_dir().join(format!("meterlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("gen.csv");
    let status = meterlens(&["generate", "--rows", "4321", "--seed", "9", "--out", out.to_str().unwrap()]);
    assert!(status.status.success());
    let summary = json_of(&meterlens(&["summary", "--json", "--include-admin", out.to_str().unwrap()]));
    assert_eq!(summary["rows"], 4321);
    assert_eq!(summary["inputs"][0]["rejected"], 0);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bench_memory_accounts_every_phase_of_a_browser_load() {
    let dir = std::env::temp_dir().join(format!("meterlens-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cm.csv");
    let args = ["generate", "--format", "cost-management-csv", "--rows", "20000", "--seed", "3", "--out"];
    assert!(meterlens(&[&args[..], &[file.to_str().unwrap()]].concat()).status.success());
    let output = meterlens(&["bench-memory", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("20000 rows;"), "{text}");
    let figures = |phase: &str| -> (f64, f64) {
        let line = text.lines().find(|l| l.starts_with(phase)).unwrap_or_else(|| panic!("{phase} in {text}"));
        let mut numbers = line[phase.len()..].split_whitespace().map(|n| n.parse::<f64>().unwrap());
        (numbers.next().unwrap(), numbers.next().unwrap())
    };
    let (ingested, ingest_peak) = figures("worker: ingest");
    let (decoded, _) = figures("page: decoded");
    let (clicked, click_peak) = figures("page: a slicer click");
    // A real table costs bytes a row, the peak is never below what is live, and queries only add codes and
    // row lists to the decoded table.
    assert!(ingested > 5.0 && ingest_peak >= ingested, "{text}");
    assert!(decoded > 5.0 && clicked > decoded && click_peak >= clicked, "{text}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unreadable_files_fail_with_a_message_and_unknown_options_are_named() {
    let output = meterlens(&["summary", "Cargo.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Cargo.toml") && stderr.contains("not a usage file"), "{stderr}");
    let output = meterlens(&["summary", "--by", "colour", "tests/fixtures/usagesummary-small.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("valid dimensions"));
    let output = meterlens(&["summary", "no-such-file.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-file.csv"));
}

/// Sums a CSV column per key column, independently of the engine.
fn csv_sums(file: &str, value: &str, key: &str) -> (usize, BTreeMap<String, f64>) {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let rows = naive_csv(&text);
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (v, k) = (col(value), col(key));
    let mut sums = BTreeMap::new();
    for r in &rows[1..] {
        *sums.entry(r[k].clone()).or_insert(0.0) += r[v].parse::<f64>().unwrap_or(0.0);
    }
    (rows.len() - 1, sums)
}

fn assert_sums(got: &Value, want: &BTreeMap<String, f64>) {
    let got = got.as_object().unwrap();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (k, w) in want {
        let key = if k.is_empty() { "(unknown unit)" } else { k.as_str() };
        assert!((got[key].as_f64().unwrap() - w).abs() < 1e-9, "{k}: {} vs {w}", got[key]);
    }
}

#[test]
fn cost_management_focus_and_api_totals_match_independent_sums() {
    let cm = "tests/fixtures/cost-management-ea-actual.csv";
    let s = json_of(&meterlens(&["summary", "--json", "--include-admin", cm]));
    let (rows, cost) = csv_sums(cm, "Cost", "BillingCurrency");
    let (_, quantity) = csv_sums(cm, "Quantity", "UnitOfMeasure");
    assert_eq!(s["rows"], rows as u64);
    assert_sums(&s["cost"], &cost);
    assert_sums(&s["quantity"], &quantity);
    assert_eq!(s["inputs"][0]["format"], "cost-management-csv");

    let focus = "tests/fixtures/focus-1.0.csv";
    let s = json_of(&meterlens(&["summary", "--json", "--include-admin", focus]));
    let (rows, billed) = csv_sums(focus, "BilledCost", "BillingCurrency");
    let (_, effective) = csv_sums(focus, "EffectiveCost", "BillingCurrency");
    let (_, quantity) = csv_sums(focus, "ConsumedQuantity", "ConsumedUnit");
    assert_eq!(s["rows"], rows as u64);
    assert_sums(&s["cost"], &billed);
    assert_sums(&s["effective_cost"], &effective);
    assert_sums(&s["quantity"], &quantity);

    let page = "tests/fixtures/azs-api-page.json";
    let s = json_of(&meterlens(&["summary", "--json", "--by", "meter_id", page]));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(root().join(page)).unwrap()).unwrap();
    let rows = json["value"].as_array().unwrap();
    assert_eq!(s["rows"], rows.len() as u64);
    for row in rows {
        let meter = row["properties"]["meterId"].as_str().unwrap();
        let group = s["groups"].as_array().unwrap().iter().find(|g| g["key"]["meter_id"] == meter).unwrap();
        let quantity: f64 = group["quantity"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).sum();
        assert_eq!(quantity, row["properties"]["quantity"].as_f64().unwrap());
    }
    assert_eq!(s["cost"], serde_json::json!({}), "local usage carries no price");
}

#[test]
fn a_column_mapping_reads_an_unknown_csv() {
    let dir = std::env::temp_dir().join(format!("meterlens-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("custom.csv");
    std::fs::write(
        &file,
        "Day,Meter,Qty,Sub\n2026-10-01,FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5,4,s1\n2026-10-02,x,2,s2\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let failed = meterlens(&["summary", "--json", file]);
    assert_eq!(failed.status.code(), Some(1));
    let s = json_of(&meterlens(&[
        "summary",
        "--json",
        "--map",
        "usage_start=Day,meter_id=Meter,quantity=Qty,subscription=Sub",
        file,
    ]));
    assert_eq!((s["rows"].as_u64(), s["subscriptions"].as_u64()), (Some(2), Some(2)));
    assert_eq!(s["inputs"][0]["format"], "mapped-csv");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bill_json_of_the_sample_adds_up_and_keeps_one_currency() {
    let sample = "public/sample/usage-sample.csv";
    let bill = json_of(&meterlens(&["bill", "--json", sample]));
    assert_eq!(bill["currency"], "USD");
    let subscriptions = bill["subscriptions"].as_array().unwrap();
    assert!(subscriptions.len() >= 4);
    let mut total = 0.0;
    for s in subscriptions {
        let lines = s["lines"].as_array().unwrap();
        let sum: f64 = lines.iter().map(|l| l["cost"].as_f64().unwrap()).sum();
        assert!((sum - s["total"].as_f64().unwrap()).abs() < 1e-9);
        for l in lines {
            for key in ["meter_id", "meter_name", "quantity", "unit", "billed_quantity", "billed_unit", "rate", "cost"]
            {
                assert!(l.get(key).is_some(), "line lacks {key}");
            }
            if let Some(rate) = l["rate"].as_f64() {
                let cost = l["billed_quantity"].as_f64().unwrap() * rate;
                assert!((cost - l["cost"].as_f64().unwrap()).abs() < 1e-6, "{l}");
            }
        }
        total += s["total"].as_f64().unwrap();
    }
    assert!((total - bill["total"].as_f64().unwrap()).abs() < 1e-9);
    let summary = json_of(&meterlens(&["summary", "--json", sample]));
    assert_eq!(bill["admin_rows_excluded"], summary["admin_rows_excluded"]);
    assert!(bill["unpriced_meters"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("IP Address")));

    let one = subscriptions[0]["subscription"].as_str().unwrap();
    let single = json_of(&meterlens(&["bill", "--json", "--subscription", one, sample]));
    assert_eq!(single["subscriptions"].as_array().unwrap().len(), 1);
    assert_eq!(single["total"], subscriptions[0]["total"]);
}

#[test]
fn bill_with_a_price_sheet_in_euro_reports_the_dollar_rate_and_does_not_mix() {
    let output = meterlens(&[
        "bill",
        "--json",
        "--prices",
        "tests/fixtures/price-sheet-eur.csv",
        "public/sample/usage-sample.csv",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 4: rate in USD, the sheet is in EUR"), "{stderr}");
    let bill = json_of(&output);
    assert_eq!(bill["currency"], "EUR");
    for line in bill["subscriptions"].as_array().unwrap().iter().flat_map(|s| s["lines"].as_array().unwrap()) {
        match line["meter_name"].as_str().unwrap() {
            "Base VM Size Hours" => assert_eq!(line["rate"], 0.0075),
            "Windows VM Size Hours" => assert_eq!(line["rate"], 0.042),
            _ => assert!(line["rate"].is_null(), "{line}"),
        }
    }
}

#[test]
fn reconcile_json_counts_every_cell_once_and_keeps_the_quantities() {
    let dir = std::env::temp_dir().join(format!("meterlens-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let azure = dir.join("azure.csv");
    let generated = meterlens(&[
        "generate",
        "--rows",
        "1500",
        "--seed",
        "2026",
        "--format",
        "cost-management-csv",
        "--out",
        azure.to_str().unwrap(),
    ]);
    assert!(generated.status.success());
    let local = "public/sample/usage-sample.csv";
    let r = json_of(&meterlens(&["reconcile", "--json", "--local", local, "--azure", azure.to_str().unwrap()]));
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(r["summary"]["cells"].as_u64().unwrap() as usize, cells.len());
    let statuses =
        ["match", "midnight_shift", "local_only", "admin", "unmapped", "duplicate", "out_of_period", "unexplained"];
    let by_status = r["summary"]["by_status"].as_object().unwrap();
    assert!(by_status.keys().all(|k| statuses.contains(&k.as_str())), "{by_status:?}");
    assert_eq!(by_status.values().map(|v| v.as_u64().unwrap()).sum::<u64>() as usize, cells.len());
    for status in statuses {
        let n = cells.iter().filter(|c| c["status"] == status).count() as u64;
        assert_eq!(by_status.get(status).map_or(0, |v| v.as_u64().unwrap()), n, "{status}");
    }
    // The Azure view of the same month matches cell by cell, apart from the zero-priced admin usage.
    assert_eq!(by_status["match"].as_u64().unwrap() + by_status["admin"].as_u64().unwrap(), cells.len() as u64);
    let summary = json_of(&meterlens(&["summary", "--json", "--include-admin", local]));
    for (unit, q) in summary["quantity"].as_object().unwrap() {
        let got = r["summary"]["local_quantity"][unit].as_f64().unwrap();
        assert!((got - q.as_f64().unwrap()).abs() < 1e-6, "{unit}");
    }
    let first = &cells[0];
    for key in ["local_meter_id", "subscription", "day", "unit", "local_quantity", "azure_quantity", "delta", "status"]
    {
        assert!(first.get(key).is_some(), "cell lacks {key}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn reconcile_explains_the_fixture_pair_cell_by_cell() {
    let r = json_of(&meterlens(&[
        "reconcile",
        "--json",
        "--local",
        "tests/fixtures/reconcile-local.csv",
        "--azure",
        "tests/fixtures/reconcile-azure.csv",
    ]));
    let mut got: Vec<(String, String, String)> = r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["day"].as_str().unwrap().into(),
                c["meter_name"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("2026-10-01", "Base VM Size Hours", "match"),
        ("2026-10-01", "BlockBlobCapacity", "admin"),
        ("2026-10-01", "Mystery meter", "unmapped"),
        ("2026-10-01", "Static IP Address Usage", "local_only"),
        ("2026-10-01", "Windows VM Size Hours", "unexplained"),
        ("2026-10-02", "Base VM Size Hours", "midnight_shift"),
        ("2026-10-02", "Windows VM Size Hours", "match"),
        ("2026-10-03", "Base VM Size Hours", "midnight_shift"),
        ("2026-10-04", "Base VM Size Hours", "unexplained"),
        ("2026-10-05", "Base VM Size Hours", "duplicate"),
        ("2026-10-28", "Base VM Size Hours", "out_of_period"),
    ];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(got, want);
    let cost = r["summary"]["unexplained_cost"]["USD"].as_f64().unwrap();
    assert!((cost - (-24.0 * 0.008 - 4.0 * 0.046)).abs() < 1e-9, "{cost}");
}

#[test]
fn the_same_file_twice_is_read_once_and_said() {
    let fixture = "tests/fixtures/usagesummary-small.csv";
    let dir = std::env::temp_dir().join(format!("meterlens-twice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("copy.csv");
    std::fs::copy(root().join(fixture), &copy).unwrap();
    let output = meterlens(&["summary", "--json", fixture, copy.to_str().unwrap()]);
    let once = json_of(&meterlens(&["summary", "--json", fixture]));
    let twice = json_of(&output);
    assert_eq!(twice["rows"], once["rows"]);
    assert_eq!(twice["inputs"].as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("the same file as tests/fixtures/usagesummary-small.csv; read once"));
    std::fs::remove_dir_all(dir).ok();
}

/// Every file of the bad-input corpus through the CLI: the exit code (1 when a file could not be read), the
/// message on stderr naming the file, the good rows in the JSON.
#[test]
fn the_bad_input_corpus_through_the_cli() {
    let cases: &[(&str, i32, u64, &str)] = &[
        ("empty.csv", 1, 0, "the file is empty"),
        ("header-only.csv", 0, 0, ""),
        ("binary.csv", 1, 0, "binary file"),
        ("utf16le-bom.csv", 1, 0, "save it as UTF-8 CSV"),
        ("truncated.csv", 0, 3, ""),
        ("truncated.json", 1, 2, "rows before the cut were kept"),
        ("wrong-shape.json", 1, 0, "without a \"value\" or \"items\" array"),
        ("wrong-shape-array.json", 1, 0, "without a \"value\" or \"items\" array"),
        ("ragged.csv", 0, 2, ""),
        ("numbers.csv", 0, 3, ""),
        ("impossible-dates.csv", 0, 2, ""),
        ("latin1.csv", 0, 1, ""),
        ("semicolon-decimal-comma.csv", 0, 2, ""),
        ("hostile-text.csv", 0, 2, ""),
    ];
    for (name, code, rows, message) in cases {
        let path = format!("tests/fixtures/bad/{name}");
        let output = meterlens(&["summary", "--json", "--include-admin", &path]);
        assert_eq!(output.status.code(), Some(*code), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !message.is_empty() {
            assert!(stderr.contains(&path) && stderr.contains(message), "{name}: {stderr}");
        }
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON even when a file fails");
        assert_eq!(json["inputs"][0]["rows"], *rows, "{name}");
        assert_eq!(json["rows"], *rows, "{name}: the summary counts the rows that were read");
    }
    // Two formats at once: each file read as its own format, one summary over both.
    let output = meterlens(&[
        "summary",
        "--json",
        "--include-admin",
        "tests/fixtures/usagesummary-small.csv",
        "tests/fixtures/cost-management-ea-actual.csv",
    ]);
    let json = json_of(&output);
    let formats: Vec<&str> = json["inputs"].as_array().unwrap().iter().map(|i| i["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["azs-usagesummary-csv", "cost-management-csv"]);
    let rows: u64 = json["inputs"].as_array().unwrap().iter().map(|i| i["rows"].as_u64().unwrap()).sum();
    assert_eq!(json["rows"], rows);
}

#[test]
fn a_50_mb_line_is_reported_and_the_other_rows_are_read() {
    let dir = std::env::temp_dir().join(format!("meterlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let small = std::fs::read_to_string(root().join("tests/fixtures/usagesummary-small.csv")).unwrap();
    let (header, rest) = small.split_once("\r\n").unwrap();
    let huge = format!("{header}\r\n\"10/1/2026 12:00:00 AM\",\"{}\"\r\n{rest}", "x".repeat(50 << 20));
    let path = dir.join("huge-line.csv");
    std::fs::write(&path, huge).unwrap();
    let output = meterlens(&["summary", "--json", path.to_str().unwrap()]);
    let json = json_of(&output);
    let clean = json_of(&meterlens(&["summary", "--json", "tests/fixtures/usagesummary-small.csv"]));
    assert_eq!(json["rows"], clean["rows"]);
    let issue = &json["inputs"][0]["issues"][0];
    assert_eq!(issue["line"], 2);
    assert!(issue["message"].as_str().unwrap().contains("MiB"), "{issue}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The summary figures that must not depend on the file's container.
fn totals(summary: &Value) -> Value {
    serde_json::json!({
        "rows": summary["rows"], "cost": summary["cost"], "effective_cost": summary["effective_cost"],
        "quantity": summary["quantity"], "subscriptions": summary["subscriptions"], "groups": summary["groups"],
    })
}

#[test]
fn parquet_exports_read_to_the_totals_of_their_csv_twins() {
    let twins = [
        ("cost-management-ea-actual.csv", "cost-management-ea-actual.snappy.parquet", "cost-management-csv"),
        ("cost-management-ea-2024-08-01.csv", "cost-management-ea-2024-08-01.gzip.parquet", "cost-management-csv"),
        ("focus-1.0.csv", "focus-1.0.uncompressed.parquet", "focus-1.0-csv"),
        ("focus-1.2.csv", "focus-1.2.snappy.parquet", "focus-1.2-csv"),
    ];
    for (csv, parquet, format) in twins {
        let args = |file: &str| {
            let path = format!("tests/fixtures/{file}");
            json_of(&meterlens(&["summary", "--json", "--include-admin", "--by", "subscription,meter_id,day", &path]))
        };
        let (from_csv, from_parquet) = (args(csv), args(&format!("parquet/{parquet}")));
        assert!(from_csv["rows"].as_u64().unwrap() > 0);
        assert_eq!(totals(&from_parquet), totals(&from_csv), "{parquet}");
        assert_eq!(from_parquet["inputs"][0]["format"], format);
        assert_eq!(from_parquet["inputs"][0]["parquet"], true);
        assert_eq!(from_parquet["inputs"][0]["issue_count"], 0, "{}", from_parquet["inputs"][0]);
    }
}

#[test]
fn a_damaged_parquet_file_is_named_and_explained() {
    let dir = std::env::temp_dir().join(format!("meterlens-cli-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(root().join("tests/fixtures/parquet/focus-1.2.snappy.parquet")).unwrap();
    let cut = dir.join("cut.parquet");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let out = meterlens(&["summary", "--json", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut.parquet") && stderr.contains("Parquet file cannot be read"), "{stderr}");
}

/// Runs Python with the `duckdb` package (installed by scripts/setup) on `script`; its stdout as JSON.
fn duckdb(script: &str) -> Value {
    let out = Command::new("python3").arg("-c").arg(script).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from the DuckDB script")
}

#[test]
fn focus_parquet_and_csv_give_duckdb_the_totals_of_meterlens_summary() {
    let dir = std::env::temp_dir().join(format!("meterlens-cli-focus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.join("usagesummary.csv");
    let azure = dir.join("cost-management.csv");
    for (file, format) in [(&local, "usagesummary-csv"), (&azure, "cost-management-csv")] {
        let args = ["generate", "--rows", "3000", "--seed", "12", "--format", format, "--out", file.to_str().unwrap()];
        assert!(meterlens(&args).status.success());
    }
    let (local, azure) = (local.to_str().unwrap(), azure.to_str().unwrap());
    let parts = dir.join("focus-parts");
    let single = dir.join("focus.parquet");
    let csv = dir.join("focus.csv");
    let normalised = dir.join("normalised.parquet");
    for (format, out, partition) in [
        ("focus-parquet", &parts, true),
        ("focus-parquet", &single, false),
        ("focus-csv", &csv, false),
        ("parquet", &normalised, false),
    ] {
        let mut args = vec!["export", "--format", format, "--out", out.to_str().unwrap(), local, azure];
        if partition {
            args.push("--partition-by-month");
        }
        let result = meterlens(&args);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    }
    // MeterLens's own figures: quantities per subscription, commerce meter and day, and rows after the admin filter.
    let summary =
        json_of(&meterlens(&["summary", "--json", "--by", "subscription,commerce_meter_id,day", local, azure]));
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    for group in summary["groups"].as_array().unwrap() {
        let key = &group["key"];
        let quantity: f64 = group["quantity"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).sum();
        let k = format!(
            "{}|{}|{}",
            key["subscription"].as_str().unwrap(),
            key["commerce_meter_id"].as_str().unwrap(),
            key["day"].as_str().unwrap()
        );
        *want.entry(k).or_default() += quantity;
    }
    let query = |from: &str| {
        format!(
            "import duckdb, json\n\
             rows = duckdb.sql(\"\"\"SELECT SubAccountId, coalesce(x_SkuMeterId, ''),\n\
               strftime(ChargePeriodStart AT TIME ZONE 'UTC', '%Y-%m-%d'), sum(ConsumedQuantity), count(*)\n\
               FROM {from} GROUP BY ALL\"\"\").fetchall()\n\
             print(json.dumps([[a, b, c, d, e] for a, b, c, d, e in rows]))"
        )
    };
    let sources = [
        format!("read_parquet('{}/*/*.parquet', hive_partitioning = true)", parts.display()),
        format!("'{}'", single.display()),
        format!("read_csv('{}', header = true, types = {{'ChargePeriodStart': 'TIMESTAMPTZ'}})", csv.display()),
    ];
    for from in &sources {
        let rows = duckdb(&query(from));
        let mut got: BTreeMap<String, f64> = BTreeMap::new();
        let mut count = 0;
        for row in rows.as_array().unwrap() {
            let k = format!("{}|{}|{}", row[0].as_str().unwrap(), row[1].as_str().unwrap(), row[2].as_str().unwrap());
            *got.entry(k).or_default() += row[3].as_f64().unwrap();
            count += row[4].as_u64().unwrap();
        }
        assert_eq!(count, summary["rows"].as_u64().unwrap(), "{from}");
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{from}");
        for (k, v) in &want {
            assert!((got[k] - v).abs() <= 1e-6 * v.abs().max(1.0), "{from} {k}: {} vs {v}", got[k]);
        }
    }
    // The FOCUS 1.2 columns DuckDB sees: every mandatory one, with the FOCUS type.
    let described = duckdb(&format!(
        "import duckdb, json\nprint(json.dumps(duckdb.sql(\"DESCRIBE SELECT * FROM '{}'\").fetchall()))",
        single.display()
    ));
    let types: BTreeMap<String, String> = described
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_str().unwrap().to_string()))
        .collect();
    for column in meterlens_engine::focus::COLUMNS {
        let want = match column.kind {
            meterlens_engine::focus::FocusType::Decimal => "DOUBLE",
            meterlens_engine::focus::FocusType::DateTime => "TIMESTAMP WITH TIME ZONE",
            meterlens_engine::focus::FocusType::String => "VARCHAR",
            meterlens_engine::focus::FocusType::Json => "JSON",
        };
        assert_eq!(types.get(column.name).map(String::as_str), Some(want), "{}", column.name);
    }
    for name in meterlens_engine::focus::FOCUS_12_MANDATORY {
        assert!(types.contains_key(name), "{name}");
    }
    // The normalised Parquet keeps every row, admin ones marked.
    let counted = duckdb(&format!(
        "import duckdb, json\nprint(json.dumps(duckdb.sql(\"SELECT count(*), count(admin_reason) FROM '{}'\").fetchall()[0]))",
        normalised.display()
    ));
    assert_eq!(
        counted[0].as_u64().unwrap(),
        summary["rows"].as_u64().unwrap() + summary["admin_rows_excluded"].as_u64().unwrap()
    );
    assert_eq!(counted[1], summary["admin_rows_excluded"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bill_under_each_licensing_model() {
    let sample = "public/sample/usage-sample.csv";
    let bill = |model: &str| json_of(&meterlens(&["bill", "--json", "--licensing", model, sample]));
    let lines = |b: &Value| -> Vec<Value> {
        b["subscriptions"].as_array().unwrap().iter().flat_map(|s| s["lines"].as_array().unwrap().clone()).collect()
    };
    let included = bill("payg-included");
    let windows: f64 = lines(&included)
        .iter()
        .filter(|l| l["meter_id"] == "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A")
        .map(|l| l["cost"].as_f64().unwrap())
        .sum();
    let total = included["total"].as_f64().unwrap();
    assert!(windows > 0.0 && total > windows);
    let byol = bill("payg-byol");
    assert!((byol["total"].as_f64().unwrap() - (total - windows)).abs() < 1e-6);
    assert_eq!(byol["licensing"], "payg-byol");
    for model in ["capacity", "asdk"] {
        let zero = bill(model);
        assert_eq!((zero["licensing"].as_str(), zero["total"].as_f64()), (Some(model), Some(0.0)));
        assert_eq!(lines(&zero).len(), lines(&included).len(), "usage is still listed");
        assert!(zero["assumptions"][0].as_str().unwrap().starts_with("Licensing: "));
    }
    let wrong = meterlens(&["bill", "--licensing", "free", sample]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("payg-included, payg-byol, capacity, asdk"));
}

#[test]
fn partner_center_files_read_to_their_column_sums_with_the_customer() {
    let daily = "tests/fixtures/partner-center-daily.csv";
    let s = json_of(&meterlens(&["summary", "--json", "--include-admin", "--by", "customer", daily]));
    let (rows, cost) = csv_sums(daily, "BillingPreTaxTotal", "BillingCurrency");
    let (_, quantity) = csv_sums(daily, "Quantity", "Unit");
    assert_eq!(
        (s["rows"].as_u64(), s["inputs"][0]["format"].as_str()),
        (Some(rows as u64), Some("partner-center-daily-csv"))
    );
    assert_sums(&s["cost"], &cost);
    assert_sums(&s["quantity"], &quantity);
    assert_eq!(s["groups"][0]["key"]["customer"], "Contoso Ltd");

    let legacy = "tests/fixtures/partner-center-usage.csv";
    let s = json_of(&meterlens(&["summary", "--json", "--include-admin", "--by", "customer,month", legacy]));
    let (rows, cost) = csv_sums(legacy, "PretaxCharges", "Currency");
    let (_, quantity) = csv_sums(legacy, "ConsumedQuantity", "Unit");
    assert_eq!(
        (s["rows"].as_u64(), s["inputs"][0]["format"].as_str()),
        (Some(rows as u64), Some("partner-center-usage-csv"))
    );
    assert_eq!(s["inputs"][0]["issue_count"], 0);
    assert_sums(&s["cost"], &cost);
    assert_sums(&s["quantity"], &quantity);
    assert_eq!(s["groups"][0]["key"]["month"], "2026-10");
    assert_eq!(s["groups"][0]["key"]["customer"], "Contoso Ltd");
}

#[test]
fn partner_center_files_reconcile_against_local_usage() {
    let local = "tests/fixtures/reconcile-local.csv";
    let reconcile = |azure: &str, extra: &[&str]| {
        let mut args = vec!["reconcile", "--json", "--local", local, "--azure", azure];
        args.extend_from_slice(extra);
        json_of(&meterlens(&args))
    };
    let cm = reconcile("tests/fixtures/reconcile-azure.csv", &[]);
    let daily = reconcile("tests/fixtures/partner-center-daily.csv", &[]);
    assert_eq!(daily["summary"]["by_status"], cm["summary"]["by_status"]);
    assert_eq!(daily["cells"], cm["cells"]);
    assert_eq!(
        (daily["summary"]["grain"].as_str(), daily["summary"]["per_subscription"].as_bool()),
        (Some("day"), Some(true))
    );
    assert!(daily["cells"].as_array().unwrap().iter().all(|c| c["stamp"] == "local"));

    let legacy = reconcile(
        "tests/fixtures/partner-center-usage.csv",
        &["--registration", "0aaaaaaa-1bbb-4ccc-8ddd-2eeeeeeeeeee"],
    );
    let summary = &legacy["summary"];
    assert_eq!((summary["grain"].as_str(), summary["per_subscription"].as_bool()), (Some("month"), Some(false)));
    assert_eq!(summary["unattributed_rows"], 4);
    let notes: Vec<&str> = summary["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("per calendar month")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("registered to Azure subscription 0aaaaaaa")), "{notes:?}");
    // Per month and stamp, the quantities are the daily sides summed.
    let total = |r: &Value, side: &str| -> f64 {
        r["cells"].as_array().unwrap().iter().map(|c| c[side].as_f64().unwrap()).sum()
    };
    assert!((total(&legacy, "local_quantity") - total(&cm, "local_quantity")).abs() < 1e-9);
    assert!((total(&legacy, "azure_quantity") - total(&cm, "azure_quantity")).abs() < 1e-9);
    let bad = meterlens(&["reconcile", "--local", local, "--azure", local, "--tenant", "nonsense"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn two_stamps_load_side_by_side_and_bill_one_at_a_time() {
    let files = ["tests/fixtures/usagesummary-small.csv", "tests/fixtures/usagesummary-redmond.csv"];
    let bill = |extra: &[&str]| {
        let mut args = vec!["bill", "--json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&files);
        json_of(&meterlens(&args))
    };
    let (both, local, redmond) = (bill(&[]), bill(&["--location", "local"]), bill(&["--location", "redmond"]));
    let total = |b: &Value| b["total"].as_f64().unwrap();
    assert!(total(&local) > 0.0 && total(&redmond) > 0.0);
    assert!((total(&local) + total(&redmond) - total(&both)).abs() < 1e-9);
    let subscriptions = |b: &Value| -> Vec<String> {
        b["subscriptions"].as_array().unwrap().iter().map(|s| s["subscription"].as_str().unwrap().to_string()).collect()
    };
    assert!(subscriptions(&redmond).contains(&"2b7e9c4d-6a1f-4e3b-9d8c-7f6e5d4c3b2a".to_string()));
    assert!(!subscriptions(&local).contains(&"2b7e9c4d-6a1f-4e3b-9d8c-7f6e5d4c3b2a".to_string()));
    let s = json_of(&meterlens(&["summary", "--json", "--by", "location", files[0], files[1]]));
    let stamps: Vec<&str> =
        s["groups"].as_array().unwrap().iter().map(|g| g["key"]["location"].as_str().unwrap()).collect();
    assert_eq!(stamps, ["local", "redmond"]);
}

//! Every supported format: detected, parsed and totalled from a real-shaped fixture; any chunking and gzip
//! give the same result.

use std::collections::BTreeMap;
use std::io::Write;

use meterlens_engine::ingest::{FileError, FileReport, Format, Ingester};
use meterlens_engine::summary::{Summary, SummaryOptions};
use meterlens_engine::time::DateOrder;
use meterlens_engine::UsageTable;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

fn read_chunked(name: &str, bytes: &[u8], chunk: usize) -> (UsageTable, FileReport) {
    let mut ingester = Ingester::new(UsageTable::default(), name);
    for piece in bytes.chunks(chunk.max(1)) {
        ingester.feed(piece);
    }
    ingester.finish()
}

fn read(name: &str) -> (UsageTable, FileReport) {
    read_chunked(name, &fixture(name), usize::MAX)
}

fn totals(table: &UsageTable) -> Summary {
    Summary::of(table, &SummaryOptions { include_admin: true, ..Default::default() })
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn close(got: &BTreeMap<String, f64>, want: &BTreeMap<String, f64>) {
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (k, w) in want {
        assert!((got[k] - w).abs() < 1e-9, "{k}: {} vs {w}", got[k]);
    }
}

#[test]
fn cost_management_ea_actual_export() {
    let (table, report) = read("cost-management-ea-actual.csv");
    assert_eq!(
        (report.format, report.rows, report.rejected, report.error.clone()),
        (Format::CostManagementCsv, 6, 0, None)
    );
    assert_eq!(report.date_order, Some(DateOrder::MonthFirst), "10/13/2026 proves month-first");
    let s = totals(&table);
    close(&s.quantity, &map(&[("1 Hour", 48.0 + 36.5 + 24.0), ("1 GB/Hr", 480.0), ("(unknown unit)", 2.0)]));
    close(&s.cost, &map(&[("USD", 2.208 + 1.679 + 120.0 - 20.0)]));
    // Azure Stack rows are recognised and carry their local meter and subscription.
    assert_eq!(table.azure_stack, vec![true, true, true, false, false, false]);
    assert_eq!(table.str(table.local_meter_id(0)), "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A");
    assert_eq!(table.str(table.local_subscription(1)), "8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11");
    assert_eq!(table.str(table.meter_id[0]), "FB8C0713-EA20-40BF-901F-5560FD3F6330");
    // EA tags without outer braces are read as pairs; the purchase has no meter region; the refund is negative.
    assert_eq!(table.key_value(table.tags[0], "costcenter"), Some("1234"));
    assert_eq!(table.str(table.charge_type[4]), "Purchase");
    assert_eq!(table.str(table.meter_region[4]), "");
    assert_eq!(table.cost.get(5), -20.0);
    assert_eq!(table.str(table.pricing_model[3]), "Reservation");
    assert_eq!(table.unit_price[0], 0.046);
}

#[test]
fn cost_management_2024_in_euro() {
    let (table, report) = read("cost-management-ea-2024-08-01.csv");
    assert_eq!((report.format, report.rows), (Format::CostManagementCsv, 2));
    close(&totals(&table).cost, &map(&[("EUR", 0.42 + 1.248)]));
    assert!(table.azure_stack.iter().all(|a| *a), "MeterRegion Azure Stack marks both rows");
}

#[test]
fn focus_1_0_and_1_2() {
    let (table, report) = read("focus-1.0.csv");
    assert_eq!((report.format, report.rows, report.issue_count), (Format::Focus10Csv, 2, 0));
    let s = totals(&table);
    close(&s.cost, &map(&[("USD", 2.208)]));
    close(&s.quantity, &map(&[("Hours", 72.0)]));
    let effective: f64 = (0..table.len()).map(|r| table.effective_cost(r)).sum();
    assert!((effective - 2.708).abs() < 1e-9);
    assert_eq!(table.str(table.subscription[0]), "5f1c7e2a-0b9d-4c3e-8a7f-6d5e4c3b2a10", "SubAccountId prefix dropped");
    assert_eq!(table.str(table.resource_group(1)), "rg-cloud");
    assert_eq!(table.str(table.local_meter_id(0)), "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A");
    assert_eq!(table.azure_stack, vec![true, false]);
    let (table, report) = read("focus-1.2.csv");
    assert_eq!((report.format, report.rows), (Format::Focus12Csv, 1));
    assert_eq!(table.str(table.meter_name(0)), "1 Core");
    assert_eq!(table.usage_end[0] - table.usage_start[0], 86_400);
}

#[test]
fn ea_detail_with_a_preamble() {
    let (table, report) = read("ea-detail-v2.csv");
    assert_eq!((report.format, report.rows, report.preamble_lines), (Format::EaDetailCsv, 1, 3));
    assert_eq!(table.line.get(0), 5);
    assert_eq!(table.str(table.subscription[0]), "5f1c7e2a-0b9d-4c3e-8a7f-6d5e4c3b2a10", "GUID, not the EA number");
    close(&totals(&table).cost, &map(&[("(unknown currency)", 2.208)]));
}

#[test]
fn account_center_daily_usage_section() {
    let (table, report) = read("account-center-v2.csv");
    assert_eq!((report.format, report.rows, report.rejected), (Format::AccountCenterDailyCsv, 2, 0));
    close(&totals(&table).quantity, &map(&[("1 Hour", 60.5)]));
    assert!(report.issues[0].message.contains("\"Provisioning Status\""), "{:?}", report.issues);
    assert!(report.preamble_lines >= 5);
}

#[test]
fn payg_and_app_service() {
    let (table, report) = read("payg-usage.csv");
    assert_eq!((report.format, report.rows), (Format::PaygUsageCsv, 1));
    close(&totals(&table).cost, &map(&[("USD", 2.208)]));
    let (table, report) = read("appservice-usagesummary.csv");
    assert_eq!((report.format, report.rows), (Format::AppServiceUsageSummaryCsv, 2));
    let s = totals(&table);
    close(&s.cost, &map(&[("USD", 0.776)]));
    close(&s.quantity, &map(&[("Virtual core hours", 10.0), ("1 hour", 24.0)]));
    assert!(table.azure_stack.iter().all(|a| *a));
}

#[test]
fn usage_api_pages_local_and_azure_side() {
    let (table, report) = read("azs-api-page.json");
    assert_eq!((report.format, report.rows, report.error.clone()), (Format::UsageApiJson, 2, None));
    close(&totals(&table).quantity, &map(&[("Virtual core hours", 48.0), ("GB*hours", 2.4)]));
    assert_eq!(table.str(table.resource_group(0)), "rg-web");
    assert_eq!(table.key_value(table.tags[0], "costcenter"), Some("1234"));
    assert_eq!(table.usage_start[0], meterlens_engine::time::parse_timestamp("2024-02-29").unwrap());
    let (table, report) = read("azure-usage-api-azurestack.json");
    assert_eq!(report.rows, 1);
    assert_eq!(table.str(table.meter_name(0)), "Storage Admin");
    assert_eq!(table.str(table.local_meter_id(0)), "09F8879E-87E9-4305-A572-4B7BE209F857");
    assert_eq!(table.str(table.resource_group(0)), "system.local");
}

#[test]
fn partner_center_utilization_records() {
    let (table, report) = read("partner-center-utilization.json");
    assert_eq!((report.format, report.rows), (Format::PartnerCenterJson, 2));
    // -07:00 offsets are converted: the Pacific day starts at 07:00 UTC.
    assert_eq!(table.usage_start[0], meterlens_engine::time::parse_timestamp("2026-10-01T00:00:00Z").unwrap());
    close(&totals(&table).quantity, &map(&[("1 GB/Hr", 0.2178), ("1 Hour", 48.0)]));
    assert_eq!(table.str(table.local_subscription(1)), "8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11");
}

#[test]
fn generated_api_json_pages_read_back() {
    use meterlens_engine::generate::{generate, GenerateFormat, GenerateOptions};
    let mut bytes = Vec::new();
    let options = GenerateOptions { rows: 2500, seed: 5, format: GenerateFormat::AzsApiJson, ..Default::default() };
    generate(&options, &mut bytes).unwrap();
    let (table, report) = read_chunked("gen.json", &bytes, 777);
    assert_eq!((report.format, report.rows, report.issue_count), (Format::UsageApiJson, 2500, 0));
    let mut csv = Vec::new();
    generate(&GenerateOptions { format: GenerateFormat::UsageSummaryCsv, ..options }, &mut csv).unwrap();
    let (from_csv, _) = read_chunked("gen.csv", &csv, 777);
    assert_eq!(totals(&table).quantity, totals(&from_csv).quantity, "both layouts of one month agree");
}

fn fingerprint(table: &UsageTable, report: &FileReport) -> String {
    let s = totals(table);
    let rows: Vec<String> = (0..table.len())
        .map(|r| {
            format!(
                "{} {} {} {}",
                table.line.get(r),
                table.usage_start[r],
                table.str(table.meter_id[r]),
                table.quantity.get(r)
            )
        })
        .collect();
    format!("{report:?}\n{s:?}\n{}", rows.join("\n"))
}

#[test]
fn every_fixture_reads_the_same_in_any_chunking_and_through_gzip() {
    for name in [
        "cost-management-ea-actual.csv",
        "focus-1.0.csv",
        "ea-detail-v2.csv",
        "account-center-v2.csv",
        "azs-api-page.json",
        "partner-center-utilization.json",
        "usagesummary-small.csv",
    ] {
        let bytes = fixture(name);
        let (table, report) = read_chunked(name, &bytes, usize::MAX);
        let want = fingerprint(&table, &report);
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let (table, report) = read_chunked(name, &bytes, chunk);
            assert_eq!(fingerprint(&table, &report), want, "{name} in chunks of {chunk}");
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes).unwrap();
        let gz = gz.finish().unwrap();
        for chunk in [1, 5, 4096] {
            let (table, mut report) = read_chunked(name, &gz, chunk);
            assert!(report.gzip);
            report.gzip = false;
            report.bytes = bytes.len() as u64;
            assert_eq!(fingerprint(&table, &report), want, "{name}.gz in chunks of {chunk}");
        }
    }
}

#[test]
fn damaged_input_keeps_the_good_rows_and_says_what_is_wrong() {
    let json = fixture("azs-api-page.json");
    let cut = json.len() * 3 / 4;
    let (table, report) = read_chunked("cut.json", &json[..cut], 100);
    assert_eq!(table.len(), 1, "the first row survives the cut");
    assert!(matches!(report.error, Some(FileError::TruncatedJson { .. })));
    assert!(report.to_string().contains("truncated"), "{report}");

    let csv = fixture("cost-management-ea-actual.csv");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&csv).unwrap();
    let mut gz = gz.finish().unwrap();
    let middle = gz.len() / 2;
    gz[middle] ^= 0xff;
    gz.truncate(gz.len() - 4);
    let (_, report) = read_chunked("broken.csv.gz", &gz, 50);
    assert!(matches!(report.error, Some(FileError::Gzip { .. })), "{report:?}");
}

#[test]
fn day_first_files_are_read_day_first() {
    let header = "\"UsageStartTime\",\"UsageEndTime\",\"MeterName\",\"Quantity\",\"resourceType\",\"location\",\"resourceGroup\",\
\"resourceName\",\"subowner\",\"tags\",\"MeterId\",\"additionalInfo\",\"subscription\",\"resourceUri\"\n";
    let row = |start: &str, end: &str| {
        format!("\"{start}\",\"{end}\",\"\",\"1\",\"\",\"\",\"rg\",\"\",\"\",\"\",\"FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5\",\"\",\"s\",\"\"\n")
    };
    // The first twelve days fit both orders; only the 13th proves day-first, at the end of the file.
    let mut text = header.to_string();
    for day in 1..=12 {
        text += &row(&format!("{day:02}/10/2026"), &format!("{:02}/10/2026", day + 1));
    }
    text += &row("13/10/2026", "14/10/2026");
    let (table, report) = read_chunked("eu.csv", text.as_bytes(), 64);
    assert_eq!((report.rows, report.date_order), (13, Some(DateOrder::DayFirst)));
    let oct = |d: u32| meterlens_engine::time::parse_timestamp(&format!("2026-10-{d:02}")).unwrap();
    assert_eq!(table.usage_start[0], oct(1));
    assert_eq!(table.usage_start[11], oct(12));
    assert_eq!(table.usage_end[11], oct(13));
    assert_eq!(table.usage_start[12], oct(13));
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut seed = 0xDEAD_BEEF_CAFE_F00Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let names = [
        "cost-management-ea-actual.csv",
        "focus-1.2.csv",
        "account-center-v2.csv",
        "azs-api-page.json",
        "partner-center-utilization.json",
    ];
    for name in names {
        let original = fixture(name);
        for _ in 0..150 {
            let mut bytes = original.clone();
            for _ in 0..(1 + next() % 6) {
                let at = (next() as usize) % bytes.len().max(1);
                match next() % 5 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes.insert(at, *b"\"{}[],:\\\n\r\0\xc3".get((next() % 12) as usize).unwrap_or(&b'x')),
                    2 => drop(bytes.remove(at)),
                    3 => bytes.truncate(at),
                    _ => {
                        let gz = next() % 2 == 0;
                        if gz {
                            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                            e.write_all(&bytes).unwrap();
                            bytes = e.finish().unwrap();
                        }
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let (table, report) = read_chunked(name, &bytes, 1 + (next() % 200) as usize);
            assert_eq!(table.len() as u64, report.rows, "{name}");
            let _ = Summary::of(&table, &SummaryOptions::default());
        }
    }
}

#[test]
fn azure_side_rows_learn_their_local_meter_from_the_commerce_map() {
    let (table, _) = read("cost-management-ea-2024-08-01.csv");
    // Row 2 is App Service without azureStack.* keys: the commerce map knows it bills the local App Service meter.
    assert_eq!(table.str(table.local_meter_id(1)), "190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA");
    assert_eq!(table.str(table.local_subscription(1)), "", "the local subscription is only known from the markers");
}

#[test]
fn two_files_of_one_format_are_one_source_format_group() {
    use meterlens_engine::summary::Dimension;
    let mut table = UsageTable::default();
    for name in ["usagesummary-small.csv", "usagesummary-small.csv", "focus-1.0.csv"] {
        let mut ingester = Ingester::new(table, name);
        ingester.feed(&fixture(name));
        table = ingester.finish().0;
    }
    let s = Summary::of(
        &table,
        &SummaryOptions { by: vec![Dimension::SourceFormat], include_admin: true, ..Default::default() },
    );
    let keys: Vec<&str> = s.groups.iter().map(|g| g.key[0].1.as_str()).collect();
    assert_eq!(keys, vec!["azs-usagesummary-csv", "focus-1.0-csv"]);
    assert_eq!(s.groups[0].totals.rows, 18);
}

#[test]
fn rows_with_shifted_or_missing_fields_are_rejected_not_misread() {
    let mut csv = fixture("usagesummary-small.csv");
    csv.extend_from_slice(b"\"10/3/2026 12:00:00 AM\",\"10/4/2026 12:00:00 AM\",\"Base VM Size Hours\",\"4");
    let (table, report) = read_chunked("cut.csv", &csv, 17);
    assert_eq!(table.len(), 9, "the cut last line is not counted as 4 hours");
    let last = report.issues.last().unwrap();
    assert!(last.dropped && last.message.contains("row has 4 fields, the header has 14"), "{last:?}");
}

#[test]
fn binary_content_after_the_first_line_is_found_however_it_is_chunked() {
    let mut bytes = b"a,b\n".to_vec();
    bytes.extend([0u8; 64]);
    bytes.extend(b"more text\n".repeat(500));
    for chunk in [1, 4, 5, 4096] {
        let (_, report) = read_chunked("bin.dat", &bytes, chunk);
        assert_eq!(report.error, Some(FileError::Binary), "chunks of {chunk}");
    }
}

fn bad(name: &str) -> (UsageTable, FileReport) {
    read_chunked(name, &fixture(&format!("bad/{name}")), 13)
}

#[test]
fn european_excel_semicolons_and_decimal_commas() {
    let (table, report) = bad("semicolon-decimal-comma.csv");
    assert_eq!((report.format, report.delimiter), (Format::UsageSummaryCsv, ';'));
    // `01.10.2026 00:00` is no date MeterLens reads: reported, the other two rows kept.
    assert_eq!((report.rows, report.rejected), (2, 1));
    assert_eq!(table.quantity, vec![2.5, 24.0]);
    assert_eq!(report.date_order, Some(DateOrder::DayFirst), "13/10 proves day-first");
    assert_eq!(table.usage_start[1], meterlens_engine::time::parse_timestamp("2026-10-12").unwrap());
}

#[test]
fn latin1_text_is_read_as_latin1_and_said_once() {
    let (table, report) = bad("latin1.csv");
    assert_eq!((report.rows, report.latin1), (1, true));
    assert_eq!(table.str(table.resource_group(0)), "rg-müller");
    assert_eq!(table.key_value(table.tags[0], "owner"), Some("José"));
    assert_eq!(report.issue_count, 1, "{:?}", report.issues);
    assert!(report.issues[0].message.contains("Latin-1"));
}

#[test]
fn fields_that_are_utf8_only_together_are_read_as_latin1() {
    // "rg-\xC3" then "\xA9" is "rg-é" once the two fields are joined: each alone is not UTF-8.
    let mut csv = b"UsageStartTime,UsageEndTime,MeterId,Quantity,subowner,resourceGroup,resourceName\n".to_vec();
    csv.extend_from_slice(
        b"2026-10-01,2026-10-02,FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5,24,admin@contoso.onmicrosoft.com,rg-\xC3,\xA9vm\n",
    );
    let (table, report) = read_chunked("joined.csv", &csv, 7);
    assert_eq!((report.rows, report.latin1), (1, true), "{report:?}");
    assert_eq!(table.str(table.resource_group(0)), "rg-\u{c3}");
    assert_eq!(table.str(table.resource_name(0)), "\u{a9}vm");
}

#[test]
fn hostile_text_is_kept_as_data() {
    let (table, report) = bad("hostile-text.csv");
    assert_eq!((report.rows, report.rejected), (2, 1));
    assert!(table.str(table.resource_name(0)).contains("<script>"), "kept verbatim; the UI renders it as text");
    assert!(report.issues[0].excerpt.starts_with("<script>"));
}

/// A corpus file: name, rows kept, rows rejected, words of the file error, words of some issues.
type CorpusCase<'a> = (&'a str, u64, u64, Option<&'a str>, &'a [&'a str]);

/// The bad-input corpus (tests/fixtures/bad/, written by scripts/fixtures/make_bad_fixtures.py): rows kept,
/// rows rejected, and the words that say what is wrong. RELIABILITY.md lists the same table.
#[test]
fn the_bad_input_corpus_keeps_the_good_rows_and_says_what_is_wrong() {
    let cases: &[CorpusCase] = &[
        ("empty.csv", 0, 0, Some("the file is empty"), &[]),
        ("header-only.csv", 0, 0, None, &[]),
        ("binary.csv", 0, 0, Some("binary file"), &[]),
        ("utf16le-bom.csv", 0, 0, Some("UTF-16"), &[]),
        ("truncated.csv", 3, 1, None, &["row has 3 fields, the header has 14"]),
        ("truncated.json", 2, 0, Some("the JSON ends early"), &[]),
        ("wrong-shape.json", 0, 0, Some("without a \"value\" or \"items\" array"), &[]),
        ("wrong-shape-array.json", 0, 0, Some("without a \"value\" or \"items\" array"), &[]),
        ("ragged.csv", 2, 2, None, &["row has 4 fields, the header has 14", "row has 16 fields"]),
        (
            "numbers.csv",
            3,
            4,
            None,
            &[
                "\"NaN\" is not a number",
                "\"Infinity\" is not a number",
                "\"\" is not a number",
                "\"12abc\"",
                "negative quantity -3.5 kept",
            ],
        ),
        (
            "impossible-dates.csv",
            2,
            4,
            None,
            &["\"2/30/2026", "\"13/13/2026", "25:61", "\"yesterday\"", "ends before it starts"],
        ),
        ("latin1.csv", 1, 0, None, &["Latin-1"]),
        ("semicolon-decimal-comma.csv", 2, 1, None, &["01.10.2026"]),
        ("hostile-text.csv", 2, 1, None, &["<script>"]),
    ];
    for (name, rows, rejected, error, issues) in cases {
        let bytes = fixture(&format!("bad/{name}"));
        for chunk in [1usize, 13, 4096] {
            let (table, report) = read_chunked(name, &bytes, chunk);
            assert_eq!((report.rows, report.rejected), (*rows, *rejected), "{name} in chunks of {chunk}: {report:?}");
            assert_eq!(table.len() as u64, *rows);
            match error {
                Some(words) => {
                    let text = report.error.as_ref().map(ToString::to_string).unwrap_or_default();
                    assert!(text.contains(words), "{name}: {text:?} should say {words:?}");
                }
                None => assert_eq!(report.error, None, "{name}"),
            }
            let said: Vec<String> = report.issues.iter().map(|i| format!("{} {}", i.message, i.excerpt)).collect();
            for words in *issues {
                assert!(said.iter().any(|s| s.contains(words)), "{name}: no issue says {words:?} in {said:?}");
            }
            assert!(report.issues.iter().all(|i| i.line > 0), "{name}: every issue has its line");
        }
    }
}

#[test]
fn a_single_50_mb_line_is_skipped_with_its_line_and_the_rest_is_read() {
    let good = fixture("usagesummary-small.csv");
    let text = String::from_utf8_lossy(&good);
    let mut lines = text.split("\r\n");
    let header = lines.next().unwrap();
    let mut bytes = format!("{header}\r\n").into_bytes();
    bytes.extend(b"\"10/1/2026 12:00:00 AM\",\"");
    bytes.extend(std::iter::repeat_n(b'x', 50 << 20));
    bytes.extend(b"\"\r\n");
    bytes.extend(lines.collect::<Vec<_>>().join("\r\n").into_bytes());
    let (_, clean) = read_chunked("small.csv", &good, 1 << 20);
    let (table, report) = read_chunked("huge-line.csv", &bytes, 1 << 20);
    assert_eq!(report.error, None);
    assert_eq!(report.rows, clean.rows, "every other row is read");
    assert_eq!(table.len() as u64, clean.rows);
    let huge = report.issues.iter().find(|i| i.line == 2).expect("the huge line is reported");
    assert!(huge.message.contains("MiB") && huge.dropped, "{huge:?}");
    assert!(huge.excerpt.len() < 200, "the excerpt is short");
}

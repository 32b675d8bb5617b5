//! Ingest tests on real-shaped files: detection, parsing details, problems, chunking and hostile input.

use super::*;
use crate::summary::{Summary, SummaryOptions};

const USAGESUMMARY: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/usagesummary-small.csv"));

fn ingest_chunks(name: &str, chunks: &[&[u8]]) -> (UsageTable, FileReport) {
    let mut ingester = Ingester::new(UsageTable::default(), name);
    for chunk in chunks {
        ingester.feed(chunk);
    }
    ingester.finish()
}

fn ingest(bytes: &[u8]) -> (UsageTable, FileReport) {
    ingest_chunks("file.csv", &[bytes])
}

/// Everything observable about an ingest, for comparing runs.
fn fingerprint(table: &UsageTable, report: &FileReport) -> String {
    let mut out = format!("{report:?}\n");
    for row in 0..table.len() {
        let s = |c: &crate::table::Column<crate::StrId>| table.str(c[row]).to_string();
        out += &format!(
            "{} {} {} {} {} {} {} {} {} {} {}\n",
            table.line.get(row),
            table.usage_start[row],
            table.usage_end[row],
            s(&table.subscription),
            table.str(table.resource_group(row)),
            s(&table.meter_id),
            table.str(table.meter_name(row)),
            table.str(table.unit(row)),
            table.quantity.get(row),
            s(&table.tags),
            s(&table.resource_uri),
        );
    }
    out
}

#[test]
fn usagesummary_rows_are_typed_normalised_and_enriched() {
    let (table, report) = ingest(USAGESUMMARY);
    assert_eq!(report.error, None);
    assert_eq!(report.format, Format::UsageSummaryCsv);
    assert_eq!((report.rows, report.rejected), (9, 2));
    assert_eq!(table.len(), 9);
    assert_eq!(table.sources()[0].format, Format::UsageSummaryCsv);
    // Lower-case meter ID normalised, unit from the catalog.
    assert_eq!(table.str(table.meter_id[2]), "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5");
    assert_eq!(table.str(table.unit(2)), "Virtual core hours");
    assert_eq!(
        table.str(table.commerce_meter_id(2)),
        "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
        "enriched from the catalog"
    );
    assert_eq!(table.str(table.commerce_meter_id(1)), "FB8C0713-EA20-40BF-901F-5560FD3F6330");
    assert_eq!(table.usage_start[2], crate::time::parse_timestamp("2026-10-02").unwrap());
    // Dash-less ID normalised; empty meter name filled from the catalog; doubled quotes and commas kept.
    assert_eq!(table.str(table.meter_id[3]), "09F8879E-87E9-4305-A572-4B7BE209F857");
    assert_eq!(table.str(table.meter_name(3)), "BlockBlobCapacity");
    // Local files have no category: the catalog's resource provider fills it.
    assert_eq!(table.str(table.meter_category(3)), "Storage");
    assert_eq!(table.str(table.meter_category(2)), "Compute");
    assert_eq!(table.str(table.tags[3]), "@{owner=Jane \"JD\" Doe; dept=R,D}");
    // A quoted newline keeps the row whole and the next row's line number true.
    assert_eq!(table.str(table.tags[4]), "@{note=line one\nline two}");
    assert_eq!(table.line.get(4), 6);
    assert_eq!(table.line.get(5), 8);
    // An unknown meter is kept, with no unit.
    assert_eq!(table.str(table.meter_id[6]), "11111111-2222-3333-4444-555555555555");
    assert_eq!(table.str(table.unit(6)), "");
    assert_eq!(table.str(table.meter_category(6)), "");
}

#[test]
fn unusable_rows_are_reported_with_line_and_column() {
    let (_, report) = ingest(USAGESUMMARY);
    assert_eq!(report.issue_count, 2);
    let date = &report.issues[0];
    assert_eq!((date.line, date.column.as_deref(), date.dropped), (10, Some("UsageStartTime"), true));
    assert!(date.message.contains("2026-13-01"), "{}", date.message);
    assert_eq!(date.excerpt, "2026-13-01");
    let quantity = &report.issues[1];
    assert_eq!((quantity.line, quantity.column.as_deref()), (11, Some("Quantity")));
    assert!(quantity.message.contains("not a number"));
}

#[test]
fn summary_of_the_fixture() {
    let (table, _) = ingest(USAGESUMMARY);
    let summary = Summary::of(&table, &SummaryOptions::default());
    assert_eq!(summary.rows, 8);
    assert_eq!(summary.subscriptions, 2);
    assert_eq!(summary.admin_rows_excluded, 1);
    assert_eq!(summary.admin_quantity["GB*hours"], 480.0);
    assert_eq!(summary.quantity["Virtual core hours"], 48.0 + 48.0 + 36.5 + 72.0);
    assert_eq!(summary.quantity["GB*hours"], 2.4 + 2.6);
    assert_eq!(summary.quantity["IP addresses"], 24.0);
    assert_eq!(summary.quantity[crate::summary::UNKNOWN_UNIT], 3.0);
    let all = Summary::of(&table, &SummaryOptions { include_admin: true, ..Default::default() });
    assert_eq!((all.rows, all.subscriptions, all.admin_rows_excluded), (9, 3, 0));
}

#[test]
fn chunking_never_changes_the_result() {
    let (table, report) = ingest(USAGESUMMARY);
    let want = fingerprint(&table, &report);
    for split in 0..=USAGESUMMARY.len() {
        let (a, b) = USAGESUMMARY.split_at(split);
        let (table, report) = ingest_chunks("file.csv", &[a, b]);
        assert_eq!(fingerprint(&table, &report), want, "split at byte {split}");
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..200 {
        let mut chunks = Vec::new();
        let mut rest = USAGESUMMARY;
        while !rest.is_empty() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = (1 + seed % 97) as usize;
            let (chunk, tail) = rest.split_at(n.min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        let (table, report) = ingest_chunks("file.csv", &chunks);
        assert_eq!(fingerprint(&table, &report), want, "random chunking round {round}");
    }
}

#[test]
fn generated_month_round_trips_through_ingest() {
    use crate::generate::{generate, GenerateFormat, GenerateOptions};
    let mut bytes = Vec::new();
    let options =
        GenerateOptions { rows: 3000, seed: 11, format: GenerateFormat::UsageSummaryCsv, ..Default::default() };
    generate(&options, &mut bytes).unwrap();
    let (table, report) = ingest_chunks("gen.csv", &bytes.chunks(8191).collect::<Vec<_>>());
    assert_eq!((report.rows, report.rejected, report.issue_count), (3000, 0, 0));
    assert!((0..table.len()).all(|r| !table.str(table.unit(r)).is_empty()), "every generated meter is in the catalog");
    let days: std::collections::BTreeSet<i64> = table.usage_start.iter().map(|t| crate::time::day_of(*t)).collect();
    assert_eq!(days.len(), 31);
}

#[test]
fn files_that_are_not_usage_exports_get_one_clear_error() {
    let (_, report) = ingest(b"");
    assert_eq!(report.error, Some(FileError::Empty));
    let (_, report) = ingest(b"\n\n  \n");
    assert_eq!(report.error, Some(FileError::Empty));
    let (_, report) = ingest(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    assert_eq!(report.error, Some(FileError::Binary));
    let (_, report) = ingest(b"\xFF\xFEU\0s\0a\0g\0e\0");
    assert_eq!(report.error, Some(FileError::Utf16));
    let (_, report) = ingest(b"{\"rows\":[]}");
    assert_eq!(report.error, Some(FileError::JsonWithoutRows));
    let (table, report) = ingest(b"UsageStartTime,UsageEndTime,MeterName,Quantity,MeterId,subscription\n1,2,3,4,5,6\n");
    let Some(FileError::UnknownHeader { closest, matched, missing, .. }) = &report.error else { panic!("{report:?}") };
    assert_eq!((closest.as_str(), *matched), (Format::UsageSummaryCsv.label(), 4));
    assert_eq!(missing, &vec!["resourceGroup".to_string(), "subowner".to_string()]);
    assert!(report.to_string().contains("which also needs resourceGroup, subowner"), "{report}");
    assert!(table.is_empty());
}

#[test]
fn app_service_summary_carries_cost() {
    let csv = "\"MeterId\",\"MeterName\",\"Quantity\",\"UnitPrice\",\"Amount\",\"UsageStartTime\",\"UsageEndTime\",\
\"additionalInfo\",\"location\",\"tags\",\"subscription\",\"resourceType\",\"resourceName\",\"resourceUri\"\n\
\"190c935e-9ada-48ff-9ab8-56ea1cf9adaa\",\"App Service\",\"10\",\"0.056\",\"0.56\",\"2026-10-01T00:00:00Z\",\
\"2026-10-02T00:00:00Z\",\"\",\"local\",\"\",\"sub-a\",\"serverFarms\",\"plan1\",\
\"/subscriptions/sub-a/resourceGroups/rg-apps/providers/Microsoft.Web/serverFarms/plan1\"\n";
    let (table, report) = ingest(csv.as_bytes());
    assert_eq!((report.format, report.rows), (Format::AppServiceUsageSummaryCsv, 1));
    assert_eq!(table.str(table.resource_group(0)), "rg-apps", "resource group taken from the URI");
    let summary = Summary::of(&table, &SummaryOptions::default());
    assert_eq!(summary.cost["USD"], 0.56);
    assert_eq!(summary.quantity["Virtual core hours"], 10.0);
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let mut bytes = USAGESUMMARY.to_vec();
        for _ in 0..(1 + next() % 8) {
            let at = (next() as usize) % bytes.len();
            match next() % 4 {
                0 => bytes[at] = next() as u8,
                1 => bytes.insert(at, *b"\"\r\n,\0\xff".get((next() % 6) as usize).unwrap_or(&b'x')),
                2 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let chunk = 1 + (next() % 64) as usize;
        let (table, report) = ingest_chunks("mutated.csv", &bytes.chunks(chunk).collect::<Vec<_>>());
        assert_eq!(table.len() as u64, report.rows);
        let _ = Summary::of(&table, &SummaryOptions::default());
    }
    for len in [1usize, 7, 100, 5000] {
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let (table, report) = ingest(&bytes);
        assert_eq!(table.len() as u64, report.rows);
    }
}

#[test]
fn fingerprints_tell_the_same_file_from_another() {
    let a = super::fingerprint(USAGESUMMARY.len() as u64, USAGESUMMARY);
    // Only the first MiB (and the size) count: a difference after it is not seen, by design.
    let big = vec![b'x'; 2 * FINGERPRINT_BYTES];
    let mut big_other = big.clone();
    big_other[FINGERPRINT_BYTES + 1] = b'y';
    assert_eq!(super::fingerprint(big.len() as u64, &big), super::fingerprint(big.len() as u64, &big_other));
    let mut other = USAGESUMMARY.to_vec();
    other[100] ^= 1;
    assert_ne!(a, super::fingerprint(other.len() as u64, &other));
    assert_ne!(a, super::fingerprint(USAGESUMMARY.len() as u64 + 1, USAGESUMMARY));
}

#[test]
fn a_file_of_known_size_takes_room_for_its_rows_once() {
    use crate::generate::{generate, GenerateFormat, GenerateOptions};
    // 90,000 rows: growing as they go, the columns would have room for 98,304 (65,536 then by half).
    let rows = 90_000;
    let mut bytes = Vec::new();
    let options = GenerateOptions { rows, seed: 3, format: GenerateFormat::CostManagementCsv, ..Default::default() };
    generate(&options, &mut bytes).unwrap();
    let ingest_sized = |size: Option<u64>| {
        let mut ingester = Ingester::new(UsageTable::default(), "cost.csv");
        if let Some(size) = size {
            ingester.expect_bytes(size);
        }
        bytes.chunks(1 << 20).for_each(|chunk| ingester.feed(chunk));
        ingester.finish()
    };
    let (grown, _) = ingest_sized(None);
    let (sized, report) = ingest_sized(Some(bytes.len() as u64));
    assert_eq!(report.rows, rows, "the estimate changes no row");
    assert_eq!(sized.quantity, grown.quantity);
    let part = |t: &UsageTable, name: &str| t.heap_bytes_by_part().into_iter().find(|(n, _)| *n == name).unwrap().1;
    for name in ["usage_start", "meter_id", "resource_uri"] {
        assert!(
            part(&sized, name) < part(&grown, name),
            "{name}: {} vs {} bytes",
            part(&sized, name),
            part(&grown, name)
        );
    }
    assert!(sized.heap_bytes() < grown.heap_bytes(), "{} vs {} bytes", sized.heap_bytes(), grown.heap_bytes());
}

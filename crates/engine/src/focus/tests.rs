//! FOCUS export tests: the column list against FOCUS 1.2, the generated month priced as the bill prices it,
//! Azure-side rows keeping their own costs, the admin choice, and the CSV text.

use super::*;
use crate::bill::{bill, BillOptions};
use crate::generate::{generate, GenerateFormat, GenerateOptions};
use crate::ingest::Ingester;

fn generated(format: GenerateFormat) -> UsageTable {
    let mut bytes = Vec::new();
    generate(&GenerateOptions { rows: 1500, seed: 2026, format, ..Default::default() }, &mut bytes).unwrap();
    let mut ingester = Ingester::new(UsageTable::default(), "month.csv");
    ingester.feed(&bytes);
    ingester.finish().0
}

fn number(cell: Cell<'_>) -> f64 {
    match cell {
        Cell::Number(n) => n,
        other => panic!("not a number: {other:?}"),
    }
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn every_mandatory_focus_column_is_written_with_its_type() {
    for name in FOCUS_12_MANDATORY {
        let c = &COLUMNS[column(name)];
        assert!(c.mandatory, "{name}");
    }
    assert_eq!(COLUMNS.iter().filter(|c| c.mandatory).count(), FOCUS_12_MANDATORY.len());
    for c in &COLUMNS {
        assert!(c.mandatory || !FOCUS_12_MANDATORY.contains(&c.name));
        let expected = match c.name {
            n if n.ends_with("Cost") || n.ends_with("Quantity") || n.ends_with("UnitPrice") => FocusType::Decimal,
            n if n.ends_with("PeriodStart") || n.ends_with("PeriodEnd") => FocusType::DateTime,
            "Tags" => FocusType::Json,
            "x_MeterLensSourceLine" => FocusType::Decimal,
            _ => FocusType::String,
        };
        assert_eq!(c.kind, expected, "{}", c.name);
        assert!(c.name.starts_with("x_") || c.name.chars().next().unwrap().is_ascii_uppercase());
    }
}

#[test]
fn local_usage_is_priced_as_the_bill_prices_it() {
    let table = generated(GenerateFormat::UsageSummaryCsv);
    let prices = PriceBook::default();
    let export = FocusExport::new(&table, &prices, &FocusOptions::default());
    let bill = bill(&table, &prices, &BillOptions::default());
    assert!(bill.total > 10.0);
    let billed: f64 = (0..export.len()).map(|i| number(export.cell(i, column("BilledCost")))).sum();
    assert!((billed - bill.total).abs() < 1e-6, "{billed} vs {}", bill.total);
    assert_eq!(export.billed_by_currency(), vec![("USD".to_string(), billed)]);
    assert_eq!(export.admin_rows_excluded, bill.admin_rows_excluded);
    assert_eq!(export.len() as u64 + export.admin_rows_excluded, table.len() as u64);
    for i in 0..export.len() {
        let cost = number(export.cell(i, column("BilledCost")));
        let quantity = number(export.cell(i, column("PricingQuantity")));
        match export.cell(i, column("ListUnitPrice")) {
            Cell::Number(rate) => assert!((cost - quantity * rate).abs() < 1e-9),
            _ => assert_eq!(cost, 0.0),
        }
        assert_eq!(export.cell(i, column("RegionId")), Cell::Text("azurestack".into()));
        assert_eq!(export.cell(i, column("SubAccountId")), export.cell(i, column("BillingAccountId")));
        let (Cell::Time(start), Cell::Time(period)) =
            (export.cell(i, column("ChargePeriodStart")), export.cell(i, column("BillingPeriodStart")))
        else {
            panic!("times")
        };
        assert!(period <= start && start - period < 31 * DAY);
    }
    // GB hours are billed per GB/month: the pricing unit is the commerce meter's, the consumed unit the stamp's.
    let storage = (0..export.len())
        .find(|&i| export.cell(i, column("x_SkuMeterId")) != export.cell(i, column("x_MeterLensLocalMeterId")))
        .expect("a meter billed under another ID");
    assert_ne!(export.cell(storage, column("x_MeterLensLocalMeterId")), Cell::Null);
}

#[test]
fn admin_rows_are_kept_at_zero_with_their_reason_when_asked() {
    let table = generated(GenerateFormat::UsageSummaryCsv);
    let prices = PriceBook::default();
    let without = FocusExport::new(&table, &prices, &FocusOptions::default());
    let with = FocusExport::new(&table, &prices, &FocusOptions { include_admin: true });
    assert!(without.admin_rows_excluded > 0);
    assert_eq!(with.len(), table.len());
    let admin: Vec<usize> =
        (0..with.len()).filter(|&i| with.cell(i, column("x_MeterLensAdminReason")) != Cell::Null).collect();
    assert_eq!(admin.len() as u64, without.admin_rows_excluded);
    assert!(admin.iter().all(|&i| number(with.cell(i, column("BilledCost"))) == 0.0));
}

#[test]
fn azure_rows_keep_their_own_costs_and_regions() {
    let table = generated(GenerateFormat::CostManagementCsv);
    let export = FocusExport::new(&table, &PriceBook::default(), &FocusOptions { include_admin: true });
    assert_eq!(export.len(), table.len());
    let billed: f64 = (0..export.len()).map(|i| number(export.cell(i, column("BilledCost")))).sum();
    let source: f64 = table.cost.iter().filter(|c| !c.is_nan()).sum();
    assert!((billed - source).abs() < 1e-6 && source > 0.0, "{billed} vs {source}");
    assert!((0..export.len())
        .all(|i| export.cell(i, column("x_MeterLensPriceSource")) == Cell::Text("the source file's cost".into())));
    // Azure-side rows keep the region Azure gives them, lower-cased without spaces as FOCUS region IDs are.
    for i in 0..export.len() {
        let Cell::Text(name) = export.cell(i, column("RegionName")) else { panic!("no region") };
        assert_eq!(export.cell(i, column("RegionId")), Cell::Text(name.to_lowercase().replace(' ', "").into()));
    }
}

#[test]
fn csv_has_the_header_and_one_line_a_row_with_iso_times() {
    let table = generated(GenerateFormat::UsageSummaryCsv);
    let export = FocusExport::new(&table, &PriceBook::default(), &FocusOptions::default());
    let mut out = Vec::new();
    export.write_csv(None, false, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());
    let first = lines.next().unwrap();
    assert_eq!(text.lines().count(), export.len() + 1);
    let start = first.split(',').nth(column("ChargePeriodStart")).unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(start).is_ok() && start.ends_with('Z'), "{start}");
    // A selection of table rows maps to the exported rows it holds (admin rows are not exported).
    let selection: Vec<u32> = (0..table.len() as u32).step_by(7).collect();
    let indices = export.indices_of(&selection);
    assert!(!indices.is_empty() && indices.len() <= selection.len());
    assert_eq!(indices.len() as u64, selection.iter().filter(|&&r| engine_admin(&table, r).is_none()).count() as u64);
    let months = export.by_month();
    assert_eq!(months.iter().map(|(_, rows)| rows.len()).sum::<usize>(), export.len());
    assert_eq!(months[0].0, "2026-10");
}

#[test]
fn text_with_commas_and_quotes_is_quoted() {
    let mut out = String::new();
    push_csv(&Cell::Text("{\"a\":\"b,c\"}".into()), &mut out);
    assert_eq!(out, "\"{\"\"a\"\":\"\"b,c\"\"}\"");
}

fn engine_admin(table: &UsageTable, row: u32) -> Option<crate::admin::AdminReason> {
    AdminClassifier::new(table).classify(row as usize)
}

#[test]
fn the_licensing_model_prices_the_export_and_text_can_be_spreadsheet_safe() {
    let table = generated(GenerateFormat::UsageSummaryCsv);
    let mut prices = PriceBook::default();
    prices.licensing = crate::licensing::Licensing::Capacity;
    let export = FocusExport::new(&table, &prices, &FocusOptions::default());
    assert!((0..export.len()).all(|i| number(export.cell(i, column("BilledCost"))) == 0.0));
    let informational = "informational meter (VM size hours, not core-adjusted): not billed";
    assert!((0..export.len()).all(|i| {
        let source = export.cell(i, column("x_MeterLensPriceSource"));
        source == Cell::Text("capacity model: covered by the annual subscription".into())
            || source == Cell::Text(informational.into())
    }));
    // Text a spreadsheet would run is prefixed only in the spreadsheet-safe form.
    let mut hostile = UsageTable::default();
    let source = hostile.add_source("h.csv", crate::ingest::Format::UsageSummaryCsv);
    let record = crate::table::UsageRecord {
        usage_start: 1_790_812_800,
        usage_end: 1_790_812_800 + DAY,
        azure_stack: true,
        local: true,
        subscription: "8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11",
        meter_id: "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
        local_meter_id: "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
        resource_name: "=HYPERLINK(\"http://evil.example\")",
        quantity: 1.0,
        ..Default::default()
    };
    hostile.push(source, 2, &record);
    let export = FocusExport::new(&hostile, &PriceBook::default(), &FocusOptions::default());
    let (raw, safe) = (export.csv_lines(0..1, false), export.csv_lines(0..1, true));
    assert!(raw.contains(",\"=HYPERLINK(\"\"http://evil.example\"\")\","), "{raw}");
    assert!(safe.contains(",\"'=HYPERLINK(") && !safe.contains(",\"=HYPERLINK"), "{safe}");
}

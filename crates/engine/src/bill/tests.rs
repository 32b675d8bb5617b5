//! Bill tests: each unit conversion, the Windows VM rule, deprecated and informational meters, admin rows,
//! unknown meters, currencies, and the generated month against an independent computation.

use super::*;
use crate::ingest::{Format, Ingester};
use crate::table::UsageRecord;
use crate::time::parse_timestamp;

const SUB: &str = "8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11";

/// A day (2026-10-01) of local usage of `meter` by one resource of subscription `SUB`.
fn local_record<'a>(meter: &'a str, resource: &'a str, group: &'a str, quantity: f64) -> UsageRecord<'a> {
    let start = parse_timestamp("2026-10-01").unwrap();
    UsageRecord {
        usage_start: start,
        usage_end: start + DAY,
        azure_stack: true,
        local: true,
        subscription: SUB,
        local_subscription: SUB,
        meter_id: meter,
        local_meter_id: meter,
        resource_uri: resource,
        resource_group: group,
        quantity,
        ..Default::default()
    }
}

fn local_table(rows: &[(&str, &str, &str, f64)]) -> UsageTable {
    let mut table = UsageTable::default();
    let source = table.add_source("t.csv", Format::UsageSummaryCsv);
    for (i, (meter, resource, group, quantity)) in rows.iter().enumerate() {
        table.push(source, i as u64 + 2, &local_record(meter, resource, group, *quantity));
    }
    table
}

fn line<'b>(bill: &'b Bill, meter: &str) -> &'b BillLine {
    bill.subscriptions[0].lines.iter().find(|l| l.meter_id == meter).unwrap_or_else(|| panic!("no line {meter}"))
}

#[test]
fn windows_vms_pay_base_plus_windows_and_missing_base_hours_are_added() {
    let table = local_table(&[
        (BASE_VM, "/vm/linux", "rg", 10.0),
        (BASE_VM, "/vm/win1", "rg", 48.0),
        (WINDOWS_VM, "/vm/win1", "rg", 48.0),
        (WINDOWS_VM, "/vm/win2", "rg", 24.0),
    ]);
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    let base = line(&bill, BASE_VM);
    assert_eq!(base.quantity, 10.0 + 48.0 + 24.0, "win2 had no base hours: they are added");
    assert!((base.cost - 82.0 * 0.008).abs() < 1e-12);
    assert!(base.note.as_deref().unwrap().contains("24"));
    let windows = line(&bill, WINDOWS_VM);
    assert!((windows.cost - 72.0 * 0.046).abs() < 1e-12);
    assert_eq!((windows.billed_unit.as_str(), windows.rate_source.as_str()), ("1 Hour", "list price (2019-12-03)"));
    assert!((bill.total - (82.0 * 0.008 + 72.0 * 0.046)).abs() < 1e-12);
    assert!(bill.assumptions.iter().any(|a| a.contains("base VM rate plus the Windows rate")));
}

#[test]
fn windows_only_usage_gets_a_base_vm_line_of_its_own() {
    let table = local_table(&[(WINDOWS_VM, "/vm/win", "rg", 10.0)]);
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    let lines = &bill.subscriptions[0].lines;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let base = line(&bill, BASE_VM);
    assert_eq!((base.quantity, base.meter_name.as_str()), (10.0, "Base VM Size Hours"));
    assert_eq!(line(&bill, WINDOWS_VM).quantity, 10.0);
    assert!((bill.total - 10.0 * (0.008 + 0.046)).abs() < 1e-12);
}

#[test]
fn unit_conversions() {
    let blob = "09F8879E-87E9-4305-A572-4B7BE209F857";
    let table_storage = "B4438D5D-453B-4EE1-B42A-DC72E377F1E4";
    let s30 = "5B1DB88A-8596-4002-8052-347947C26940";
    let table =
        local_table(&[(blob, "/sa", "rg", 7200.0), (table_storage, "/sa", "rg", 7200.0), (s30, "/disk", "rg", 0.5)]);
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    let b = line(&bill, blob);
    assert_eq!((b.billed_quantity, b.billed_unit.as_str()), (7200.0, "1 GB/Hr"), "GB*hours = GB/Hr");
    assert!((b.cost - 7200.0 * 0.0000083333).abs() < 1e-12);
    let t = line(&bill, table_storage);
    assert!((t.billed_quantity - 10.0).abs() < 1e-12, "7200 GB*hours = 10 GB/month");
    assert!((t.cost - 10.0 * 0.018).abs() < 1e-12);
    let d = line(&bill, s30);
    assert_eq!((d.billed_quantity, d.billed_unit.as_str(), d.cost), (0.5, "1/Month", 0.5 * 10.24));
    assert!(bill.assumptions.iter().any(|a| a.contains("720 hours")));
}

#[test]
fn informational_deprecated_admin_and_unknown_meters() {
    let vm_size_hours = "6DAB500F-A4FD-49C4-956D-229BB9C8C793";
    let old_s4 = "5D76E09F-4567-452A-94CC-7D1F097761F0";
    let new_s4 = "380874F9-300C-48E0-95A0-D2D9A21ADE8F";
    let unknown = "11111111-2222-3333-4444-555555555555";
    let table = local_table(&[
        (vm_size_hours, "/vm", "rg", 24.0),
        (old_s4, "/disk", "rg", 24.0),
        (new_s4, "/disk", "rg", 1.0 / 31.0),
        (unknown, "/x", "rg", 3.0),
        (BASE_VM, "/infra", "system.local", 100.0),
    ]);
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    let meters: Vec<&str> = bill.subscriptions[0].lines.iter().map(|l| l.meter_id.as_str()).collect();
    assert_eq!(meters.len(), 2, "{meters:?}");
    assert!(meters.contains(&new_s4) && meters.contains(&unknown) && !meters.contains(&old_s4));
    assert_eq!(bill.admin_rows_excluded, 1);
    assert!(bill.unpriced_meters.iter().any(|m| m.starts_with(unknown)));
    assert!(bill.unpriced_meters.iter().any(|m| m.starts_with(new_s4)), "S4 has no known rate");
    assert_eq!(line(&bill, unknown).cost, 0.0);
    assert_eq!(bill.total, 0.0);
    let all = super::bill(&table, &PriceBook::default(), &BillOptions { include_admin: true, ..Default::default() });
    assert!((all.total - 100.0 * 0.008).abs() < 1e-12);
}

#[test]
fn a_price_sheet_in_another_currency_prices_only_what_it_covers() {
    let table =
        local_table(&[(BASE_VM, "/vm", "rg", 10.0), ("190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA", "/plan", "rg", 24.0)]);
    let mut prices = PriceBook::default();
    prices.import_csv("eur.csv", format!("MeterId,UnitPrice,Currency\n{BASE_VM},0.01,EUR\n").as_bytes());
    let bill = bill(&table, &prices, &BillOptions::default());
    assert_eq!(bill.currency, "EUR");
    assert!((bill.total - 0.1).abs() < 1e-12, "only the EUR rate is used");
    assert_eq!(bill.unpriced_meters, vec!["190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA App Service".to_string()]);
}

#[test]
fn generated_month_matches_an_independent_computation() {
    use crate::generate::{generate, GenerateFormat, GenerateOptions};
    let mut bytes = Vec::new();
    generate(
        &GenerateOptions { rows: 1500, seed: 2026, format: GenerateFormat::UsageSummaryCsv, ..Default::default() },
        &mut bytes,
    )
    .unwrap();
    // Independent: walk the CSV text, sum quantity × list rate for the priced meters, skip system.* rows.
    let rates = [
        (BASE_VM, 0.008, 1.0),
        (WINDOWS_VM, 0.046, 1.0),
        ("190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA", 0.0564, 1.0),
        ("09F8879E-87E9-4305-A572-4B7BE209F857", 0.0000083333, 1.0),
        ("B4438D5D-453B-4EE1-B42A-DC72E377F1E4", 0.018, 1.0 / 720.0),
        ("5B1DB88A-8596-4002-8052-347947C26940", 10.24, 1.0),
        ("06BDE724-9F94-43C0-84C3-D0FC54538369", 10.24, 1.0),
    ];
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut expected = 0.0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.trim_matches('"').split("\",\"").collect();
        if f[6].starts_with("system.") {
            continue;
        }
        if let Some((_, rate, factor)) = rates.iter().find(|(m, _, _)| *m == f[10]) {
            expected += f[3].parse::<f64>().unwrap() * factor * rate;
        }
    }
    let mut ingester = Ingester::new(UsageTable::default(), "sample.csv");
    ingester.feed(&bytes);
    let (table, _) = ingester.finish();
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    assert!(expected > 10.0);
    assert!((bill.total - expected).abs() < 1e-6, "{} vs {expected}", bill.total);
    let sum: f64 = bill.subscriptions.iter().flat_map(|s| &s.lines).map(|l| l.cost).sum();
    assert!((sum - bill.total).abs() < 1e-9);
}

#[test]
fn azure_billing_rows_are_not_priced_again() {
    let csv = include_bytes!("../../../../tests/fixtures/cost-management-ea-2024-08-01.csv");
    let mut ingester = Ingester::new(UsageTable::default(), "cm.csv");
    ingester.feed(csv);
    let (table, _) = ingester.finish();
    let bill = bill(&table, &PriceBook::default(), &BillOptions::default());
    assert_eq!((bill.azure_rows_skipped, bill.rows, bill.total), (2, 0, 0.0));
    assert!(bill.assumptions.iter().any(|a| a.contains("Azure-side rows carry Azure's own prices")));
}

#[test]
fn the_same_month_under_each_licensing_model() {
    use crate::generate::{generate, GenerateFormat, GenerateOptions};
    use crate::licensing::Licensing;
    let mut bytes = Vec::new();
    let options =
        GenerateOptions { rows: 1500, seed: 2026, format: GenerateFormat::UsageSummaryCsv, ..Default::default() };
    generate(&options, &mut bytes).unwrap();
    let mut ingester = Ingester::new(UsageTable::default(), "month.csv");
    ingester.feed(&bytes);
    let (table, _) = ingester.finish();
    let under = |licensing: Licensing| {
        let mut prices = PriceBook::default();
        prices.licensing = licensing;
        bill(&table, &prices, &BillOptions::default())
    };
    let lines = |b: &Bill| -> Vec<BillLine> { b.subscriptions.iter().flat_map(|s| s.lines.clone()).collect() };
    let included = under(Licensing::PaygIncluded);
    let windows: f64 = lines(&included).iter().filter(|l| l.meter_id == WINDOWS_VM).map(|l| l.cost).sum();
    assert!(windows > 1.0 && included.total > windows);
    assert_eq!(included.licensing, Licensing::PaygIncluded);
    assert!(included.assumptions[0].contains("licences included"));

    let byol = under(Licensing::PaygByol);
    assert!((byol.total - (included.total - windows)).abs() < 1e-6, "{} vs {}", byol.total, included.total - windows);
    for (with, without) in lines(&included).iter().zip(lines(&byol)) {
        assert_eq!((&with.meter_id, with.quantity), (&without.meter_id, without.quantity));
        if with.meter_id == WINDOWS_VM {
            assert_eq!((without.cost, without.rate), (0.0, Some(0.0)));
            assert!(without.rate_source.contains("BYOL"), "{}", without.rate_source);
        } else {
            assert_eq!(with.cost, without.cost);
        }
    }
    assert!(byol.assumptions[0].contains("BYOL"));

    for (model, words) in [(Licensing::Capacity, "capacity model"), (Licensing::Asdk, "development kit")] {
        let zero = under(model);
        assert_eq!(zero.total, 0.0);
        assert_eq!(zero.rows, included.rows, "usage is still analysed");
        assert!(zero.unpriced_meters.is_empty());
        for (a, b) in lines(&included).iter().zip(lines(&zero)) {
            assert_eq!((&a.meter_id, a.quantity, a.billed_quantity), (&b.meter_id, b.quantity, b.billed_quantity));
            assert_eq!((b.cost, b.rate), (0.0, Some(0.0)));
            assert!(b.rate_source.contains(words), "{}", b.rate_source);
        }
        assert!(zero.assumptions[0].to_lowercase().contains(words));
    }
}

#[test]
fn a_bill_per_stamp_counts_only_that_location() {
    let mut table = local_table(&[(BASE_VM, "/vm/a", "rg", 10.0)]);
    let source = table.add_source("b.csv", Format::UsageSummaryCsv);
    table.push(source, 2, &UsageRecord { location: "redmond", ..local_record(BASE_VM, "/vm/b", "", 5.0) });
    let bill_of = |location: Option<&str>| {
        let options = BillOptions { location: location.map(str::to_string), ..Default::default() };
        bill(&table, &PriceBook::default(), &options)
    };
    assert_eq!(line(&bill_of(None), BASE_VM).quantity, 15.0);
    assert_eq!(line(&bill_of(Some("redmond")), BASE_VM).quantity, 5.0);
    assert_eq!(line(&bill_of(Some("Redmond")), BASE_VM).quantity, 5.0, "stamp names ignore case");
    assert_eq!(bill_of(Some("nowhere")).rows, 0);
}

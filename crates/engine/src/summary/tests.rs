//! Summary tests: group-bys by entity and time, units kept apart, admin exclusion.

use super::*;
use crate::ingest::Format;
use crate::table::UsageRecord;
use crate::time::parse_timestamp;

fn table() -> UsageTable {
    let mut table = UsageTable::default();
    let src = table.add_source("t.csv", Format::UsageSummaryCsv);
    let rows = [
        ("2026-10-01T00:00:00Z", "sub-a", "rg-1", "Virtual core hours", 10.0),
        ("2026-10-01T00:00:00Z", "sub-a", "rg-1", "GB*hours", 100.0),
        ("2026-10-03T05:00:00Z", "sub-a", "rg-2", "Virtual core hours", 5.0),
        ("2026-11-01T00:00:00Z", "sub-b", "rg-1", "Virtual core hours", 1.0),
        ("2026-10-02T00:00:00Z", "sub-p", "system.local", "GB*hours", 999.0),
    ];
    for (i, (start, sub, rg, unit, quantity)) in rows.into_iter().enumerate() {
        let start = parse_timestamp(start).unwrap();
        let (tags, _) = table.intern_key_values(None, if sub == "sub-a" { "@{env=prod}" } else { "" });
        let record = UsageRecord {
            tags,
            azure_stack: true,
            usage_start: start,
            usage_end: start + DAY,
            subscription: sub,
            resource_group: rg,
            unit,
            quantity,
            ..Default::default()
        };
        table.push(src, i as u64 + 2, &record);
    }
    table
}

fn keys(summary: &Summary) -> Vec<String> {
    summary
        .groups
        .iter()
        .map(|g| {
            let key: Vec<String> = g.key.iter().map(|(_, v)| v.clone()).collect();
            format!("{} rows={} {:?}", key.join("|"), g.totals.rows, g.totals.quantity)
        })
        .collect()
}

#[test]
fn group_by_month_and_subscription() {
    let options = SummaryOptions {
        by: vec![Dimension::Month, Dimension::Subscription],
        include_admin: false,
        ..Default::default()
    };
    let summary = Summary::of(&table(), &options);
    assert_eq!(
        keys(&summary),
        vec![
            "2026-10|sub-a rows=3 {\"GB*hours\": 100.0, \"Virtual core hours\": 15.0}",
            "2026-11|sub-b rows=1 {\"Virtual core hours\": 1.0}",
        ]
    );
    assert_eq!((summary.admin_rows_excluded, summary.admin_quantity["GB*hours"]), (1, 999.0));
}

#[test]
fn daily_series_fills_missing_days_and_keeps_units_apart() {
    let options =
        SummaryOptions { by: vec![Dimension::Day, Dimension::Unit], include_admin: true, ..Default::default() };
    let summary = Summary::of(&table(), &options);
    let vcpu = daily_quantity(&summary, "Virtual core hours");
    let day = |s| parse_timestamp(s).unwrap() / DAY;
    assert_eq!(vcpu.first(), Some(&(day("2026-10-01"), 10.0)));
    assert_eq!(vcpu[1], (day("2026-10-02"), 0.0));
    assert_eq!(vcpu[2], (day("2026-10-03"), 5.0));
    assert_eq!(vcpu.last(), Some(&(day("2026-11-01"), 1.0)));
    assert_eq!(vcpu.len(), 32);
    let storage = daily_quantity(&summary, "GB*hours");
    assert_eq!(storage, vec![(day("2026-10-01"), 100.0), (day("2026-10-02"), 999.0)]);
}

#[test]
fn group_by_tag() {
    let options = SummaryOptions { by: vec![Dimension::Tag("ENV".into())], include_admin: false, ..Default::default() };
    let summary = Summary::of(&table(), &options);
    assert_eq!(
        keys(&summary),
        vec![
            " rows=1 {\"Virtual core hours\": 1.0}",
            "prod rows=3 {\"GB*hours\": 100.0, \"Virtual core hours\": 15.0}",
        ]
    );
}

#[test]
fn a_far_off_date_does_not_fill_millions_of_days() {
    let mut t = table();
    let start = parse_timestamp("9999-01-01").unwrap();
    let far = UsageRecord {
        usage_start: start,
        usage_end: start + DAY,
        unit: "GB*hours",
        quantity: 1.0,
        ..Default::default()
    };
    t.push(0, 99, &far);
    let options =
        SummaryOptions { by: vec![Dimension::Day, Dimension::Unit], include_admin: true, ..Default::default() };
    let days = daily_quantity(&Summary::of(&t, &options), "GB*hours");
    assert_eq!(days.len(), 3);
}

#[test]
fn dimension_names_round_trip() {
    for (name, dimension) in Dimension::NAMES.iter().zip(Dimension::ALL) {
        assert_eq!(name.parse::<Dimension>().as_ref(), Ok(dimension));
        assert_eq!(dimension.name(), *name);
    }
    assert_eq!("tag:env".parse::<Dimension>(), Ok(Dimension::Tag("env".into())));
    assert_eq!(Dimension::Tag("env".into()).name(), "tag:env");
    assert!("tag:".parse::<Dimension>().is_err());
    let error = "category".parse::<Dimension>().unwrap_err();
    assert!(error.contains("resource_group"), "{error}");
}

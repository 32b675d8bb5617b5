//! Query engine tests: every random query on random tables against a naive reference, plus top-N, paging,
//! matrices that add up, and slicers under cross-filters.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration};

use super::*;
use crate::ingest::Format;
use crate::table::UsageRecord;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const METERS: &[&str] = &[
    "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
    "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A",
    "09F8879E-87E9-4305-A572-4B7BE209F857",
    "8767AEB3-6909-4DB2-9927-3F51E9A9085E",
    "11111111-2222-3333-4444-555555555555",
];

fn random_table(rng: &mut Rng, rows: usize) -> UsageTable {
    let mut table = UsageTable::default();
    let sources =
        [table.add_source("a.csv", Format::UsageSummaryCsv), table.add_source("b.csv", Format::CostManagementCsv)];
    let start = 1_790_812_800;
    for i in 0..rows {
        let (tags, _) =
            table.intern_key_values(None, rng.pick(&["", "@{env=prod}", "@{Env=dev; cc=1}", "{\"env\":\"prod\"}"]));
        let meter = rng.pick(METERS);
        let record = UsageRecord {
            usage_start: start + rng.below(60) as i64 * 86_400 + rng.below(24) as i64 * 3600 - 7200,
            usage_end: start,
            quantity: rng.below(1000) as f64 / 8.0 - 10.0,
            cost: (rng.below(3) > 0).then(|| rng.below(500) as f64 / 4.0),
            effective_cost: (rng.below(2) > 0).then(|| rng.below(500) as f64 / 16.0),
            azure_stack: rng.below(4) > 0,
            local: rng.below(2) > 0,
            tags,
            subscription: rng.pick(&["sub-a", "sub-b", "sub-c", ""]),
            resource_group: rng.pick(&["rg-1", "rg-2", "system.local", "RG-1"]),
            resource_uri: rng.pick(&["/r/1", "/r/2", "/r/3", "/r/4", "/r/5"]),
            meter_id: meter,
            commerce_meter_id: meter,
            meter_name: rng.pick(&["Base VM", "Windows VM", "Storage Admin", "Blob"]),
            meter_category: rng.pick(&["Compute", "Storage", ""]),
            unit: rng.pick(&["Virtual core hours", "GB*hours", "1 Hour", ""]),
            currency: rng.pick(&["USD", "EUR", ""]),
            location: rng.pick(&["local", "azurestack"]),
            ..Default::default()
        };
        table.push(sources[rng.below(2)], i as u64 + 2, &record);
    }
    table
}

/// The label of `dimension` for `row`, computed the slow, obvious way.
fn naive_label(t: &UsageTable, row: usize, dimension: &Dimension, offset_minutes: i32) -> String {
    let at = DateTime::from_timestamp(t.usage_start[row], 0).unwrap() + Duration::minutes(offset_minutes as i64);
    let or = |s: &str, empty: &str| if s.is_empty() { empty.to_string() } else { s.to_string() };
    match dimension {
        Dimension::Subscription => t.str(t.subscription[row]).into(),
        Dimension::ResourceGroup => t.str(t.resource_group(row)).into(),
        Dimension::Resource => t.str(t.resource_uri[row]).into(),
        Dimension::MeterId => t.str(t.meter_id[row]).into(),
        Dimension::MeterName => t.str(t.meter_name(row)).into(),
        Dimension::MeterCategory => t.str(t.meter_category(row)).into(),
        Dimension::MeterSubcategory => t.str(t.meter_subcategory(row)).into(),
        Dimension::Location => t.str(t.location[row]).into(),
        Dimension::Customer => t.str(t.customer[row]).into(),
        Dimension::Unit => or(t.str(t.unit(row)), UNKNOWN_UNIT),
        Dimension::Currency => or(t.str(t.currency[row]), UNKNOWN_CURRENCY),
        Dimension::CommerceMeterId => t.str(t.commerce_meter_id(row)).into(),
        Dimension::SourceFormat => t.sources()[t.source[row] as usize].format.as_str().into(),
        Dimension::SourceFile => t.sources()[t.source[row] as usize].file.clone(),
        Dimension::Hour => at.format("%Y-%m-%dT%H:00Z").to_string(),
        Dimension::Day => at.format("%Y-%m-%d").to_string(),
        Dimension::Month => at.format("%Y-%m").to_string(),
        Dimension::Week => {
            let day = at.date_naive();
            (day - Duration::days(day.weekday().num_days_from_monday() as i64)).format("%Y-%m-%d").to_string()
        }
        Dimension::BillingUnit => {
            let billed = Catalog::builtin().local_meter(t.str(t.meter_id[row])).and_then(|m| m.billed_as());
            match billed {
                Some(c) if t.local[row] => c.unit.clone(),
                _ => or(t.str(t.unit(row)), UNKNOWN_UNIT),
            }
        }
        Dimension::Tag(key) => t
            .key_values(t.tags[row])
            .iter()
            .find(|(k, _)| t.str(*k).eq_ignore_ascii_case(key))
            .map_or(String::new(), |(_, v)| t.str(*v).to_string()),
    }
}

fn naive(t: &UsageTable, q: &Query) -> BTreeMap<Vec<String>, Totals> {
    let admin = AdminClassifier::new(t);
    let mut out: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
    for row in 0..t.len() {
        let is_admin = admin.classify(row).is_some();
        if if q.only_admin { !is_admin } else { !q.include_admin && is_admin } {
            continue;
        }
        let pass = q.filters.iter().all(|f| match f {
            Filter::In(d, values) => values.contains(&naive_label(t, row, d, q.utc_offset_minutes)),
            Filter::NotIn(d, values) => !values.contains(&naive_label(t, row, d, q.utc_offset_minutes)),
            Filter::TimeRange { from, to } => *from <= t.usage_start[row] && t.usage_start[row] < *to,
            Filter::Text(text) => [
                Dimension::Subscription,
                Dimension::ResourceGroup,
                Dimension::Resource,
                Dimension::MeterId,
                Dimension::MeterName,
            ]
            .iter()
            .any(|d| naive_label(t, row, d, 0).to_lowercase().contains(&text.to_lowercase())),
        });
        if !pass {
            continue;
        }
        let key = q.group_by.iter().map(|d| naive_label(t, row, d, q.utc_offset_minutes)).collect();
        let totals = out.entry(key).or_default();
        totals.rows += 1;
        *totals.quantity.entry(naive_label(t, row, &Dimension::Unit, 0)).or_default() += t.quantity.get(row);
        let currency = naive_label(t, row, &Dimension::Currency, 0);
        if !t.cost.get(row).is_nan() {
            *totals.cost.entry(currency.clone()).or_default() += t.cost.get(row);
        }
        if !t.effective_cost(row).is_nan() {
            *totals.effective_cost.entry(currency).or_default() += t.effective_cost(row);
        }
    }
    out
}

fn close(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| (v - w).abs() <= 1e-9 * v.abs().max(1.0)))
}

fn random_query(rng: &mut Rng, t: &UsageTable) -> Query {
    let dims = [
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::MeterId,
        Dimension::MeterName,
        Dimension::Unit,
        Dimension::Currency,
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::Hour,
        Dimension::BillingUnit,
        Dimension::SourceFile,
        Dimension::Tag("ENV".into()),
    ];
    let mut filters = Vec::new();
    for _ in 0..rng.below(3) {
        let d = dims[rng.below(dims.len())].clone();
        let mut values = Vec::new();
        for _ in 0..1 + rng.below(2) {
            values.push(if t.is_empty() || rng.below(5) == 0 {
                "nothing".to_string()
            } else {
                naive_label(t, rng.below(t.len()), &d, 0)
            });
        }
        filters.push(if rng.below(3) == 0 { Filter::NotIn(d, values) } else { Filter::In(d, values) });
    }
    if rng.below(4) == 0 {
        let from = 1_790_812_800 + rng.below(30) as i64 * 86_400;
        filters.push(Filter::TimeRange { from, to: from + rng.below(20) as i64 * 86_400 });
    }
    if rng.below(5) == 0 {
        filters.push(Filter::Text(rng.pick(&["sub-a", "RG", "windows", "/r/"]).to_string()));
    }
    let group_by = (0..rng.below(4)).map(|_| dims[rng.below(dims.len())].clone()).collect();
    let only_admin = rng.below(6) == 0;
    Query {
        filters,
        group_by,
        include_admin: rng.below(2) == 0 || only_admin,
        only_admin,
        utc_offset_minutes: [0, 60, -300, 330][rng.below(4)],
        distinct_resources: rng.below(2) == 0,
        ..Default::default()
    }
}

#[test]
fn random_queries_agree_with_the_naive_reference() {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    for round in 0..60 {
        let rows = rng.below(400);
        let mut table = random_table(&mut rng, rows);
        assert!(rows < 2 || table.meter_id.distinct().is_some() && table.usage_start.distinct().is_some());
        if round % 2 == 1 {
            // Plain vectors (columns of many distinct values) answer the same as narrow columns.
            table = table.widened();
            assert!(table.meter_id.distinct().is_none() && table.usage_start.distinct().is_none());
        }
        let engine = QueryEngine::new(&table);
        for _ in 0..25 {
            let query = random_query(&mut rng, &table);
            let got = engine.run(&query);
            let want = naive(&table, &query);
            let got_groups: BTreeMap<Vec<String>, &Totals> =
                got.groups.iter().map(|g| (g.key.iter().map(|k| k.1.clone()).collect(), &g.totals)).collect();
            assert_eq!(got_groups.len(), want.len(), "round {round}: {query:?}");
            for (key, w) in &want {
                let g = got_groups.get(key).unwrap_or_else(|| panic!("round {round}: missing {key:?} for {query:?}"));
                assert_eq!(g.rows, w.rows, "{key:?} {query:?}");
                assert!(close(&g.quantity, &w.quantity), "{key:?}: {:?} vs {:?} for {query:?}", g.quantity, w.quantity);
                assert!(close(&g.cost, &w.cost) && close(&g.effective_cost, &w.effective_cost), "{key:?} {query:?}");
            }
            assert_eq!(got.total.rows, want.values().map(|w| w.rows).sum::<u64>());
            if query.distinct_resources {
                let mut distinct: BTreeMap<Vec<String>, std::collections::BTreeSet<String>> = BTreeMap::new();
                for &row in engine.rows(&query).iter() {
                    let key = query
                        .group_by
                        .iter()
                        .map(|d| naive_label(&table, row as usize, d, query.utc_offset_minutes))
                        .collect();
                    distinct.entry(key).or_default().insert(naive_label(&table, row as usize, &Dimension::Resource, 0));
                }
                for (key, resources) in &distinct {
                    assert_eq!(got_groups[key].resources, resources.len() as u64, "{key:?} {query:?}");
                }
                let all: std::collections::BTreeSet<&String> = distinct.values().flatten().collect();
                assert_eq!(got.total.resources, all.len() as u64, "{query:?}");
            }
        }
    }
}

#[test]
fn top_n_puts_the_rest_in_others_and_paging_pages() {
    let mut rng = Rng(42);
    let table = random_table(&mut rng, 500);
    let engine = QueryEngine::new(&table);
    let all = engine.run(&Query {
        group_by: vec![Dimension::Day],
        include_admin: true,
        sort: SortBy::Rows,
        ..Default::default()
    });
    let top = engine.run(&Query {
        group_by: vec![Dimension::Day],
        include_admin: true,
        sort: SortBy::Rows,
        top: Some(5),
        distinct_resources: true,
        ..Default::default()
    });
    assert_eq!(top.groups.len(), 6);
    assert_eq!(
        top.groups[..5].iter().map(|g| &g.key).collect::<Vec<_>>(),
        all.groups[..5].iter().map(|g| &g.key).collect::<Vec<_>>()
    );
    assert!(all.groups.windows(2).all(|w| w[0].totals.rows >= w[1].totals.rows));
    assert_eq!(top.groups[5].key[0].1, OTHERS);
    assert_eq!(top.groups.iter().map(|g| g.totals.rows).sum::<u64>(), all.total.rows);
    assert!(top.groups[5].totals.resources >= 1 && top.groups[5].totals.resources <= 5);
    assert_eq!(top.total.resources, 5);
    let page = engine.run(&Query {
        group_by: vec![Dimension::Day],
        include_admin: true,
        page: Some((10, 7)),
        ..Default::default()
    });
    assert_eq!(page.groups.len(), 7);
    assert_eq!(page.group_count, all.group_count);
    let by_key = engine.run(&Query { group_by: vec![Dimension::Day], include_admin: true, ..Default::default() });
    assert_eq!(page.groups, by_key.groups[10..17].to_vec());
}

#[test]
fn a_matrix_adds_up_exactly() {
    let mut rng = Rng(7);
    let table = random_table(&mut rng, 800);
    let engine = QueryEngine::new(&table);
    let query = Query { include_admin: true, ..Default::default() };
    let m = engine.matrix(&query, &[Dimension::MeterCategory, Dimension::MeterName], &[Dimension::Month]);
    assert!(m.columns.len() >= 2);
    let mut checked = 0;
    for (i, row) in m.rows.iter().enumerate() {
        if !row.subtotal {
            continue;
        }
        let mut sum = vec![Totals::default(); m.columns.len()];
        for child in m.rows[i + 1..].iter().take_while(|r| r.level > row.level).filter(|r| r.level == row.level + 1) {
            for (s, c) in sum.iter_mut().zip(&child.cells) {
                s.add(c);
            }
        }
        assert_eq!(sum, row.cells, "subtotal {:?}", row.key);
        checked += 1;
    }
    assert!(checked >= 2);
    let mut top_level = Totals::default();
    for row in m.rows.iter().filter(|r| r.level == 0) {
        top_level.add(&row.total);
    }
    assert_eq!(top_level, m.grand_total);
    let direct = engine.run(&query).total;
    assert_eq!(m.grand_total.rows, direct.rows);
    assert!(close(&m.grand_total.quantity, &direct.quantity));
}

#[test]
fn slicers_count_under_the_other_filters_only() {
    let mut rng = Rng(99);
    let table = random_table(&mut rng, 600);
    let engine = QueryEngine::new(&table);
    let query = Query {
        filters: vec![
            Filter::In(Dimension::Subscription, vec!["sub-a".into()]),
            Filter::In(Dimension::Currency, vec!["USD".into()]),
        ],
        include_admin: true,
        ..Default::default()
    };
    let slicer = engine.slicer(&query, &Dimension::Subscription);
    assert!(slicer.len() >= 3, "the subscription slicer ignores its own selection: {slicer:?}");
    let usd = engine.run(&Query {
        filters: vec![query.filters[1].clone()],
        group_by: vec![Dimension::Subscription],
        include_admin: true,
        ..Default::default()
    });
    let expected: Vec<(String, u64)> = usd.groups.iter().map(|g| (g.key[0].1.clone(), g.totals.rows)).collect();
    assert_eq!(slicer, expected);
    let currency = engine.slicer(&query, &Dimension::Currency);
    let sub_a = naive(
        &table,
        &Query {
            filters: vec![query.filters[0].clone()],
            group_by: vec![Dimension::Currency],
            include_admin: true,
            ..Default::default()
        },
    );
    assert_eq!(currency.len(), sub_a.len());
}

#[test]
fn filters_parse_from_the_command_line() {
    assert_eq!(Filter::parse("subscription=sub-a"), Ok(Filter::In(Dimension::Subscription, vec!["sub-a".into()])));
    assert_eq!(Filter::parse("tag:env!=prod"), Ok(Filter::NotIn(Dimension::Tag("env".into()), vec!["prod".into()])));
    assert!(Filter::parse("colour=red").unwrap_err().contains("valid dimensions"));
    assert!(Filter::parse("subscription").is_err());
}

#[test]
fn a_selective_filter_scanned_first_agrees_with_a_scan_of_every_row() {
    let mut rng = Rng(2027);
    let table = random_table(&mut rng, 3000).widened();
    let engine = QueryEngine::new(&table);
    let hours: Vec<String> = (0..3).map(|i| naive_label(&table, i * 997, &Dimension::Hour, 0)).collect();
    let selective = Query {
        filters: vec![
            Filter::In(Dimension::Hour, hours.clone()),
            Filter::In(Dimension::Subscription, vec!["sub-a".into(), "sub-b".into()]),
        ],
        group_by: vec![Dimension::MeterName],
        ..Default::default()
    };
    let got = engine.run(&selective);
    let want = naive(&table, &selective);
    assert_eq!(got.groups.len(), want.len());
    for g in &got.groups {
        let w = &want[&vec![g.key[0].1.clone()]];
        assert_eq!(g.totals.rows, w.rows);
        assert!(close(&g.totals.quantity, &w.quantity) && close(&g.totals.cost, &w.cost));
    }
    // The rows come back in table order, whichever path selected them: the same sums bit for bit.
    let rows = engine.rows(&selective);
    assert!(rows.windows(2).all(|w| w[0] < w[1]) && !rows.is_empty());
    let scanned: Vec<u32> = (0..table.len() as u32)
        .filter(|&r| {
            let r = r as usize;
            hours.contains(&naive_label(&table, r, &Dimension::Hour, 0))
                && ["sub-a", "sub-b"].contains(&table.str(table.subscription[r]))
                && !engine.is_admin(r)
        })
        .collect();
    assert_eq!(rows, scanned);
}

#[test]
fn codes_take_as_few_bytes_a_row_as_their_number_needs() {
    use super::CodeVec;
    for (n_codes, width) in [(1, 0), (256, 1), (257, 2), (65_536, 2), (65_537, 4)] {
        let code = |row: usize| (row * 7919 % n_codes) as u32;
        let codes = CodeVec::collect(100_000, n_codes, code);
        let got = match &codes {
            CodeVec::Zero(_) => 0,
            CodeVec::U8(_) => 1,
            CodeVec::U16(_) => 2,
            CodeVec::U32(_) => 4,
            CodeVec::Through { .. } => panic!("collected codes are held, not read through a column"),
        };
        assert_eq!(got, width, "{n_codes} codes");
        let table = UsageTable::default();
        let codes = codes.reader(&table);
        assert!((0..100_000).all(|row| codes.get(row) == code(row)));
        let rows: Vec<u32> = (0..1024).map(|i| i * 97).collect();
        let mut out = [u32::MAX; 1024];
        codes.gather(&rows, &mut out);
        assert!(rows.iter().zip(out).all(|(&row, got)| got == code(row as usize)));
    }
}

#[test]
fn group_keys_past_the_u64_key_space_are_exact_and_in_label_order() {
    // Ten dimensions of ~140 values each: 140^10 keys, far past what a u64 mixed-radix key can hold.
    let mut rng = Rng(7);
    let mut table = UsageTable::default();
    let source = table.add_source("wide.csv", Format::CostManagementCsv);
    let values: Vec<Vec<String>> = (0..10).map(|d| (0..150).map(|v| format!("d{d}-{:03}", v)).collect()).collect();
    for i in 0..400 {
        let v: Vec<&str> = values.iter().map(|vals| vals[rng.below(150)].as_str()).collect();
        let record = UsageRecord {
            usage_start: 1_790_812_800,
            usage_end: 1_790_812_800 + 3600,
            quantity: 1.0 + rng.below(10) as f64,
            cost: Some(rng.below(100) as f64 / 4.0),
            subscription: v[0],
            resource_group: v[1],
            resource_uri: v[2],
            meter_id: v[3],
            meter_name: v[4],
            meter_category: v[5],
            meter_subcategory: v[6],
            location: v[7],
            customer: v[8],
            commerce_meter_id: v[9],
            unit: "1 Hour",
            currency: "USD",
            ..Default::default()
        };
        table.push(source, i + 2, &record);
    }
    let group_by = vec![
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::Resource,
        Dimension::MeterId,
        Dimension::MeterName,
        Dimension::MeterCategory,
        Dimension::MeterSubcategory,
        Dimension::Location,
        Dimension::Customer,
        Dimension::CommerceMeterId,
    ];
    let engine = QueryEngine::new(&table);
    let first_values: Vec<String> = (0..40).map(|row| naive_label(&table, row, &Dimension::MeterName, 0)).collect();
    for filters in [vec![], vec![Filter::In(Dimension::MeterName, first_values)]] {
        let query = Query {
            group_by: group_by.clone(),
            filters,
            include_admin: true,
            distinct_resources: true,
            ..Default::default()
        };
        let got = engine.run(&query);
        let want = naive(&table, &query);
        let got_keys: Vec<Vec<String>> =
            got.groups.iter().map(|g| g.key.iter().map(|k| k.1.clone()).collect()).collect();
        assert_eq!(got_keys, want.keys().cloned().collect::<Vec<_>>(), "every group, in label order");
        for (group, w) in got.groups.iter().zip(want.values()) {
            assert_eq!(group.totals.rows, w.rows);
            assert!(close(&group.totals.cost, &w.cost) && close(&group.totals.quantity, &w.quantity));
            assert_eq!(group.totals.resources, 1);
        }
    }
}

#[test]
fn string_and_time_codes_read_through_the_columns_and_agree_with_the_labels() {
    // 70,000 resources (a plain column of dictionary ids), 300 meters and 24 hours (narrow columns).
    let mut table = UsageTable::default();
    let source = table.add_source("many.csv", Format::CostManagementCsv);
    let (resources, meters): (Vec<String>, Vec<String>) = (
        (0..70_000).map(|i| format!("/subscriptions/s/vm-{i:05}")).collect(),
        (0..300).map(|i| format!("m{i}")).collect(),
    );
    for i in 0..90_000usize {
        let record = UsageRecord {
            usage_start: 1_790_812_800 + (i % 24) as i64 * 3600,
            usage_end: 1_790_812_800 + (i % 24) as i64 * 3600 + 3600,
            quantity: 1.0,
            cost: Some(0.5),
            resource_uri: &resources[(i * 7) % 70_000],
            meter_name: &meters[i % 300],
            unit: "1 Hour",
            currency: "USD",
            ..Default::default()
        };
        table.push(source, i as u64 + 2, &record);
    }
    let engine = QueryEngine::new(&table);
    for dimension in [Dimension::Resource, Dimension::MeterName, Dimension::Hour] {
        let codes = engine.codes(&dimension, 0);
        assert!(matches!(codes.per_row, CodeVec::Through { .. }), "{dimension:?}: no code per row is held");
        let reader = codes.per_row.reader(&table);
        for row in (0..table.len()).step_by(97) {
            assert_eq!(
                codes.labels[reader.get(row) as usize],
                naive_label(&table, row, &dimension, 0),
                "{dimension:?}"
            );
        }
        assert!(codes.labels.windows(2).all(|w| w[0] < w[1]), "{dimension:?}: codes in label order");
        assert_eq!(codes.counts.iter().map(|&c| c as usize).sum::<usize>(), table.len());
    }
}

#[test]
fn an_effective_cost_equal_to_the_billed_cost_sums_to_the_same_total() {
    // Two files: the first's effective costs are its billed costs (stored as a marker), the second's differ.
    let mut table = UsageTable::default();
    let (first, second) =
        (table.add_source("a.csv", Format::CostManagementCsv), table.add_source("b.csv", Format::CostManagementCsv));
    for row in 0..3000u64 {
        let cost = [0.1, 0.2, 0.35][row as usize % 3];
        let record = UsageRecord {
            cost: Some(cost),
            effective_cost: Some(cost),
            subscription: "a",
            currency: "USD",
            ..Default::default()
        };
        table.push(first, row + 2, &record);
    }
    let record = UsageRecord {
        cost: Some(1.0),
        effective_cost: Some(0.5),
        subscription: "b",
        currency: "USD",
        ..Default::default()
    };
    table.push(second, 2, &record);
    let engine = QueryEngine::new(&table);
    let result =
        engine.run(&Query { group_by: vec![Dimension::Subscription], include_admin: true, ..Default::default() });
    let a = &result.groups[0].totals;
    assert_eq!(a.cost["USD"].to_bits(), a.effective_cost["USD"].to_bits(), "{a:?}");
    assert!((a.cost["USD"] - 650.0).abs() < 1e-9, "{a:?}");
    assert_eq!(result.groups[1].totals.effective_cost["USD"], 0.5);
}

//! A generated scenario with every documented cause of difference, classified cell by cell.

use super::*;
use crate::ingest::Format;
use crate::table::UsageRecord;

const BASE: &str = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
const WINDOWS: &str = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";
const WINDOWS_COMMERCE: &str = "FB8C0713-EA20-40BF-901F-5560FD3F6330";
const BLOB: &str = "09F8879E-87E9-4305-A572-4B7BE209F857";
const STORAGE_ADMIN: &str = "8767AEB3-6909-4DB2-9927-3F51E9A9085E";
const STATIC_IP: &str = "F271A8A3-88C4-4D93-956A-063E1D2FA80B";
const TENANT: &str = "8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11";
const PROVIDER: &str = "0f3e2d1c-4b5a-4978-8a6b-5c4d3e2f1a00";
const OCT1: i64 = 1_790_812_800;

/// Builds the scenario: the stamp's daily usage, and Azure's view of it with the documented differences.
struct Scenario {
    table: UsageTable,
    local_source: u16,
    azure_source: u16,
}

impl Scenario {
    fn new() -> Self {
        let mut table = UsageTable::default();
        let local_source = table.add_source("local.csv", Format::UsageSummaryCsv);
        let azure_source = table.add_source("azure.csv", Format::CostManagementCsv);
        Scenario { table, local_source, azure_source }
    }

    fn local(&mut self, meter: &str, subscription: &str, group: &str, day: i64, quantity: f64) {
        let start = OCT1 + day * DAY;
        let record = UsageRecord {
            usage_start: start,
            usage_end: start + DAY,
            azure_stack: true,
            local: true,
            subscription,
            local_subscription: subscription,
            resource_group: group,
            resource_uri: "/vm",
            meter_id: meter,
            local_meter_id: meter,
            quantity,
            ..Default::default()
        };
        self.table.push(self.local_source, day as u64, &record);
    }

    /// An Azure row of `meter` = (commerce ID, local meter ID, commerce name).
    fn azure(&mut self, meter: (&str, &str, &str), subscription: &str, group: &str, day: i64, quantity: f64) {
        let (commerce, local_meter, name) = meter;
        let start = OCT1 + day * DAY;
        let record = UsageRecord {
            usage_start: start,
            usage_end: start + DAY,
            azure_stack: true,
            subscription: "billing-sub",
            local_subscription: subscription,
            resource_group: group,
            resource_uri: "/vm",
            meter_id: commerce,
            local_meter_id: local_meter,
            meter_name: name,
            meter_region: "Azure Stack",
            quantity,
            cost: Some(quantity * 0.01),
            unit_price: Some(0.01),
            ..Default::default()
        };
        self.table.push(self.azure_source, day as u64, &record);
    }
}

fn status_of(r: &Reconciliation, meter: &str, subscription: &str, day: i64) -> Status {
    let label = time::day_label(OCT1 / DAY + day);
    r.cells
        .iter()
        .find(|c| c.local_meter_id == meter && c.subscription == subscription && c.day == label)
        .unwrap_or_else(|| panic!("no cell {meter} {subscription} {label}"))
        .status
}

#[test]
fn every_cause_is_classified_cell_by_cell() {
    let mut s = Scenario::new();
    for day in 0..5 {
        s.local(BASE, TENANT, "rg-web", day, 24.0);
    }
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 0, 24.0); // match
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 1, 21.0); // 3 hours before midnight…
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 2, 27.0); // …billed the next day
                                                                // day 3: missing on Azure
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 4, 24.0);
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 4, 24.0); // the same row twice
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", 40, 24.0); // outside what the stamp data covers
    s.local(WINDOWS, TENANT, "rg-web", 0, 24.0);
    s.local(WINDOWS, TENANT, "rg-web", 1, 24.0);
    s.azure((WINDOWS_COMMERCE, WINDOWS, "1 Core"), TENANT, "rg-web", 0, 20.0); // drift
    s.azure((WINDOWS_COMMERCE, WINDOWS, "1 Core"), TENANT, "rg-web", 1, 24.0);
    s.local(BLOB, PROVIDER, "system.local", 0, 480.0);
    s.azure((STORAGE_ADMIN, BLOB, "Storage Admin"), PROVIDER, "system.local", 0, 480.0); // admin on both sides
    s.local(STATIC_IP, TENANT, "rg-web", 0, 24.0); // never billed by Azure
    s.azure(("12345678-1234-1234-1234-123456789ABC", "", "Mystery"), "", "rg-x", 0, 5.0); // no local meter known

    let table = &s.table;
    let r = reconcile(
        table,
        &|row| Some(if table.local[row] { Side::AzureStack } else { Side::Azure }),
        &PriceBook::default(),
        &ReconcileOptions::default(),
    );
    assert_eq!(status_of(&r, BASE, TENANT, 0), Status::Match);
    assert_eq!(status_of(&r, BASE, TENANT, 1), Status::MidnightShift);
    assert_eq!(status_of(&r, BASE, TENANT, 2), Status::MidnightShift);
    assert_eq!(status_of(&r, BASE, TENANT, 3), Status::Unexplained);
    assert_eq!(status_of(&r, BASE, TENANT, 4), Status::Duplicate);
    assert_eq!(status_of(&r, BASE, TENANT, 40), Status::OutOfPeriod);
    assert_eq!(status_of(&r, WINDOWS, TENANT, 0), Status::Unexplained);
    assert_eq!(status_of(&r, WINDOWS, TENANT, 1), Status::Match);
    assert_eq!(status_of(&r, BLOB, PROVIDER, 0), Status::Admin);
    assert_eq!(status_of(&r, STATIC_IP, TENANT, 0), Status::LocalOnly);
    assert_eq!(status_of(&r, "12345678-1234-1234-1234-123456789ABC", "", 0), Status::Unmapped);
    assert_eq!(r.cells.len(), 11);
    let count = |s| r.by_status.get(&s).copied().unwrap_or(0);
    assert_eq!((count(Status::Match), count(Status::MidnightShift), count(Status::Unexplained)), (2, 2, 2));
    // Unexplained: the missing day (−24 h at 0.008) and the drift (−4 h at 0.046), at list prices.
    let cost = r.unexplained_cost["USD"];
    assert!((cost - (-24.0 * 0.008 - 4.0 * 0.046)).abs() < 1e-12, "{cost}");
    assert_eq!(r.delta_by_status[&Status::MidnightShift]["Virtual core hours"], 0.0);
    assert_eq!(r.local_quantity["Virtual core hours"], 5.0 * 24.0 + 48.0);
}

#[test]
fn a_shift_larger_than_the_window_is_not_explained_by_it() {
    let mut s = Scenario::new();
    for day in 0..2 {
        s.local(BASE, TENANT, "rg", day, 24.0);
    }
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg", 0, 14.0); // 10 of 24 hours moved: more than a 4-hour window
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg", 1, 34.0);
    let table = &s.table;
    let side = |row: usize| Some(if table.local[row] { Side::AzureStack } else { Side::Azure });
    let r = reconcile(table, &side, &PriceBook::default(), &ReconcileOptions::default());
    assert_eq!(status_of(&r, BASE, TENANT, 0), Status::Unexplained);
    let wide = ReconcileOptions { shift_hours: 12.0, ..Default::default() };
    let r = reconcile(table, &side, &PriceBook::default(), &wide);
    assert_eq!(
        (status_of(&r, BASE, TENANT, 0), status_of(&r, BASE, TENANT, 1)),
        (Status::MidnightShift, Status::MidnightShift)
    );
}

#[test]
fn a_shift_the_next_day_does_not_cancel_is_unexplained_and_partial_admin_cells_show_the_rest() {
    let mut s = Scenario::new();
    for day in 0..2 {
        s.local(BASE, TENANT, "rg", day, 24.0);
    }
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg", 0, 21.0);
    s.azure((BASE, BASE, "1 Core"), TENANT, "rg", 1, 24.5); // takes 0.5 of the 3, not all of it
                                                            // A tenant meter and an infrastructure one in the same cell: the admin part must not hide the drift.
    s.local(BLOB, PROVIDER, "system.local", 0, 480.0);
    s.local(BLOB, PROVIDER, "rg-tenant-in-provider-sub", 0, 10.0);
    s.azure((STORAGE_ADMIN, BLOB, "Storage Admin"), PROVIDER, "system.local", 0, 480.0);
    s.azure(("8A913F38-33B4-4772-9488-E89522FC09E5", BLOB, "Capacity"), PROVIDER, "rg-tenant-in-provider-sub", 0, 7.0);
    let table = &s.table;
    let side = |row: usize| Some(if table.local[row] { Side::AzureStack } else { Side::Azure });
    let r = reconcile(table, &side, &PriceBook::default(), &ReconcileOptions::default());
    assert_eq!(status_of(&r, BASE, TENANT, 0), Status::Unexplained);
    assert_eq!(status_of(&r, BASE, TENANT, 1), Status::Unexplained);
    assert_eq!(status_of(&r, BLOB, PROVIDER, 0), Status::Unexplained);
}

fn read(tables: &[(&str, &[u8])]) -> UsageTable {
    let mut table = UsageTable::default();
    for (name, bytes) in tables {
        let mut ingester = crate::ingest::Ingester::new(table, name);
        ingester.feed(bytes);
        table = ingester.finish().0;
    }
    table
}

const LOCAL_FIXTURE: &[u8] = include_bytes!("../../../../tests/fixtures/reconcile-local.csv");

/// Reconciles the local fixture (source 0) against `azure` (source 1).
fn against(azure: &[u8], options: &ReconcileOptions) -> Reconciliation {
    let table = read(&[("local.csv", LOCAL_FIXTURE), ("azure.csv", azure)]);
    let side = |row: usize| Some(if table.source[row] == 0 { Side::AzureStack } else { Side::Azure });
    reconcile(&table, &side, &PriceBook::default(), options)
}

#[test]
fn the_partner_center_daily_file_reconciles_as_the_cost_management_export_it_mirrors() {
    let options = ReconcileOptions::default();
    let cm = against(include_bytes!("../../../../tests/fixtures/reconcile-azure.csv"), &options);
    let pc = against(include_bytes!("../../../../tests/fixtures/partner-center-daily.csv"), &options);
    let view = |r: &Reconciliation| -> Vec<(String, String, String, f64, f64, Status)> {
        r.cells
            .iter()
            .map(|c| {
                (c.stamp.clone(), c.subscription.clone(), c.day.clone(), c.local_quantity, c.azure_quantity, c.status)
            })
            .collect()
    };
    assert_eq!(view(&pc), view(&cm));
    assert!(cm.by_status.len() >= 6, "the fixture pair shows most statuses: {:?}", cm.by_status);
    // The one row without a tenant is the unmapped meter's (no azureStack.* markers at all).
    assert_eq!((pc.grain, pc.per_subscription, pc.unattributed_rows), (Grain::Day, true, 1));
    assert!(pc.notes[0].starts_with("1 Azure-side rows could not be attributed"), "{:?}", pc.notes);
}

#[test]
fn the_legacy_usage_based_file_is_compared_per_month_and_stamp() {
    let r =
        against(include_bytes!("../../../../tests/fixtures/partner-center-usage.csv"), &ReconcileOptions::default());
    assert_eq!((r.grain, r.per_subscription), (Grain::Month, false));
    assert_eq!(r.unattributed_rows, 4);
    assert!(r.notes.iter().any(|n| n.contains("per calendar month")));
    assert!(r.notes.iter().any(|n| n.contains("all tenants of a stamp are compared together")));
    assert!(r.cells.iter().all(|c| c.day == "2026-10" && c.subscription.is_empty() && c.stamp == "local"));
    // Per meter, the month's quantities are the sums of the daily sides.
    let daily = against(include_bytes!("../../../../tests/fixtures/reconcile-azure.csv"), &ReconcileOptions::default());
    for cell in &r.cells {
        let (local, azure) = daily
            .cells
            .iter()
            .filter(|c| c.local_meter_id == cell.local_meter_id)
            .fold((0.0, 0.0), |(l, a), c| (l + c.local_quantity, a + c.azure_quantity));
        assert!((cell.local_quantity - local).abs() < 1e-9, "{}", cell.meter_name);
        assert!((cell.azure_quantity - azure).abs() < 1e-9, "{}", cell.meter_name);
    }
}

#[test]
fn rows_of_two_stamps_are_never_matched_across_stamps() {
    let mut s = Scenario::new();
    let local = |s: &mut Scenario, stamp: &str, quantity: f64| {
        let record = UsageRecord {
            usage_start: OCT1,
            usage_end: OCT1 + DAY,
            azure_stack: true,
            local: true,
            subscription: TENANT,
            local_subscription: TENANT,
            meter_id: BASE,
            local_meter_id: BASE,
            location: stamp,
            quantity,
            ..Default::default()
        };
        s.table.push(s.local_source, 2, &record);
    };
    local(&mut s, "east", 24.0);
    local(&mut s, "west", 10.0);
    for (stamp, quantity) in [("east", 10.0), ("west", 24.0)] {
        let info = format!("{{\"azureStack.MeterId\": \"{BASE}\", \"azureStack.Location\": \"{stamp}\"}}");
        let (additional_info, _) = s.table.intern_key_values(None, &info);
        let record = UsageRecord {
            usage_start: OCT1,
            usage_end: OCT1 + DAY,
            azure_stack: true,
            subscription: "billing-sub",
            local_subscription: TENANT,
            meter_id: BASE,
            local_meter_id: BASE,
            location: "azurestack",
            additional_info,
            quantity,
            ..Default::default()
        };
        s.table.push(s.azure_source, 2, &record);
    }
    let table = &s.table;
    let side = |row: usize| Some(if table.local[row] { Side::AzureStack } else { Side::Azure });
    let r = reconcile(table, &side, &PriceBook::default(), &ReconcileOptions::default());
    let cells: Vec<(&str, f64, f64, Status)> =
        r.cells.iter().map(|c| (c.stamp.as_str(), c.local_quantity, c.azure_quantity, c.status)).collect();
    // Summed over both stamps the sides agree (34 = 34); per stamp they do not, and that is what is shown.
    assert_eq!(cells, vec![("east", 24.0, 10.0, Status::Unexplained), ("west", 10.0, 24.0, Status::Unexplained)]);
}

#[test]
fn azure_rows_without_a_tenant_marker_are_attributed_through_the_stated_registration() {
    let azure =
        String::from_utf8(include_bytes!("../../../../tests/fixtures/partner-center-daily.csv").to_vec()).unwrap();
    // The same file as Partner Center would give it for a stamp whose rows carry no azureStack.SubscriptionId.
    let stripped =
        azure.replace("\"\"azureStack.SubscriptionId\"\": \"\"8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11\"\", ", "");
    assert_ne!(stripped, azure);
    let unattributed = against(stripped.as_bytes(), &ReconcileOptions::default());
    assert_eq!((unattributed.per_subscription, unattributed.unattributed_rows), (true, 9));
    assert!(!unattributed.by_status.contains_key(&Status::Match), "nothing matches without the tenant");
    let registration = Registration {
        stamp_subscription: Some("0aaaaaaa-1bbb-4ccc-8ddd-2eeeeeeeeeee".into()),
        tenants: vec![("5f1c7e2a-0b9d-4c3e-8a7f-6d5e4c3b2a10".into(), TENANT.into())],
    };
    let attributed = against(stripped.as_bytes(), &ReconcileOptions { registration, ..Default::default() });
    let marked = against(azure.as_bytes(), &ReconcileOptions::default());
    assert!(attributed.per_subscription && attributed.unattributed_rows == 0);
    // The unmapped row is attributed too now (its subscription is the tenant's); every other cell is as marked.
    let statuses = |r: &Reconciliation| {
        let cells = r.cells.iter().filter(|c| c.status != Status::Unmapped);
        cells.map(|c| (c.subscription.clone(), c.day.clone(), c.status)).collect::<Vec<_>>()
    };
    assert_eq!(statuses(&attributed), statuses(&marked));
    assert!(attributed.notes.iter().any(|n| n.contains("registered to Azure subscription 0aaaaaaa")));
}

#[test]
fn a_typed_registration_matches_ignoring_case_and_an_unknown_tenant_is_said() {
    let azure =
        String::from_utf8(include_bytes!("../../../../tests/fixtures/partner-center-daily.csv").to_vec()).unwrap();
    let stripped =
        azure.replace("\"\"azureStack.SubscriptionId\"\": \"\"8a6d1c2e-51f3-4b7a-9c1e-3f5d7a9b0c11\"\", ", "");
    let typed = |tenant: &str| {
        let tenants = vec![("5F1C7E2A-0B9D-4C3E-8A7F-6D5E4C3B2A10".to_string(), tenant.to_string())];
        let registration = Registration { stamp_subscription: None, tenants };
        against(stripped.as_bytes(), &ReconcileOptions { registration, ..Default::default() })
    };
    let upper = typed(&TENANT.to_uppercase());
    assert_eq!(upper.unattributed_rows, 0);
    assert!(upper
        .cells
        .iter()
        .filter(|c| c.status != Status::Unmapped)
        .all(|c| !c.subscription.is_empty() || c.status == Status::Admin));
    let unknown = typed("00000000-0000-0000-0000-000000000000");
    assert_eq!(unknown.unattributed_rows, 9);
    assert!(
        unknown.notes.iter().any(|n| n.contains("names tenant 00000000-0000-0000-0000-000000000000")),
        "{:?}",
        unknown.notes
    );
}

#[test]
fn one_long_azure_row_among_daily_rows_keeps_the_day_grain() {
    let mut s = Scenario::new();
    for day in 0..3 {
        s.local(BASE, TENANT, "rg-web", day, 24.0);
        s.azure((BASE, BASE, "1 Core"), TENANT, "rg-web", day, 24.0);
    }
    let record = UsageRecord {
        usage_start: OCT1,
        usage_end: OCT1 + 31 * DAY,
        azure_stack: true,
        subscription: "billing-sub",
        local_subscription: TENANT,
        meter_id: STATIC_IP,
        local_meter_id: STATIC_IP,
        quantity: 1.0,
        ..Default::default()
    };
    s.table.push(s.azure_source, 9, &record);
    let table = &s.table;
    let side = |row: usize| Some(if table.local[row] { Side::AzureStack } else { Side::Azure });
    let r = reconcile(table, &side, &PriceBook::default(), &ReconcileOptions::default());
    assert_eq!(r.grain, Grain::Day);
    assert_eq!(r.by_status.get(&Status::Match), Some(&3));
}

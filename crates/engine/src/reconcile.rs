//! Reconciliation: Azure Stack Hub figures (usage API, Usagesummary) against Azure-side billing (Account
//! Center, EA, Cost Management, FOCUS, Partner Center), compared per local meter × local subscription × usage day
//! (UTC) in the local unit, and every difference given one status.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::admin::AdminClassifier;
use crate::catalog::Catalog;
use crate::meter_id;
use crate::prices::PriceBook;
use crate::table::{StrId, UsageTable};
use crate::time::{self, DAY};

/// Which side of the comparison a row is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// What the stamp metered.
    AzureStack,
    /// What Azure billed.
    Azure,
}

/// Settings of a reconciliation.
#[derive(Clone, Debug)]
pub struct ReconcileOptions {
    /// Usage in the last this-many hours before midnight UTC may be billed on the next day.
    pub shift_hours: f64,
    /// Relative difference still counted as equal.
    pub tolerance: f64,
}

impl Default for ReconcileOptions {
    /// Shift window: the docs speak of "a few hours" of upload delay after the 24-hour aggregation.
    fn default() -> Self {
        ReconcileOptions { shift_hours: 4.0, tolerance: 0.001 }
    }
}

/// Why a cell differs (or does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Both sides agree within the tolerance.
    Match,
    /// Usage late on one day was billed on the next; the two days cancel out.
    MidnightShift,
    /// A meter Azure does not bill (IPs, transactions, SQL, informational…).
    LocalOnly,
    /// Zero-priced infrastructure usage.
    Admin,
    /// An Azure row whose local meter is unknown.
    Unmapped,
    /// A row counted twice on one side; without the copy the sides agree.
    Duplicate,
    /// A day outside the period both sides cover.
    OutOfPeriod,
    /// None of the above.
    Unexplained,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 8] = [
        Status::Match,
        Status::MidnightShift,
        Status::LocalOnly,
        Status::Admin,
        Status::Unmapped,
        Status::Duplicate,
        Status::OutOfPeriod,
        Status::Unexplained,
    ];

    /// snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::MidnightShift => "midnight_shift",
            Status::LocalOnly => "local_only",
            Status::Admin => "admin",
            Status::Unmapped => "unmapped",
            Status::Duplicate => "duplicate",
            Status::OutOfPeriod => "out_of_period",
            Status::Unexplained => "unexplained",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Status::Match => "Match",
            Status::MidnightShift => "Midnight shift",
            Status::LocalOnly => "Local-only meter",
            Status::Admin => "Zero-priced admin",
            Status::Unmapped => "Unmapped meter",
            Status::Duplicate => "Duplicate row",
            Status::OutOfPeriod => "Outside the compared period",
            Status::Unexplained => "Unexplained",
        }
    }
}

/// One compared cell: a local meter, a local subscription, a UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Local meter ID (the commerce meter ID for unmapped Azure rows).
    pub local_meter_id: String,
    /// Meter name.
    pub meter_name: String,
    /// Local (Azure Stack) subscription.
    pub subscription: String,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Local unit both quantities are in.
    pub unit: String,
    /// What the stamp metered.
    pub local_quantity: f64,
    /// What Azure billed, converted to the local unit.
    pub azure_quantity: f64,
    /// azure − local.
    pub delta: f64,
    /// Why.
    pub status: Status,
    /// Cost of the difference at the price book's rate, for unexplained cells with a rate.
    pub cost_impact: Option<f64>,
    /// Table rows of the cell, both sides.
    pub rows: Vec<u32>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Reconciliation {
    /// Cells in (meter, subscription, day) order.
    pub cells: Vec<Cell>,
    /// Cells per status.
    pub by_status: BTreeMap<Status, u64>,
    /// Azure Stack side per unit.
    pub local_quantity: BTreeMap<String, f64>,
    /// Azure side per (local) unit.
    pub azure_quantity: BTreeMap<String, f64>,
    /// Delta (azure − local) per status and unit.
    pub delta_by_status: BTreeMap<Status, BTreeMap<String, f64>>,
    /// Cost of the unexplained differences, per currency.
    pub unexplained_cost: BTreeMap<String, f64>,
    /// Currency of the cost figures.
    pub currency: String,
}

#[derive(Default)]
struct Acc {
    local: f64,
    azure: f64,
    /// Admin quantities per side (also inside `local` / `azure`).
    local_admin: f64,
    azure_admin: f64,
    local_duplicate: f64,
    azure_duplicate: f64,
    late: f64,
    admin_rows: usize,
    unmapped: bool,
    rows: Vec<u32>,
}

impl Acc {
    /// The quantities compared: admin usage explains itself and is left out.
    fn compared(&self) -> (f64, f64) {
        (self.local - self.local_admin, self.azure - self.azure_admin)
    }
}

/// Compares the rows `side` assigns to each side (rows it leaves out, and rows that are not Azure Stack usage,
/// are ignored).
pub fn reconcile(
    table: &UsageTable,
    side: &dyn Fn(usize) -> Option<Side>,
    prices: &PriceBook,
    options: &ReconcileOptions,
) -> Reconciliation {
    let catalog = Catalog::builtin();
    let admin = AdminClassifier::new(table);
    // Cells by (meter, subscription, day) as dictionary ids; strings only once per cell, at the end.
    let mut cells: HashMap<(StrId, StrId, i64), Acc> = HashMap::new();
    // A row twice on one side: same meter, subscription, resource, additional info, charge type, window, quantity.
    type Identity = (bool, StrId, StrId, StrId, StrId, StrId, i64, i64, u64);
    let mut seen_rows: HashMap<Identity, u32> = HashMap::new();
    let mut billed_meters: BTreeSet<StrId> = BTreeSet::new();
    let mut factors: HashMap<StrId, f64> = HashMap::new();
    let (mut local_days, mut azure_days) = (BTreeSet::new(), BTreeSet::new());
    for row in 0..table.len() {
        let Some(side) = side(row) else { continue };
        if !table.azure_stack[row] {
            continue;
        }
        let local_meter = table.local_meter_id[row];
        let unmapped = side == Side::Azure && local_meter == StrId::EMPTY;
        let (meter, subscription) = match side {
            Side::AzureStack => (local_meter, table.subscription[row]),
            Side::Azure if unmapped => (table.meter_id[row], table.local_subscription[row]),
            Side::Azure => (local_meter, table.local_subscription[row]),
        };
        let quantity = if side == Side::Azure && !unmapped {
            billed_meters.insert(local_meter);
            let commerce = table.meter_id[row];
            let factor = *factors.entry(commerce).or_insert_with(|| {
                if let Some((_, c)) = catalog.commerce_meter(table.str(commerce)) {
                    return c.factor;
                }
                // Billed under the local meter ID itself: in the local unit, unless the catalog knows that ID as
                // the commerce meter too (App Service, Base VM).
                let billed = catalog.local_meter(table.str(local_meter)).and_then(|m| m.billed_as());
                match billed {
                    Some(c) if commerce == local_meter && meter_id::normalize(&c.id) != table.str(commerce) => 1.0,
                    Some(c) => c.factor,
                    None => 1.0,
                }
            });
            table.quantity[row] / factor
        } else {
            table.quantity[row]
        };
        let day = time::day_of(table.usage_start[row]);
        match side {
            Side::AzureStack => local_days.insert(day),
            Side::Azure => azure_days.insert(day),
        };
        let identity = (
            side == Side::Azure,
            table.meter_id[row],
            subscription,
            table.resource_uri[row],
            table.additional_info[row],
            table.charge_type[row],
            table.usage_start[row],
            table.usage_end[row],
            table.quantity[row].to_bits(),
        );
        let copies = seen_rows.entry(identity).or_default();
        *copies += 1;
        let duplicate = *copies > 1;
        let is_admin = admin.classify(row).is_some();
        let acc = cells.entry((meter, subscription, day)).or_default();
        acc.rows.push(row as u32);
        acc.admin_rows += usize::from(is_admin);
        acc.unmapped |= unmapped;
        match side {
            Side::AzureStack => {
                acc.local += quantity;
                acc.local_admin += if is_admin { quantity } else { 0.0 };
                acc.local_duplicate += if duplicate { quantity } else { 0.0 };
                // Usage in the last hours before midnight: exact for hourly rows, pro rata for longer ones.
                let end_of_day = (day + 1) * DAY;
                let span = (table.usage_end[row] - table.usage_start[row]).max(1) as f64;
                let late_start = end_of_day as f64 - options.shift_hours * 3600.0;
                let overlap = (table.usage_end[row].min(end_of_day) as f64
                    - late_start.max(table.usage_start[row] as f64))
                .max(0.0);
                acc.late += if is_admin { 0.0 } else { quantity * (overlap / span).min(1.0) };
            }
            Side::Azure => {
                acc.azure += quantity;
                acc.azure_admin += if is_admin { quantity } else { 0.0 };
                acc.azure_duplicate += if duplicate { quantity } else { 0.0 };
            }
        }
    }

    // The compared period: the days both sides cover.
    let period = match (local_days.first(), local_days.last(), azure_days.first(), azure_days.last()) {
        (Some(&a), Some(&b), Some(&c), Some(&d)) => Some((a.max(c), b.min(d))),
        _ => None,
    };
    let equal = |a: f64, b: f64| (a - b).abs() <= options.tolerance * a.abs().max(b.abs()) + 1e-9;
    let mut keys: Vec<(StrId, StrId, i64)> = cells.keys().copied().collect();
    keys.sort_by(|a, b| (table.str(a.0), table.str(a.1), a.2).cmp(&(table.str(b.0), table.str(b.1), b.2)));

    // Midnight shift: walk each meter × subscription day by day, carrying what Azure billed a day late. A chain
    // of days counts only when the carry comes back to zero; a broken chain explains nothing.
    let mut shifted: HashSet<(StrId, StrId, i64)> = HashSet::new();
    let mut chain: Vec<(StrId, StrId, i64)> = Vec::new();
    let mut carry_in = 0.0;
    for (i, key) in keys.iter().enumerate() {
        let consecutive = i > 0 && keys[i - 1].0 == key.0 && keys[i - 1].1 == key.1 && keys[i - 1].2 == key.2 - 1;
        if !consecutive {
            chain.clear();
            carry_in = 0.0;
        }
        let acc = &cells[key];
        let (local, azure) = acc.compared();
        let shift_out = local + carry_in - azure;
        let next = keys.get(i + 1).filter(|n| n.0 == key.0 && n.1 == key.1 && n.2 == key.2 + 1);
        let starts_shift = shift_out > 1e-9
            && shift_out <= acc.late * (1.0 + options.tolerance) + 1e-9
            && next.is_some_and(|n| {
                let (l, a) = cells[n].compared();
                a - l > 1e-9
            });
        let out = if starts_shift { shift_out } else { 0.0 };
        if (carry_in > 1e-9 || starts_shift) && equal(local + carry_in - out, azure) {
            chain.push(*key);
            carry_in = out;
            if out <= 1e-9 {
                shifted.extend(chain.drain(..));
            }
            continue;
        }
        chain.clear();
        carry_in = 0.0;
    }

    let mut result = Reconciliation { currency: prices.currency.clone(), ..Default::default() };
    for key in keys {
        let Some(acc) = cells.remove(&key) else { continue };
        let (meter_id, subscription) = (table.str(key.0).to_string(), table.str(key.1).to_string());
        let local_meter = catalog.local_meter(&meter_id);
        let unit = local_meter.map_or_else(|| table_unit(table, &acc), |m| m.unit.clone());
        let in_period = period.is_some_and(|(from, to)| (from..=to).contains(&key.2));
        let (local, azure) = acc.compared();
        let local_only = acc.azure == 0.0
            && !billed_meters.contains(&key.0)
            && local_meter.is_none_or(|m| m.informational || m.billed_as().is_none());
        let status = if acc.unmapped {
            Status::Unmapped
        } else if acc.admin_rows == acc.rows.len() || (acc.admin_rows > 0 && equal(local, azure)) {
            // All admin, or the admin usage is the whole difference.
            Status::Admin
        } else if local_only {
            Status::LocalOnly
        } else if equal(local, azure) {
            Status::Match
        } else if shifted.contains(&key) {
            Status::MidnightShift
        } else if (acc.local_duplicate > 0.0 || acc.azure_duplicate > 0.0)
            && equal(local - acc.local_duplicate, azure - acc.azure_duplicate)
        {
            Status::Duplicate
        } else if !in_period {
            Status::OutOfPeriod
        } else {
            Status::Unexplained
        };
        let delta = acc.azure - acc.local;
        let cost_impact = (status == Status::Unexplained)
            .then(|| {
                let rate = prices.rate(&meter_id, key.2 * DAY)?;
                let factor = local_meter.and_then(|m| m.billed_as()).map_or(1.0, |c| c.factor);
                // The admin part of a cell is billed at zero: only the compared quantities cost money.
                Some((azure - local) * factor * rate.unit_price)
            })
            .flatten();
        if let Some(cost) = cost_impact {
            *result.unexplained_cost.entry(prices.currency.clone()).or_default() += cost;
        }
        *result.by_status.entry(status).or_default() += 1;
        *result.local_quantity.entry(unit.clone()).or_default() += acc.local;
        *result.azure_quantity.entry(unit.clone()).or_default() += acc.azure;
        *result.delta_by_status.entry(status).or_default().entry(unit.clone()).or_default() += delta;
        result.cells.push(Cell {
            meter_name: local_meter
                .map_or_else(|| table.str(table.meter_name[acc.rows[0] as usize]).to_string(), |m| m.name.clone()),
            local_meter_id: meter_id,
            subscription,
            day: time::day_label(key.2),
            unit,
            local_quantity: acc.local,
            azure_quantity: acc.azure,
            delta,
            status,
            cost_impact,
            rows: acc.rows,
        });
    }
    result
}

fn table_unit(table: &UsageTable, acc: &Acc) -> String {
    acc.rows.first().map(|&r| table.str(table.unit[r as usize]).to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests;

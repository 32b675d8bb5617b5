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
    /// How the stamp is registered: which Azure subscriptions bill which tenants.
    pub registration: Registration,
}

impl Default for ReconcileOptions {
    /// Shift window: the docs speak of "a few hours" of upload delay after the 24-hour aggregation.
    fn default() -> Self {
        ReconcileOptions { shift_hours: 4.0, tolerance: 0.001, registration: Registration::default() }
    }
}

/// The registration context the user states: usage data does not carry it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Registration {
    /// The Azure subscription the stamp is registered to (billed for tenants not registered on their own).
    pub stamp_subscription: Option<String>,
    /// CSP: (Azure customer subscription, local tenant subscription) for each tenant registered to its own
    /// customer subscription. Azure rows without `azureStack.SubscriptionId` are attributed through it.
    pub tenants: Vec<(String, String)>,
}

impl Registration {
    /// The one tenant billed to Azure subscription `billed`, if the user said so.
    fn tenant_of(&self, billed: &str) -> Option<&str> {
        let mut tenants = self.tenants.iter().filter(|(azure, _)| azure.eq_ignore_ascii_case(billed));
        match (tenants.next(), tenants.next()) {
            (Some((_, tenant)), None) => Some(tenant),
            _ => None,
        }
    }
}

/// The time grain cells are compared at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Grain {
    /// UTC day (daily Azure-side data).
    #[default]
    Day,
    /// Calendar month (an Azure side that bills per billing cycle, e.g. the Partner Center usage-based file).
    Month,
}

impl Grain {
    /// Name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Month => "month",
        }
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

/// One compared cell: a stamp, a local meter, a local subscription, a UTC day (or month).
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The stamp (its location name, e.g. `local`); rows of different stamps are never compared.
    pub stamp: String,
    /// Local meter ID (the commerce meter ID for unmapped Azure rows).
    pub local_meter_id: String,
    /// Meter name.
    pub meter_name: String,
    /// Local (Azure Stack) subscription; empty when the Azure side cannot say which tenant (all tenants together).
    pub subscription: String,
    /// UTC day, `YYYY-MM-DD` (`YYYY-MM` at month grain).
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
    /// The grain cells were compared at.
    pub grain: Grain,
    /// False when no Azure-side row names its tenant: tenants are compared together, per stamp.
    pub per_subscription: bool,
    /// Azure-side Azure Stack rows that could not be attributed to a tenant.
    pub unattributed_rows: u64,
    /// What the comparison had to assume, in words.
    pub notes: Vec<String>,
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
    // Stamps are numbered by their location names: local rows by their location, Azure rows by their
    // `azureStack.Location` (or the one local stamp when they do not say).
    let mut stamp_names: Vec<String> = Vec::new();
    let mut stamp_id = |name: &str| -> u32 {
        let name = name.to_ascii_lowercase();
        match stamp_names.iter().position(|s| *s == name) {
            Some(i) => i as u32,
            None => {
                stamp_names.push(name);
                stamp_names.len() as u32 - 1
            }
        }
    };
    let rows: Vec<(usize, Side)> = (0..table.len())
        .filter_map(|row| side(row).map(|s| (row, s)))
        .filter(|(row, _)| table.azure_stack[*row])
        .collect();
    let local_stamps: BTreeSet<u32> = rows
        .iter()
        .filter(|(_, s)| *s == Side::AzureStack)
        .map(|(r, _)| stamp_id(table.str(table.location[*r])))
        .collect();
    let only_stamp = (local_stamps.len() == 1).then(|| *local_stamps.first().unwrap_or(&0));
    let registration = &options.registration;
    // Local tenants by their subscription ignoring case, for the registration the user typed.
    let local_tenants: HashMap<String, StrId> = rows
        .iter()
        .filter(|(_, s)| *s == Side::AzureStack)
        .map(|(r, _)| (table.str(table.subscription[*r]).to_ascii_lowercase(), table.subscription[*r]))
        .collect();
    // The tenant of an Azure row: its azureStack.SubscriptionId, else the registration the user stated (a tenant
    // the local data does not have attributes nothing).
    let tenant_of = |row: usize| -> Option<StrId> {
        let marked = table.local_subscription(row);
        if marked != StrId::EMPTY {
            return Some(marked);
        }
        let tenant = registration.tenant_of(table.str(table.subscription[row]))?;
        local_tenants.get(&tenant.to_ascii_lowercase()).copied()
    };
    let azure_rows = rows.iter().filter(|(_, s)| *s == Side::Azure).count();
    let unattributed = rows.iter().filter(|(r, s)| *s == Side::Azure && tenant_of(*r).is_none()).count();
    let per_subscription = azure_rows == 0 || unattributed < azure_rows;
    // Month grain when most Azure rows span a billing cycle (the legacy Partner Center file), not for a few
    // monthly charges among daily usage.
    let spans_cycle = |row: usize| table.usage_end[row] - table.usage_start[row] > DAY + 3600;
    let cycle_rows = rows.iter().filter(|(r, s)| *s == Side::Azure && spans_cycle(*r)).count();
    let grain = if cycle_rows * 2 > azure_rows { Grain::Month } else { Grain::Day };
    let period_of = |seconds: i64| match grain {
        Grain::Day => time::day_of(seconds),
        Grain::Month => time::day_of(time::month_start(seconds)),
    };
    let mut notes = Vec::new();
    for (azure, tenant) in &registration.tenants {
        if !local_tenants.contains_key(&tenant.to_ascii_lowercase()) {
            notes.push(format!(
                "The registration names tenant {tenant} (billed to {azure}), which is not a subscription in the Azure \
                 Stack Hub data: nothing is attributed to it."
            ));
        }
    }
    if grain == Grain::Month {
        notes.push(
            "The Azure side bills per billing cycle (no daily usage): quantities are compared per calendar month, and \
             usage late on a month's last day may show in the next."
                .to_string(),
        );
    }
    if !per_subscription {
        notes.push(format!(
            "No Azure-side row says which tenant it is for (no azureStack.SubscriptionId, no tenant registration \
             given): all tenants of a stamp are compared together ({unattributed} rows)."
        ));
    } else if unattributed > 0 {
        notes.push(format!(
            "{unattributed} Azure-side rows could not be attributed to a tenant (no azureStack.SubscriptionId, and \
             their subscription is not a registered tenant's): they are compared under no tenant."
        ));
    }
    if let Some(stamp) = &registration.stamp_subscription {
        let to_stamp = rows
            .iter()
            .filter(|(r, s)| *s == Side::Azure && table.str(table.subscription[*r]).eq_ignore_ascii_case(stamp))
            .count();
        notes.push(format!(
            "The stamp is registered to Azure subscription {stamp}: {to_stamp} Azure-side rows are billed to it \
             (usage of tenants not registered to a subscription of their own)."
        ));
    }
    // Cells by (stamp, meter, subscription, period) as ids; strings only once per cell, at the end.
    let mut cells: HashMap<(u32, StrId, StrId, i64), Acc> = HashMap::new();
    // A row twice on one side: same meter, subscription, resource, additional info, charge type, window, quantity.
    type Identity = (bool, u32, StrId, StrId, StrId, StrId, StrId, i64, i64, u64);
    let mut seen_rows: HashMap<Identity, u32> = HashMap::new();
    let mut billed_meters: BTreeSet<StrId> = BTreeSet::new();
    let mut factors: HashMap<StrId, f64> = HashMap::new();
    let (mut local_days, mut azure_days) = (BTreeSet::new(), BTreeSet::new());
    for &(row, side) in &rows {
        let local_meter = table.local_meter_id(row);
        let unmapped = side == Side::Azure && local_meter == StrId::EMPTY;
        let subscription = match side {
            Side::AzureStack => table.subscription[row],
            Side::Azure => tenant_of(row).unwrap_or(StrId::EMPTY),
        };
        let subscription = if per_subscription { subscription } else { StrId::EMPTY };
        let meter = if unmapped { table.meter_id[row] } else { local_meter };
        let stamp = match side {
            Side::AzureStack => stamp_id(table.str(table.location[row])),
            Side::Azure => match table.key_value(table.additional_info[row], "azureStack.Location") {
                Some(location) => stamp_id(location),
                None => only_stamp.unwrap_or_else(|| stamp_id("")),
            },
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
            table.quantity.get(row) / factor
        } else {
            table.quantity.get(row)
        };
        let day = time::day_of(table.usage_start[row]);
        let period = period_of(table.usage_start[row]);
        match side {
            Side::AzureStack => local_days.insert(period),
            Side::Azure => azure_days.insert(period),
        };
        let identity = (
            side == Side::Azure,
            stamp,
            table.meter_id[row],
            table.subscription[row],
            table.resource_uri[row],
            table.additional_info[row],
            table.charge_type[row],
            table.usage_start[row],
            table.usage_end[row],
            table.quantity.get(row).to_bits(),
        );
        let copies = seen_rows.entry(identity).or_default();
        *copies += 1;
        let duplicate = *copies > 1;
        let is_admin = admin.classify(row).is_some();
        let acc = cells.entry((stamp, meter, subscription, period)).or_default();
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
    type Key = (u32, StrId, StrId, i64);
    let mut keys: Vec<Key> = cells.keys().copied().collect();
    let order = |k: &Key| (stamp_names[k.0 as usize].clone(), table.str(k.1), table.str(k.2), k.3);
    keys.sort_by_cached_key(order);
    // The same stamp, meter and tenant.
    let series = |a: &Key, b: &Key| a.0 == b.0 && a.1 == b.1 && a.2 == b.2;

    // Midnight shift: walk each meter × subscription day by day, carrying what Azure billed a day late. A chain
    // of days counts only when the carry comes back to zero; a broken chain explains nothing.
    let mut shifted: HashSet<Key> = HashSet::new();
    let mut chain: Vec<Key> = Vec::new();
    let mut carry_in = 0.0;
    for (i, key) in keys.iter().enumerate() {
        let consecutive = grain == Grain::Day && i > 0 && series(&keys[i - 1], key) && keys[i - 1].3 == key.3 - 1;
        if !consecutive {
            chain.clear();
            carry_in = 0.0;
        }
        let acc = &cells[key];
        let (local, azure) = acc.compared();
        let shift_out = local + carry_in - azure;
        let next = keys.get(i + 1).filter(|n| grain == Grain::Day && series(n, key) && n.3 == key.3 + 1);
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

    let mut result = Reconciliation {
        currency: prices.currency.clone(),
        grain,
        per_subscription,
        unattributed_rows: unattributed as u64,
        notes,
        ..Default::default()
    };
    for key in keys {
        let Some(acc) = cells.remove(&key) else { continue };
        let (meter_id, subscription) = (table.str(key.1).to_string(), table.str(key.2).to_string());
        let local_meter = catalog.local_meter(&meter_id);
        let unit = local_meter.map_or_else(|| table_unit(table, &acc), |m| m.unit.clone());
        let in_period = period.is_some_and(|(from, to)| (from..=to).contains(&key.3));
        let (local, azure) = acc.compared();
        let local_only = acc.azure == 0.0
            && !billed_meters.contains(&key.1)
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
                let rate = prices.rate(&meter_id, key.3 * DAY)?;
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
                .map_or_else(|| table.str(table.meter_name(acc.rows[0] as usize)).to_string(), |m| m.name.clone()),
            stamp: stamp_names[key.0 as usize].clone(),
            local_meter_id: meter_id,
            subscription,
            day: match grain {
                Grain::Day => time::day_label(key.3),
                Grain::Month => time::month_label(key.3 * DAY),
            },
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
    acc.rows.first().map(|&r| table.str(table.unit(r as usize)).to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests;

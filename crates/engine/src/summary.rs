//! Totals and group-bys over a usage table: rows, subscriptions, quantity per unit, cost per currency.
//! Quantities are never added across units, costs never across currencies.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use crate::admin;
use crate::table::{StrId, UsageTable};
use crate::time::{self, DAY};

/// A dimension to group by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Subscription ID.
    Subscription,
    /// Resource group.
    ResourceGroup,
    /// Resource URI.
    Resource,
    /// Meter ID.
    MeterId,
    /// Meter name.
    MeterName,
    /// Location.
    Location,
    /// Unit of measure.
    Unit,
    /// Source file format.
    SourceFormat,
    /// UTC day of the usage start.
    Day,
    /// UTC month of the usage start.
    Month,
    /// UTC hour of the usage start.
    Hour,
}

impl Dimension {
    /// Every dimension, in the order of [`Dimension::NAMES`].
    pub const ALL: &'static [Dimension] = &[
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::Resource,
        Dimension::MeterId,
        Dimension::MeterName,
        Dimension::Location,
        Dimension::Unit,
        Dimension::SourceFormat,
        Dimension::Day,
        Dimension::Month,
        Dimension::Hour,
    ];

    /// The names accepted by [`Dimension::from_str`].
    pub const NAMES: &'static [&'static str] = &[
        "subscription",
        "resource_group",
        "resource",
        "meter_id",
        "meter_name",
        "location",
        "unit",
        "source_format",
        "day",
        "month",
        "hour",
    ];

    /// Stable name, used in JSON output.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|d| *d == self).unwrap_or(0)]
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .position(|n| *n == s.trim())
            .map(|i| Self::ALL[i])
            .ok_or_else(|| {
                format!(
                    "unknown dimension {s:?}; valid dimensions: {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

/// What to summarise.
#[derive(Clone, Debug, Default)]
pub struct SummaryOptions {
    /// Dimensions to group by (none: totals only).
    pub by: Vec<Dimension>,
    /// Keep admin (infrastructure) rows instead of excluding them.
    pub include_admin: bool,
}

/// Totals of one group.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Totals {
    /// Rows.
    pub rows: u64,
    /// Quantity per unit.
    pub quantity: BTreeMap<String, f64>,
    /// Billed cost per currency (only rows that carry a cost).
    pub cost: BTreeMap<String, f64>,
}

/// One group of a group-by.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Dimension values, in the order asked for.
    pub key: Vec<(Dimension, String)>,
    /// Totals of the group.
    pub totals: Totals,
}

/// The answer to a summary question.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Summary {
    /// Rows counted (admin rows excluded unless asked for).
    pub rows: u64,
    /// Distinct subscriptions among the counted rows.
    pub subscriptions: u64,
    /// Admin rows left out.
    pub admin_rows_excluded: u64,
    /// Quantity per unit of the admin rows left out.
    pub admin_quantity: BTreeMap<String, f64>,
    /// Quantity per unit.
    pub quantity: BTreeMap<String, f64>,
    /// Billed cost per currency.
    pub cost: BTreeMap<String, f64>,
    /// Groups, sorted by key.
    pub groups: Vec<Group>,
}

/// Label used for rows whose unit is unknown.
pub const UNKNOWN_UNIT: &str = "(unknown unit)";

#[derive(Default)]
struct Acc {
    rows: u64,
    quantity: Vec<(StrId, f64)>,
    cost: Vec<(StrId, f64)>,
}

impl Acc {
    fn add(&mut self, unit: StrId, quantity: f64, currency: StrId, cost: f64) {
        self.rows += 1;
        add_to(&mut self.quantity, unit, quantity);
        if !cost.is_nan() {
            add_to(&mut self.cost, currency, cost);
        }
    }

    fn totals(&self, table: &UsageTable) -> Totals {
        let label = |id: StrId, empty: &str| {
            let s = table.str(id);
            if s.is_empty() {
                empty.to_string()
            } else {
                s.to_string()
            }
        };
        Totals {
            rows: self.rows,
            quantity: self
                .quantity
                .iter()
                .map(|&(u, q)| (label(u, UNKNOWN_UNIT), q))
                .collect(),
            cost: self
                .cost
                .iter()
                .map(|&(c, v)| (label(c, "(unknown currency)"), v))
                .collect(),
        }
    }
}

fn add_to(sums: &mut Vec<(StrId, f64)>, key: StrId, value: f64) {
    match sums.iter_mut().find(|(k, _)| *k == key) {
        Some((_, sum)) => *sum += value,
        None => sums.push((key, value)),
    }
}

impl Summary {
    /// Summarises `table`.
    pub fn of(table: &UsageTable, options: &SummaryOptions) -> Summary {
        let mut total = Acc::default();
        let mut admin = Acc::default();
        let mut subscriptions = vec![false; table.strings().len()];
        let mut groups: HashMap<Vec<i64>, Acc> = HashMap::new();
        let mut key = Vec::with_capacity(options.by.len());
        let admin_groups: Vec<bool> = (0..table.strings().len())
            .map(|i| admin::classify(table.str(StrId(i as u32))).is_some())
            .collect();
        for row in 0..table.len() {
            let (unit, quantity) = (table.unit[row], table.quantity[row]);
            let (currency, cost) = (table.currency[row], table.cost[row]);
            if !options.include_admin && admin_groups[table.resource_group[row].0 as usize] {
                admin.add(unit, quantity, currency, cost);
                continue;
            }
            total.add(unit, quantity, currency, cost);
            subscriptions[table.subscription[row].0 as usize] = true;
            if !options.by.is_empty() {
                key.clear();
                key.extend(options.by.iter().map(|d| key_of(table, row, *d)));
                groups
                    .entry(key.clone())
                    .or_default()
                    .add(unit, quantity, currency, cost);
            }
        }
        let mut groups: Vec<Group> = groups
            .iter()
            .map(|(key, acc)| Group {
                key: options
                    .by
                    .iter()
                    .zip(key)
                    .map(|(d, k)| (*d, label_of(table, *d, *k)))
                    .collect(),
                totals: acc.totals(table),
            })
            .collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key).then(b.totals.rows.cmp(&a.totals.rows)));
        let totals = total.totals(table);
        Summary {
            rows: totals.rows,
            subscriptions: subscriptions
                .iter()
                .enumerate()
                .filter(|&(i, &s)| s && i != 0)
                .count() as u64,
            admin_rows_excluded: admin.rows,
            admin_quantity: admin.totals(table).quantity,
            quantity: totals.quantity,
            cost: totals.cost,
            groups,
        }
    }
}

fn key_of(table: &UsageTable, row: usize, dimension: Dimension) -> i64 {
    let id = |column: &[StrId]| column[row].0 as i64;
    match dimension {
        Dimension::Subscription => id(&table.subscription),
        Dimension::ResourceGroup => id(&table.resource_group),
        Dimension::Resource => id(&table.resource_uri),
        Dimension::MeterId => id(&table.meter_id),
        Dimension::MeterName => id(&table.meter_name),
        Dimension::Location => id(&table.location),
        Dimension::Unit => id(&table.unit),
        Dimension::SourceFormat => table.source[row] as i64,
        Dimension::Day => time::day_of(table.usage_start[row]),
        Dimension::Month => time::month_index(table.usage_start[row]),
        Dimension::Hour => table.usage_start[row].div_euclid(3600),
    }
}

fn label_of(table: &UsageTable, dimension: Dimension, key: i64) -> String {
    match dimension {
        Dimension::SourceFormat => table
            .sources()
            .get(key as usize)
            .map_or("unknown", |s| s.format.as_str())
            .to_string(),
        Dimension::Day => time::day_label(key),
        Dimension::Month => time::month_index_label(key),
        Dimension::Hour => time::hour_label(key * 3600),
        Dimension::Unit if key == 0 => UNKNOWN_UNIT.to_string(),
        _ => table.str(StrId(key as u32)).to_string(),
    }
}

/// Quantity per UTC day for one unit, days without usage included as zero, from the first to the last day.
pub fn daily_quantity(summary_by_day_and_unit: &Summary, unit: &str) -> Vec<(i64, f64)> {
    let mut by_day: BTreeMap<i64, f64> = BTreeMap::new();
    for group in &summary_by_day_and_unit.groups {
        let mut day = None;
        let mut matches_unit = false;
        for (dimension, value) in &group.key {
            match dimension {
                Dimension::Day => day = value_to_day(value),
                Dimension::Unit => matches_unit = value == unit,
                _ => {}
            }
        }
        if let (Some(day), true) = (day, matches_unit) {
            *by_day.entry(day).or_default() +=
                group.totals.quantity.get(unit).copied().unwrap_or(0.0);
        }
    }
    let (Some(&first), Some(&last)) = (by_day.keys().next(), by_day.keys().next_back()) else {
        return Vec::new();
    };
    (first..=last)
        .map(|d| (d, by_day.get(&d).copied().unwrap_or(0.0)))
        .collect()
}

fn value_to_day(label: &str) -> Option<i64> {
    time::parse_timestamp(label).ok().map(|t| t.div_euclid(DAY))
}

#[cfg(test)]
mod tests;

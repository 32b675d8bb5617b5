//! Totals and group-bys over a usage table: rows, subscriptions, quantity per unit, cost per currency.
//! Quantities are never added across units, costs never across currencies.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use crate::admin::AdminClassifier;
use crate::table::{Column, StrId, UsageTable};
use crate::time::{self, DAY};

/// A dimension to group by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// Meter category.
    MeterCategory,
    /// Meter subcategory.
    MeterSubcategory,
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
    /// The value of one tag (key matched ignoring ASCII case).
    Tag(String),
}

impl Dimension {
    /// The fixed dimensions, in the order of [`Dimension::NAMES`] (plus `tag:KEY`).
    pub const ALL: &'static [Dimension] = &[
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::Resource,
        Dimension::MeterId,
        Dimension::MeterName,
        Dimension::MeterCategory,
        Dimension::MeterSubcategory,
        Dimension::Location,
        Dimension::Unit,
        Dimension::SourceFormat,
        Dimension::Day,
        Dimension::Month,
        Dimension::Hour,
    ];

    /// The names accepted by [`Dimension::from_str`], besides `tag:KEY`.
    pub const NAMES: &'static [&'static str] = &[
        "subscription",
        "resource_group",
        "resource",
        "meter_id",
        "meter_name",
        "meter_category",
        "meter_subcategory",
        "location",
        "unit",
        "source_format",
        "day",
        "month",
        "hour",
    ];

    /// Stable name, used as the key in JSON output (`tag:KEY` for tags).
    pub fn name(&self) -> String {
        match self {
            Dimension::Tag(key) => format!("tag:{key}"),
            fixed => Self::NAMES[Self::ALL.iter().position(|d| d == fixed).unwrap_or(0)].to_string(),
        }
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(key) = s.strip_prefix("tag:") {
            return if key.is_empty() {
                Err("tag: needs a key, e.g. tag:costcenter".into())
            } else {
                Ok(Dimension::Tag(key.into()))
            };
        }
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i].clone())
            .ok_or_else(|| format!("unknown dimension {s:?}; valid dimensions: {}, tag:KEY", Self::NAMES.join(", ")))
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
    /// Effective (amortized) cost per currency (only rows that carry one).
    pub effective_cost: BTreeMap<String, f64>,
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
    /// Admin rows (counted or not) per reason.
    pub admin_reasons: BTreeMap<String, u64>,
    /// Quantity per unit.
    pub quantity: BTreeMap<String, f64>,
    /// Billed cost per currency.
    pub cost: BTreeMap<String, f64>,
    /// Effective (amortized) cost per currency.
    pub effective_cost: BTreeMap<String, f64>,
    /// Groups, sorted by key.
    pub groups: Vec<Group>,
}

/// Label used for rows whose unit is unknown.
pub const UNKNOWN_UNIT: &str = "(unknown unit)";
/// Label used for costs whose currency is unknown.
pub const UNKNOWN_CURRENCY: &str = "(unknown currency)";

#[derive(Default)]
struct Acc {
    rows: u64,
    quantity: Vec<(StrId, f64)>,
    cost: Vec<(StrId, f64)>,
    effective_cost: Vec<(StrId, f64)>,
}

impl Acc {
    fn add(&mut self, table: &UsageTable, row: usize) {
        self.rows += 1;
        add_to(&mut self.quantity, table.unit[row], table.quantity[row]);
        let currency = table.currency[row];
        if !table.cost[row].is_nan() {
            add_to(&mut self.cost, currency, table.cost[row]);
        }
        if !table.effective_cost[row].is_nan() {
            add_to(&mut self.effective_cost, currency, table.effective_cost[row]);
        }
    }

    fn totals(&self, table: &UsageTable) -> Totals {
        let labelled = |sums: &[(StrId, f64)], empty: &str| {
            sums.iter()
                .map(|&(id, v)| {
                    let s = table.str(id);
                    (if s.is_empty() { empty.to_string() } else { s.to_string() }, v)
                })
                .collect()
        };
        Totals {
            rows: self.rows,
            quantity: labelled(&self.quantity, UNKNOWN_UNIT),
            cost: labelled(&self.cost, UNKNOWN_CURRENCY),
            effective_cost: labelled(&self.effective_cost, UNKNOWN_CURRENCY),
        }
    }
}

fn add_to(sums: &mut Vec<(StrId, f64)>, key: StrId, value: f64) {
    match sums.iter_mut().find(|(k, _)| *k == key) {
        Some((_, sum)) => *sum += value,
        None => sums.push((key, value)),
    }
}

/// Per-query precomputation of a dimension (tag keys resolved to dictionary ids once).
enum KeyOf<'a> {
    Column(&'a Column<StrId>),
    Source,
    Day,
    Month,
    Hour,
    Tag(Vec<StrId>),
}

impl<'a> KeyOf<'a> {
    fn new(table: &'a UsageTable, dimension: &Dimension) -> Self {
        match dimension {
            Dimension::Subscription => KeyOf::Column(&table.subscription),
            Dimension::ResourceGroup => KeyOf::Column(&table.resource_group),
            Dimension::Resource => KeyOf::Column(&table.resource_uri),
            Dimension::MeterId => KeyOf::Column(&table.meter_id),
            Dimension::MeterName => KeyOf::Column(&table.meter_name),
            Dimension::MeterCategory => KeyOf::Column(&table.meter_category),
            Dimension::MeterSubcategory => KeyOf::Column(&table.meter_subcategory),
            Dimension::Location => KeyOf::Column(&table.location),
            Dimension::Unit => KeyOf::Column(&table.unit),
            Dimension::SourceFormat => KeyOf::Source,
            Dimension::Day => KeyOf::Day,
            Dimension::Month => KeyOf::Month,
            Dimension::Hour => KeyOf::Hour,
            Dimension::Tag(key) => KeyOf::Tag(
                (0..table.strings().len() as u32)
                    .map(StrId)
                    .filter(|id| table.str(*id).eq_ignore_ascii_case(key))
                    .collect(),
            ),
        }
    }

    fn key(&self, table: &UsageTable, row: usize) -> i64 {
        match self {
            KeyOf::Column(column) => column[row].0 as i64,
            KeyOf::Source => table.source[row] as i64,
            KeyOf::Day => time::day_of(table.usage_start[row]),
            KeyOf::Month => time::month_index(table.usage_start[row]),
            KeyOf::Hour => table.usage_start[row].div_euclid(3600),
            KeyOf::Tag(keys) => {
                table.key_values(table.tags[row]).iter().find(|(k, _)| keys.contains(k)).map_or(0, |(_, v)| v.0 as i64)
            }
        }
    }
}

impl Summary {
    /// Summarises `table`.
    pub fn of(table: &UsageTable, options: &SummaryOptions) -> Summary {
        let mut total = Acc::default();
        let mut admin_rows = Acc::default();
        let mut admin_reasons: BTreeMap<String, u64> = BTreeMap::new();
        let mut subscriptions = vec![false; table.strings().len()];
        let mut groups: HashMap<Vec<i64>, Acc> = HashMap::new();
        let mut key = Vec::with_capacity(options.by.len());
        let key_of: Vec<KeyOf<'_>> = options.by.iter().map(|d| KeyOf::new(table, d)).collect();
        let admin = AdminClassifier::new(table);
        for row in 0..table.len() {
            if let Some(reason) = admin.classify(row) {
                *admin_reasons.entry(reason.as_str().to_string()).or_default() += 1;
                if !options.include_admin {
                    admin_rows.add(table, row);
                    continue;
                }
            }
            total.add(table, row);
            subscriptions[table.subscription[row].0 as usize] = true;
            if !key_of.is_empty() {
                key.clear();
                key.extend(key_of.iter().map(|k| k.key(table, row)));
                groups.entry(key.clone()).or_default().add(table, row);
            }
        }
        let mut groups: Vec<Group> = groups
            .iter()
            .map(|(key, acc)| Group {
                key: options.by.iter().zip(key).map(|(d, k)| (d.clone(), label_of(table, d, *k))).collect(),
                totals: acc.totals(table),
            })
            .collect();
        groups.sort_by(|a, b| a.key.cmp(&b.key).then(b.totals.rows.cmp(&a.totals.rows)));
        let totals = total.totals(table);
        Summary {
            rows: totals.rows,
            subscriptions: subscriptions.iter().enumerate().filter(|&(i, &s)| s && i != 0).count() as u64,
            admin_rows_excluded: admin_rows.rows,
            admin_reasons,
            admin_quantity: admin_rows.totals(table).quantity,
            quantity: totals.quantity,
            cost: totals.cost,
            effective_cost: totals.effective_cost,
            groups,
        }
    }
}

fn label_of(table: &UsageTable, dimension: &Dimension, key: i64) -> String {
    match dimension {
        Dimension::SourceFormat => {
            table.sources().get(key as usize).map_or("unknown", |s| s.format.as_str()).to_string()
        }
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
            *by_day.entry(day).or_default() += group.totals.quantity.get(unit).copied().unwrap_or(0.0);
        }
    }
    let (Some(&first), Some(&last)) = (by_day.keys().next(), by_day.keys().next_back()) else {
        return Vec::new();
    };
    (first..=last).map(|d| (d, by_day.get(&d).copied().unwrap_or(0.0))).collect()
}

fn value_to_day(label: &str) -> Option<i64> {
    time::parse_timestamp(label).ok().map(|t| t.div_euclid(DAY))
}

#[cfg(test)]
mod tests;

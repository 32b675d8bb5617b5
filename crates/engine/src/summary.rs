//! The `meterlens summary` answer: totals and group-bys over a usage table, asked of the query engine.
//! Quantities are never added across units, costs never across currencies.

use std::collections::BTreeMap;

pub use crate::query::{Dimension, Filter, Group, Totals, UNKNOWN_CURRENCY, UNKNOWN_UNIT};
use crate::query::{Query, QueryEngine, SortBy};
use crate::table::UsageTable;
use crate::time::{self, DAY};

/// What to summarise.
#[derive(Clone, Debug, Default)]
pub struct SummaryOptions {
    /// Dimensions to group by (none: totals only).
    pub by: Vec<Dimension>,
    /// Keep admin (infrastructure) rows instead of excluding them.
    pub include_admin: bool,
    /// Only rows passing these.
    pub filters: Vec<Filter>,
    /// Keep the N largest groups (by rows) and put the rest in "Others".
    pub top: Option<usize>,
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
    /// Groups, sorted by key (or by rows with `top`).
    pub groups: Vec<Group>,
}

impl Summary {
    /// Summarises `table`.
    pub fn of(table: &UsageTable, options: &SummaryOptions) -> Summary {
        Summary::with_engine(&QueryEngine::new(table), options)
    }

    /// Summarises the table of `engine` (reusing its caches).
    pub fn with_engine(engine: &QueryEngine<'_>, options: &SummaryOptions) -> Summary {
        let base =
            Query { filters: options.filters.clone(), include_admin: options.include_admin, ..Default::default() };
        let sort = if options.top.is_some() { SortBy::Rows } else { SortBy::Key };
        let result = engine.run(&Query { group_by: options.by.clone(), top: options.top, sort, ..base.clone() });
        let subscriptions = engine
            .run(&Query { group_by: vec![Dimension::Subscription], ..base.clone() })
            .groups
            .iter()
            .filter(|g| !g.key[0].1.is_empty())
            .count() as u64;
        let admin_query = Query { only_admin: true, include_admin: true, ..base };
        let admin = if options.include_admin { Totals::default() } else { engine.run(&admin_query).total };
        // Reasons of the admin rows under the same filters, classified once by the engine.
        let mut by_reason: BTreeMap<crate::admin::AdminReason, u64> = BTreeMap::new();
        for row in engine.selected(&admin_query).iter() {
            if let Some(reason) = engine.admin_reason(row as usize) {
                *by_reason.entry(reason).or_default() += 1;
            }
        }
        let admin_reasons = by_reason.into_iter().map(|(r, n)| (r.as_str().to_string(), n)).collect();
        Summary {
            rows: result.total.rows,
            subscriptions,
            admin_rows_excluded: admin.rows,
            admin_quantity: admin.quantity,
            admin_reasons,
            quantity: result.total.quantity,
            cost: result.total.cost,
            effective_cost: result.total.effective_cost,
            // Without dimensions the one group is the total, which is already there.
            groups: if options.by.is_empty() { Vec::new() } else { result.groups },
        }
    }
}

/// Longest span of days filled with zeros between the first and the last day with usage.
const MAX_FILLED_DAYS: i64 = 3 * 366;

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
    if last - first > MAX_FILLED_DAYS {
        // A stray far-off date must not turn into millions of empty days.
        return by_day.into_iter().collect();
    }
    (first..=last).map(|d| (d, by_day.get(&d).copied().unwrap_or(0.0))).collect()
}

fn value_to_day(label: &str) -> Option<i64> {
    time::parse_timestamp(label).ok().map(|t| t.div_euclid(DAY))
}

#[cfg(test)]
mod tests;

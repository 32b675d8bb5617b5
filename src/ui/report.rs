//! The report context every visual shares: the data, the view state (kept in the URL), and the measure.

use leptos::prelude::*;
use meterlens_engine::query::{Dimension, Query, QueryResult, SortBy, Totals};

use super::dataset::DatasetSignal;
use super::format::format_number;
use super::view_state::ViewState;
use crate::web;

/// What bars, cells and rankings measure. Costs stay per currency and quantities per unit.
#[derive(Clone, Debug, PartialEq)]
pub enum Measure {
    Rows,
    Cost(String),
    Quantity(String),
}

impl Measure {
    /// Reads the URL form (`rows`, `cost:USD`, `quantity:GB*hours`).
    pub fn parse(text: &str) -> Option<Measure> {
        match text.split_once(':') {
            Some(("cost", c)) => Some(Measure::Cost(c.to_string())),
            Some(("quantity", u)) => Some(Measure::Quantity(u.to_string())),
            _ if text == "rows" => Some(Measure::Rows),
            _ => None,
        }
    }

    pub fn key(&self) -> String {
        match self {
            Measure::Rows => "rows".into(),
            Measure::Cost(c) => format!("cost:{c}"),
            Measure::Quantity(u) => format!("quantity:{u}"),
        }
    }

    /// Axis and column title, with the currency or unit.
    pub fn title(&self) -> String {
        match self {
            Measure::Rows => "Usage rows".into(),
            Measure::Cost(c) => format!("Billed cost ({c})"),
            Measure::Quantity(u) => format!("Quantity ({u})"),
        }
    }

    /// The value of this measure in `totals` (0 when the currency or unit is absent).
    pub fn of(&self, totals: &Totals) -> f64 {
        match self {
            Measure::Rows => totals.rows as f64,
            Measure::Cost(c) => totals.cost.get(c).copied().unwrap_or(0.0),
            Measure::Quantity(u) => totals.quantity.get(u).copied().unwrap_or(0.0),
        }
    }

    /// The value with thousands separators and its currency or unit.
    pub fn show(&self, totals: &Totals) -> String {
        let value = self.of(totals);
        match self {
            Measure::Rows => format!("{} rows", format_number(value, 0)),
            Measure::Cost(c) => format!("{} {c}", format_number(value, 2)),
            Measure::Quantity(u) => format!("{} {u}", format_number(value, 4)),
        }
    }

    /// The engine ordering that ranks groups by this measure.
    pub fn sort(&self) -> SortBy {
        match self {
            Measure::Rows => SortBy::Rows,
            Measure::Cost(c) => SortBy::Cost(c.clone()),
            Measure::Quantity(u) => SortBy::Quantity(u.clone()),
        }
    }

    /// The measures the data offers: each currency, rows, then each unit.
    pub fn choices(totals: &Totals) -> Vec<Measure> {
        let mut out: Vec<Measure> = totals.cost.keys().map(|c| Measure::Cost(c.clone())).collect();
        out.push(Measure::Rows);
        out.extend(totals.quantity.keys().map(|u| Measure::Quantity(u.clone())));
        out
    }
}

/// The shared report handle (cheap to copy into every closure).
#[derive(Clone, Copy)]
pub struct Report {
    pub dataset: DatasetSignal,
    pub state: RwSignal<ViewState>,
}

impl Report {
    /// The report in context (provided by the app shell).
    pub fn get() -> Report {
        expect_context::<Report>()
    }

    /// Changes the view and records it in the URL (a history entry, so Back undoes it).
    pub fn update(&self, change: impl FnOnce(&mut ViewState)) {
        let mut next = self.state.get_untracked();
        change(&mut next);
        if next != self.state.get_untracked() {
            web::set_page_hash(&next.to_hash());
            self.state.set(next);
        }
    }

    /// Runs a query against the loaded data (None before any data).
    pub fn run(&self, query: &Query) -> Option<QueryResult> {
        self.dataset.with(|d| d.as_ref().map(|d| d.engine.run(query)))
    }

    /// The measure the visuals use: the URL's when the data offers it, else the first cost, else rows.
    pub fn measure(&self) -> Memo<Measure> {
        let report = *self;
        Memo::new(move |_| {
            let state = report.state.get();
            let totals = report.run(&state.query(None)).map(|r| r.total).unwrap_or_default();
            let choices = Measure::choices(&totals);
            state
                .measure
                .as_deref()
                .and_then(Measure::parse)
                .filter(|m| choices.contains(m))
                .unwrap_or_else(|| choices.into_iter().next().unwrap_or(Measure::Rows))
        })
    }
}

/// A human label for a dimension (slicer titles, filter chips, column heads).
pub fn dimension_title(dimension: &Dimension) -> String {
    match dimension {
        Dimension::Subscription => "Subscription".into(),
        Dimension::ResourceGroup => "Resource group".into(),
        Dimension::Resource => "Resource".into(),
        Dimension::MeterId => "Meter ID".into(),
        Dimension::MeterName => "Meter".into(),
        Dimension::MeterCategory => "Meter category".into(),
        Dimension::MeterSubcategory => "Meter subcategory".into(),
        Dimension::Location => "Location".into(),
        Dimension::Customer => "Customer".into(),
        Dimension::Unit => "Unit".into(),
        Dimension::SourceFormat => "Source format".into(),
        Dimension::Day => "Day".into(),
        Dimension::Month => "Month".into(),
        Dimension::Hour => "Hour".into(),
        Dimension::CommerceMeterId => "Commerce meter".into(),
        Dimension::BillingUnit => "Billing unit".into(),
        Dimension::Currency => "Currency".into(),
        Dimension::Week => "Week".into(),
        Dimension::SourceFile => "Source file".into(),
        Dimension::Tag(key) => format!("Tag {key}"),
    }
}

/// A value as people read it: the last segment of a resource URI, `(none)` for an empty value.
pub fn value_label(dimension: &Dimension, value: &str) -> String {
    if value.is_empty() {
        return "(none)".into();
    }
    match dimension {
        Dimension::Resource => value.rsplit('/').find(|s| !s.is_empty()).unwrap_or(value).to_string(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_round_trip_and_read_totals() {
        let mut totals = Totals { rows: 12, ..Default::default() };
        totals.cost.insert("EUR".into(), 1234.5);
        totals.quantity.insert("GB*hours".into(), 3.0);
        let choices = Measure::choices(&totals);
        assert_eq!(choices, vec![Measure::Cost("EUR".into()), Measure::Rows, Measure::Quantity("GB*hours".into())]);
        for m in &choices {
            assert_eq!(Measure::parse(&m.key()).as_ref(), Some(m));
        }
        assert_eq!(Measure::Cost("EUR".into()).show(&totals), "1,234.5 EUR");
        assert_eq!(Measure::Cost("USD".into()).of(&totals), 0.0, "never another currency");
        assert_eq!(Measure::Rows.show(&totals), "12 rows");
        assert_eq!(Measure::parse("bogus"), None);
    }

    #[test]
    fn resource_labels() {
        let uri = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web01";
        assert_eq!(value_label(&Dimension::Resource, uri), "web01");
        assert_eq!(value_label(&Dimension::MeterName, ""), "(none)");
    }
}

//! Leptos components and pages. Components stay thin: numbers come from the engine, browser access from `web`.

pub mod app;
mod bill_page;
mod dataset;
mod file_loader;
mod format;
mod issues_panel;
pub mod kpi_cards;
mod meters_page;
mod prices_store;
mod reconcile_page;
mod usage_chart;

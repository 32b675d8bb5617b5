//! Leptos components and pages. Components stay thin: numbers come from the engine, browser access from `web`.

pub mod app;
mod bill_page;
mod connect_page;
mod data_page;
mod dataset;
mod explorer_page;
mod file_loader;
mod format;
mod issues_panel;
pub mod kpi_cards;
mod meters_page;
mod overview_page;
mod prices_store;
mod reconcile_page;
mod report;
mod resources_page;
mod slicers;
pub mod view_state;
mod visuals;

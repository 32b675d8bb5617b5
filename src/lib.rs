//! MeterLens web app (Leptos CSR): the UI asks the engine questions and draws the answers.

pub mod chart;
pub mod load;
pub mod ui;
pub mod web;

pub use ui::app::App;

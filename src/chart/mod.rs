//! Charts drawn with plotters into SVG text: pure functions of engine answers, testable natively.

mod bars;
mod waterfall;

pub use bars::{bar_chart, column_chart, compact_number, shorten, Bar, BarChart, HitBox, PALETTE};
pub use waterfall::waterfall_svg;

/// What a chart shows when drawing failed (plotters' error text, never file text).
fn failed_svg(error: &str) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"8\" y=\"20\">chart failed: {error}</text></svg>")
}

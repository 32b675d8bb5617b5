//! Charts drawn with plotters into SVG text: pure functions of engine answers, testable natively.

mod daily_usage;
mod waterfall;

pub use daily_usage::daily_usage_svg;
pub use waterfall::waterfall_svg;

//! Usage per UTC day for one unit, as an SVG bar chart.

use meterlens_engine::time::day_label;
use plotters::prelude::*;

const BAR: RGBColor = RGBColor(0x1f, 0x6f, 0xb2);

/// Draws `days` (UTC day number, quantity) as bars, the y axis labelled with `unit`.
pub fn daily_usage_svg(days: &[(i64, f64)], unit: &str, width: u32, height: u32) -> String {
    let mut svg = String::new();
    if let Err(error) = draw(&mut svg, days, unit, width, height) {
        return super::failed_svg(&error);
    }
    svg
}

fn draw(svg: &mut String, days: &[(i64, f64)], unit: &str, width: u32, height: u32) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (first, last) = match (days.first(), days.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => {
            root.draw(&Text::new("No usage to show", (20, 30), ("sans-serif", 16))).map_err(|e| e.to_string())?;
            return root.present().map_err(|e| e.to_string());
        }
    };
    let top = days.iter().map(|d| d.1).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(first as f64 - 0.5..last as f64 + 0.5, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(days.len().clamp(2, 9))
        .x_label_formatter(&|x| {
            // Only whole days get a label, so a short range does not repeat one day.
            if (x - x.round()).abs() > 0.05 {
                return String::new();
            }
            day_label(x.round() as i64).get(5..).unwrap_or_default().to_string()
        })
        .y_label_formatter(&|y| compact_number(*y))
        .y_desc(unit)
        .x_desc("Day (UTC)")
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(days.iter().map(|&(day, quantity)| {
            Rectangle::new([(day as f64 - 0.4, 0.0), (day as f64 + 0.4, quantity)], BAR.filled())
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// `1234567` → `1.2M`, short enough for an axis.
fn compact_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 10.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_day_and_labelled_axes() {
        let oct1 = 1_790_812_800 / 86_400;
        let svg = daily_usage_svg(&[(oct1, 10.0), (oct1 + 1, 0.0), (oct1 + 2, 25.0)], "Virtual core hours", 640, 320);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Virtual core hours"));
        assert!(svg.contains("Day (UTC)"));
        assert!(svg.contains("10-01"));
        let bars = svg.matches("fill=\"#1F6FB2\"").count();
        assert_eq!(bars, 3, "{svg}");
    }

    #[test]
    fn one_day_is_labelled_once() {
        let svg = daily_usage_svg(&[(20_000, 48.0)], "Virtual core hours", 640, 320);
        assert_eq!(svg.matches("10-04").count(), 1, "{svg}");
    }

    #[test]
    fn text_from_files_stays_text() {
        let svg = daily_usage_svg(&[(20_000, 1.0)], "<script>alert(1)</script>\"><img onerror=x>", 640, 320);
        assert!(!svg.contains("<script") && !svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn empty_data_says_so() {
        assert!(daily_usage_svg(&[], "GB*hours", 300, 200).contains("No usage to show"));
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact_number(1_234_567.0), "1.2M");
        assert_eq!(compact_number(950.0), "950");
        assert_eq!(compact_number(2.5), "2.50");
        assert_eq!(compact_number(0.0), "0");
        assert_eq!(compact_number(5.0), "5");
    }
}

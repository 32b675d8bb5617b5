//! A waterfall: from one total, through signed steps, to another total (SVG).

use plotters::prelude::*;

const TOTAL: RGBColor = RGBColor(0x1f, 0x6f, 0xb2);
const UP: RGBColor = RGBColor(0x2e, 0x9e, 0x5b);
const DOWN: RGBColor = RGBColor(0xd6, 0x45, 0x45);

/// Bars: `start` total, each (label, step), then the `end` total, all in `unit`.
pub fn waterfall_svg(
    start: (&str, f64),
    steps: &[(String, f64)],
    end: (&str, f64),
    unit: &str,
    width: u32,
    height: u32,
) -> String {
    let mut svg = String::new();
    if let Err(error) = draw(&mut svg, start, steps, end, unit, width, height) {
        return super::failed_svg(&error);
    }
    svg
}

fn draw(
    svg: &mut String,
    start: (&str, f64),
    steps: &[(String, f64)],
    end: (&str, f64),
    unit: &str,
    width: u32,
    height: u32,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let root = SVGBackend::with_string(svg, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    // Each bar spans [low, high]; totals start at zero.
    let mut bars: Vec<(String, f64, f64, RGBColor)> = vec![(start.0.to_string(), 0.0, start.1, TOTAL)];
    let mut level = start.1;
    for (label, step) in steps {
        let next = level + step;
        bars.push((label.clone(), level.min(next), level.max(next), if *step >= 0.0 { UP } else { DOWN }));
        level = next;
    }
    bars.push((end.0.to_string(), 0.0, end.1, TOTAL));
    let top = bars.iter().map(|b| b.2).fold(0.0, f64::max) * 1.1;
    let bottom = bars.iter().map(|b| b.1).fold(0.0, f64::min);
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..bars.len() as f64 - 0.5, bottom..if top > 0.0 { top } else { 1.0 })
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(bars.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.05 || i < 0.0 {
                return String::new();
            }
            labels.get(i as usize).cloned().unwrap_or_default()
        })
        .y_desc(unit)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, low, high, color))| {
            Rectangle::new([(i as f64 - 0.35, *low), (i as f64 + 0.35, *high)], color.filled())
        }))
        .map_err(e)?;
    root.present().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_from_total_through_steps_to_total() {
        let steps = vec![("Midnight shift".to_string(), 0.0), ("Unexplained".to_string(), -28.0)];
        let svg = waterfall_svg(("Azure Stack", 168.0), &steps, ("Azure", 140.0), "Virtual core hours", 700, 300);
        assert!(svg.contains("Unexplained") && svg.contains("Azure Stack") && svg.contains("Virtual core hours"));
        assert_eq!(svg.matches("fill=\"#1F6FB2\"").count(), 2, "two totals");
        assert_eq!(svg.matches("fill=\"#D64545\"").count(), 1, "one step down");
    }
}

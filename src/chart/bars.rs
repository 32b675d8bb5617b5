//! Bar charts (columns over time, horizontal bars per category) with the pixel box of every bar, so the page can
//! lay clickable, labelled areas over the drawing for cross-filtering and tooltips.

use plotters::coord::Shift;
use plotters::prelude::*;

/// One bar: its label, its value and whether the user selected it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub selected: bool,
}

/// Where bar `index` is drawn, in SVG pixels (the area a click or a tooltip answers to).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HitBox {
    pub index: usize,
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

/// A drawn chart: SVG text and the hit box of each bar.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BarChart {
    pub svg: String,
    pub hits: Vec<HitBox>,
    pub width: u32,
    pub height: u32,
}

/// The report palette (Power BI's default order); one colour per position, the same everywhere.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x11, 0x8D, 0xFF),
    RGBColor(0x12, 0x23, 0x9E),
    RGBColor(0xE6, 0x6C, 0x37),
    RGBColor(0x6B, 0x00, 0x7B),
    RGBColor(0xE0, 0x44, 0xA7),
    RGBColor(0x74, 0x4E, 0xC2),
    RGBColor(0xD9, 0xB3, 0x00),
    RGBColor(0xD6, 0x45, 0x50),
];

const DIMMED: RGBColor = RGBColor(0xC8, 0xD3, 0xE0);
const LABEL_CHARS: usize = 26;

fn colour(bar: &Bar, any_selected: bool, base: RGBColor) -> RGBColor {
    if any_selected && !bar.selected {
        DIMMED
    } else {
        base
    }
}

/// Vertical bars in label order (time buckets), the value axis described by `value_axis`.
pub fn column_chart(bars: &[Bar], value_axis: &str, category_axis: &str, width: u32, height: u32) -> BarChart {
    render(bars, width, height, |root, hits| draw_columns(root, bars, value_axis, category_axis, hits))
}

/// Horizontal bars, first bar on top, labels on the left.
pub fn bar_chart(bars: &[Bar], value_axis: &str, width: u32, height: u32) -> BarChart {
    render(bars, width, height, |root, hits| draw_bars(root, bars, value_axis, hits))
}

/// Draws on a white SVG canvas ("nothing to show" without bars); a drawing error becomes the failed-chart SVG.
fn render(
    bars: &[Bar],
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<'_>, &mut Vec<HitBox>) -> Result<(), String>,
) -> BarChart {
    let mut chart = BarChart { width, height, ..Default::default() };
    let result = {
        let root = SVGBackend::with_string(&mut chart.svg, (width, height)).into_drawing_area();
        match root.fill(&WHITE).map_err(|e| e.to_string()) {
            Err(e) => Err(e),
            Ok(()) if bars.is_empty() => nothing(&root),
            Ok(()) => draw(&root, &mut chart.hits),
        }
    };
    if let Err(error) = result {
        chart.svg = super::failed_svg(&error);
        chart.hits.clear();
    }
    chart
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn nothing(root: &Area<'_>) -> Result<(), String> {
    root.draw(&Text::new("Nothing to show for this selection", (16, 28), ("sans-serif", 15).into_font().color(&BLACK)))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn value_range(bars: &[Bar]) -> std::ops::Range<f64> {
    let top = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let bottom = bars.iter().map(|b| b.value).fold(0.0, f64::min);
    let top = if top > 0.0 { top * 1.08 } else { 1.0 };
    (if bottom < 0.0 { bottom * 1.08 } else { 0.0 })..top
}

fn draw_columns(
    root: &Area<'_>,
    bars: &[Bar],
    value_axis: &str,
    category_axis: &str,
    hits: &mut Vec<HitBox>,
) -> Result<(), String> {
    let n = bars.len();
    let range = value_range(bars);
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, range.clone())
        .map_err(|e| e.to_string())?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xE6, 0xE9, 0xEE))
        .x_labels(n.clamp(2, 10))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() > 0.05 {
                return String::new();
            }
            labels.get(x.round() as usize).map(|l| short_time_label(l)).unwrap_or_default()
        })
        .y_label_formatter(&|y| compact_number(*y))
        .y_desc(value_axis)
        .x_desc(category_axis)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    let any_selected = bars.iter().any(|b| b.selected);
    let width = if n > 60 { 0.5 } else { 0.38 };
    chart
        .draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let x = i as f64;
            Rectangle::new([(x - width, 0.0), (x + width, bar.value)], colour(bar, any_selected, PALETTE[0]).filled())
        }))
        .map_err(|e| e.to_string())?;
    for i in 0..n {
        let (left, top) = chart.backend_coord(&(i as f64 - 0.5, range.end));
        let (right, bottom) = chart.backend_coord(&(i as f64 + 0.5, range.start));
        hits.push(HitBox { index: i, x: left, y: top, width: (right - left).max(1), height: (bottom - top).max(1) });
    }
    root.present().map_err(|e| e.to_string())
}

fn draw_bars(root: &Area<'_>, bars: &[Bar], value_axis: &str, hits: &mut Vec<HitBox>) -> Result<(), String> {
    let n = bars.len();
    let range = value_range(bars);
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(190)
        .build_cartesian_2d(range.clone(), -0.5..n as f64 - 0.5)
        .map_err(|e| e.to_string())?;
    let row = |i: usize| (n - 1 - i) as f64;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xE6, 0xE9, 0xEE))
        .y_labels(n)
        .y_label_formatter(&|y| {
            if (y - y.round()).abs() > 0.05 || y.round() < 0.0 {
                return String::new();
            }
            let i = n.saturating_sub(1 + y.round() as usize);
            labels.get(i).map(|l| shorten(l, LABEL_CHARS)).unwrap_or_default()
        })
        .x_label_formatter(&|x| compact_number(*x))
        .x_desc(value_axis)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    let any_selected = bars.iter().any(|b| b.selected);
    chart
        .draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let y = row(i);
            let base = PALETTE[i % PALETTE.len()];
            Rectangle::new([(0.0, y - 0.34), (bar.value, y + 0.34)], colour(bar, any_selected, base).filled())
        }))
        .map_err(|e| e.to_string())?;
    for i in 0..n {
        let (_, top) = chart.backend_coord(&(range.start, row(i) + 0.5));
        let (right, bottom) = chart.backend_coord(&(range.end, row(i) - 0.5));
        // The label belongs to the bar too: the hit box starts at the left edge.
        hits.push(HitBox { index: i, x: 0, y: top, width: right.max(1), height: (bottom - top).max(1) });
    }
    root.present().map_err(|e| e.to_string())
}

/// `2026-10-03` → `10-03`; `2026-10-03 05:00` → `03 05h`; other labels as they are.
fn short_time_label(label: &str) -> String {
    match label.len() {
        10 if label.as_bytes().get(4) == Some(&b'-') => label[5..].to_string(),
        16 | 17 if label.as_bytes().get(4) == Some(&b'-') => format!("{} {}h", &label[8..10], &label[11..13]),
        _ => label.to_string(),
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `1234567` → `1.2M`, short enough for an axis.
pub fn compact_number(value: f64) -> String {
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

    fn bars(values: &[(&str, f64)]) -> Vec<Bar> {
        values.iter().map(|(l, v)| Bar { label: l.to_string(), value: *v, selected: false }).collect()
    }

    #[test]
    fn columns_have_one_hit_box_each_left_to_right() {
        let chart = column_chart(
            &bars(&[("2026-10-01", 10.0), ("2026-10-02", 0.0), ("2026-10-03", 25.0)]),
            "Virtual core hours",
            "Day (UTC)",
            640,
            320,
        );
        assert!(chart.svg.starts_with("<svg"), "{}", chart.svg);
        assert!(chart.svg.contains("Virtual core hours") && chart.svg.contains("Day (UTC)"));
        assert!(chart.svg.contains("10-01"));
        assert_eq!(chart.svg.matches("fill=\"#118DFF\"").count(), 3, "{}", chart.svg);
        assert_eq!(chart.hits.len(), 3);
        assert!(chart.hits.windows(2).all(|w| w[0].x + w[0].width <= w[1].x + 1 && w[0].x < w[1].x));
        assert!(chart.hits.iter().all(|h| h.x >= 0 && h.x + h.width <= 640 && h.y >= 0 && h.y + h.height <= 320));
    }

    #[test]
    fn bars_top_down_and_a_selection_dims_the_rest() {
        let mut data = bars(&[("Compute", 30.0), ("Storage", 20.0), ("Networking", 5.0)]);
        data[1].selected = true;
        let chart = bar_chart(&data, "Cost (USD)", 640, 240);
        assert_eq!(chart.hits.len(), 3);
        assert!(chart.hits[0].y < chart.hits[1].y && chart.hits[1].y < chart.hits[2].y, "{:?}", chart.hits);
        assert_eq!(chart.svg.matches("fill=\"#C8D3E0\"").count(), 2, "two dimmed bars");
        assert!(chart.svg.contains("Compute") && chart.svg.contains("Cost (USD)"));
    }

    #[test]
    fn text_from_files_stays_text() {
        let hostile = "<script>alert(1)</script>\"><img onerror=x>";
        let chart = bar_chart(&bars(&[(hostile, 1.0)]), hostile, 640, 200);
        assert!(!chart.svg.contains("<script") && !chart.svg.contains("<img"), "{}", chart.svg);
        assert!(chart.svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn empty_data_says_so() {
        let chart = column_chart(&[], "GB*hours", "Day", 300, 200);
        assert!(chart.svg.contains("Nothing to show"));
        assert!(chart.hits.is_empty());
    }

    #[test]
    fn labels_and_numbers() {
        assert_eq!(short_time_label("2026-10-03"), "10-03");
        assert_eq!(short_time_label("2026-10-03 05:00"), "03 05h");
        assert_eq!(short_time_label("2026-10-03T05:00Z"), "03 05h");
        assert_eq!(short_time_label("2026-10"), "2026-10");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
        assert_eq!(compact_number(1_234_567.0), "1.2M");
        assert_eq!(compact_number(950.0), "950");
        assert_eq!(compact_number(2.5), "2.50");
    }
}

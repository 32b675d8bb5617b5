//! Report visuals: a chart card (plotters SVG under clickable, labelled bar areas, with a tooltip, CSV/SVG/PNG
//! export and drill-through), and the charts built on it: usage over time, top-N bars and the drillable breakdown.

use leptos::prelude::*;
use meterlens_engine::export::csv_field;
use meterlens_engine::query::{Dimension, Query, OTHERS};

use super::report::{dimension_title, value_label, Measure, Report};
use super::view_state::{Grain, Page, HIERARCHY};
use crate::chart::{bar_chart, column_chart, Bar, BarChart};
use crate::web;

/// What a chart card draws: the chart, and per bar its key, a tooltip and a CSV line.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct VisualData {
    pub chart: BarChart,
    /// The value behind each bar (what a click selects).
    pub keys: Vec<String>,
    /// Exact value with unit or currency, per bar.
    pub tooltips: Vec<String>,
    /// The data behind the chart as CSV.
    pub csv: String,
}

/// Bars and their CSV from query groups keyed by one dimension.
fn visual_data(
    dimension: &Dimension,
    groups: &[meterlens_engine::query::Group],
    measure: &Measure,
    selected: impl Fn(&str) -> bool,
    draw: impl Fn(&[Bar]) -> BarChart,
) -> VisualData {
    let mut csv = format!("{},{},rows\n", csv_field(&dimension_title(dimension)), csv_field(&measure.title()));
    let mut bars = Vec::new();
    let mut keys = Vec::new();
    let mut tooltips = Vec::new();
    for g in groups {
        let key = g.key[0].1.clone();
        let label = value_label(dimension, &key);
        let value = measure.of(&g.totals);
        csv += &format!("{},{value},{}\n", csv_field(&key), g.totals.rows);
        tooltips.push(format!("{label}: {} · {} rows", measure.show(&g.totals), g.totals.rows));
        bars.push(Bar { label, value, selected: selected(&key) });
        keys.push(key);
    }
    VisualData { chart: draw(&bars), keys, tooltips, csv }
}

/// A card with a chart whose bars answer clicks and keys (`on_pick` gets the bar's key).
#[component]
pub fn ChartCard(
    #[prop(into)] title: Signal<String>,
    testid: &'static str,
    data: Memo<VisualData>,
    on_pick: Callback<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let report = Report::get();
    let hovered = RwSignal::new(None::<usize>);
    let file_stem = move || title.get_untracked().to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    view! {
        <section class="card chart-card" data-testid=testid>
            <div class="card-head">
                <h2>{move || title.get()}</h2>
                <div class="card-tools">
                    {children.map(|c| c())}
                    <button class="tool" title="Show the rows behind this visual on the Data page" data-testid="drill-through"
                        on:click=move |_| report.update(|s| s.page = Page::Data)>"Rows ↗"</button>
                    <button class="tool" title="Download the data behind this chart as CSV" data-testid="export-csv"
                        on:click=move |_| data.with_untracked(|d| web::download_text(&format!("{}.csv", file_stem()), "text/csv", &d.csv))>"CSV"</button>
                    <button class="tool" title="Download the chart as SVG" data-testid="export-svg"
                        on:click=move |_| data.with_untracked(|d| web::download_text(&format!("{}.svg", file_stem()), "image/svg+xml", &d.chart.svg))>"SVG"</button>
                    <button class="tool" title="Download the chart as PNG" data-testid="export-png"
                        on:click=move |_| data.with_untracked(|d| web::download_svg_as_png(&format!("{}.png", file_stem()), &d.chart.svg, d.chart.width, d.chart.height))>"PNG"</button>
                </div>
            </div>
            <div class="chart-wrap" on:mouseleave=move |_| hovered.set(None)>
                <div class="chart" inner_html=move || data.with(|d| d.chart.svg.clone())></div>
                {move || data.with(|d| {
                    let (w, h) = (d.chart.width.max(1) as f64, d.chart.height.max(1) as f64);
                    d.chart.hits.iter().map(|hit| {
                        let i = hit.index;
                        let key = d.keys.get(i).cloned().unwrap_or_default();
                        let tip = d.tooltips.get(i).cloned().unwrap_or_default();
                        let style = format!(
                            "left:{:.3}%;top:{:.3}%;width:{:.3}%;height:{:.3}%",
                            hit.x as f64 / w * 100.0, hit.y as f64 / h * 100.0,
                            hit.width as f64 / w * 100.0, hit.height as f64 / h * 100.0
                        );
                        let pick = key.clone();
                        view! {
                            <button class="hit" style=style aria-label=tip.clone() title=tip data-key=key
                                on:mouseenter=move |_| hovered.set(Some(i))
                                on:focus=move |_| hovered.set(Some(i))
                                on:click=move |_| on_pick.run(pick.clone())></button>
                        }
                    }).collect_view()
                })}
                {move || hovered.get().and_then(|i| data.with(|d| {
                    let hit = d.chart.hits.get(i)?;
                    let left = (hit.x as f64 + hit.width as f64 / 2.0) / d.chart.width.max(1) as f64 * 100.0;
                    let top = hit.y as f64 / d.chart.height.max(1) as f64 * 100.0;
                    let style = format!("left:{left:.2}%;top:{top:.2}%");
                    Some(view! { <div class="tooltip" role="tooltip" data-testid="tooltip" style=style>{d.tooltips.get(i).cloned()}</div> })
                }))}
            </div>
        </section>
    }
}

/// The measure over time, at the chosen grain; a click selects that bucket's days.
#[component]
pub fn TimeVisual(measure: Memo<Measure>) -> impl IntoView {
    let report = Report::get();
    let data = Memo::new(move |_| {
        let state = report.state.get();
        let measure = measure.get();
        let grain = state.grain;
        let dimension = grain.dimension();
        let query = Query { group_by: vec![dimension.clone()], ..state.query(Some(&Dimension::Day)) };
        let result = report.run(&query).unwrap_or_default();
        let axis = format!("{} (UTC)", dimension_title(&dimension));
        visual_data(
            &dimension,
            &result.groups,
            &measure,
            |k| state.bucket_selected(k),
            |bars| column_chart(bars, &measure.title(), &axis, 1100, 300),
        )
    });
    let title = Signal::derive(move || format!("{} per {}", measure.get().title(), report.state.get().grain.name()));
    let pick = Callback::new(move |key: String| report.update(|s| s.select_bucket(s.grain, &key)));
    view! {
        <ChartCard title=title testid="time-visual" data=data on_pick=pick>
            <div class="segmented" role="group" aria-label="Time grain">
                {Grain::ALL.into_iter().map(|g| view! {
                    <button class="tool" class:active=move || report.state.get().grain == g
                        aria-pressed=move || (report.state.get().grain == g).to_string()
                        data-testid=format!("grain-{}", g.name())
                        on:click=move |_| report.update(|s| s.grain = g)>{g.name()}</button>
                }).collect_view()}
            </div>
        </ChartCard>
    }
}

/// The `top` values of `dimension` by the measure as horizontal bars (the others summed in `Others`), under every
/// filter but the one on `dimension`, whose selected values are highlighted.
fn ranked_bars(report: Report, dimension: &Dimension, measure: &Measure, top: usize) -> VisualData {
    let state = report.state.get();
    let query = Query {
        group_by: vec![dimension.clone()],
        sort: measure.sort(),
        top: Some(top),
        ..state.query(Some(dimension))
    };
    let result = report.run(&query).unwrap_or_default();
    let selected = state.selection(dimension);
    let height = 70 + 30 * result.groups.len().max(1) as u32;
    visual_data(
        dimension,
        &result.groups,
        measure,
        |k| selected.iter().any(|s| s == k),
        |bars| bar_chart(bars, &measure.title(), 540, height),
    )
}

/// The top `top` values of `dimension` by the measure; a click toggles that value as a filter for every visual.
#[component]
pub fn TopVisual(
    title: &'static str,
    testid: &'static str,
    dimension: Dimension,
    measure: Memo<Measure>,
    #[prop(default = 10)] top: usize,
) -> impl IntoView {
    let report = Report::get();
    let dim = dimension.clone();
    let data = Memo::new(move |_| ranked_bars(report, &dim, &measure.get(), top));
    let pick = Callback::new(move |key: String| {
        if key != OTHERS {
            report.update(|s| s.toggle(dimension.clone(), &key));
        }
    });
    view! { <ChartCard title=title.to_string() testid=testid data=data on_pick=pick /> }
}

/// Meter category → meter → resource: a click drills down one level, breadcrumbs drill back up.
#[component]
pub fn BreakdownVisual(measure: Memo<Measure>) -> impl IntoView {
    let report = Report::get();
    let level = Memo::new(move |_| report.state.get().drill_depth().min(HIERARCHY.len() - 1));
    let data = Memo::new(move |_| ranked_bars(report, &HIERARCHY[level.get()], &measure.get(), 12));
    let title = Signal::derive(move || {
        format!("{} by {}", measure.get().title(), dimension_title(&HIERARCHY[level.get()]).to_lowercase())
    });
    let pick = Callback::new(move |key: String| {
        if key == OTHERS {
            return;
        }
        let depth = level.get_untracked();
        report.update(|s| {
            if depth + 1 < HIERARCHY.len() {
                s.set_selection(HIERARCHY[depth].clone(), vec![key]);
            } else {
                s.toggle(HIERARCHY[depth].clone(), &key);
            }
        });
    });
    let crumbs = move || {
        let state = report.state.get();
        let depth = state.drill_depth();
        let mut items = vec![view! {
            <button class="crumb" data-testid="crumb-0" on:click=move |_| report.update(|s| HIERARCHY.iter().for_each(|d| s.set_selection(d.clone(), Vec::new())))>
                "All categories"
            </button>
        }.into_any()];
        for (i, dimension) in HIERARCHY.iter().enumerate().take(depth) {
            let value = value_label(dimension, &state.selection(dimension)[0]);
            items.push(view! { <span class="sep" aria-hidden="true">"›"</span> }.into_any());
            items.push(view! {
                <button class="crumb" data-testid=format!("crumb-{}", i + 1)
                    on:click=move |_| report.update(|s| HIERARCHY[i + 1..].iter().for_each(|d| s.set_selection(d.clone(), Vec::new())))>
                    {value}
                </button>
            }.into_any());
        }
        items
    };
    view! {
        <ChartCard title=title testid="breakdown-visual" data=data on_pick=pick>
            <nav class="breadcrumbs" aria-label="Drill path" data-testid="breadcrumbs">{crumbs}</nav>
            <button class="tool" data-testid="drill-up" title="Drill up one level"
                disabled=move || level.get() == 0 && report.state.get().selection(&HIERARCHY[0]).is_empty()
                on:click=move |_| {
                    let depth = report.state.get_untracked().drill_depth();
                    if depth > 0 {
                        report.update(|s| HIERARCHY[depth - 1..].iter().for_each(|d| s.set_selection(d.clone(), Vec::new())));
                    }
                }>"⤴ Up"</button>
        </ChartCard>
    }
}

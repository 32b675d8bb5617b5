//! The Overview page: KPI cards, the measure over time, the drillable breakdown, top meters and resource groups.

use leptos::prelude::*;
use meterlens_engine::query::{Dimension, Query};
use meterlens_engine::summary::{Summary, SummaryOptions};

use super::format::format_number;
use super::kpi_cards::KpiCards;
use super::report::{Measure, Report};
use super::visuals::{BreakdownVisual, TimeVisual, TopVisual};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let report = Report::get();
    let measure = report.measure();
    let summary = Memo::new(move |_| {
        let state = report.state.get();
        let options = SummaryOptions {
            filters: state.query(None).filters,
            include_admin: state.include_admin,
            ..Default::default()
        };
        report.dataset.with(|d| d.as_ref().map(|d| Summary::with_engine(&d.engine, &options)))
    });
    let resources = Memo::new(move |_| {
        let query = Query { distinct_resources: true, ..report.state.get().query(None) };
        report.run(&query).map_or(0, |r| r.total.resources)
    });
    let choices = Memo::new(move |_| {
        report.run(&report.state.get().query(None)).map(|r| Measure::choices(&r.total)).unwrap_or_default()
    });
    view! {
        <div class="page-head">
            <h2 class="page-title">"Overview"</h2>
            <label class="measure">"Measure "
                <select data-testid="measure" aria-label="Measure for the charts"
                    on:change=move |ev| { let v = event_target_value(&ev); report.update(|s| s.measure = Some(v)) }>
                    {move || choices.get().into_iter().map(|m| {
                        let selected = m == measure.get();
                        view! { <option value=m.key() selected=selected>{m.title()}</option> }
                    }).collect_view()}
                </select>
            </label>
        </div>
        <KpiCards summary=summary>
            <div class="kpi" data-testid="kpi-resources" data-value=move || resources.get().to_string()>
                <span class="kpi-label">"Resources"</span>
                <span class="kpi-value">{move || format_number(resources.get() as f64, 0)}</span>
            </div>
            <div class="kpi" data-testid="kpi-admin" data-value=move || summary.get().map_or(0, |s| s.admin_rows_excluded).to_string()>
                <span class="kpi-label">"Admin rows hidden"</span>
                <span class="kpi-value">{move || format_number(summary.get().map_or(0, |s| s.admin_rows_excluded) as f64, 0)}</span>
            </div>
        </KpiCards>
        <TimeVisual measure=measure />
        <div class="visual-grid">
            <BreakdownVisual measure=measure />
            <TopVisual title="Top meters" testid="top-meters" dimension=Dimension::MeterName measure=measure />
            <TopVisual title="Top resource groups" testid="top-resource-groups" dimension=Dimension::ResourceGroup measure=measure />
            <TopVisual title="Subscriptions" testid="top-subscriptions" dimension=Dimension::Subscription measure=measure top=8 />
        </div>
    }
}

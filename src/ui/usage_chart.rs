//! Usage per day for a chosen unit (quantities of different units are never added).

use leptos::prelude::*;
use meterlens_engine::summary::{daily_quantity, Summary};

use crate::chart::daily_usage_svg;

/// The unit shown first when present: compute is what most bills are about.
const PREFERRED_UNIT: &str = "Virtual core hours";

#[component]
pub fn UsageChart(summary: Memo<Option<Summary>>) -> impl IntoView {
    let chosen = RwSignal::new(None::<String>);
    let units = Memo::new(move |_| {
        summary.with(|s| s.as_ref().map(|s| s.quantity.keys().cloned().collect::<Vec<_>>()).unwrap_or_default())
    });
    let unit = Memo::new(move |_| {
        let units = units.get();
        chosen
            .get()
            .filter(|u| units.contains(u))
            .or_else(|| units.iter().find(|u| *u == PREFERRED_UNIT).cloned())
            .or_else(|| units.first().cloned())
    });
    let svg = Memo::new(move |_| {
        let unit = unit.get()?;
        summary.with(|s| s.as_ref().map(|s| daily_usage_svg(&daily_quantity(s, &unit), &unit, 900, 340)))
    });
    view! {
        <section class="card chart-card" data-testid="usage-chart">
            <div class="card-head">
                <h2>"Usage per day"</h2>
                <label>
                    "Unit "
                    <select data-testid="unit-select" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                        {move || units.get().into_iter().map(|u| {
                            let selected = unit.get().as_deref() == Some(u.as_str());
                            view! { <option value=u.clone() selected=selected>{u.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="chart" inner_html=move || svg.get().unwrap_or_default()></div>
        </section>
    }
}

//! Slicers (date range, subscription, resource group, meter category, meter, location, source file, customer when
//! Partner Center files give one, tag) with
//! row counts under the other filters, and the bar of active filters with "clear all".

use leptos::prelude::*;
use meterlens_engine::query::{Dimension, Query};
use meterlens_engine::table::StrId;
use meterlens_engine::time::day_label;

use super::format::format_number;
use super::report::{dimension_title, value_label, Report};
use crate::web;

/// Values listed per slicer (the search box finds the rest).
const LISTED: usize = 60;

const SLICED: [Dimension; 6] = [
    Dimension::Subscription,
    Dimension::ResourceGroup,
    Dimension::MeterCategory,
    Dimension::MeterName,
    Dimension::Location,
    Dimension::SourceFile,
];

#[component]
pub fn SlicerPanel() -> impl IntoView {
    let report = Report::get();
    let tag_key = RwSignal::new(String::new());
    let tag_keys =
        Memo::new(move |_| report.dataset.with(|d| d.as_ref().map(|d| d.table.tag_keys()).unwrap_or_default()));
    // CSP data (Partner Center files) names its customers; other data has none to slice by.
    let has_customers = Memo::new(move |_| {
        report.dataset.with(|d| d.as_ref().is_some_and(|d| d.table.customer.iter().any(|c| *c != StrId::EMPTY)))
    });
    view! {
        <aside class="slicers" aria-label="Slicers" data-testid="slicers">
            <h2>"Filters"</h2>
            <DateSlicer />
            {SLICED.into_iter().map(|d| view! { <Slicer dimension=d /> }).collect_view()}
            {move || has_customers.get().then(|| view! { <Slicer dimension=Dimension::Customer /> })}
            {move || (!tag_keys.get().is_empty()).then(|| view! {
                <div class="slicer tag-slicer">
                    <label class="slicer-title">"Tag "
                        <select data-testid="tag-key" aria-label="Tag key" on:change=move |ev| tag_key.set(event_target_value(&ev))>
                            <option value="">"choose a key"</option>
                            {tag_keys.get().into_iter().map(|k| view! { <option value=k.clone()>{k.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    {move || (!tag_key.get().is_empty()).then(|| view! { <Slicer dimension=Dimension::Tag(tag_key.get()) open=true /> })}
                </div>
            })}
        </aside>
    }
}

/// First and last day, inclusive, within the days the data covers.
#[component]
fn DateSlicer() -> impl IntoView {
    let report = Report::get();
    let bounds = Memo::new(move |_| {
        report.dataset.with(|d| {
            let t = &d.as_ref()?.table;
            let first = t.usage_start.iter().min()?;
            let last = t.usage_start.iter().max()?;
            Some((day_label(first.div_euclid(86_400)), day_label(last.div_euclid(86_400))))
        })
    });
    let min = move || bounds.get().map(|b| b.0).unwrap_or_default();
    let max = move || bounds.get().map(|b| b.1).unwrap_or_default();
    view! {
        <div class="slicer date-slicer" data-testid="slicer-date">
            <span class="slicer-title">"Date (UTC)"</span>
            <label>"From "
                <input type="date" data-testid="date-from" min=min max=max
                    prop:value=move || report.state.get().from.unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev); report.update(|s| s.from = Some(v).filter(|v| !v.is_empty())) } />
            </label>
            <label>"To "
                <input type="date" data-testid="date-to" min=min max=max
                    prop:value=move || report.state.get().to.unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev); report.update(|s| s.to = Some(v).filter(|v| !v.is_empty())) } />
            </label>
        </div>
    }
}

/// One dimension's values with their counts; counted only while open, so closed slicers cost nothing.
#[component]
fn Slicer(dimension: Dimension, #[prop(optional)] open: bool) -> impl IntoView {
    let report = Report::get();
    let is_open = RwSignal::new(open);
    let search = RwSignal::new(String::new());
    let dim = dimension.clone();
    let values = Memo::new(move |_| {
        if !is_open.get() {
            return Vec::new();
        }
        let state = report.state.get();
        let query: Query = state.query(None);
        report.dataset.with(|d| d.as_ref().map(|d| d.engine.slicer(&query, &dim)).unwrap_or_default())
    });
    let dim = dimension.clone();
    let chosen = Memo::new(move |_| report.state.get().selection(&dim).to_vec());
    let name = dimension.name();
    let title = dimension_title(&dimension);
    let dim = dimension.clone();
    view! {
        <details class="slicer" data-testid=format!("slicer-{name}") prop:open=open
            on:toggle=move |ev| is_open.set(web::details_open(&ev))>
            <summary class="slicer-title">
                {title.clone()}
                {move || { let n = chosen.get().len(); (n > 0).then(|| view! { <span class="badge">{n}</span> }) }}
            </summary>
            {move || (values.with(Vec::len) > 12).then(|| view! {
                <input type="search" class="slicer-search" placeholder="Search" aria-label=format!("Search {}", title.to_lowercase())
                    on:input=move |ev| search.set(event_target_value(&ev).to_lowercase()) />
            })}
            <ul class="slicer-values">
                {move || {
                    let needle = search.get();
                    let chosen = chosen.get();
                    let mut listed: Vec<(String, u64)> = values.get().into_iter()
                        .filter(|(v, _)| needle.is_empty() || v.to_lowercase().contains(&needle))
                        .collect();
                    listed.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    // Chosen values stay visible even with no rows under the other filters.
                    for c in &chosen {
                        if !listed.iter().any(|(v, _)| v == c) {
                            listed.push((c.clone(), 0));
                        }
                    }
                    let more = listed.len().saturating_sub(LISTED);
                    let dim = dim.clone();
                    let items = listed.into_iter().take(LISTED).map(|(value, count)| {
                        let checked = chosen.contains(&value);
                        let label = value_label(&dim, &value);
                        let (d, v) = (dim.clone(), value.clone());
                        view! {
                            <li class:empty=count == 0>
                                <label title=value.clone()>
                                    <input type="checkbox" prop:checked=checked data-value=value.clone()
                                        on:change=move |_| report.update(|s| s.toggle(d.clone(), &v)) />
                                    <span class="value">{label}</span>
                                    <span class="count">{format_number(count as f64, 0)}</span>
                                </label>
                            </li>
                        }
                    }).collect_view();
                    view! {
                        {items}
                        {(more > 0).then(|| view! { <li class="more">{format!("{more} more: search to find them")}</li> })}
                    }
                }}
            </ul>
        </details>
    }
}

/// The active filters as removable chips, and "clear all".
#[component]
pub fn ActiveFilters() -> impl IntoView {
    let report = Report::get();
    move || {
        let state = report.state.get();
        state.is_filtered().then(|| {
            let mut chips = Vec::new();
            if state.from.is_some() || state.to.is_some() {
                let text = format!(
                    "Date: {} – {}",
                    state.from.clone().unwrap_or_else(|| "start".into()),
                    state.to.clone().unwrap_or_else(|| "end".into())
                );
                chips.push(view! {
                    <button class="chip" data-testid="chip" title="Remove this filter"
                        on:click=move |_| report.update(|s| { s.from = None; s.to = None; })>{text}" ✕"</button>
                }.into_any());
            }
            for (dimension, values) in state.selections.clone() {
                let shown: Vec<String> = values.iter().map(|v| value_label(&dimension, v)).collect();
                let text = format!("{}: {}", dimension_title(&dimension), shown.join(", "));
                chips.push(view! {
                    <button class="chip" data-testid="chip" title="Remove this filter"
                        on:click=move |_| report.update(|s| s.set_selection(dimension.clone(), Vec::new()))>{text}" ✕"</button>
                }.into_any());
            }
            view! {
                <div class="active-filters" data-testid="active-filters" aria-label="Active filters">
                    {chips}
                    <button class="tool" data-testid="clear-all" on:click=move |_| report.update(|s| s.clear_filters())>"Clear all"</button>
                </div>
            }
        })
    }
}

//! Reconciliation: Azure Stack Hub usage against Azure-side billing, every difference with its status.

use leptos::prelude::*;
use meterlens_engine::export::csv_field;
use meterlens_engine::reconcile::{reconcile, Cell, ReconcileOptions, Registration, Side, Status};

use super::dataset::DatasetSignal;
use super::format::format_number;
use super::prices_store::Prices;
use crate::chart::waterfall_svg;
use crate::web;

/// Differing cells listed on the page; the export has them all.
const LISTED: usize = 200;

fn cells_csv(cells: &[Cell]) -> String {
    let mut out = String::from(
        "day,local_meter_id,meter_name,subscription,unit,local_quantity,azure_quantity,delta,status,cost_impact,stamp\n",
    );
    for c in cells {
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            c.day,
            csv_field(&c.local_meter_id),
            csv_field(&c.meter_name),
            csv_field(&c.subscription),
            csv_field(&c.unit),
            c.local_quantity,
            c.azure_quantity,
            c.delta,
            c.status.as_str(),
            c.cost_impact.map(|v| v.to_string()).unwrap_or_default(),
            csv_field(&c.stamp)
        );
    }
    out
}

/// `LOCAL=AZURE` lines → (Azure subscription, local tenant subscription); other lines are ignored.
fn parse_tenants(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(local, azure)| (azure.trim().to_string(), local.trim().to_string()))
        .filter(|(azure, local)| !azure.is_empty() && !local.is_empty())
        .collect()
}

#[component]
pub fn ReconcilePage(dataset: DatasetSignal, prices: RwSignal<Prices>) -> impl IntoView {
    let shift_hours = RwSignal::new(ReconcileOptions::default().shift_hours);
    let tolerance = RwSignal::new(ReconcileOptions::default().tolerance);
    let unit = RwSignal::new(String::new());
    // The registration context usage data does not carry: the stamp's registration subscription, and for CSP
    // the customer subscription each tenant is billed to (`LOCAL=AZURE`, one a line).
    let stamp_subscription = RwSignal::new(String::new());
    let tenants_text = RwSignal::new(String::new());
    let registration = Memo::new(move |_| Registration {
        stamp_subscription: Some(stamp_subscription.get().trim().to_string()).filter(|s| !s.is_empty()),
        tenants: parse_tenants(&tenants_text.get()),
    });
    let result = Memo::new(move |_| {
        let options = ReconcileOptions {
            shift_hours: shift_hours.get(),
            tolerance: tolerance.get(),
            registration: registration.get(),
        };
        prices.with(|p| {
            dataset.with(|d| {
                d.as_ref().map(|d| {
                    let t = &d.table;
                    let side = |row: usize| Some(if t.local[row] { Side::AzureStack } else { Side::Azure });
                    reconcile(t, &side, &p.book, &options)
                })
            })
        })
    });
    let units = Memo::new(move |_| {
        result.with(|r| r.as_ref().map(|r| r.local_quantity.keys().cloned().collect::<Vec<_>>()).unwrap_or_default())
    });
    let chosen_unit = Memo::new(move |_| {
        let units = units.get();
        Some(unit.get())
            .filter(|u| units.contains(u))
            .or_else(|| units.iter().find(|u| *u == "Virtual core hours").cloned())
            .or_else(|| units.first().cloned())
    });
    let has_both_sides = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref().is_some_and(|r| !r.local_quantity.is_empty() && r.azure_quantity.values().any(|q| *q != 0.0))
        })
    });
    view! {
        <section class="card reconcile" data-testid="reconcile-page">
            <div class="card-head">
                <h2>"Reconciliation"</h2>
                <div class="controls">
                    <label>"Midnight window (hours) "
                        <input type="number" min="0" max="24" step="1" class="small" data-testid="shift-hours"
                            prop:value=move || shift_hours.get().to_string()
                            on:change=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                    shift_hours.set(v.clamp(0.0, 24.0));
                                }
                            } />
                    </label>
                    <label>"Tolerance (%) "
                        <input type="number" min="0" step="0.1" class="small" data-testid="tolerance"
                            prop:value=move || (tolerance.get() * 100.0).to_string()
                            on:change=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                    tolerance.set((v / 100.0).max(0.0));
                                }
                            } />
                    </label>
                    <button data-testid="export-reconciliation" on:click=move |_| {
                        if let Some(r) = result.get_untracked() {
                            web::download_text("meterlens-reconciliation.csv", "text/csv", &cells_csv(&r.cells));
                        }
                    }>"Export cells"</button>
                </div>
            </div>
            <p class="muted">
                "Azure Stack side: usage as the stamp reports it (usage API, Usagesummary). Azure side: Azure Stack rows of "
                "Azure billing files (Cost Management, EA, Account Center, FOCUS, Partner Center), mapped back to the local "
                "meter and subscription and converted to the local unit. Compared per stamp × meter × subscription × UTC day "
                "(never across stamps)."
            </p>
            <details class="registration" data-testid="registration">
                <summary>"Registration (who Azure bills for which tenant)"</summary>
                <label>"Azure subscription the stamp is registered to "
                    <input type="text" data-testid="registration-subscription" placeholder="00000000-0000-0000-0000-000000000000"
                        prop:value=move || stamp_subscription.get()
                        on:change=move |ev| stamp_subscription.set(event_target_value(&ev)) />
                </label>
                <label>"CSP: tenants billed to their own customer subscription, one "<code>"LOCAL=AZURE"</code>" a line"
                    <textarea rows="3" data-testid="registration-tenants"
                        prop:value=move || tenants_text.get()
                        on:change=move |ev| tenants_text.set(event_target_value(&ev))></textarea>
                </label>
                <p class="muted">{move || format!("{} tenant registrations read", registration.with(|r| r.tenants.len()))}</p>
            </details>
            {move || result.with(|r| r.as_ref().filter(|r| !r.notes.is_empty()).map(|r| view! {
                <ul class="notes" data-testid="reconcile-notes">
                    {r.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
                </ul>
            }))}
            {move || (!has_both_sides.get()).then(|| view! {
                <p class="notice" data-testid="reconcile-hint">
                    "Load both sides together to compare: for example a Usagesummary CSV or usage API JSON from the stamp "
                    "and the Cost Management export that billed it (select both files at once)."
                </p>
            })}
            {move || result.with(|r| r.as_ref().map(|r| {
                let unit_now = chosen_unit.get().unwrap_or_default();
                let steps: Vec<(String, f64)> = Status::ALL.iter()
                    .filter_map(|s| r.delta_by_status.get(s).and_then(|d| d.get(&unit_now)).filter(|v| **v != 0.0).map(|v| (s.label().to_string(), *v)))
                    .collect();
                let local = r.local_quantity.get(&unit_now).copied().unwrap_or(0.0);
                let azure = r.azure_quantity.get(&unit_now).copied().unwrap_or(0.0);
                let svg = waterfall_svg(("Azure Stack", local), &steps, ("Azure", azure), &unit_now, 900, 320);
                let mut differing: Vec<Cell> = r.cells.iter().filter(|c| c.status != Status::Match).cloned().collect();
                differing.sort_by(|a, b| b.cost_impact.unwrap_or(0.0).abs().total_cmp(&a.cost_impact.unwrap_or(0.0).abs())
                    .then(b.delta.abs().total_cmp(&a.delta.abs())));
                let total_differing = differing.len();
                let per_subscription = r.per_subscription;
                differing.truncate(LISTED);
                view! {
                    <div class="rec-grid">
                        <table class="invoice" data-testid="rec-totals">
                            <thead><tr><th>"Unit"</th><th class="num">"Azure Stack"</th><th class="num">"Azure"</th><th class="num">"Difference"</th></tr></thead>
                            <tbody>
                                {r.local_quantity.iter().map(|(u, q)| {
                                    let a = r.azure_quantity.get(u).copied().unwrap_or(0.0);
                                    view! { <tr><td>{u.clone()}</td><td class="num">{format_number(*q, 2)}</td>
                                        <td class="num">{format_number(a, 2)}</td><td class="num">{format_number(a - q, 2)}</td></tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <table class="invoice" data-testid="rec-status">
                            <thead><tr><th>"Status"</th><th class="num">"Cells"</th></tr></thead>
                            <tbody>
                                {Status::ALL.iter().map(|s| {
                                    let n = r.by_status.get(s).copied().unwrap_or(0);
                                    view! { <tr data-status=s.as_str() data-value=n.to_string()><td>{s.label()}</td><td class="num">{format_number(n as f64, 0)}</td></tr> }
                                }).collect_view()}
                            </tbody>
                            <tfoot><tr><td>"Cost of unexplained differences"
                                <div class="note" data-testid="reconcile-licensing">{move || prices.with(|p| p.book.licensing.describe())}</div>
                            </td><td class="num" data-testid="unexplained-cost">
                                {if r.unexplained_cost.is_empty() { "—".to_string() } else {
                                    r.unexplained_cost.iter().map(|(c, v)| format!("{} {c}", format_number(*v, 2))).collect::<Vec<_>>().join(", ")
                                }}
                            </td></tr></tfoot>
                        </table>
                    </div>
                    <div class="card-head">
                        <h3>"From the Azure Stack total to the Azure total"</h3>
                        <label>"Unit "
                            <select on:change=move |ev| unit.set(event_target_value(&ev))>
                                {units.get().into_iter().map(|u| {
                                    let selected = u == unit_now;
                                    view! { <option value=u.clone() selected=selected>{u.clone()}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    </div>
                    <div class="chart" data-testid="waterfall" inner_html=svg></div>
                    <h3>{format!("Cells that differ ({total_differing}; largest cost impact first)")}</h3>
                    <table class="meters-table" data-testid="rec-cells">
                        <thead><tr><th>"Stamp"</th><th>"Day"</th><th>"Meter"</th><th>"Subscription"</th><th class="num">"Azure Stack"</th>
                            <th class="num">"Azure"</th><th class="num">"Δ"</th><th>"Unit"</th><th>"Status"</th><th class="num">"Cost impact"</th></tr></thead>
                        <tbody>
                            {differing.into_iter().map(|c| {
                                let rows = dataset.with_untracked(|d| d.as_ref().map(|d| {
                                    let t = &d.table;
                                    c.rows.iter().map(|&r| {
                                        let r = r as usize;
                                        let file = t.sources().get(t.source[r] as usize).map_or("", |s| s.file.as_str());
                                        format!("{file} line {}: {} {} {}", t.line.get(r), t.str(t.meter_name(r)), t.quantity.get(r), t.str(t.unit(r)))
                                    }).collect::<Vec<_>>()
                                }).unwrap_or_default());
                                view! {
                                    <tr data-status=c.status.as_str()>
                                        <td>{c.stamp.clone()}</td>
                                        <td>{c.day.clone()}</td>
                                        <td>{c.meter_name.clone()}<details><summary class="muted">"rows"</summary>
                                            <ul class="examples">{rows.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul></details></td>
                                        <td class="mono">{match (c.subscription.is_empty(), per_subscription) {
                                            (false, _) => c.subscription.clone(),
                                            (true, true) => "no tenant".to_string(),
                                            (true, false) => "all tenants".to_string(),
                                        }}</td>
                                        <td class="num">{format_number(c.local_quantity, 4)}</td>
                                        <td class="num">{format_number(c.azure_quantity, 4)}</td>
                                        <td class="num">{format_number(c.delta, 4)}</td>
                                        <td>{c.unit.clone()}</td>
                                        <td>{c.status.label()}</td>
                                        <td class="num">{c.cost_impact.map(|v| format_number(v, 2)).unwrap_or_default()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            }))}
        </section>
    }
}

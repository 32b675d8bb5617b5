//! The Cost explorer: a matrix of meter category > meter > resource down, time buckets across, with subtotals,
//! expand/collapse, and cells that cross-filter the report when clicked.

use std::collections::HashSet;

use leptos::prelude::*;
use meterlens_engine::export::csv_field;
use meterlens_engine::query::{Matrix, Totals};

use super::report::{dimension_title, value_label, Measure, Report};
use super::view_state::{Grain, Page, HIERARCHY};
use crate::web;

/// The matrix's columns: the report grain, but never hours (a month of hours is too wide to read).
fn column_grain(grain: Grain) -> Grain {
    if grain == Grain::Hour {
        Grain::Day
    } else {
        grain
    }
}

/// The matrix as CSV: one line per row (subtotals included, marked), one column per time bucket, then the total.
pub fn matrix_csv(matrix: &Matrix, measure: &Measure) -> String {
    let mut out: Vec<String> = HIERARCHY.iter().map(|d| csv_field(&dimension_title(d))).collect();
    out.push("subtotal".into());
    out.extend(matrix.columns.iter().map(|c| csv_field(&c.join(" "))));
    out.push(csv_field(&format!("Total {}", measure.title())));
    let mut csv = out.join(",") + "\n";
    let value = |t: &Totals| measure.of(t).to_string();
    for row in &matrix.rows {
        let mut line: Vec<String> =
            (0..HIERARCHY.len()).map(|i| row.key.get(i).map_or(String::new(), |k| csv_field(k))).collect();
        line.push(row.subtotal.to_string());
        line.extend(row.cells.iter().map(value));
        line.push(value(&row.total));
        csv += &(line.join(",") + "\n");
    }
    let mut total = vec![csv_field("Total"), String::new(), String::new(), String::new()];
    total.extend(matrix.column_totals.iter().map(value));
    total.push(value(&matrix.grand_total));
    csv + &total.join(",") + "\n"
}

#[component]
pub fn ExplorerPage() -> impl IntoView {
    let report = Report::get();
    let measure = report.measure();
    let expanded = RwSignal::new(HashSet::<Vec<String>>::new());
    let matrix = Memo::new(move |_| {
        let state = report.state.get();
        let grain = column_grain(state.grain);
        let query = state.query(None);
        report.dataset.with(|d| d.as_ref().map(|d| (grain, d.engine.matrix(&query, &HIERARCHY, &[grain.dimension()]))))
    });
    let cell_text = move |t: &Totals, m: &Measure| {
        if t.rows == 0 {
            String::new()
        } else {
            let text = m.show(t);
            // The unit or currency is in the column head; cells keep the number.
            text.rsplit_once(' ').map_or(text.clone(), |(n, _)| n.to_string())
        }
    };
    view! {
        <section class="card explorer" data-testid="explorer">
            <div class="card-head">
                <h2>{move || format!("{} by meter category, meter and resource", measure.get().title())}</h2>
                <div class="card-tools">
                    <div class="segmented" role="group" aria-label="Columns">
                        {[Grain::Day, Grain::Week, Grain::Month].into_iter().map(|g| view! {
                            <button class="tool" class:active=move || column_grain(report.state.get().grain) == g
                                data-testid=format!("columns-{}", g.name())
                                on:click=move |_| report.update(|s| s.grain = g)>{format!("by {}", g.name())}</button>
                        }).collect_view()}
                    </div>
                    <button class="tool" data-testid="expand-all" on:click=move |_| {
                        let keys = matrix.with_untracked(|m| m.as_ref().map(|(_, m)| m.rows.iter().filter(|r| r.subtotal).map(|r| r.key.clone()).collect()).unwrap_or_default());
                        expanded.set(keys);
                    }>"Expand all"</button>
                    <button class="tool" data-testid="collapse-all" on:click=move |_| expanded.set(HashSet::new())>"Collapse all"</button>
                    <button class="tool" data-testid="drill-through" on:click=move |_| report.update(|s| s.page = Page::Data)>"Rows ↗"</button>
                    <button class="tool" data-testid="export-csv" on:click=move |_| {
                        if let Some((_, m)) = matrix.get_untracked() {
                            web::download_text("meterlens-cost-explorer.csv", "text/csv", &matrix_csv(&m, &measure.get_untracked()));
                        }
                    }>"CSV"</button>
                </div>
            </div>
            <div class="matrix-scroll">
                {move || matrix.get().map(|(grain, m)| {
                    let measure = measure.get();
                    let open = expanded.get();
                    let visible = |key: &[String]| (1..key.len()).all(|n| open.contains(&key[..n]));
                    let columns = m.columns.clone();
                    view! {
                        <table class="matrix" data-testid="matrix">
                            <thead><tr>
                                <th class="row-head">{format!("{} › meter › resource", dimension_title(&HIERARCHY[0]))}</th>
                                {columns.iter().map(|c| view! { <th class="num">{c.join(" ")}</th> }).collect_view()}
                                <th class="num">{format!("Total ({})", measure.title())}</th>
                            </tr></thead>
                            <tbody>
                                {m.rows.iter().filter(|r| visible(&r.key)).map(|row| {
                                    let key = row.key.clone();
                                    let level = row.level;
                                    let is_open = open.contains(&key);
                                    let toggle_key = key.clone();
                                    let label = value_label(&HIERARCHY[level], key.last().map_or("", |k| k.as_str()));
                                    let cells = row.cells.iter().enumerate().map(|(i, cell)| {
                                        let (key, bucket) = (key.clone(), columns[i][0].clone());
                                        let text = cell_text(cell, &measure);
                                        let tip = format!("{} · {} · {}", label, bucket, measure.show(cell));
                                        let pick = move || report.update(|s| {
                                            for (d, v) in HIERARCHY.iter().zip(&key) {
                                                s.set_selection(d.clone(), vec![v.clone()]);
                                            }
                                            s.select_bucket(grain, &bucket);
                                        });
                                        let pick_by_key = pick.clone();
                                        view! {
                                            <td class="num cell" title=tip.clone() aria-label=tip tabindex="0" role="button"
                                                on:click=move |_| pick()
                                                on:keydown=move |ev| {
                                                    // Enter or Space picks the focused cell, as a click does.
                                                    if ev.key() == "Enter" || ev.key() == " " {
                                                        ev.prevent_default();
                                                        pick_by_key();
                                                    }
                                                }>{text}</td>
                                        }
                                    }).collect_view();
                                    view! {
                                        <tr class=format!("level-{level}") class:subtotal=row.subtotal data-level=level.to_string()>
                                            <th class="row-head" scope="row" style=format!("padding-left:{}rem", 0.5 + level as f64 * 1.2)>
                                                {row.subtotal.then(|| view! {
                                                    <button class="expander" aria-expanded=is_open.to_string()
                                                        aria-label=format!("{} {}", if is_open { "Collapse" } else { "Expand" }, label)
                                                        on:click=move |_| expanded.update(|e| { if !e.remove(&toggle_key) { e.insert(toggle_key.clone()); } })>
                                                        {if is_open { "▾" } else { "▸" }}
                                                    </button>
                                                })}
                                                <span title=key.last().cloned().unwrap_or_default()>{label.clone()}</span>
                                            </th>
                                            {cells}
                                            <td class="num total">{cell_text(&row.total, &measure)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                            <tfoot><tr>
                                <th class="row-head">"Total"</th>
                                {m.column_totals.iter().map(|t| view! { <td class="num">{cell_text(t, &measure)}</td> }).collect_view()}
                                <td class="num total" data-testid="matrix-total">{cell_text(&m.grand_total, &measure)}</td>
                            </tr></tfoot>
                        </table>
                    }
                })}
            </div>
        </section>
    }
}

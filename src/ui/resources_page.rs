//! The Resources page: every resource the filters select, ranked by the measure, with its usage per unit,
//! cost per currency and tags; a click on a resource filters the report to it.

use std::collections::HashMap;

use leptos::prelude::*;
use meterlens_engine::export::csv_field;
use meterlens_engine::query::{Dimension, Query};

use super::format::format_number;
use super::report::{value_label, Report};
use super::view_state::Page;
use crate::web;

/// Resources listed (the CSV has them all).
const LISTED: usize = 200;

/// One resource line.
#[derive(Clone, Debug, PartialEq)]
struct ResourceLine {
    uri: String,
    group: String,
    subscription: String,
    location: String,
    rows: u64,
    quantity: Vec<(String, f64)>,
    cost: Vec<(String, f64)>,
    tags: String,
}

#[component]
pub fn ResourcesPage() -> impl IntoView {
    let report = Report::get();
    let measure = report.measure();
    let lines = Memo::new(move |_| {
        let state = report.state.get();
        let measure = measure.get();
        let query = Query { group_by: vec![Dimension::Resource], sort: measure.sort(), ..state.query(None) };
        report.dataset.with(|d| {
            let Some(d) = d else { return (Vec::new(), 0) };
            let result = d.engine.run(&query);
            let t = &d.table;
            // The first selected row of each resource gives its group, subscription, location and tags.
            let ids: HashMap<_, usize> = result
                .groups
                .iter()
                .enumerate()
                .filter_map(|(i, g)| t.strings().find(&g.key[0].1).map(|id| (id, i)))
                .collect();
            let mut first = vec![None::<usize>; result.groups.len()];
            let mut missing = ids.len();
            for &row in d.engine.rows(&query).iter() {
                if missing == 0 {
                    break;
                }
                if let Some(&i) = ids.get(&t.resource_uri[row as usize]) {
                    if first[i].is_none() {
                        first[i] = Some(row as usize);
                        missing -= 1;
                    }
                }
            }
            let lines = result
                .groups
                .iter()
                .zip(first)
                .map(|(g, row)| {
                    let text = |f: &dyn Fn(usize) -> String| row.map(f).unwrap_or_default();
                    ResourceLine {
                        uri: g.key[0].1.clone(),
                        group: text(&|r| t.str(t.resource_group[r]).to_string()),
                        subscription: text(&|r| t.str(t.subscription[r]).to_string()),
                        location: text(&|r| t.str(t.location[r]).to_string()),
                        rows: g.totals.rows,
                        quantity: g.totals.quantity.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                        cost: g.totals.cost.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                        tags: text(&|r| {
                            t.key_values(t.tags[r])
                                .iter()
                                .map(|(k, v)| format!("{}={}", t.str(*k), t.str(*v)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }),
                    }
                })
                .collect::<Vec<_>>();
            (lines, result.group_count)
        })
    });
    let export = move |_| {
        let mut csv =
            String::from("resource,resource_group,subscription,location,rows,unit,quantity,currency,cost,tags\n");
        lines.with_untracked(|(lines, _)| {
            for l in lines {
                let cost = l.cost.first().cloned().unwrap_or_default();
                for (unit, quantity) in &l.quantity {
                    csv += &format!(
                        "{},{},{},{},{},{},{quantity},{},{},{}\n",
                        csv_field(&l.uri),
                        csv_field(&l.group),
                        csv_field(&l.subscription),
                        csv_field(&l.location),
                        l.rows,
                        csv_field(unit),
                        csv_field(&cost.0),
                        if cost.0.is_empty() { String::new() } else { cost.1.to_string() },
                        csv_field(&l.tags)
                    );
                }
            }
        });
        web::download_text("meterlens-resources.csv", "text/csv", &csv);
    };
    view! {
        <section class="card resources" data-testid="resources-page">
            <div class="card-head">
                <h2>{move || {
                    let (lines, total) = lines.get();
                    format!("Resources by {} ({} of {})", measure.get().title().to_lowercase(), lines.len().min(LISTED), format_number(total as f64, 0))
                }}</h2>
                <div class="card-tools">
                    <button class="tool" data-testid="drill-through" on:click=move |_| report.update(|s| s.page = Page::Data)>"Rows ↗"</button>
                    <button class="tool" data-testid="export-csv" on:click=export>"CSV"</button>
                </div>
            </div>
            <table class="invoice resources-table" data-testid="resources-table">
                <thead><tr>
                    <th>"Resource"</th><th>"Resource group"</th><th>"Subscription"</th><th>"Location"</th>
                    <th class="num">"Rows"</th><th class="num">"Usage"</th><th class="num">"Billed cost"</th><th>"Tags"</th>
                </tr></thead>
                <tbody>
                    {move || lines.get().0.into_iter().take(LISTED).map(|l| {
                        let uri = l.uri.clone();
                        view! {
                            <tr>
                                <td><button class="link" title=l.uri.clone() data-testid="resource-link"
                                    on:click=move |_| report.update(|s| s.toggle(Dimension::Resource, &uri))>
                                    {value_label(&Dimension::Resource, &l.uri)}</button></td>
                                <td>{l.group}</td>
                                <td class="mono">{l.subscription}</td>
                                <td>{l.location}</td>
                                <td class="num">{format_number(l.rows as f64, 0)}</td>
                                <td class="num">{l.quantity.iter().map(|(u, q)| view! { <div>{format_number(*q, 2)} " " <small>{u.clone()}</small></div> }).collect_view()}</td>
                                <td class="num">{l.cost.iter().map(|(c, v)| view! { <div>{format_number(*v, 2)} " " <small>{c.clone()}</small></div> }).collect_view()}</td>
                                <td class="tags">{l.tags}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

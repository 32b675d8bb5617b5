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

/// One line per resource: its rows once, a quantity column per unit and a cost column per currency (never
/// summed across units or currencies, never repeated on several lines).
fn resources_csv(lines: &[ResourceLine]) -> String {
    let mut units: Vec<&str> = lines.iter().flat_map(|l| l.quantity.iter().map(|(u, _)| u.as_str())).collect();
    let mut currencies: Vec<&str> = lines.iter().flat_map(|l| l.cost.iter().map(|(c, _)| c.as_str())).collect();
    units.sort_unstable();
    units.dedup();
    currencies.sort_unstable();
    currencies.dedup();
    let mut head =
        vec!["resource".to_string(), "resource_group".into(), "subscription".into(), "location".into(), "rows".into()];
    head.extend(units.iter().map(|u| csv_field(&format!("quantity ({u})"))));
    head.extend(currencies.iter().map(|c| csv_field(&format!("cost ({c})"))));
    head.push("tags".into());
    let mut csv = head.join(",") + "\n";
    for l in lines {
        let mut line = vec![
            csv_field(&l.uri),
            csv_field(&l.group),
            csv_field(&l.subscription),
            csv_field(&l.location),
            l.rows.to_string(),
        ];
        let value = |pairs: &[(String, f64)], key: &str| {
            pairs.iter().find(|(k, _)| k == key).map_or(String::new(), |(_, v)| v.to_string())
        };
        line.extend(units.iter().map(|u| value(&l.quantity, u)));
        line.extend(currencies.iter().map(|c| value(&l.cost, c)));
        line.push(csv_field(&l.tags));
        csv += &(line.join(",") + "\n");
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_resource_with_a_column_per_unit_and_currency() {
        let line = |uri: &str, quantity: Vec<(&str, f64)>, cost: Vec<(&str, f64)>| ResourceLine {
            uri: uri.into(),
            group: "=rg".into(),
            subscription: "s".into(),
            location: "local".into(),
            rows: 3,
            quantity: quantity.into_iter().map(|(u, q)| (u.to_string(), q)).collect(),
            cost: cost.into_iter().map(|(c, v)| (c.to_string(), v)).collect(),
            tags: "env=prod".into(),
        };
        let csv = resources_csv(&[
            line("/r/a", vec![("GB*hours", 1.5), ("Virtual core hours", 2.0)], vec![("EUR", 4.0), ("USD", 5.0)]),
            line("/r/b", vec![("GB*hours", 7.0)], vec![]),
        ]);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[0], "resource,resource_group,subscription,location,rows,quantity (GB*hours),quantity (Virtual core hours),cost (EUR),cost (USD),tags");
        assert_eq!(rows[1], "/r/a,'=rg,s,local,3,1.5,2,4,5,env=prod");
        assert_eq!(rows[2], "/r/b,'=rg,s,local,3,7,,,,env=prod");
        assert_eq!(rows.len(), 3, "one line per resource");
    }
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
            for row in d.engine.selected(&query).iter() {
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
                        group: text(&|r| t.str(t.resource_group(r)).to_string()),
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
        let csv = lines.with_untracked(|(lines, _)| resources_csv(lines));
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

//! The Data page: every row the filters select, virtually scrolled, sortable by any column, with a column
//! chooser, row issues flagged, and the rows as CSV.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;
use meterlens_engine::export::csv_field;
use meterlens_engine::focus::{self, FocusExport, FocusOptions};
use meterlens_engine::time::hour_label;
use meterlens_engine::UsageTable;

use super::format::format_number;
use super::prices_store::Prices;
use super::report::Report;
use crate::web;

const ROW_HEIGHT: f64 = 30.0;
const VIEWPORT_ROWS: usize = 20;
/// Rows rendered above and below the viewport, so fast scrolling shows no gap.
const OVERSCAN: usize = 10;

/// A column of the data table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataColumn {
    pub key: &'static str,
    pub title: &'static str,
    pub numeric: bool,
    pub shown: bool,
}

const fn column(key: &'static str, title: &'static str, numeric: bool, shown: bool) -> DataColumn {
    DataColumn { key, title, numeric, shown }
}

pub const COLUMNS: [DataColumn; 19] = [
    column("usage_start", "Usage start (UTC)", false, true),
    column("usage_end", "Usage end (UTC)", false, false),
    column("subscription", "Subscription", false, true),
    column("resource_group", "Resource group", false, true),
    column("resource_name", "Resource", false, true),
    column("resource_uri", "Resource URI", false, false),
    column("location", "Location", false, true),
    column("meter_category", "Meter category", false, false),
    column("meter_name", "Meter", false, true),
    column("meter_id", "Meter ID", false, false),
    column("quantity", "Quantity", true, true),
    column("unit", "Unit", false, true),
    column("cost", "Billed cost", true, true),
    column("currency", "Currency", false, true),
    column("effective_cost", "Effective cost", true, false),
    column("tags", "Tags", false, false),
    column("additional_info", "Additional info", false, false),
    column("source_file", "File", false, false),
    column("line", "Line", true, false),
];

/// The text of one cell.
pub fn cell(t: &UsageTable, row: usize, key: &str) -> String {
    let money = |v: f64| if v.is_nan() { String::new() } else { format_number(v, 4) };
    match key {
        "usage_start" => hour_label(t.usage_start[row]),
        "usage_end" => hour_label(t.usage_end[row]),
        "subscription" => t.str(t.subscription[row]).to_string(),
        "resource_group" => t.str(t.resource_group(row)).to_string(),
        "resource_name" => {
            let name = t.str(t.resource_name(row));
            if name.is_empty() {
                t.str(t.resource_uri[row]).rsplit('/').next().unwrap_or("").to_string()
            } else {
                name.to_string()
            }
        }
        "resource_uri" => t.str(t.resource_uri[row]).to_string(),
        "location" => t.str(t.location[row]).to_string(),
        "meter_category" => t.str(t.meter_category(row)).to_string(),
        "meter_name" => t.str(t.meter_name(row)).to_string(),
        "meter_id" => t.str(t.meter_id[row]).to_string(),
        "quantity" => format_number(t.quantity.get(row), 6),
        "unit" => t.str(t.unit(row)).to_string(),
        "cost" => money(t.cost.get(row)),
        "currency" => t.str(t.currency[row]).to_string(),
        "effective_cost" => money(t.effective_cost(row)),
        "tags" => t.str(t.tags[row]).to_string(),
        "additional_info" => t.str(t.additional_info[row]).to_string(),
        "source_file" => t.sources().get(t.source[row] as usize).map_or(String::new(), |s| s.file.clone()),
        "line" => t.line.get(row).to_string(),
        _ => String::new(),
    }
}

/// A numeric cell as exported: the exact value (no grouping, no rounding), empty for "none".
pub fn exact_number(t: &UsageTable, row: usize, key: &str) -> String {
    let value = match key {
        "quantity" => t.quantity.get(row),
        "cost" => t.cost.get(row),
        "effective_cost" => t.effective_cost(row),
        "line" => return t.line.get(row).to_string(),
        _ => return cell(t, row, key),
    };
    if value.is_nan() {
        String::new()
    } else {
        value.to_string()
    }
}

/// Rows per part of a CSV export.
const EXPORT_PART_ROWS: usize = 10_000;

/// `rows` ordered by one column (numbers by value, text by text), ties in table order.
pub fn sort_rows(t: &UsageTable, rows: &[u32], key: &str, descending: bool) -> Vec<u32> {
    let mut sorted = rows.to_vec();
    let number = |row: u32| -> f64 {
        let r = row as usize;
        match key {
            "quantity" => t.quantity.get(r),
            "cost" => t.cost.get(r),
            "effective_cost" => t.effective_cost(r),
            "line" => t.line.get(r) as f64,
            "usage_start" => t.usage_start[r] as f64,
            "usage_end" => t.usage_end[r] as f64,
            _ => f64::NAN,
        }
    };
    if matches!(key, "quantity" | "cost" | "effective_cost" | "line" | "usage_start" | "usage_end") {
        sorted.sort_by(|&a, &b| number(a).total_cmp(&number(b)));
    } else {
        sorted.sort_by_cached_key(|&row| cell(t, row as usize, key));
    }
    if descending {
        sorted.reverse();
    }
    sorted
}

#[component]
pub fn DataPage(prices: RwSignal<Prices>) -> impl IntoView {
    let report = Report::get();
    let shown = RwSignal::new(COLUMNS.iter().filter(|c| c.shown).map(|c| c.key).collect::<Vec<_>>());
    let scroll = RwSignal::new(0.0f64);
    let rows = Memo::new(move |_| {
        let state = report.state.get();
        let query = state.query(None);
        report.dataset.with(|d| {
            let d = d.as_ref()?;
            let selected = d.engine.rows(&query);
            Some(match &state.sort {
                Some((key, descending)) => Arc::new(sort_rows(&d.table, &selected, key, *descending)),
                None => Arc::new(selected),
            })
        })
    });
    // Kept rows with an issue: (source, line) → message.
    let flagged = Memo::new(move |_| {
        report.dataset.with(|d| {
            let Some(d) = d else { return HashMap::new() };
            let mut map = HashMap::new();
            for r in &d.reports {
                let Some(source) = d.table.sources().iter().position(|s| s.file == r.file) else { continue };
                for issue in r.issues.iter().filter(|i| !i.dropped) {
                    let column = issue.column.as_deref().map(|c| format!("{c}: ")).unwrap_or_default();
                    map.insert((source as u16, issue.line as u32), format!("{column}{}", issue.message));
                }
            }
            map
        })
    });
    let count = move || rows.with(|r| r.as_ref().map_or(0, |r| r.len()));
    let sort_by = move |key: &'static str| {
        report.update(|s| {
            s.sort = match &s.sort {
                Some((k, false)) if k == key => Some((key.to_string(), true)),
                Some((k, true)) if k == key => None,
                _ => Some((key.to_string(), false)),
            }
        })
    };
    let export = move |_| {
        let columns = shown.get_untracked();
        let parts = rows.with_untracked(|r| {
            report.dataset.with_untracked(|d| {
                let (Some(r), Some(d)) = (r, d) else { return Vec::new() };
                let shown: Vec<&DataColumn> = COLUMNS.iter().filter(|c| columns.contains(&c.key)).collect();
                let titles: Vec<String> = shown.iter().map(|c| csv_field(c.title)).collect();
                let mut parts = vec![titles.join(",") + "\n"];
                for chunk in r.chunks(EXPORT_PART_ROWS) {
                    let mut part = String::new();
                    for &row in chunk {
                        let line: Vec<String> = shown
                            .iter()
                            .map(|c| {
                                if c.numeric {
                                    exact_number(&d.table, row as usize, c.key)
                                } else {
                                    csv_field(&cell(&d.table, row as usize, c.key))
                                }
                            })
                            .collect();
                        part += &(line.join(",") + "\n");
                    }
                    parts.push(part);
                }
                parts
            })
        });
        web::download_parts("meterlens-rows.csv", "text/csv", &parts);
    };
    // The selected rows in FOCUS 1.2 terms: local usage priced with the Bill page's prices, the admin choice kept.
    let export_focus = move |_| {
        let include_admin = report.state.get_untracked().include_admin;
        let query = report.state.get_untracked().query(None);
        let parts = report.dataset.with_untracked(|d| {
            let Some(d) = d else { return Vec::new() };
            let selected = d.engine.rows(&query);
            prices.with_untracked(|p| {
                let export = FocusExport::new(&d.table, &p.book, &FocusOptions { include_admin });
                let indices = export.indices_of(&selected);
                let mut parts = vec![focus::csv_header()];
                parts.extend(
                    indices.chunks(EXPORT_PART_ROWS).map(|c| export.csv_lines(c.iter().map(|&i| i as usize), true)),
                );
                parts
            })
        });
        web::download_parts("meterlens-focus-1.2.csv", "text/csv", &parts);
    };
    // The same rows as FOCUS 1.2 Parquet, written by the Parquet worker from a snapshot of the table.
    let parquet_job = StoredValue::new_local(None::<web::FocusParquetJob>);
    let parquet_status = RwSignal::new(None::<String>);
    let export_focus_parquet = move |_| {
        let state = report.state.get_untracked();
        let started = report.dataset.with_untracked(|d| {
            let d = d.as_ref()?;
            let rows = d.engine.rows(&state.query(None));
            let prices = prices.with_untracked(|p| serde_json::to_string(&p.book).unwrap_or_default());
            let on_done = move |result: Result<web::Transferred, String>| match result {
                Ok(file) => {
                    file.download("meterlens-focus-1.2.parquet", "application/vnd.apache.parquet");
                    parquet_status.set(None);
                }
                Err(error) => parquet_status.set(Some(format!("FOCUS Parquet: {error}"))),
            };
            Some(web::FocusParquetJob::start(d.table.to_snapshot(), &rows, state.include_admin, prices, on_done))
        });
        match started {
            Some(Ok(job)) => {
                parquet_status.set(Some("Writing FOCUS Parquet…".into()));
                parquet_job.set_value(Some(job));
            }
            Some(Err(error)) => parquet_status.set(Some(error)),
            None => {}
        }
    };
    view! {
        <section class="card data-page" data-testid="data-page">
            <div class="card-head">
                <h2>{move || format!("{} rows", format_number(count() as f64, 0))}</h2>
                <div class="card-tools">
                    <details class="column-chooser" data-testid="column-chooser">
                        <summary class="tool">"Columns"</summary>
                        <div class="chooser-list">
                            {COLUMNS.iter().map(|c| {
                                let key = c.key;
                                view! {
                                    <label>
                                        <input type="checkbox" data-column=key prop:checked=move || shown.get().contains(&key)
                                            on:change=move |_| shown.update(|s| if let Some(i) = s.iter().position(|k| *k == key) { s.remove(i); } else { s.push(key); }) />
                                        {c.title}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    </details>
                    <button class="tool" data-testid="export-csv" on:click=export>"CSV"</button>
                    <button class="tool" data-testid="export-focus" on:click=export_focus
                        title="The selected rows as FOCUS 1.2 CSV: meters mapped, local usage priced, choices in x_ columns">
                        "FOCUS 1.2"
                    </button>
                    <button class="tool" data-testid="export-focus-parquet" on:click=export_focus_parquet
                        title="The selected rows as FOCUS 1.2 Parquet, for DuckDB, Spark or Fabric">
                        "FOCUS Parquet"
                    </button>
                    {move || parquet_status.get().map(|s| view! { <span class="muted" data-testid="parquet-status">{s}</span> })}
                </div>
            </div>
            <div class="data-scroll" data-testid="data-scroll" style=format!("height:{}px", ROW_HEIGHT * (VIEWPORT_ROWS as f64 + 1.0))
                on:scroll=move |ev| scroll.set(web::scroll_top(&ev))>
                <table class="data-table" data-testid="data-table">
                    <thead><tr>
                        <th class="flag" aria-label="Issues"></th>
                        {move || {
                            let sort = report.state.get().sort;
                            COLUMNS.iter().filter(|c| shown.get().contains(&c.key)).map(|c| {
                                let key = c.key;
                                let arrow = match &sort {
                                    Some((k, false)) if k == key => " ▲",
                                    Some((k, true)) if k == key => " ▼",
                                    _ => "",
                                };
                                let aria = match &sort {
                                    Some((k, false)) if k == key => "ascending",
                                    Some((k, true)) if k == key => "descending",
                                    _ => "none",
                                };
                                view! {
                                    <th class:num=c.numeric aria-sort=aria>
                                        <button class="sort" data-sort=key on:click=move |_| sort_by(key)>{c.title}{arrow}</button>
                                    </th>
                                }
                            }).collect_view()
                        }}
                    </tr></thead>
                    <tbody>
                        {move || {
                            let columns: Vec<DataColumn> = COLUMNS.iter().filter(|c| shown.get().contains(&c.key)).copied().collect();
                            let flagged = flagged.get();
                            rows.with(|r| report.dataset.with(|d| {
                                let (Some(r), Some(d)) = (r, d) else { return Vec::new() };
                                let n = r.len();
                                let first = ((scroll.get() / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN).min(n);
                                let last = (first + VIEWPORT_ROWS + 2 * OVERSCAN).min(n);
                                let mut out = Vec::new();
                                out.push(view! { <tr class="spacer" style=format!("height:{}px", first as f64 * ROW_HEIGHT)></tr> }.into_any());
                                for &row in &r[first..last] {
                                    let row = row as usize;
                                    let issue = flagged.get(&(d.table.source[row], d.table.line.get(row))).cloned();
                                    let has_issue = issue.is_some();
                                    let cells = columns.iter().map(|c| {
                                        let text = cell(&d.table, row, c.key);
                                        let title = text.clone();
                                        view! { <td class:num=c.numeric title=title>{text}</td> }
                                    }).collect_view();
                                    out.push(view! {
                                        <tr class:has-issue=has_issue style=format!("height:{ROW_HEIGHT}px")>
                                            <td class="flag">{issue.map(|m| view! { <span class="issue-flag" title=m.clone() aria-label=m>"⚠"</span> })}</td>
                                            {cells}
                                        </tr>
                                    }.into_any());
                                }
                                out.push(view! { <tr class="spacer" style=format!("height:{}px", (n - last) as f64 * ROW_HEIGHT)></tr> }.into_any());
                                out
                            }))
                        }}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meterlens_engine::ingest::Ingester;

    fn table() -> UsageTable {
        let csv = include_bytes!("../../tests/fixtures/usagesummary-small.csv");
        let mut ingester = Ingester::new(UsageTable::default(), "small.csv");
        ingester.feed(csv);
        ingester.finish().0
    }

    #[test]
    fn sorting_by_numbers_and_by_text() {
        let t = table();
        let rows: Vec<u32> = (0..t.len() as u32).collect();
        let by_quantity = sort_rows(&t, &rows, "quantity", true);
        assert!(by_quantity.windows(2).all(|w| t.quantity.get(w[0] as usize) >= t.quantity.get(w[1] as usize)));
        let by_meter = sort_rows(&t, &rows, "meter_name", false);
        let names: Vec<String> = by_meter.iter().map(|&r| cell(&t, r as usize, "meter_name")).collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
        assert_eq!(by_meter.len(), rows.len());
    }

    #[test]
    fn every_column_has_a_cell() {
        let t = table();
        for c in COLUMNS {
            let _ = cell(&t, 0, c.key);
        }
        assert_eq!(cell(&t, 0, "line"), t.line.get(0).to_string());
        assert_eq!(exact_number(&t, 0, "quantity").parse::<f64>().unwrap(), t.quantity.get(0), "exact, not rounded");
        assert_eq!(exact_number(&t, 0, "cost"), "", "no cost is empty, not 0");
        assert!(!cell(&t, 0, "usage_start").is_empty());
    }
}

//! The meter catalog: mappings, confidence and rates (editable), with what the loaded data uses of each meter.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use meterlens_engine::catalog::{Catalog, CATALOG_SOURCE};
use meterlens_engine::summary::{Dimension, Summary, SummaryOptions};

use super::dataset::DatasetSignal;
use super::format::format_number;
use super::prices_store::Prices;
use crate::web::{self, PickedFile};

/// One row of the meters table.
#[derive(Clone, Debug, PartialEq)]
struct MeterRow {
    id: String,
    name: String,
    unit: String,
    provider: String,
    flags: Vec<&'static str>,
    mapping: String,
    confidence: String,
    known: bool,
    rows: u64,
    quantity: String,
}

fn meter_rows(seen: &BTreeMap<String, (u64, String)>) -> Vec<MeterRow> {
    let catalog = Catalog::builtin();
    let mut out: Vec<MeterRow> = seen
        .iter()
        .filter(|(id, _)| catalog.local_meter(id).is_none() && catalog.commerce_meter(id).is_none())
        .map(|(id, (rows, quantity))| MeterRow {
            id: id.clone(),
            name: "(unknown meter)".into(),
            unit: String::new(),
            provider: String::new(),
            flags: vec!["unknown"],
            mapping: String::new(),
            confidence: String::new(),
            known: false,
            rows: *rows,
            quantity: quantity.clone(),
        })
        .collect();
    for m in catalog.local_meters() {
        let mut flags = Vec::new();
        if m.deprecated {
            flags.push("deprecated");
        }
        if m.informational {
            flags.push("informational");
        }
        if m.commerce.iter().any(|c| c.admin) {
            flags.push("admin variant");
        }
        let mapping = m
            .commerce
            .iter()
            .map(|c| {
                let factor = if c.factor == 1.0 { String::new() } else { format!(" ×{:.6}", c.factor) };
                format!(
                    "{} {} / {} / {} per {}{factor}{}",
                    c.id,
                    c.category,
                    c.subcategory,
                    c.name,
                    c.unit,
                    if c.admin { " (admin)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let (rows, quantity) = seen.get(&m.id).cloned().unwrap_or_default();
        out.push(MeterRow {
            id: m.id.clone(),
            name: m.name.clone(),
            unit: m.unit.clone(),
            provider: m.provider.clone(),
            flags,
            mapping,
            confidence: m.commerce.first().map(|c| c.confidence.clone()).unwrap_or_default(),
            known: true,
            rows,
            quantity,
        });
    }
    out
}

#[component]
pub fn MetersPage(dataset: DatasetSignal, prices: RwSignal<Prices>) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let seen = Memo::new(move |_| {
        dataset.with(|d| {
            let Some(d) = d else { return BTreeMap::new() };
            let options = SummaryOptions { by: vec![Dimension::MeterId], include_admin: true, ..Default::default() };
            // Azure-side rows count towards the local meter their commerce meter bills.
            let catalog = Catalog::builtin();
            let mut seen: BTreeMap<String, (u64, BTreeMap<String, f64>)> = BTreeMap::new();
            for g in Summary::of(&d.table, &options).groups.into_iter().filter(|g| !g.key[0].1.is_empty()) {
                let id = &g.key[0].1;
                let local = catalog.commerce_meter(id).map_or_else(|| id.clone(), |(m, _)| m.id.clone());
                let entry = seen.entry(local).or_default();
                entry.0 += g.totals.rows;
                for (unit, q) in g.totals.quantity {
                    *entry.1.entry(unit).or_default() += q;
                }
            }
            seen.into_iter()
                .map(|(id, (rows, quantity))| {
                    let quantity: Vec<String> =
                        quantity.iter().map(|(u, q)| format!("{} {u}", format_number(*q, 2))).collect();
                    (id, (rows, quantity.join("; ")))
                })
                .collect()
        })
    });
    let rows = Memo::new(move |_| {
        let needle = search.get().to_lowercase();
        meter_rows(&seen.get())
            .into_iter()
            .filter(|r| {
                needle.is_empty()
                    || format!("{} {} {} {}", r.id, r.name, r.provider, r.mapping).to_lowercase().contains(&needle)
            })
            .collect::<Vec<_>>()
    });
    let import = move |files: Vec<PickedFile>| {
        spawn_local(async move {
            for file in files {
                let bytes = match file.bytes().await {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        message.set(Some(format!("{}: could not read the file: {e}", file.name())));
                        continue;
                    }
                };
                let report = prices.try_update(|p| p.import(&file.name(), &bytes));
                message.set(report.map(|r| match r.error {
                    Some(error) => error,
                    None if r.skipped.is_empty() => format!("{}: {} rates imported", file.name(), r.rates),
                    None => {
                        let skipped: Vec<String> =
                            r.skipped.iter().take(5).map(|(l, why)| format!("line {l}: {why}")).collect();
                        format!(
                            "{}: {} rates imported, {} rows skipped ({})",
                            file.name(),
                            r.rates,
                            r.skipped.len(),
                            skipped.join("; ")
                        )
                    }
                }));
            }
        });
    };
    view! {
        <section class="card meters" data-testid="meters-page">
            <div class="card-head">
                <h2>"Meters"</h2>
                <div class="controls">
                    <input type="search" placeholder="Search meters" data-testid="meter-search"
                        on:input=move |ev| search.set(event_target_value(&ev)) />
                    <label class="button secondary">"Import price sheet"
                        <input type="file" accept=".csv,text/csv" data-testid="price-sheet-input"
                            on:change=move |ev| import(web::picked_files(&ev)) />
                    </label>
                    <button data-testid="export-rates" on:click=move |_| {
                        let csv = prices.with(|p| p.book.export_csv());
                        web::download_text("meterlens-rates.csv", "text/csv", &csv);
                    }>"Export rates"</button>
                    <button class="secondary" data-testid="reset-rates" on:click=move |_| prices.update(|p| p.reset())>"Back to list prices"</button>
                </div>
            </div>
            <p class="muted">{format!("Catalog: {} · {}", Catalog::builtin().version(), CATALOG_SOURCE)}</p>
            <p class="muted">{move || prices.with(|p| format!(
                "Rates in {}{}", p.book.currency,
                if p.book.list_prices { ", list prices for meters without an imported or edited rate" } else { "; list prices (USD) are not used" }
            ))}</p>
            {move || message.get().map(|m| view! { <p class="notice" data-testid="price-message">{m}</p> })}
            {move || prices.with(|p| p.save_failed).then(|| view! {
                <p class="notice error">"This browser refused to save the rates; they last until the page is closed."</p>
            })}
            <table class="meters-table">
                <thead><tr>
                    <th>"Meter"</th><th>"Unit"</th><th>"Flags"</th><th>"Commerce meter (Azure)"</th>
                    <th>"Confidence"</th><th>"Rate"</th><th class="num">"Rows seen"</th><th>"Quantity seen"</th>
                </tr></thead>
                <tbody>
                    <For each=move || rows.get() key=|r| (r.id.clone(), r.rows) let:r>
                        {
                            let id = r.id.clone();
                            let rate_id = r.id.clone();
                            let rate = Memo::new(move |_| prices.with(|p| p.book.rate(&rate_id, i64::MAX)));
                            let edit_id = id.clone();
                            view! {
                                <tr class:unknown=!r.known data-testid=format!("meter-{}", r.id)>
                                    <td><strong>{r.name.clone()}</strong><div class="mono">{r.id.clone()}</div>
                                        <div class="muted">{r.provider.clone()}</div></td>
                                    <td>{r.unit.clone()}</td>
                                    <td>{r.flags.join(", ")}</td>
                                    <td class="mapping">{r.mapping.clone()}</td>
                                    <td>{r.confidence.clone()}</td>
                                    <td>
                                        {r.known.then(|| view! {
                                            <input type="number" step="any" min="0" class="rate"
                                                data-testid=format!("rate-{id}")
                                                prop:value=move || rate.get().map(|r| r.unit_price.to_string()).unwrap_or_default()
                                                on:change=move |ev| {
                                                    if let Ok(value) = event_target_value(&ev).trim().parse::<f64>() {
                                                        if value.is_finite() && value >= 0.0 {
                                                            prices.update(|p| p.edit(&edit_id, value));
                                                        }
                                                    }
                                                } />
                                            <div class="muted">{move || rate.get().map(|r| format!("per {} · {}", r.unit, r.source.describe())).unwrap_or_else(|| "no rate".into())}</div>
                                        })}
                                    </td>
                                    <td class="num">{format_number(r.rows as f64, 0)}</td>
                                    <td>{r.quantity.clone()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </section>
    }
}

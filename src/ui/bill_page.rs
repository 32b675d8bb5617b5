//! The tenant bill: an invoice per subscription and period, printable to PDF.

use leptos::prelude::*;
use meterlens_engine::bill::{bill, BillOptions};
use meterlens_engine::licensing::Licensing;
use meterlens_engine::prices::PriceBook;
use meterlens_engine::summary::{Dimension, Summary, SummaryOptions};
use meterlens_engine::time::parse_timestamp;

use super::dataset::DatasetSignal;
use super::format::format_number;
use super::prices_store::Prices;
use crate::web;

/// `[first day, first day of next month)` of a `YYYY-MM` label.
fn month_range(month: &str) -> Option<(i64, i64)> {
    let from = parse_timestamp(&format!("{month}-01")).ok()?;
    let (year, m) = month.split_once('-')?;
    let (year, m): (i32, u32) = (year.parse().ok()?, m.parse().ok()?);
    let next = if m == 12 { format!("{}-01-01", year + 1) } else { format!("{year}-{:02}-01", m + 1) };
    Some((from, parse_timestamp(&next).ok()?))
}

#[component]
pub fn BillPage(dataset: DatasetSignal, prices: RwSignal<Prices>) -> impl IntoView {
    let subscription = RwSignal::new(String::new());
    let month = RwSignal::new(String::new());
    let stamp = RwSignal::new(String::new());
    let choices = Memo::new(move |_| {
        dataset.with(|d| {
            let Some(d) = d else { return (Vec::new(), Vec::new(), Vec::new()) };
            let all = bill(&d.table, &PriceBook::default(), &BillOptions::default());
            let subscriptions: Vec<String> = all.subscriptions.iter().map(|s| s.subscription.clone()).collect();
            let options = SummaryOptions { by: vec![Dimension::Month], include_admin: true, ..Default::default() };
            let months = Summary::of(&d.table, &options).groups.into_iter().map(|g| g.key[0].1.clone()).collect();
            // Stamps are the locations of the stamp's own usage (Azure-side rows have Azure regions).
            let t = &d.table;
            let stamps: std::collections::BTreeSet<String> =
                (0..t.len()).filter(|&r| t.local[r]).map(|r| t.str(t.location[r]).to_string()).collect();
            (subscriptions, months, stamps.into_iter().collect::<Vec<_>>())
        })
    });
    let licensing = Memo::new(move |_| prices.with(|p| p.book.licensing));
    let result = Memo::new(move |_| {
        let options = BillOptions {
            subscription: Some(subscription.get()).filter(|s| !s.is_empty()),
            period: month_range(&month.get()),
            include_admin: false,
            location: Some(stamp.get()).filter(|s| !s.is_empty()),
        };
        prices.with(|p| dataset.with(|d| d.as_ref().map(|d| bill(&d.table, &p.book, &options))))
    });
    view! {
        <section class="card bill" data-testid="bill-page">
            <div class="card-head no-print">
                <h2>"Bill"</h2>
                <div class="controls">
                    <label>"Subscription "
                        <select data-testid="bill-subscription" on:change=move |ev| subscription.set(event_target_value(&ev))>
                            <option value="">"All subscriptions"</option>
                            {move || choices.get().0.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Period "
                        <select data-testid="bill-period" on:change=move |ev| month.set(event_target_value(&ev))>
                            <option value="">"All usage"</option>
                            {move || choices.get().1.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    {move || (choices.get().2.len() > 1).then(|| view! {
                        <label>"Stamp "
                            <select data-testid="bill-stamp" on:change=move |ev| stamp.set(event_target_value(&ev))>
                                <option value="">"All stamps"</option>
                                {choices.get().2.into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                    })}
                    <label title="How the stamp is licensed decides which usage is charged">"Licensing "
                        <select data-testid="bill-licensing" on:change=move |ev| {
                            if let Some(model) = Licensing::from_name(&event_target_value(&ev)) {
                                prices.update(|p| p.set_licensing(model));
                            }
                        }>
                            {Licensing::ALL.into_iter().map(|l| view! {
                                <option value=l.as_str() selected=move || licensing.get() == l>{l.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button data-testid="print" on:click=move |_| web::print_page()>"Print / PDF"</button>
                </div>
            </div>
            {move || result.get().map(|b| {
                let currency = b.currency.clone();
                let period = if month.get().is_empty() { "all usage loaded".to_string() } else { month.get() };
                let who = if subscription.get().is_empty() { "all subscriptions".to_string() } else { subscription.get() };
                let stamp_text = if stamp.get().is_empty() { String::new() } else { format!(" · stamp {}", stamp.get()) };
                view! {
                    <header class="invoice-head">
                        <h3>"Azure Stack Hub usage bill"</h3>
                        <p>{format!("For {who} · period {period}{stamp_text} · amounts in {currency}")}</p>
                        <p data-testid="bill-licensing-shown" data-value=b.licensing.as_str()>{b.licensing.label()}</p>
                    </header>
                    {b.subscriptions.iter().map(|s| {
                        let currency = currency.clone();
                        view! {
                            <h4>{format!("Subscription {}", s.subscription)}</h4>
                            <table class="invoice" data-testid="bill-lines">
                                <thead><tr>
                                    <th>"Meter"</th><th class="num">"Quantity"</th><th>"Unit"</th>
                                    <th class="num">"Billed quantity"</th><th>"Billing unit"</th>
                                    <th class="num">"Rate"</th><th>"Rate source"</th><th class="num">"Cost"</th>
                                </tr></thead>
                                <tbody>
                                    {s.lines.iter().map(|l| view! {
                                        <tr data-meter=l.meter_id.clone() data-cost=l.cost.to_string()>
                                            <td>{l.meter_name.clone()}
                                                {l.note.clone().map(|n| view! { <div class="note">{n}</div> })}</td>
                                            <td class="num">{format_number(l.quantity, 4)}</td>
                                            <td>{l.unit.clone()}</td>
                                            <td class="num">{format_number(l.billed_quantity, 4)}</td>
                                            <td>{l.billed_unit.clone()}</td>
                                            <td class="num">{l.rate.map(|r| r.to_string()).unwrap_or_else(|| "—".into())}</td>
                                            <td>{l.rate_source.clone()}</td>
                                            <td class="num">{format_number(l.cost, 2)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot><tr>
                                    <td colspan="7">"Subscription total"</td>
                                    <td class="num">{format!("{} {currency}", format_number(s.total, 2))}</td>
                                </tr></tfoot>
                            </table>
                        }
                    }).collect_view()}
                    <p class="grand-total" data-testid="bill-total" data-value=b.total.to_string() data-currency=b.currency.clone()>
                        "Total " <strong>{format!("{} {}", format_number(b.total, 2), b.currency)}</strong>
                    </p>
                    {(!b.unpriced_meters.is_empty()).then(|| view! {
                        <p class="unpriced" data-testid="unpriced">
                            {format!("Meters with usage but no rate (shown at 0): {}", b.unpriced_meters.join("; "))}
                        </p>
                    })}
                    <h4>"Assumptions"</h4>
                    <ul class="assumptions" data-testid="assumptions">
                        {b.assumptions.iter().map(|a| view! { <li>{a.clone()}</li> }).collect_view()}
                    </ul>
                }
            })}
        </section>
    }
}

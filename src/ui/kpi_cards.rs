//! KPI cards: rows, subscriptions, billed cost per currency (when the files carry it), quantity per unit.

use leptos::prelude::*;
use meterlens_engine::summary::Summary;

use super::format::format_number;

#[component]
pub fn KpiCards(summary: Memo<Option<Summary>>, #[prop(optional)] children: Option<ChildrenFn>) -> impl IntoView {
    move || {
        summary.get().map(|s| {
            let units: Vec<(String, f64)> = s.quantity.into_iter().collect();
            view! {
                <section class="kpis" aria-label="Key figures">
                    <div class="kpi" data-testid="kpi-rows" data-value=s.rows.to_string()>
                        <span class="kpi-label">"Usage rows"</span>
                        <span class="kpi-value">{format_number(s.rows as f64, 0)}</span>
                    </div>
                    <div class="kpi" data-testid="kpi-subscriptions" data-value=s.subscriptions.to_string()>
                        <span class="kpi-label">"Subscriptions"</span>
                        <span class="kpi-value">{format_number(s.subscriptions as f64, 0)}</span>
                    </div>
                    {(!s.cost.is_empty()).then(|| view! {
                        <div class="kpi" data-testid="kpi-cost">
                            <span class="kpi-label">"Billed cost"</span>
                            {s.cost.iter().map(|(currency, cost)| view! {
                                <span class="kpi-value kpi-money" data-currency=currency.clone() data-value=cost.to_string()>
                                    {format_number(*cost, 2)} " " <small>{currency.clone()}</small>
                                </span>
                            }).collect_view()}
                        </div>
                    })}
                    <div class="kpi kpi-units" data-testid="kpi-quantity">
                        <span class="kpi-label">"Total quantity per unit"</span>
                        <ul>
                            {units.into_iter().map(|(unit, quantity)| view! {
                                <li data-unit=unit.clone() data-value=quantity.to_string()>
                                    <span class="qty">{format_number(quantity, 2)}</span>
                                    <span class="unit">{unit.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                    {children.as_ref().map(|c| c())}
                </section>
            }
        })
    }
}

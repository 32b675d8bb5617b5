//! Data quality: what each file gave, and the rows that had problems.

use leptos::prelude::*;

use super::dataset::Dataset;
use super::format::format_number;

/// Issues listed per file; the rest are counted.
const LISTED: usize = 50;

#[component]
pub fn IssuesPanel(dataset: RwSignal<Option<Dataset>>) -> impl IntoView {
    move || {
        dataset.with(|d| {
            let d = d.as_ref()?;
            let files = d
                .reports
                .iter()
                .map(|r| {
                    let issues = r.issues.iter().take(LISTED).map(|i| {
                        let column = i.column.clone().unwrap_or_default();
                        view! {
                            <tr>
                                <td>{i.line}</td>
                                <td>{column}</td>
                                <td>{i.message.clone()}</td>
                                <td><code>{i.excerpt.clone()}</code></td>
                            </tr>
                        }
                    }).collect_view();
                    let more = r.issue_count.saturating_sub(LISTED.min(r.issues.len()) as u64);
                    view! {
                        <div class="file-report">
                            <p>
                                <strong>{r.file.clone()}</strong> ": "
                                {match &r.error {
                                    Some(e) => e.to_string(),
                                    None => format!("{} rows as {}, {} rejected, {} issues",
                                        format_number(r.rows as f64, 0), r.format.label(), r.rejected, r.issue_count),
                                }}
                            </p>
                            {(r.issue_count > 0).then(|| view! {
                                <table class="issues">
                                    <thead><tr><th>"Line"</th><th>"Column"</th><th>"Problem"</th><th>"Text"</th></tr></thead>
                                    <tbody>{issues}</tbody>
                                </table>
                            })}
                            {(more > 0).then(|| view! { <p class="more">{format!("… and {more} more")}</p> })}
                        </div>
                    }
                })
                .collect_view();
            Some(view! {
                <section class="card" data-testid="issues">
                    <h2>"Files and data quality"</h2>
                    {files}
                </section>
            })
        })
    }
}

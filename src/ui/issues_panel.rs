//! Data quality: what each file gave, and the rows that had problems.

use leptos::prelude::*;

use meterlens_engine::ingest::FileReport;

use super::dataset::DatasetSignal;
use super::format::format_number;

/// Issues listed per file; the rest are counted.
const LISTED: usize = 50;

/// One line about a file: what it was read as, and anything the user should know about how.
fn describe(r: &FileReport) -> String {
    let mut text = match &r.error {
        Some(e) if r.rows == 0 => return e.to_string(),
        Some(e) => format!("{e}. "),
        None => String::new(),
    };
    text += &format!(
        "{} rows as {}, {} rejected, {} issues",
        format_number(r.rows as f64, 0),
        r.format_label(),
        r.rejected,
        r.issue_count
    );
    if r.gzip {
        text += ", gzip-compressed";
    }
    if let Some(order) = r.date_order {
        text += &format!(", dates read as {}", order.as_str());
    }
    if r.preamble_lines > 0 {
        text += &format!(", {} lines before the header skipped", r.preamble_lines);
    }
    text
}

#[component]
pub fn IssuesPanel(dataset: DatasetSignal) -> impl IntoView {
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
                                {describe(r)}
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

//! The app shell: loads the embedded sample, accepts files, and lays out the report.

use leptos::prelude::*;
use leptos::task::spawn_local;
use meterlens_engine::summary::{Dimension, Summary, SummaryOptions};

use super::dataset::{Dataset, SAMPLE_URL};
use super::file_loader::FileLoader;
use super::format::format_number;
use super::issues_panel::IssuesPanel;
use super::kpi_cards::KpiCards;
use super::usage_chart::UsageChart;
use crate::web::{self, PickedFile};

/// A message above the report.
#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Loading(String),
    Error(String),
}

#[component]
pub fn App() -> impl IntoView {
    let dataset = RwSignal::new(None::<Dataset>);
    let notice = RwSignal::new(Some(Notice::Loading("Loading the embedded sample…".into())));
    let include_admin = RwSignal::new(false);

    spawn_local(async move {
        match web::fetch_bytes(SAMPLE_URL).await {
            Ok(bytes) => {
                dataset.set(Some(Dataset::from_bytes("usage-sample.csv", &bytes, "embedded sample")));
                notice.set(None);
            }
            Err(error) => notice.set(Some(Notice::Error(format!("The embedded sample could not be loaded: {error}")))),
        }
    });

    let on_files = move |files: Vec<PickedFile>| {
        if files.is_empty() {
            return;
        }
        let names = files.iter().map(PickedFile::name).collect::<Vec<_>>().join(", ");
        notice.set(Some(Notice::Loading(format!("Reading {names}…"))));
        spawn_local(async move {
            match Dataset::from_files(&files).await {
                Ok(loaded) => {
                    let errors = loaded.file_errors();
                    if loaded.has_readable_file() {
                        dataset.set(Some(loaded));
                        notice.set((!errors.is_empty()).then(|| Notice::Error(errors.join("\n"))));
                    } else {
                        let kept = if dataset.with_untracked(Option::is_some) {
                            "\nThe previous report is still shown."
                        } else {
                            ""
                        };
                        notice.set(Some(Notice::Error(format!("{}{kept}", errors.join("\n")))));
                    }
                }
                Err(error) => notice.set(Some(Notice::Error(error))),
            }
        });
    };

    let summary = Memo::new(move |_| {
        let options = SummaryOptions { by: vec![Dimension::Day, Dimension::Unit], include_admin: include_admin.get() };
        dataset.with(|d| d.as_ref().map(|d| Summary::of(&d.table, &options)))
    });
    let hidden_admin = Memo::new(move |_| {
        dataset
            .with(|d| d.as_ref().map_or(0, |d| Summary::of(&d.table, &SummaryOptions::default()).admin_rows_excluded))
    });

    view! {
        <header class="topbar">
            <div class="brand">
                <h1>"MeterLens"</h1>
                <p class="tagline">"Azure Stack Hub usage, read in your browser. Your data never leaves it."</p>
            </div>
            <FileLoader on_files=on_files />
        </header>
        <main class="report">
            {move || notice.get().map(|n| match n {
                Notice::Loading(text) => view! { <div class="notice loading" data-testid="notice">{text}</div> }.into_any(),
                Notice::Error(text) => view! {
                    <div class="notice error" role="alert" data-testid="notice">{text}</div>
                }.into_any(),
            })}
            {move || dataset.with(|d| d.as_ref().map(|d| {
                let rows: u64 = d.reports.iter().map(|r| r.rows).sum();
                view! {
                    <p class="source" data-testid="source">
                        "Showing " <strong>{d.origin.clone()}</strong> " · "
                        {format_number(rows as f64, 0)} " rows read"
                    </p>
                }
            }))}
            {move || (hidden_admin.get() > 0).then(|| {
                let hidden = hidden_admin.get();
                view! {
                    <div class="admin-banner" data-testid="admin-banner">
                        {move || if include_admin.get() {
                            format!("Including {} rows of zero-priced admin (infrastructure) usage.", format_number(hidden as f64, 0))
                        } else {
                            format!("{} rows of zero-priced admin (infrastructure) usage hidden.", format_number(hidden as f64, 0))
                        }}
                        <button data-testid="admin-toggle" on:click=move |_| include_admin.update(|v| *v = !*v)>
                            {move || if include_admin.get() { "Hide them" } else { "Show them" }}
                        </button>
                    </div>
                }
            })}
            <KpiCards summary=summary />
            <UsageChart summary=summary />
            <IssuesPanel dataset=dataset />
        </main>
    }
}

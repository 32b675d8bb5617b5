//! The app shell: loads the embedded sample, accepts files, and lays out the report.

use leptos::prelude::*;
use leptos::task::spawn_local;
use meterlens_engine::summary::{Summary, SummaryOptions};

use super::bill_page::BillPage;
use super::connect_page::{ConnectPage, ConnectState, LoadFiles};
use super::data_page::DataPage;
use super::dataset::{Dataset, DatasetSignal, SAMPLE_NAME, SAMPLE_URL};
use super::explorer_page::ExplorerPage;
use super::file_loader::FileLoader;
use super::format::format_number;
use super::issues_panel::IssuesPanel;
use super::meters_page::MetersPage;
use super::overview_page::OverviewPage;
use super::prices_store::Prices;
use super::reconcile_page::ReconcilePage;
use super::report::Report;
use super::resources_page::ResourcesPage;
use super::slicers::{ActiveFilters, SlicerPanel};
use super::view_state::{Page, ViewState};
use crate::load::{self, Progress};
use crate::web::{self, IngestWorker, PickedFile, WorkerEvent};
use meterlens_engine::ingest::{fingerprint, FINGERPRINT_BYTES, PARQUET_MAGIC};

/// Hidden admin rows listed with their reason in the banner.
const ADMIN_EXAMPLES: usize = 20;

/// A load in progress.
#[derive(Clone, Debug, PartialEq)]
struct Loading {
    names: String,
    started_ms: f64,
    progress: Progress,
}

impl Loading {
    /// `Reading a.csv · 12.5 of 300 MB · 41,000 rows · 205,000 rows/s · about 23 s left`
    fn describe(&self, now_ms: f64) -> String {
        let p = &self.progress;
        let seconds = ((now_ms - self.started_ms) / 1000.0).max(0.001);
        let mb = |b: u64| b as f64 / 1e6;
        let mut text = format!(
            "Reading {} · {} of {} MB · {} rows",
            if p.file.is_empty() { &self.names } else { &p.file },
            format_number(mb(p.done_bytes), 1),
            format_number(mb(p.total_bytes), 1),
            format_number(p.rows as f64, 0)
        );
        if p.done_bytes > 0 {
            let left = (p.total_bytes - p.done_bytes.min(p.total_bytes)) as f64 / (p.done_bytes as f64 / seconds);
            text += &format!(" · {} rows/s · about {} s left", format_number(p.rows as f64 / seconds, 0), left.ceil());
        }
        text
    }

    fn percent(&self) -> f64 {
        let p = &self.progress;
        if p.total_bytes == 0 {
            0.0
        } else {
            (p.done_bytes as f64 / p.total_bytes as f64 * 100.0).min(100.0)
        }
    }
}

/// What a running load reads: files the user gave (kept for the next visit) or the embedded sample (not kept).
#[derive(Clone, Copy, Debug, PartialEq)]
enum LoadKind {
    Files,
    Sample,
}

/// A message above the report.
#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Loading(String),
    Error(String),
}

#[component]
pub fn App() -> impl IntoView {
    let dataset: DatasetSignal = RwSignal::new_local(None::<Dataset>);
    let notice = RwSignal::new(Some(Notice::Loading("Loading the embedded sample…".into())));
    let prices = RwSignal::new(Prices::load());
    let state = RwSignal::new(ViewState::from_hash(&web::page_hash()));
    web::on_hash_change(move |hash| {
        let next = ViewState::from_hash(&hash);
        if next != state.get_untracked() {
            state.set(next);
        }
    });
    let report = Report { dataset, state };
    provide_context(report);
    Effect::new(move || web::set_query_engine(dataset.with(|d| d.as_ref().map(|d| d.engine.clone()))));
    let page = Memo::new(move |_| state.get().page);
    let include_admin = Memo::new(move |_| state.get().include_admin);

    let kept = RwSignal::new(false);
    let loading = RwSignal::new(None::<Loading>);
    let worker = StoredValue::new_local(None::<IngestWorker>);
    let kept_note = move || {
        if dataset.with_untracked(Option::is_some) {
            "\nThe previous report is still shown."
        } else {
            ""
        }
    };

    // Every load (files or sample) bumps the generation: a late answer of an older load is ignored.
    let generation = StoredValue::new(0u64);
    let pending = StoredValue::new_local(None::<(Vec<PickedFile>, bool)>);
    let repeats = RwSignal::new(Vec::<String>::new());
    let load_kind = StoredValue::new(LoadKind::Files);
    // Said once the sample is shown: why it is shown instead of the data kept from the last visit.
    let after_sample = StoredValue::new(None::<String>);
    let on_worker_event = move |event: WorkerEvent| match event {
        WorkerEvent::Progress(progress) => loading.update(|l| {
            if let Some(l) = l {
                l.progress = progress;
            }
        }),
        WorkerEvent::Done(packed) => {
            loading.set(None);
            // The dataset is ours: stop the worker now, so its memory is freed before the page decodes it.
            // The handle is not dropped inside its own message handler: after it returns.
            worker.with_value(|w| w.as_ref().map(IngestWorker::cancel));
            spawn_local(async move { worker.set_value(None) });
            let decoding_for = generation.get_value();
            if matches!(packed, web::Packed::Blob { .. }) && load_kind.get_value() == LoadKind::Files {
                notice.set(Some(Notice::Loading("Reading the loaded data into the report…".into())));
            }
            spawn_local(async move {
                let decoded = Dataset::from_packed(&packed).await;
                // Something else was loaded while this was read back from disk.
                if generation.get_value() != decoding_for {
                    return packed.discard().await;
                }
                match decoded {
                    Ok(mut loaded) if load_kind.get_value() == LoadKind::Sample => {
                        loaded.origin = "embedded sample".into();
                        dataset.set(Some(loaded));
                        notice.set(after_sample.try_update_value(Option::take).flatten().map(Notice::Error));
                        packed.discard().await;
                        if kept.get_untracked() {
                            web::forget_dataset().await;
                            kept.set(false);
                        }
                    }
                    Ok(loaded) => {
                        let mut errors = loaded.file_errors();
                        errors.extend(loaded.repeated.iter().cloned());
                        if !loaded.has_readable_file() {
                            notice.set(Some(Notice::Error(format!("{}{}", errors.join("\n"), kept_note()))));
                            return packed.discard().await;
                        }
                        dataset.set(Some(loaded));
                        notice.set((!errors.is_empty()).then(|| Notice::Error(errors.join("\n"))));
                        let stored_for = generation.get_value();
                        match web::store_dataset(packed).await {
                            // Kept for this load only if nothing else was loaded meanwhile.
                            Ok(()) if generation.get_value() == stored_for => kept.set(true),
                            // The sample was asked for meanwhile: this must not come back on the next visit.
                            Ok(()) if load_kind.get_value() == LoadKind::Sample => {
                                kept.set(false);
                                web::forget_dataset().await;
                            }
                            Ok(()) => kept.set(false),
                            Err(error) => {
                                kept.set(false);
                                web::forget_dataset().await;
                                notice.update(|n| {
                                    let before = match n.take() {
                                        Some(Notice::Error(text)) => format!("{text}\n"),
                                        _ => String::new(),
                                    };
                                    *n = Some(Notice::Error(format!(
                                        "{before}The browser would not keep this data ({error}): the report works, but a reload will not bring it back."
                                    )));
                                });
                            }
                        }
                    }
                    Err(error) => {
                        notice.set(Some(Notice::Error(format!(
                            "The loaded data could not be read: {error}{}",
                            kept_note()
                        ))));
                        packed.discard().await;
                    }
                }
            });
        }
        WorkerEvent::Failed(message) => {
            loading.set(None);
            spawn_local(async move { worker.set_value(None) });
            notice.set(Some(Notice::Error(format!(
                "Loading stopped: {message}. Nothing of this load was kept.{}",
                kept_note()
            ))));
        }
    };

    let start_load = move |files: Vec<PickedFile>, count_repeats: bool, parquet: bool, kind: LoadKind| {
        generation.update_value(|g| *g += 1);
        load_kind.set_value(kind);
        worker.update_value(|w| {
            if let Some(w) = w.take() {
                w.cancel();
            }
        });
        // The sample's notice stays: it is read in a blink, without a progress bar. Files picked while it was on
        // its way still wait for the user's answer.
        if kind == LoadKind::Files {
            repeats.set(Vec::new());
            pending.set_value(None);
            let names = files.iter().map(PickedFile::name).collect::<Vec<_>>().join(", ");
            let total_bytes = files.iter().map(|f| f.size() as u64).sum();
            notice.set(None);
            loading.set(Some(Loading {
                names,
                started_ms: web::now_ms(),
                progress: Progress { total_bytes, ..Default::default() },
            }));
        }
        // An event of a load that another has replaced (a hand-over still being opened) is not this load's.
        let this_load = generation.get_value();
        let events = move |event: WorkerEvent| match event {
            _ if generation.get_value() == this_load => on_worker_event(event),
            WorkerEvent::Done(packed) => spawn_local(packed.discard()),
            _ => {}
        };
        match IngestWorker::start(files, count_repeats, parquet, events) {
            Ok(started) => worker.set_value(Some(started)),
            Err(error) => {
                loading.set(None);
                notice.set(Some(Notice::Error(error)));
            }
        }
    };
    // The sample is parsed by the ingest worker like any file, so the page's wasm carries no parser.
    let load_sample = move || {
        generation.update_value(|g| *g += 1);
        let asked = generation.get_value();
        worker.update_value(|w| {
            if let Some(w) = w.take() {
                w.cancel();
            }
        });
        // From now on: a store still being written must not outlive this choice (see the store above).
        load_kind.set_value(LoadKind::Sample);
        loading.set(None);
        repeats.set(Vec::new());
        pending.set_value(None);
        notice.set(Some(Notice::Loading("Loading the embedded sample…".into())));
        spawn_local(async move {
            let file = web::fetch_bytes(SAMPLE_URL).await.and_then(|bytes| {
                PickedFile::from_bytes(SAMPLE_NAME, &bytes).ok_or_else(|| "the browser could not make a file".into())
            });
            // Something else was loaded while the sample was fetched.
            if generation.get_value() != asked {
                return;
            }
            match file {
                Ok(file) => start_load(vec![file], false, false, LoadKind::Sample),
                Err(error) => {
                    notice.set(Some(Notice::Error(format!("The embedded sample could not be loaded: {error}"))))
                }
            }
        });
    };
    // The data of the last visit comes back if the browser kept it; else the sample. Files the user loads
    // meanwhile win over both.
    spawn_local(web::sweep_handovers());
    spawn_local(async move {
        let asked = generation.get_value();
        let stored = web::stored_dataset().await;
        if generation.get_value() != asked {
            return;
        }
        if let Some(packed) = stored {
            let restored = Dataset::from_packed(&packed).await;
            if generation.get_value() != asked {
                return;
            }
            match restored {
                Ok(restored) => {
                    dataset.set(Some(restored));
                    kept.set(true);
                    notice.set(None);
                    return;
                }
                Err(error) => {
                    web::forget_dataset().await;
                    after_sample.set_value(Some(format!(
                        "The data kept from your last visit could not be read ({error}); showing the sample."
                    )));
                }
            }
        }
        load_sample();
    });
    let forget = move |_| {
        spawn_local(async move {
            web::forget_dataset().await;
            kept.set(false);
        });
        load_sample();
    };

    // The same export picked twice would count every row twice: the user decides, before anything is read.
    let on_files = move |files: Vec<PickedFile>| {
        if files.is_empty() {
            return;
        }
        spawn_local(async move {
            let (mut prints, mut parquet) = (Vec::new(), false);
            for file in &files {
                let head = file.head(FINGERPRINT_BYTES).await.unwrap_or_default();
                parquet |= head.starts_with(PARQUET_MAGIC);
                prints.push((file.name(), fingerprint(file.size() as u64, &head)));
            }
            let found = load::repeats(&prints);
            if found.is_empty() {
                start_load(files, false, parquet, LoadKind::Files);
            } else {
                pending.set_value(Some((files, parquet)));
                repeats.set(found);
            }
        });
    };
    let decide = move |count_repeats: Option<bool>| {
        repeats.set(Vec::new());
        if let (Some((files, parquet)), Some(count)) = (pending.try_update_value(Option::take).flatten(), count_repeats)
        {
            start_load(files, count, parquet, LoadKind::Files);
        }
    };
    provide_context(LoadFiles(Callback::new(on_files)));
    provide_context(ConnectState::default());
    let cancel = move |_| {
        worker.update_value(|w| {
            if let Some(w) = w.take() {
                w.cancel();
            }
        });
        loading.set(None);
        notice.set(Some(Notice::Error(format!("Loading cancelled.{}", kept_note()))));
    };

    let hidden_admin = Memo::new(move |_| {
        dataset.with(|d| {
            d.as_ref().map_or((0, Vec::new(), Vec::new()), |d| {
                let s = Summary::with_engine(&d.engine, &SummaryOptions::default());
                let t = &d.table;
                // The engine classified every row once when the data arrived.
                let examples: Vec<String> = (0..t.len())
                    .filter_map(|row| d.engine.admin_reason(row).map(|why| (row, why)))
                    .take(ADMIN_EXAMPLES)
                    .map(|(row, why)| {
                        let file = t.sources().get(t.source[row] as usize).map_or("", |s| s.file.as_str());
                        format!(
                            "{file} line {}: {} in {} — {}",
                            t.line.get(row),
                            t.str(t.meter_name(row)),
                            t.str(t.resource_group(row)),
                            why.as_str()
                        )
                    })
                    .collect();
                (s.admin_rows_excluded, s.admin_reasons.into_iter().collect::<Vec<_>>(), examples)
            })
        })
    });

    view! {
        <header class="topbar">
            <div class="brand">
                <h1>"MeterLens"</h1>
                <p class="tagline">"Azure Stack Hub usage, read in your browser. Your data never leaves it."</p>
            </div>
            <nav class="tabs" aria-label="Pages">
                {Page::ALL.into_iter().map(|p| view! {
                    <a href=move || format!("#{}", ViewState { page: p, ..state.get() }.to_hash())
                        class:active=move || page.get() == p
                        aria-current=move || (page.get() == p).then_some("page")
                        data-testid=format!("nav-{}", p.hash())>{p.title()}</a>
                }).collect_view()}
            </nav>
            <div class="load-tools">
                <FileLoader on_files=on_files />
                <button class="secondary" data-testid="load-sample" title="Load the embedded sample month again"
                    on:click=move |_| load_sample()>"Sample data"</button>
            </div>
        </header>
        <main class="report"
            on:dragover=move |ev| ev.prevent_default()
            on:drop=move |ev| {
                // Files dropped anywhere on the report load like files dropped on the drop zone.
                ev.prevent_default();
                on_files(web::dropped_files(&ev));
            }>
            {move || notice.get().map(|n| match n {
                Notice::Loading(text) => view! { <div class="notice loading" data-testid="notice">{text}</div> }.into_any(),
                Notice::Error(text) => view! {
                    <div class="notice error" role="alert" data-testid="notice">{text}</div>
                }.into_any(),
            })}
            {move || (!repeats.get().is_empty()).then(|| view! {
                <div class="notice confirm" role="alertdialog" aria-label="The same file twice" data-testid="repeat-question">
                    <p>{repeats.get().join(". ")}". Counting both would count every row twice."</p>
                    <button data-testid="read-once" on:click=move |_| decide(Some(false))>"Read it once"</button>
                    " "
                    <button class="secondary" data-testid="count-both" on:click=move |_| decide(Some(true))>"Count both"</button>
                    " "
                    <button class="secondary" data-testid="cancel-repeat" on:click=move |_| decide(None)>"Cancel"</button>
                </div>
            })}
            {move || loading.get().map(|l| {
                let percent = l.percent();
                view! {
                    <div class="progress" data-testid="progress" role="progressbar" aria-label="Loading files"
                        aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                        <span class="progress-text">{l.describe(web::now_ms())}</span>
                        <span class="bar"><span class="fill" style=format!("width:{percent:.1}%")></span></span>
                        <button class="secondary" data-testid="cancel-load" on:click=cancel>"Cancel"</button>
                    </div>
                }
            })}
            {move || dataset.with(|d| d.as_ref().map(|d| {
                let rows: u64 = d.reports.iter().map(|r| r.rows).sum();
                view! {
                    <p class="source" data-testid="source">
                        "Showing " <strong>{d.origin.clone()}</strong> " · "
                        {format_number(rows as f64, 0)} " rows read"
                        {move || kept.get().then(|| view! {
                            " · kept in this browser "
                            <button class="tool" data-testid="forget-data" title="Remove the kept data from this browser and show the sample"
                                on:click=forget>"Forget data"</button>
                        })}
                    </p>
                }
            }))}
            {move || (hidden_admin.get().0 > 0 && page.get().is_sliced()).then(|| {
                let (hidden, reasons, examples) = hidden_admin.get();
                let reasons: Vec<String> = reasons.iter().map(|(why, n)| format!("{n} × {why}")).collect();
                view! {
                    <div class="admin-banner" data-testid="admin-banner">
                        {move || if include_admin.get() {
                            format!("Including {} rows of zero-priced admin (infrastructure) usage.", format_number(hidden as f64, 0))
                        } else {
                            format!("{} rows of zero-priced admin (infrastructure) usage hidden.", format_number(hidden as f64, 0))
                        }}
                        <details class="reasons" data-testid="admin-reasons">
                            <summary>"Why?"</summary>
                            <ul>{reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
                            <p class="muted">{format!("The first {} rows:", examples.len())}</p>
                            <ul class="examples">{examples.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
                        </details>
                        <button data-testid="admin-toggle" on:click=move |_| report.update(|s| s.include_admin = !s.include_admin)>
                            {move || if include_admin.get() { "Hide them" } else { "Show them" }}
                        </button>
                    </div>
                }
            })}
            {move || if page.get().is_sliced() {
                view! {
                    <div class="sliced">
                        <SlicerPanel />
                        <div class="page-body">
                            <ActiveFilters />
                            {move || match page.get() {
                                Page::Explorer => view! { <ExplorerPage /> }.into_any(),
                                Page::Resources => view! { <ResourcesPage /> }.into_any(),
                                Page::Data => view! { <DataPage prices=prices /> <IssuesPanel dataset=dataset /> }.into_any(),
                                _ => view! { <OverviewPage /> <IssuesPanel dataset=dataset /> }.into_any(),
                            }}
                        </div>
                    </div>
                }.into_any()
            } else {
                match page.get() {
                    Page::Bill => view! { <BillPage dataset=dataset prices=prices /> }.into_any(),
                    Page::Meters => view! { <MetersPage dataset=dataset prices=prices /> }.into_any(),
                    Page::Connect => view! { <ConnectPage /> }.into_any(),
                    _ => view! { <ReconcilePage dataset=dataset prices=prices /> }.into_any(),
                }
            }}
        </main>
    }
}

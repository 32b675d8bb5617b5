//! The Connect page: pull usage straight from an Azure Stack Hub stamp's usage API (tenant or provider), page by
//! page with retries and progress, then load it like a usage API JSON file. The token stays in memory only.

use leptos::prelude::*;
use leptos::task::spawn_local;
use meterlens_engine::usage_api::{Granularity, Mode, Pager, PagerProgress, Step, UsageRequest};

use super::format::format_number;
use super::report::Report;
use super::view_state::Page;
use crate::web::{self, PickedFile};

/// Loads files into the report (the app shell's loader, through the ingest worker).
#[derive(Clone, Copy)]
pub struct LoadFiles(pub Callback<Vec<PickedFile>>);

/// Where a run stands.
#[derive(Clone, Debug, PartialEq)]
enum Run {
    Idle,
    Running(PagerProgress),
    Loaded { rows: u64, repeated_pages: u32, retries: u32 },
    Failed { message: String, rows: u64 },
}

/// `YYYY-MM-01T00:00:00Z` of the month `months_back` months before the current UTC month.
fn month_start(now: i64, months_back: i64) -> String {
    let index = meterlens_engine::time::month_index(now) - months_back;
    format!("{}-01T00:00:00Z", meterlens_engine::time::month_index_label(index))
}

/// The Connect page's state, kept by the app shell so that it survives a visit to another page.
#[derive(Clone, Copy)]
pub struct ConnectState {
    endpoint: RwSignal<String>,
    subscription: RwSignal<String>,
    provider: RwSignal<bool>,
    subscribers: RwSignal<String>,
    start: RwSignal<String>,
    end: RwSignal<String>,
    hourly: RwSignal<bool>,
    /// The token lives in this signal only: never stored, logged, or put in a URL.
    token: RwSignal<String>,
    run: RwSignal<Run>,
    problems: RwSignal<Vec<String>>,
    cancelled: RwSignal<bool>,
    document: StoredValue<Option<(String, String)>>,
}

impl Default for ConnectState {
    fn default() -> ConnectState {
        let now = web::now_seconds();
        ConnectState {
            endpoint: RwSignal::new(String::from("https://management.local.azurestack.external")),
            subscription: RwSignal::new(String::new()),
            provider: RwSignal::new(false),
            subscribers: RwSignal::new(String::new()),
            start: RwSignal::new(month_start(now, 1)),
            end: RwSignal::new(month_start(now, 0)),
            hourly: RwSignal::new(false),
            token: RwSignal::new(String::new()),
            run: RwSignal::new(Run::Idle),
            problems: RwSignal::new(Vec::new()),
            cancelled: RwSignal::new(false),
            document: StoredValue::new(None),
        }
    }
}

#[component]
pub fn ConnectPage() -> impl IntoView {
    let report = Report::get();
    let load = expect_context::<LoadFiles>();
    let ConnectState {
        endpoint,
        subscription,
        provider,
        subscribers,
        start,
        end,
        hourly,
        token,
        run,
        problems,
        cancelled,
        document,
    } = expect_context::<ConnectState>();

    let request = move || UsageRequest {
        endpoint: endpoint.get_untracked(),
        subscription: subscription.get_untracked(),
        mode: if provider.get_untracked() {
            let list = subscribers.get_untracked();
            Mode::Provider {
                subscribers: list.split([',', ' ', '\n']).filter(|s| !s.is_empty()).map(str::to_string).collect(),
            }
        } else {
            Mode::Tenant
        },
        start: start.get_untracked(),
        end: end.get_untracked(),
        granularity: if hourly.get_untracked() { Granularity::Hourly } else { Granularity::Daily },
    };
    let file_name = move |r: &UsageRequest| {
        let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
        format!("usage-api-{}-{}-{}.json", r.subscription.get(..8).unwrap_or("stamp"), day(&r.start), day(&r.end))
    };
    let load_document = move || {
        if let Some((name, text)) = document.get_value() {
            if let Some(file) = PickedFile::from_bytes(&name, text.as_bytes()) {
                load.0.run(vec![file]);
                report.update(|s| s.page = Page::Overview);
            }
        }
    };
    let connect = move |_| {
        let request = request();
        if token.get_untracked().trim().is_empty() {
            problems.set(vec!["Paste an access token for the stamp (see how to get one below).".into()]);
            return;
        }
        let range = match request.validate(web::now_seconds()) {
            Ok(range) => range,
            Err(list) => return problems.set(list),
        };
        problems.set(Vec::new());
        cancelled.set(false);
        document.set_value(None);
        let name = file_name(&request);
        let mut pager = Pager::new(request, range);
        run.set(Run::Running(pager.progress().clone()));
        spawn_local(async move {
            let mut step = pager.start();
            let outcome = loop {
                match step {
                    Step::Fetch { url, wait_ms } => {
                        // A long Retry-After is waited in short steps, so Cancel answers at once.
                        let mut waited = 0;
                        while waited < wait_ms && !cancelled.get_untracked() {
                            web::sleep_ms(200.min(wait_ms - waited)).await;
                            waited += 200;
                        }
                        if cancelled.get_untracked() {
                            break Err("Cancelled.".to_string());
                        }
                        let answer = web::get_with_token(&url, &token.get_untracked()).await;
                        // Whatever came back after Cancel is dropped, even a last page.
                        if cancelled.get_untracked() {
                            break Err("Cancelled.".to_string());
                        }
                        step = match answer {
                            Some(answer) => pager.answer(answer.status, answer.retry_after, &answer.body),
                            None => pager.no_answer(),
                        };
                        run.set(Run::Running(pager.progress().clone()));
                    }
                    Step::Done => break Ok(()),
                    Step::Fail(error) => break Err(format!("Loading from the stamp stopped: {error}.")),
                }
            };
            let progress = pager.progress().clone();
            document.set_value(Some((name, pager.document())));
            match outcome {
                Ok(()) => {
                    run.set(Run::Loaded {
                        rows: progress.rows,
                        repeated_pages: progress.repeated_pages,
                        retries: progress.retries,
                    });
                    load_document();
                }
                Err(message) => run.set(Run::Failed { message, rows: progress.rows }),
            }
        });
    };
    let save = move |_| {
        if let Some((name, text)) = document.get_value() {
            web::download_text(&name, "application/json", &text);
        }
    };
    let field = move |label: &'static str, id: &'static str, value: RwSignal<String>, hint: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" data-testid=id spellcheck="false" autocomplete="off" placeholder=hint
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
            </label>
        }
    };
    // A two-way choice: `flag` is true when the second option is chosen.
    let choice = move |label: &'static str,
                       id: &'static str,
                       flag: RwSignal<bool>,
                       off: (&'static str, &'static str),
                       on: (&'static str, &'static str)| {
        view! {
            <label class="field"><span>{label}</span>
                <select data-testid=id on:change=move |ev| flag.set(event_target_value(&ev) == on.0)>
                    <option value=off.0 selected=move || !flag.get()>{off.1}</option>
                    <option value=on.0 selected=move || flag.get()>{on.1}</option>
                </select>
            </label>
        }
    };
    view! {
        <section class="card connect" data-testid="connect-page">
            <h2>"Connect to an Azure Stack Hub stamp"</h2>
            <p class="muted">
                "Reads usage from the stamp's usage API in your browser (api-version 2015-06-01-preview), page by page. "
                "The token stays in this tab's memory: it is never stored, logged, or put in a link."
            </p>
            <div class="connect-grid">
                {field("ARM endpoint", "api-endpoint", endpoint, "https://management.local.azurestack.external")}
                {field("Subscription ID", "api-subscription", subscription, "11111111-aaaa-4bbb-8ccc-000000000001")}
                {choice("API", "api-mode", provider, ("tenant", "Tenant: my subscription's usage (usageAggregates)"),
                    ("provider", "Operator: tenants' usage (subscriberUsageAggregates)"))}
                {move || provider.get().then(|| field("Subscribers (optional)", "api-subscribers", subscribers, "blank = all direct tenants; else GUIDs, comma separated (one call each)"))}
                {field("Reported start (UTC)", "api-start", start, "2026-10-01T00:00:00Z")}
                {field("Reported end (UTC, exclusive)", "api-end", end, "2026-11-01T00:00:00Z")}
                {choice("Granularity", "api-granularity", hourly, ("daily", "Daily (times at UTC midnight)"),
                    ("hourly", "Hourly (times on the hour)"))}
                <label class="field"><span>"Access token"</span>
                    <input type="password" data-testid="api-token" autocomplete="off" placeholder="paste a bearer token"
                        prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev)) />
                </label>
            </div>
            <div class="controls">
                <button data-testid="api-connect" on:click=connect disabled=move || matches!(run.get(), Run::Running(_))>"Connect and load"</button>
                {move || matches!(run.get(), Run::Running(_)).then(|| view! {
                    <button class="secondary" data-testid="api-cancel" on:click=move |_| cancelled.set(true)>"Cancel"</button>
                })}
                {move || matches!(run.get(), Run::Loaded { .. } | Run::Failed { rows: 1.., .. }).then(|| view! {
                    <button class="secondary" data-testid="api-save" on:click=save>"Save as JSON"</button>
                })}
            </div>
            {move || (!problems.get().is_empty()).then(|| view! {
                <ul class="notice error" role="alert" data-testid="api-problems">
                    {problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                </ul>
            })}
            <div data-testid="api-status" aria-live="polite">
                {move || match run.get() {
                    Run::Idle => ().into_any(),
                    Run::Running(p) => view! {
                        <p class="notice loading">
                            {format!("Page {} · {} rows", p.pages, format_number(p.rows as f64, 0))}
                            {p.subscriber.map(|s| format!(" · subscriber {s}"))}
                            {(p.retries > 0).then(|| format!(" · {} retries", p.retries))}
                        </p>
                    }.into_any(),
                    Run::Loaded { rows, repeated_pages, retries } => view! {
                        <p class="notice loading">
                            {format!("Loaded {} rows from the stamp", format_number(rows as f64, 0))}
                            {if retries > 0 { format!(" after {retries} retries of busy answers.") } else { ".".to_string() }}
                            {(repeated_pages > 0).then(|| format!(" {repeated_pages} repeated pages were dropped."))}
                        </p>
                    }.into_any(),
                    Run::Failed { message, rows } => view! {
                        <div class="notice error" role="alert">
                            <p>{message}</p>
                            {(rows > 0).then(|| view! {
                                <p>
                                    {format!("{} rows were fetched before this; they are not loaded, so the report is not taken for complete. ", format_number(rows as f64, 0))}
                                    <button class="secondary" data-testid="api-load-partial" on:click=move |_| load_document()>
                                        "Load these rows anyway"
                                    </button>
                                </p>
                            })}
                        </div>
                    }.into_any(),
                }}
            </div>
            <details class="help">
                <summary>"How to get a token, and what the stamp must allow"</summary>
                <p>"Azure CLI (Azure AD or AD FS stamp, after registering the stamp's cloud): "
                    <code>"az account get-access-token --resource https://management.<region>.<fqdn>/<tenant-app-id> --query accessToken -o tsv"</code></p>
                <p>"PowerShell (Az module, after Add-AzEnvironment for the stamp): "
                    <code>"(Get-AzAccessToken -ResourceUrl (Get-AzContext).Environment.ActiveDirectoryServiceEndpointResourceId).Token"</code></p>
                <p>"The stamp's ARM endpoint must answer this page's origin with CORS headers (Access-Control-Allow-Origin, and Authorization allowed). If it does not, export with PowerShell (Get-AzsSubscriberUsage or Usagesummary.ps1) and load the file."</p>
                <p>"Try it locally: run " <code>"cargo run -p usage-api-sim"</code> " and connect to http://127.0.0.1:8097 with the token demo-token."</p>
            </details>
        </section>
    }
}

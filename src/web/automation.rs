//! A query hook for benchmarks and automation: `window.wasmBindings.meterlensQuery(spec)` asks the engine behind
//! the report a question, so a benchmark can time engine work apart from rendering. Read-only; data stays here.

use std::cell::RefCell;
use std::rc::Rc;

use meterlens_engine::query::{Dimension, Filter, Query, QueryEngine, SortBy};
use wasm_bindgen::prelude::wasm_bindgen;

thread_local! {
    static ENGINE: RefCell<Option<Rc<QueryEngine<'static>>>> = const { RefCell::new(None) };
    static WORKER_MEMORY: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    static HANDOVER: std::cell::Cell<&'static str> = const { std::cell::Cell::new("") };
}

/// Remembers the wasm memory (bytes) the last ingest worker had grown to when it handed its dataset over, and how
/// it handed it over ("file" or "buffers").
pub fn note_handover(bytes: f64, through: &'static str) {
    WORKER_MEMORY.with(|m| m.set(bytes));
    HANDOVER.with(|h| h.set(through));
}

/// How the last ingest worker handed its dataset over: "file" (a file of the origin's private file system),
/// "buffers" (transferred buffers), or "" before any load.
#[wasm_bindgen(js_name = meterlensHandover)]
pub fn meterlens_handover() -> String {
    HANDOVER.with(|h| h.get().to_string())
}

/// The wasm memory (bytes) the last ingest worker had grown to when it handed its dataset over.
#[wasm_bindgen(js_name = meterlensWorkerMemory)]
pub fn meterlens_worker_memory() -> f64 {
    WORKER_MEMORY.with(|m| m.get())
}

/// Makes `engine` the one [`meterlens_query`] asks (the report calls this whenever its data changes).
pub fn set_query_engine(engine: Option<Rc<QueryEngine<'static>>>) {
    ENGINE.with(|e| *e.borrow_mut() = engine);
}

/// Runs a query given as `by=DIM,DIM;filter=DIM=V|V;filter=…;top=N;sort=cost:CUR|rows` and returns a JSON
/// summary of the answer (`{"groups":…,"rows":…}`) or `{"error":…}`.
#[wasm_bindgen(js_name = meterlensQuery)]
pub fn meterlens_query(spec: &str) -> String {
    let query = match parse(spec) {
        Ok(query) => query,
        Err(error) => return serde_json::json!({ "error": error }).to_string(),
    };
    ENGINE.with(|e| match e.borrow().as_ref() {
        Some(engine) => {
            let result = engine.run(&query);
            serde_json::json!({ "groups": result.group_count, "rows": result.total.rows, "cost": result.total.cost })
                .to_string()
        }
        None => serde_json::json!({ "error": "no data loaded" }).to_string(),
    })
}

/// Forgets the engine's caches, so that the next query is measured cold.
#[wasm_bindgen(js_name = meterlensClearCaches)]
pub fn meterlens_clear_caches() {
    ENGINE.with(|e| {
        if let Some(engine) = e.borrow().as_ref() {
            engine.clear_caches();
        }
    });
}

/// Forgets the engine's selections and answers but keeps its dimension codes (built once per dataset in the
/// app), so that the next query is timed as the re-aggregation a slicer click asks for.
#[wasm_bindgen(js_name = meterlensClearAnswers)]
pub fn meterlens_clear_answers() {
    ENGINE.with(|e| {
        if let Some(engine) = e.borrow().as_ref() {
            engine.clear_answers();
        }
    });
}

fn parse(spec: &str) -> Result<Query, String> {
    let mut query = Query::default();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| format!("{part:?} is not key=value"))?;
        match key {
            "by" => {
                query.group_by = value.split(',').map(str::parse::<Dimension>).collect::<Result<_, _>>()?;
            }
            "filter" => {
                let Filter::In(dimension, _) = Filter::parse(value)? else { return Err("only DIM=V filters".into()) };
                let values = value.split_once('=').map_or("", |v| v.1).split('|').map(str::to_string).collect();
                query.filters.push(Filter::In(dimension, values));
            }
            "top" => query.top = Some(value.parse().map_err(|_| format!("top={value} is not a number"))?),
            "sort" => {
                query.sort = match value.split_once(':') {
                    Some(("cost", currency)) => SortBy::Cost(currency.into()),
                    _ if value == "rows" => SortBy::Rows,
                    _ => return Err(format!("unknown sort {value:?}")),
                }
            }
            "admin" => query.include_admin = value == "1",
            _ => return Err(format!("unknown key {key:?}")),
        }
    }
    Ok(query)
}

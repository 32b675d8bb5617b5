//! The only code that touches browser APIs: files, drag and drop, the ingest worker, fetch (assets, the usage
//! API), storage, the URL, downloads and printing.

mod automation;
mod browser;
mod files;
mod handover;
mod storage;
mod usage_api;
mod worker;

pub use automation::set_query_engine;
pub use browser::{
    details_open, download_parts, download_svg_as_png, download_text, load_setting, on_hash_change, page_hash,
    print_page, save_setting, scroll_top, set_page_hash,
};
pub use files::{dropped_files, fetch_bytes, picked_files, PickedFile};
pub use handover::{sweep_handovers, BlobPieces, Packed};
pub use storage::{forget_dataset, now_ms, store_dataset, stored_dataset};
pub use usage_api::{get_with_token, now_seconds, sleep_ms, Answer};
pub use worker::{serve_ingest_worker, FocusParquetJob, IngestWorker, Transferred, WorkerEvent};

/// A browser error in words: a string as it is, an `Error` as `name: message`, anything else as JSON.
fn describe(value: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    value
        .as_string()
        .or_else(|| {
            value
                .dyn_ref::<js_sys::Error>()
                .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
        })
        .or_else(|| js_sys::JSON::stringify(value).ok().map(String::from))
        .unwrap_or_else(|| "browser error".into())
}

//! Small browser services: localStorage settings, the URL hash, downloads and printing.

use wasm_bindgen::JsCast;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// A saved setting (localStorage), if any.
pub fn load_setting(key: &str) -> Option<String> {
    window()?.local_storage().ok()??.get_item(key).ok()?
}

/// Saves a setting (localStorage); returns false when the browser refuses (private mode, quota).
pub fn save_setting(key: &str, value: &str) -> bool {
    window().and_then(|w| w.local_storage().ok().flatten()).is_some_and(|s| s.set_item(key, value).is_ok())
}

/// The URL hash without `#`.
pub fn page_hash() -> String {
    window().and_then(|w| w.location().hash().ok()).unwrap_or_default().trim_start_matches('#').to_string()
}

/// Sets the URL hash (adds a history entry, so Back works).
pub fn set_page_hash(hash: &str) {
    if let Some(w) = window() {
        let _ = w.location().set_hash(hash);
    }
}

/// Calls `f` with the new hash whenever it changes (Back/Forward, edited URL).
pub fn on_hash_change(f: impl Fn(String) + 'static) {
    let handle = leptos::prelude::window_event_listener(leptos::ev::hashchange, move |_| f(page_hash()));
    // The listener lives as long as the page.
    std::mem::forget(handle);
}

/// Opens the browser's print dialog (print to PDF).
pub fn print_page() {
    if let Some(w) = window() {
        let _ = w.print();
    }
}

/// Offers `text` as a file download.
pub fn download_text(file_name: &str, mime: &str, text: &str) {
    let Some(document) = window().and_then(|w| w.document()) else { return };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(anchor) = document.create_element("a") {
        let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

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

/// Sets the URL hash as a new history entry, so Back works. `pushState` rather than `location.hash`: a hash
/// navigation also makes the browser fetch and decode the favicon again on every click.
pub fn set_page_hash(hash: &str) {
    if let Some(w) = window() {
        let url = format!("#{hash}");
        let pushed = w.history().and_then(|h| h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url)));
        if pushed.is_err() {
            let _ = w.location().set_hash(hash);
        }
    }
}

/// Calls `f` with the new hash whenever it changes (Back/Forward, edited URL).
pub fn on_hash_change(f: impl Fn(String) + 'static) {
    let f = std::rc::Rc::new(f);
    let on_pop = f.clone();
    let hash = leptos::prelude::window_event_listener(leptos::ev::hashchange, move |_| f(page_hash()));
    let pop = leptos::prelude::window_event_listener(leptos::ev::popstate, move |_| on_pop(page_hash()));
    // The listeners live as long as the page.
    std::mem::forget((hash, pop));
}

/// Opens the browser's print dialog (print to PDF).
pub fn print_page() {
    if let Some(w) = window() {
        let _ = w.print();
    }
}

/// Offers `text` as a file download.
pub fn download_text(file_name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) {
        download_blob(file_name, &blob);
    }
}

/// Offers the bytes of a JS buffer as a file download.
pub(super) fn download_buffers(file_name: &str, mime: &str, parts: &js_sys::Array) {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_buffer_source_sequence_and_options(parts, &options) {
        download_blob(file_name, &blob);
    }
}

/// Offers text given in parts as one file download (no single giant string for millions of rows).
pub fn download_parts(file_name: &str, mime: &str, parts: &[String]) {
    let array: js_sys::Array = parts.iter().map(|p| wasm_bindgen::JsValue::from_str(p)).collect();
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&array, &options) {
        download_blob(file_name, &blob);
    }
}

/// Offers an SVG drawing as a PNG download (drawn on a canvas at twice its size, for sharp text).
pub fn download_svg_as_png(file_name: &str, svg: &str, width: u32, height: u32) {
    use wasm_bindgen::closure::Closure;
    let Some(document) = window().and_then(|w| w.document()) else { return };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(svg));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("image/svg+xml");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    let Ok(image) = web_sys::HtmlImageElement::new() else { return };
    let Ok(canvas) = document.create_element("canvas") else { return };
    let canvas: web_sys::HtmlCanvasElement = canvas.unchecked_into();
    canvas.set_width(width * 2);
    canvas.set_height(height * 2);
    let name = file_name.to_string();
    let loaded = image.clone();
    let svg_url = url.clone();
    let on_load = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&svg_url);
        let Some(context) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        let (w, h) = (canvas.width() as f64, canvas.height() as f64);
        let _ = context.draw_image_with_html_image_element_and_dw_and_dh(&loaded, 0.0, 0.0, w, h);
        let on_blob = Closure::once_into_js(move |blob: Option<web_sys::Blob>| {
            if let Some(blob) = blob {
                download_blob(&name, &blob);
            }
        });
        let _ = canvas.to_blob(on_blob.unchecked_ref());
    });
    image.set_onload(Some(on_load.unchecked_ref()));
    image.set_src(&url);
}

fn download_blob(file_name: &str, blob: &web_sys::Blob) {
    let Some(document) = window().and_then(|w| w.document()) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(blob) else { return };
    if let Ok(anchor) = document.create_element("a") {
        let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// True when the `<details>` element an event came from is open.
pub fn details_open(event: &web_sys::Event) -> bool {
    event.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok()).is_some_and(|d| d.open())
}

/// How far the element an event came from is scrolled down, in pixels.
pub fn scroll_top(event: &web_sys::Event) -> f64 {
    event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).map_or(0.0, |e| e.scroll_top() as f64)
}

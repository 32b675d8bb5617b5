//! Reading user files in slices (never one giant string) and fetching bundled assets.

use js_sys::Uint8Array;
use leptos::ev::{DragEvent, Event};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FileList, HtmlInputElement};

/// Bytes read per slice of a file.
const SLICE_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

/// A file the user picked or dropped.
#[derive(Clone, Debug)]
pub struct PickedFile(File);

impl PickedFile {
    /// The file's name.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Size in bytes.
    pub fn size(&self) -> f64 {
        self.0.size()
    }

    /// The first `len` bytes (fewer for a shorter file).
    pub async fn head(&self, len: usize) -> Result<Vec<u8>, String> {
        let end = (len as f64).min(self.0.size());
        let blob = self.0.slice_with_f64_and_f64(0.0, end).map_err(describe)?;
        let buffer = JsFuture::from(blob.array_buffer()).await.map_err(describe)?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    /// Reads the file slice by slice, handing each slice to `on_chunk`.
    pub async fn read_in_chunks(&self, mut on_chunk: impl FnMut(&[u8])) -> Result<(), String> {
        let size = self.0.size();
        let mut start = 0.0;
        while start < size {
            let end = (start + SLICE_BYTES).min(size);
            let blob = self.0.slice_with_f64_and_f64(start, end).map_err(describe)?;
            let buffer = JsFuture::from(blob.array_buffer()).await.map_err(describe)?;
            on_chunk(&Uint8Array::new(&buffer).to_vec());
            start = end;
        }
        Ok(())
    }
}

fn files_of(list: Option<FileList>) -> Vec<PickedFile> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).map(PickedFile).collect()
}

/// Files chosen in an `<input type=file>` change event.
pub fn picked_files(event: &Event) -> Vec<PickedFile> {
    let input = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
    let files = files_of(input.as_ref().and_then(HtmlInputElement::files));
    if let Some(input) = input {
        // Picking the same file again must fire `change` again.
        input.set_value("");
    }
    files
}

/// Files dropped on an element.
pub fn dropped_files(event: &DragEvent) -> Vec<PickedFile> {
    files_of(event.data_transfer().and_then(|d| d.files()))
}

/// Fetches a same-origin asset as bytes.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = gloo_net::http::Request::get(url).send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.binary().await.map_err(|e| e.to_string())
}

fn describe(value: wasm_bindgen::JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok().map(String::from))
        .unwrap_or_else(|| "browser error".into())
}

//! The files a user picks or drops, and fetching bundled assets.

use leptos::ev::{DragEvent, Event};
use wasm_bindgen::JsCast;

use super::describe;
use web_sys::{File, FileList, HtmlInputElement};

/// A file the user picked or dropped.
#[derive(Clone, Debug)]
pub struct PickedFile(File);

impl PickedFile {
    /// A file made in the page (e.g. usage fetched from the API), read like a picked one.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Option<PickedFile> {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        File::new_with_u8_array_sequence(&parts, name).ok().map(PickedFile)
    }

    /// The browser's file object.
    pub fn file(&self) -> &File {
        &self.0
    }

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
        let buffer = self.slice(0.0, (len as f64).min(self.0.size())).await?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    /// Bytes `[start, end)` in a JS buffer (not copied into wasm: the ingest worker gets it transferred).
    pub async fn slice(&self, start: f64, end: f64) -> Result<js_sys::ArrayBuffer, String> {
        let blob = self.0.slice_with_f64_and_f64(start, end).map_err(|e| describe(&e))?;
        let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer()).await.map_err(|e| describe(&e))?;
        Ok(buffer.unchecked_into())
    }

    /// Bytes `[start, end)` read into `buffer` (at least that long) through a BYOB reader of the slice's stream, so
    /// that the ingest worker's slices come back to be filled again instead of piling up for the collector; the
    /// buffer comes back (moved). `None` when this browser cannot read a file's stream into a buffer.
    pub async fn slice_into(
        &self,
        start: f64,
        end: f64,
        buffer: js_sys::ArrayBuffer,
    ) -> Option<Result<js_sys::ArrayBuffer, String>> {
        let blob = match self.0.slice_with_f64_and_f64(start, end) {
            Ok(blob) => blob,
            Err(e) => return Some(Err(describe(&e))),
        };
        let reader = web_sys::ReadableStreamByobReader::new(&blob.stream()).ok()?;
        let len = (end - start) as u32;
        if buffer.byte_length() < len {
            return None;
        }
        let (mut buffer, mut filled) = (buffer, 0u32);
        while filled < len {
            let view = js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, filled, len - filled);
            let read = match wasm_bindgen_futures::JsFuture::from(reader.read_with_array_buffer_view(&view)).await {
                Ok(read) => read,
                Err(e) => return Some(Err(describe(&e))),
            };
            let value = js_sys::Reflect::get(&read, &"value".into()).unwrap_or_default();
            let Some(value) = value.dyn_ref::<js_sys::Uint8Array>() else { break };
            buffer = value.buffer();
            if js_sys::Reflect::get(&read, &"done".into()).ok().and_then(|d| d.as_bool()) == Some(true) {
                break;
            }
            filled += value.byte_length();
        }
        Some(if filled == len { Ok(buffer) } else { Err("the file ended before the slice did".into()) })
    }

    /// The whole file, for small files (price sheets); usage files go through the ingest worker in slices.
    pub async fn bytes(&self) -> Result<Vec<u8>, String> {
        let buffer = wasm_bindgen_futures::JsFuture::from(self.0.array_buffer()).await.map_err(|e| describe(&e))?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
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

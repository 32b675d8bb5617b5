//! The ingest Web Worker, both ends. The page posts the picked `File`s; the worker reads them in slices with
//! `FileReaderSync` (no whole-file copy), posts progress, then the packed dataset as a transferred buffer.
//! Cancelling terminates the worker; a worker that dies reports an error event. Either way the page keeps what
//! it showed before.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent, Worker};

use super::{describe, PickedFile};
use crate::load::{load_files, pack, FileSource, Progress};

/// The worker script Trunk emits for the `meterlens-worker` binary.
const WORKER_URL: &str = "./meterlens-worker_loader.js";
/// The same worker with the Parquet reader, which costs more than the rest of the worker: loaded only for Parquet.
const PARQUET_WORKER_URL: &str = "./meterlens-parquet-worker_loader.js";

/// What the page hears from the worker.
pub enum WorkerEvent {
    Progress(Progress),
    /// The packed dataset ([`crate::load::pack`]), still in the buffer the worker transferred.
    Done(Transferred),
    Failed(String),
}

/// Bytes in a JS buffer handed over by the worker: copied into wasm only to be read, stored without a copy.
pub struct Transferred(pub(super) js_sys::ArrayBuffer);

impl Transferred {
    /// A copy in wasm memory, to decode.
    pub fn to_vec(&self) -> Vec<u8> {
        Uint8Array::new(&self.0).to_vec()
    }
}

/// A running load; dropping it (or [`IngestWorker::cancel`]) stops the worker.
pub struct IngestWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl IngestWorker {
    /// Starts a worker on `files` (`count_repeats`: the user chose to count a repeated file twice; `parquet`: some
    /// file is Parquet, so the worker with the Parquet reader is started); `on_event` hears its progress and its end.
    pub fn start(
        files: Vec<PickedFile>,
        count_repeats: bool,
        parquet: bool,
        on_event: impl Fn(WorkerEvent) + 'static,
    ) -> Result<IngestWorker, String> {
        let url = if parquet { PARQUET_WORKER_URL } else { WORKER_URL };
        let worker = Worker::new(url).map_err(|e| format!("the ingest worker could not start: {}", describe(&e)))?;
        let on_event = std::rc::Rc::new(on_event);
        let files_array: Array = files.iter().map(|f| JsValue::from(f.file().clone())).collect();
        let job = message("load", "files", &files_array);
        let _ = Reflect::set(&job, &"countRepeats".into(), &count_repeats.into());
        let poster = worker.clone();
        let events = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let data = message.data();
            if data.as_string().as_deref() == Some("ready") {
                // The worker listens only once its wasm is running; files posted earlier would be lost.
                if let Err(e) = poster.post_message(&job) {
                    events(WorkerEvent::Failed(format!(
                        "the files could not be handed to the worker: {}",
                        describe(&e)
                    )));
                }
                return;
            }
            let kind = get(&data, "kind").as_string().unwrap_or_default();
            match kind.as_str() {
                "progress" => {
                    let text = get(&data, "progress").as_string().unwrap_or_default();
                    if let Ok(progress) = serde_json::from_str(&text) {
                        events(WorkerEvent::Progress(progress));
                    }
                }
                "done" => events(WorkerEvent::Done(Transferred(get(&data, "packed").unchecked_into()))),
                _ => events(WorkerEvent::Failed(
                    get(&data, "message").as_string().unwrap_or_else(|| "unknown worker message".into()),
                )),
            }
        });
        let events = on_event.clone();
        let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            event.prevent_default();
            let detail = event.message();
            events(WorkerEvent::Failed(format!(
                "the ingest worker stopped unexpectedly{}",
                if detail.is_empty() { String::new() } else { format!(" ({detail})") }
            )));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(IngestWorker { worker, _on_message: on_message, _on_error: on_error })
    }

    /// Stops the worker at once; nothing it read reaches the page.
    pub fn cancel(&self) {
        self.worker.terminate();
    }
}

impl Drop for IngestWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A `File` read synchronously by range, inside the worker.
struct WorkerFile {
    file: File,
    reader: FileReaderSync,
}

impl FileSource for WorkerFile {
    fn name(&self) -> String {
        self.file.name()
    }

    fn size(&self) -> u64 {
        self.file.size() as u64
    }

    fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let blob: Blob = self.file.slice_with_f64_and_f64(start as f64, end as f64).map_err(|e| describe(&e))?;
        let buffer = self.reader.read_as_array_buffer(&blob).map_err(|e| describe(&e))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}

fn message(kind: &str, key: &str, value: &JsValue) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &"kind".into(), &kind.into());
    let _ = Reflect::set(&object, &key.into(), value);
    object
}

/// The worker's side: waits for files, loads them, posts progress and the packed result.
pub fn serve_ingest_worker() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let replies = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let post = |object: &Object| {
            let _ = replies.post_message(object);
        };
        let reader = match FileReaderSync::new() {
            Ok(reader) => reader,
            Err(e) => return post(&message("failed", "message", &describe(&e).into())),
        };
        let job = event.data();
        let count_repeats = get(&job, "countRepeats").as_bool().unwrap_or(false);
        let files: Vec<WorkerFile> = Array::from(&get(&job, "files"))
            .iter()
            .filter_map(|f| f.dyn_into::<File>().ok())
            .map(|file| WorkerFile { file, reader: reader.clone() })
            .collect();
        let mut last_posted = 0u64;
        let result = load_files(&files, count_repeats, |progress| {
            // One message per 16 MiB keeps the page informed without flooding it.
            if progress.done_bytes == progress.total_bytes || progress.done_bytes >= last_posted + (16 << 20) {
                last_posted = progress.done_bytes;
                let text = serde_json::to_string(progress).unwrap_or_default();
                post(&message("progress", "progress", &text.into()));
            }
        });
        match result {
            Ok((table, meta)) => {
                let packed = pack(&meta, &table);
                drop(table);
                let buffer = Uint8Array::from(packed.as_slice()).buffer();
                drop(packed);
                let reply = message("done", "packed", &buffer);
                let _ = replies.post_message_with_transfer(&reply, &Array::of1(&buffer));
            }
            Err(error) => post(&message("failed", "message", &error.into())),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&JsValue::from_str("ready"));
}

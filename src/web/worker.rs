//! The ingest Web Worker, both ends. The page posts the picked `File`s; the worker asks the page for them slice
//! by slice (no whole-file copy), two slices ahead, so the page's idle thread reads the next slices while the
//! worker parses this one; it posts progress, then the packed dataset as transferred buffers.
//! Cancelling terminates the worker; a worker that dies reports an error event. Either way the page keeps what
//! it showed before. The Parquet worker also writes FOCUS 1.2 Parquet for the page, which has no Parquet writer.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent, Worker};

use super::handover::{handover_file, handover_name, has_private_file_system, write_handover, Packed};
use super::{describe, PickedFile};
use crate::load::{load_files, pack_into, FileSource, Progress};
use meterlens_engine::table::ByteSource;

/// The worker script Trunk emits for the `meterlens-worker` binary.
const WORKER_URL: &str = "./meterlens-worker_loader.js";
/// The same worker with the Parquet reader, which costs more than the rest of the worker: loaded only for Parquet.
const PARQUET_WORKER_URL: &str = "./meterlens-parquet-worker_loader.js";

/// A worker started on one job. It listens only once its wasm runs, so `job` is posted when it says "ready"
/// (messages posted earlier would be lost); every later message goes to `on_reply`, a failure to hand the job
/// over or a crash to `on_failure`, in words. Dropping it stops the worker.
struct RunningWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl RunningWorker {
    /// `name` ("the ingest worker") and `cargo` ("the files") make the messages; `transfer` moves that buffer to
    /// the worker instead of copying it.
    fn start(
        url: &str,
        name: &'static str,
        (cargo, job, transfer): (&'static str, Object, Option<js_sys::ArrayBuffer>),
        on_reply: impl Fn(&Worker, JsValue) + 'static,
        on_failure: impl Fn(String) + 'static,
    ) -> Result<RunningWorker, String> {
        let worker = Worker::new(url).map_err(|e| format!("{name} could not start: {}", describe(&e)))?;
        let on_failure = std::rc::Rc::new(on_failure);
        let (poster, failed) = (worker.clone(), on_failure.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let data = message.data();
            if data.as_string().as_deref() != Some("ready") {
                return on_reply(&poster, data);
            }
            let posted = match &transfer {
                Some(buffer) => poster.post_message_with_transfer(&job, &Array::of1(buffer)),
                None => poster.post_message(&job),
            };
            if let Err(e) = posted {
                failed(format!("{cargo} could not be handed to {name}: {}", describe(&e)));
            }
        });
        let stopper = worker.clone();
        let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            event.prevent_default();
            stopper.terminate();
            let detail = event.message();
            on_failure(format!(
                "{name} stopped unexpectedly{}",
                if detail.is_empty() { String::new() } else { format!(" ({detail})") }
            ));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(RunningWorker { worker, _on_message: on_message, _on_error: on_error })
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A FOCUS 1.2 Parquet file written by the Parquet worker from a snapshot of the page's table; `on_done` hears
/// the file or why there is none. The worker stops when it has answered.
pub struct FocusParquetJob {
    _running: RunningWorker,
}

impl FocusParquetJob {
    /// Starts the worker on `snapshot` (`UsageTable::to_snapshot`), the table `rows` to export, the admin choice
    /// and the price book as JSON.
    pub fn start(
        snapshot: Vec<u8>,
        rows: &[u32],
        include_admin: bool,
        prices_json: String,
        on_done: impl Fn(Result<Transferred, String>) + 'static,
    ) -> Result<FocusParquetJob, String> {
        let buffer = Uint8Array::from(snapshot.as_slice()).buffer();
        drop(snapshot);
        let job = message("focus-parquet", "snapshot", &buffer);
        let _ = Reflect::set(&job, &"rows".into(), &js_sys::Uint32Array::from(rows));
        let _ = Reflect::set(&job, &"includeAdmin".into(), &include_admin.into());
        let _ = Reflect::set(&job, &"prices".into(), &prices_json.into());
        let on_done = std::rc::Rc::new(on_done);
        let done = on_done.clone();
        let on_reply = move |worker: &Worker, data: JsValue| {
            worker.terminate();
            match get(&data, "kind").as_string().as_deref() {
                Some("focus") => done(Transferred::of(Array::of1(&get(&data, "parquet")), "the Parquet worker")),
                _ => done(Err(get(&data, "message").as_string().unwrap_or_else(|| "the Parquet worker failed".into()))),
            }
        };
        let running = RunningWorker::start(
            PARQUET_WORKER_URL,
            "the Parquet worker",
            ("the table", job, Some(buffer)),
            on_reply,
            move |error| on_done(Err(error)),
        )?;
        Ok(FocusParquetJob { _running: running })
    }
}

/// What the page hears from the worker.
pub enum WorkerEvent {
    Progress(Progress),
    /// The packed dataset ([`crate::load::pack_into`]): the worker's hand-over file, or the buffers it transferred.
    Done(Packed),
    Failed(String),
}

/// Bytes in JS buffers handed over by a worker (or read back from Cache Storage), one after the other: read into
/// wasm a window at a time, stored and downloaded without a copy.
pub struct Transferred {
    buffers: Array,
    /// Where each buffer starts in the bytes, and their total length last.
    starts: Vec<usize>,
}

impl Transferred {
    /// The bytes of `buffers`, in order; `from` names who handed them over when one is not an `ArrayBuffer`.
    pub fn of(buffers: Array, from: &str) -> Result<Transferred, String> {
        let mut starts = vec![0];
        for (i, buffer) in buffers.iter().enumerate() {
            let buffer = buffer.dyn_ref::<js_sys::ArrayBuffer>().ok_or_else(|| {
                format!("{from} handed over something that is not bytes (part {} of {})", i + 1, buffers.length())
            })?;
            starts.push(starts[starts.len() - 1] + buffer.byte_length() as usize);
        }
        Ok(Transferred { buffers, starts })
    }

    /// The buffers, given up (to be streamed into storage).
    pub(super) fn into_buffers(self) -> Array {
        self.buffers
    }

    /// Offers the bytes as a file download, without a copy into wasm.
    pub fn download(&self, file_name: &str, mime: &str) {
        super::browser::download_buffers(file_name, mime, &self.buffers);
    }
}

impl ByteSource for Transferred {
    fn len(&self) -> usize {
        self.starts[self.starts.len() - 1]
    }

    fn read(&self, mut at: usize, mut out: &mut [u8]) {
        let mut index = self.starts.partition_point(|&start| start <= at).saturating_sub(1);
        while !out.is_empty() && index + 1 < self.starts.len() {
            let (start, end) = (self.starts[index], self.starts[index + 1]);
            let n = out.len().min(end - at);
            let buffer: js_sys::ArrayBuffer = self.buffers.get(index as u32).unchecked_into();
            Uint8Array::new_with_byte_offset_and_length(&buffer, (at - start) as u32, n as u32).copy_to(&mut out[..n]);
            out = &mut out[n..];
            at += n;
            index += 1;
        }
    }
}

/// A running load; dropping it (or [`IngestWorker::cancel`]) stops the worker.
pub struct IngestWorker(RunningWorker);

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
        let files_array: Array = files.iter().map(|f| JsValue::from(f.file().clone())).collect();
        let job = message("load", "files", &files_array);
        let _ = Reflect::set(&job, &"countRepeats".into(), &count_repeats.into());
        if has_private_file_system() {
            let _ = Reflect::set(&job, &"handover".into(), &handover_name().into());
        }
        let on_event = std::rc::Rc::new(on_event);
        let events = on_event.clone();
        let on_reply = move |worker: &Worker, data: JsValue| {
            let kind = get(&data, "kind").as_string().unwrap_or_default();
            match kind.as_str() {
                "read" => {
                    let index = get(&data, "file").as_f64().filter(|i| *i >= 0.0);
                    let file = index.and_then(|i| files.get(i as usize)).cloned();
                    wasm_bindgen_futures::spawn_local(serve_read(worker.clone(), file, data));
                }
                "progress" => {
                    let text = get(&data, "progress").as_string().unwrap_or_default();
                    if let Ok(progress) = serde_json::from_str(&text) {
                        events(WorkerEvent::Progress(progress));
                    }
                }
                "done" => {
                    let (wasm_bytes, stored) = (get(&data, "wasmBytes").as_f64(), get(&data, "stored").as_string());
                    let through = if stored.is_some() { "file" } else { "buffers" };
                    super::automation::note_handover(wasm_bytes.unwrap_or(0.0), through);
                    if let Some(name) = stored {
                        let events = events.clone();
                        return wasm_bindgen_futures::spawn_local(async move {
                            events(match handover_file(&name).await {
                                Ok(blob) => WorkerEvent::Done(Packed::Blob { blob, handover: Some(name) }),
                                Err(error) => {
                                    super::handover::remove(&name).await;
                                    WorkerEvent::Failed(format!("the loaded data could not be read back ({error})"))
                                }
                            })
                        });
                    }
                    let packed = match get(&data, "packed").dyn_into::<Array>() {
                        Ok(buffers) => Transferred::of(buffers, "the ingest worker").map(Packed::Buffers),
                        Err(_) => Err("the ingest worker handed over no list of buffers".into()),
                    };
                    events(packed.map_or_else(WorkerEvent::Failed, WorkerEvent::Done))
                }
                _ => events(WorkerEvent::Failed(
                    get(&data, "message").as_string().unwrap_or_else(|| "unknown worker message".into()),
                )),
            }
        };
        let on_failure = move |error| on_event(WorkerEvent::Failed(error));
        let running = RunningWorker::start(url, "the ingest worker", ("the files", job, None), on_reply, on_failure)?;
        Ok(IngestWorker(running))
    }

    /// Stops the worker at once; nothing it read reaches the page.
    pub fn cancel(&self) {
        self.0.worker.terminate();
    }
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

thread_local! {
    /// Slices asked of the page and not yet answered: request id → the promise's resolve and reject.
    static READS: RefCell<HashMap<u32, (Function, Function)>> = RefCell::new(HashMap::new());
    static NEXT_READ: Cell<u32> = const { Cell::new(0) };
}

/// A `File` of the job, read by range by the page, with the slices announced by `read_ahead` already asked for.
struct WorkerFile {
    file: File,
    /// Its place in the job's files, as the page knows it.
    index: u32,
    scope: DedicatedWorkerGlobalScope,
    ahead: RefCell<VecDeque<(u64, u64, JsFuture)>>,
    /// Slices read and copied, to be filled again by the page (a few buffers in turn, not one per slice).
    spare: RefCell<Vec<js_sys::ArrayBuffer>>,
}

/// Slices asked for ahead: the one announced and the one after it.
const READS_AHEAD: usize = 2;

impl WorkerFile {
    /// Asks the page for `[start, end)`; the answer comes as a "slice" message (see [`answer_read`]).
    fn start_read(&self, start: u64, end: u64) -> Result<JsFuture, String> {
        let id = NEXT_READ.with(|next| next.replace(next.get().wrapping_add(1)));
        let mut callbacks = None;
        // The executor runs before `Promise::new` returns.
        let promise = Promise::new(&mut |resolve, reject| callbacks = Some((resolve, reject)));
        if let Some(callbacks) = callbacks {
            READS.with(|reads| reads.borrow_mut().insert(id, callbacks));
        }
        let request = message("read", "id", &id.into());
        let _ = Reflect::set(&request, &"file".into(), &self.index.into());
        let _ = Reflect::set(&request, &"start".into(), &(start as f64).into());
        let _ = Reflect::set(&request, &"end".into(), &(end as f64).into());
        // A slice already copied into wasm goes back to be filled with this one.
        match self.spare.borrow_mut().pop() {
            Some(buffer) => {
                let _ = Reflect::set(&request, &"buffer".into(), &buffer);
                self.scope.post_message_with_transfer(&request, &Array::of1(&buffer))
            }
            None => self.scope.post_message(&request),
        }
        .map_err(|e| describe(&e))?;
        Ok(JsFuture::from(promise))
    }
}

/// Settles the read a "slice" message answers: its buffer, or why the page could not read it.
fn answer_read(reply: &JsValue) {
    let id = get(reply, "id").as_f64().unwrap_or(-1.0) as u32;
    let Some((resolve, reject)) = READS.with(|reads| reads.borrow_mut().remove(&id)) else { return };
    let buffer = get(reply, "buffer");
    let _ = if buffer.is_undefined() {
        reject.call1(&JsValue::NULL, &get(reply, "message"))
    } else {
        resolve.call1(&JsValue::NULL, &buffer)
    };
}

/// The page's side of a "read" request: the slice of `file`, transferred, or the error in words.
async fn serve_read(worker: Worker, file: Option<PickedFile>, request: JsValue) {
    let id = get(&request, "id");
    let (start, end) = (get(&request, "start").as_f64().unwrap_or(0.0), get(&request, "end").as_f64().unwrap_or(0.0));
    let spare = get(&request, "buffer").dyn_into::<js_sys::ArrayBuffer>().ok();
    let read = match (&file, spare) {
        (Some(file), Some(spare)) => match file.slice_into(start, end, spare).await {
            Some(read) => read,
            None => file.slice(start, end).await,
        },
        (Some(file), None) => file.slice(start, end).await,
        (None, _) => Err("the page was asked for a file it did not give".into()),
    };
    let answered = match read {
        Ok(buffer) => {
            let reply = message("slice", "buffer", &buffer);
            let _ = Reflect::set(&reply, &"id".into(), &id);
            worker.post_message_with_transfer(&reply, &Array::of1(&buffer)).map_err(|e| describe(&e))
        }
        Err(error) => Err(error),
    };
    // The worker waits for every slice it asked for: an answer that cannot go says why instead.
    if let Err(error) = answered {
        let reply = message("slice", "message", &error.into());
        let _ = Reflect::set(&reply, &"id".into(), &id);
        let _ = worker.post_message(&reply);
    }
}

impl FileSource for WorkerFile {
    fn name(&self) -> String {
        self.file.name()
    }

    fn size(&self) -> u64 {
        self.file.size() as u64
    }

    async fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let ahead = self.ahead.borrow_mut().pop_front();
        let reading = match ahead {
            Some((s, e, reading)) if (s, e) == (start, end) => reading,
            _ => {
                self.ahead.borrow_mut().clear();
                self.start_read(start, end)?
            }
        };
        let buffer = reading.await.map_err(|e| describe(&e))?;
        let buffer: js_sys::ArrayBuffer =
            buffer.dyn_into().map_err(|_| "the page answered with something that is not bytes".to_string())?;
        if (buffer.byte_length() as u64) < end - start {
            return Err(format!("the page read {} bytes of a {}-byte slice", buffer.byte_length(), end - start));
        }
        let bytes = Uint8Array::new_with_byte_offset_and_length(&buffer, 0, (end - start) as u32).to_vec();
        self.spare.borrow_mut().push(buffer);
        Ok(bytes)
    }

    fn read_ahead(&self, start: u64, end: u64) {
        let mut ahead = self.ahead.borrow_mut();
        if ahead.front().is_none_or(|(s, e, _)| (*s, *e) != (start, end)) {
            ahead.clear();
        }
        let (size, len) = (self.size(), end - start);
        while ahead.len() < READS_AHEAD {
            let from = ahead.back().map_or(start, |(_, e, _)| *e);
            if from >= size {
                break;
            }
            let to = (from + len).min(size);
            // A request that cannot be posted now fails again, with its message, when the slice is read.
            let Ok(reading) = self.start_read(from, to) else { break };
            ahead.push_back((from, to, reading));
        }
    }
}

fn message(kind: &str, key: &str, value: &JsValue) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &"kind".into(), &kind.into());
    let _ = Reflect::set(&object, &key.into(), value);
    object
}

/// Writes the FOCUS 1.2 Parquet a [`FocusParquetJob`] asks for.
#[cfg(feature = "parquet")]
fn focus_parquet(job: &JsValue) -> Result<js_sys::ArrayBuffer, String> {
    use meterlens_engine::focus::{FocusExport, FocusOptions};
    let snapshot = Uint8Array::new(&get(job, "snapshot")).to_vec();
    let table = meterlens_engine::UsageTable::from_snapshot(&snapshot).map_err(|e| e.to_string())?;
    drop(snapshot);
    let rows = js_sys::Uint32Array::new(&get(job, "rows")).to_vec();
    let include_admin = get(job, "includeAdmin").as_bool().unwrap_or(false);
    let prices = get(job, "prices").as_string().unwrap_or_default();
    let book: meterlens_engine::prices::PriceBook =
        serde_json::from_str(&prices).map_err(|e| format!("the price book could not be read: {e}"))?;
    let export = FocusExport::new(&table, &book, &FocusOptions { include_admin });
    let indices = export.indices_of(&rows);
    let bytes = meterlens_engine::parquet_out::focus_parquet(&export, &indices).map_err(|e| e.to_string())?;
    Ok(Uint8Array::from(bytes.as_slice()).buffer())
}

#[cfg(not(feature = "parquet"))]
fn focus_parquet(_: &JsValue) -> Result<js_sys::ArrayBuffer, String> {
    Err("this worker has no Parquet writer".into())
}

/// The worker's side: waits for files, loads them, posts progress and the packed result.
pub fn serve_ingest_worker() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let replies = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let post = |object: &Object| {
            let _ = replies.post_message(object);
        };
        let job = event.data();
        if get(&job, "kind").as_string().as_deref() == Some("slice") {
            return answer_read(&job);
        }
        if get(&job, "kind").as_string().as_deref() == Some("focus-parquet") {
            return match focus_parquet(&job) {
                Ok(parquet) => {
                    let reply = message("focus", "parquet", &parquet);
                    let _ = replies.post_message_with_transfer(&reply, &Array::of1(&parquet));
                }
                Err(error) => post(&message("failed", "message", &error.into())),
            };
        }
        let count_repeats = get(&job, "countRepeats").as_bool().unwrap_or(false);
        let handover = get(&job, "handover").as_string();
        let files: Vec<WorkerFile> = Array::from(&get(&job, "files"))
            .iter()
            .filter_map(|f| f.dyn_into::<File>().ok())
            .zip(0..)
            .map(|(file, index)| WorkerFile {
                file,
                index,
                scope: replies.clone(),
                ahead: RefCell::new(VecDeque::new()),
                spare: RefCell::new(Vec::new()),
            })
            .collect();
        let replies = replies.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let post = |object: &Object| {
                let _ = replies.post_message(object);
            };
            let mut last_posted = 0u64;
            let result = load_files(&files, count_repeats, |progress| {
                // One message per 16 MiB keeps the page informed without flooding it.
                if progress.done_bytes == progress.total_bytes || progress.done_bytes >= last_posted + (16 << 20) {
                    last_posted = progress.done_bytes;
                    let text = serde_json::to_string(progress).unwrap_or_default();
                    post(&message("progress", "progress", &text.into()));
                }
            })
            .await;
            match result {
                Ok((table, meta)) => {
                    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
                    let wasm_bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
                    // Into the hand-over file: then the packed form is never in memory at all.
                    if let Some(name) = handover.as_deref() {
                        if write_handover(name, &meta, &table).await.is_ok() {
                            drop(table);
                            let reply = message("done", "stored", &name.into());
                            // Its high-water mark, for the benchmark: wasm memory never shrinks.
                            let _ = Reflect::set(&reply, &"wasmBytes".into(), &wasm_bytes.into());
                            return post(&reply);
                        }
                    }
                    // Each chunk goes to a JS buffer as it is written: the whole packed form is never in wasm
                    // memory next to the table. The header, which holds their checksum, goes first, last.
                    let buffers = Array::new();
                    buffers.push(&JsValue::NULL);
                    let header = pack_into(&meta, &table, &mut |chunk| {
                        buffers.push(&Uint8Array::from(chunk).buffer());
                    });
                    drop(table);
                    buffers.set(0, Uint8Array::from(header.as_slice()).buffer().into());
                    let reply = message("done", "packed", &buffers);
                    let _ = Reflect::set(&reply, &"wasmBytes".into(), &wasm_bytes.into());
                    let _ = replies.post_message_with_transfer(&reply, &buffers);
                }
                Err(error) => post(&message("failed", "message", &error.into())),
            }
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&JsValue::from_str("ready"));
}

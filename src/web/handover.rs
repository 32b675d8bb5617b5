//! The one-copy hand-over: the ingest worker writes the packed dataset into a file of the origin's private file
//! system (synchronously, a chunk at a time, so it is never in memory next to the table), and the page, once the
//! worker is gone, decodes it from disk a section at a time. Where that file system is missing or full, the
//! worker transfers its buffers instead.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions, FileSystemReadWriteOptions,
    FileSystemSyncAccessHandle, StorageManager,
};

use super::describe;
use super::worker::Transferred;
use crate::load::{pack_into, LoadMeta, PieceSource, HEADER};
use meterlens_engine::UsageTable;

/// A packed dataset: the buffers a worker transferred, or bytes on disk (the worker's hand-over file, named so
/// that it can be removed once the dataset is kept, or the kept copy read back).
pub enum Packed {
    Buffers(Transferred),
    Blob { blob: Blob, handover: Option<String> },
}

impl Packed {
    /// Removes the hand-over file, if there is one (the dataset is kept, or not wanted).
    pub async fn discard(self) {
        if let Packed::Blob { handover: Some(name), .. } = self {
            remove(&name).await;
        }
    }
}

/// Reads a `Blob` (a file on disk) by range: each piece is one JS buffer, read into wasm a window at a time.
pub struct BlobPieces<'b>(pub &'b Blob);

impl PieceSource for BlobPieces<'_> {
    type Piece = Transferred;

    fn size(&self) -> usize {
        self.0.size() as usize
    }

    async fn piece(&self, start: usize, end: usize) -> Result<Transferred, String> {
        let slice = self.0.slice_with_f64_and_f64(start as f64, end as f64).map_err(|e| describe(&e))?;
        let buffer =
            JsFuture::from(slice.array_buffer()).await.map_err(|e| format!("could not read it: {}", describe(&e)))?;
        Transferred::of(Array::of1(&buffer), "the stored dataset")
    }
}

/// Hand-over files start with this; the rest of the name is the tab's and the load's.
const HANDOVER_PREFIX: &str = "meterlens-handover-";
/// A hand-over file older than this is left from a tab that closed mid-hand-over (one takes seconds).
const STALE_MS: f64 = 3_600_000.0;

/// The name of this tab's next hand-over file: each load writes its own, unique across tabs, which share the file
/// system.
pub fn handover_name() -> String {
    thread_local! {
        static TAB: u64 = (js_sys::Math::random() * 1e15) as u64;
        static NEXT_LOAD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    let load = NEXT_LOAD.with(|n| n.replace(n.get() + 1));
    TAB.with(|tab| format!("{HANDOVER_PREFIX}{tab:x}-{load}"))
}

/// Removes hand-over files left by tabs that closed while handing a dataset over.
pub async fn sweep_handovers() {
    let Ok(directory) = page_directory().await else { return };
    // `keys()` is an async iterator: stepped by hand.
    let keys: JsValue = directory.keys().into();
    let Some(next) =
        js_sys::Reflect::get(&keys, &"next".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    let mut names = Vec::new();
    while let Ok(step) = next.call0(&keys) {
        let Ok(step) = JsFuture::from(js_sys::Promise::resolve(&step)).await else { break };
        if js_sys::Reflect::get(&step, &"done".into()).ok().and_then(|d| d.as_bool()) != Some(false) {
            break;
        }
        if let Some(name) = js_sys::Reflect::get(&step, &"value".into()).ok().and_then(|v| v.as_string()) {
            names.extend(name.starts_with(HANDOVER_PREFIX).then_some(name));
        }
    }
    for name in names {
        let Ok(file) = file_in(&directory, &name).await else { continue };
        if js_sys::Date::now() - file.last_modified() > STALE_MS {
            let _ = JsFuture::from(directory.remove_entry(&name)).await;
        }
    }
}

/// True when the page has an origin private file system for the worker to hand a dataset over through.
pub fn has_private_file_system() -> bool {
    web_sys::window().is_some_and(|w| offers_directory(&w.navigator().storage()))
}

/// True when `storage` (a `navigator.storage`, possibly missing) has `getDirectory`: called without one, the
/// binding would throw past wasm.
fn offers_directory(storage: &StorageManager) -> bool {
    let storage = JsValue::from(storage);
    storage.is_object() && js_sys::Reflect::get(&storage, &"getDirectory".into()).is_ok_and(|f| f.is_function())
}

async fn directory(storage: StorageManager) -> Result<FileSystemDirectoryHandle, String> {
    if !offers_directory(&storage) {
        return Err("this browser has no private file system for this site".into());
    }
    let directory = JsFuture::from(storage.get_directory()).await.map_err(|e| describe(&e))?;
    directory.dyn_into().map_err(|_| "no private file system".to_string())
}

async fn page_directory() -> Result<FileSystemDirectoryHandle, String> {
    let window = web_sys::window().ok_or("no window")?;
    directory(window.navigator().storage()).await
}

/// The hand-over file `name`, as the worker left it.
pub async fn handover_file(name: &str) -> Result<Blob, String> {
    Ok(file_in(&page_directory().await?, name).await?.into())
}

async fn file_in(directory: &FileSystemDirectoryHandle, name: &str) -> Result<web_sys::File, String> {
    let handle: FileSystemFileHandle =
        JsFuture::from(directory.get_file_handle(name)).await.map_err(|e| describe(&e))?.unchecked_into();
    let file = JsFuture::from(handle.get_file()).await.map_err(|e| describe(&e))?;
    Ok(file.unchecked_into())
}

/// Removes the hand-over file `name` (if it is still there).
pub async fn remove(name: &str) {
    if let Ok(directory) = page_directory().await {
        let _ = JsFuture::from(directory.remove_entry(name)).await;
    }
}

/// The worker's side: writes the packed dataset into the file `name` and returns its size, or says why it could
/// not (then nothing of the file is left).
pub async fn write_handover(name: &str, meta: &LoadMeta, table: &UsageTable) -> Result<usize, String> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let directory = directory(scope.navigator().storage()).await?;
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let file: FileSystemFileHandle = JsFuture::from(directory.get_file_handle_with_options(name, &options))
        .await
        .map_err(|e| describe(&e))?
        .unchecked_into();
    let handle: FileSystemSyncAccessHandle = match JsFuture::from(file.create_sync_access_handle()).await {
        Ok(handle) => handle.unchecked_into(),
        Err(e) => {
            let _ = JsFuture::from(directory.remove_entry(name)).await;
            return Err(describe(&e));
        }
    };
    let written = write_all(&handle, meta, table);
    let flushed = written.and_then(|size| handle.flush().map(|_| size).map_err(|e| describe(&e)));
    handle.close();
    if flushed.is_err() {
        let _ = JsFuture::from(directory.remove_entry(name)).await;
    }
    flushed
}

fn write_all(handle: &FileSystemSyncAccessHandle, meta: &LoadMeta, table: &UsageTable) -> Result<usize, String> {
    handle.truncate_with_u32(0).map_err(|e| describe(&e))?;
    let write = |bytes: &[u8], at: usize| -> Result<(), String> {
        let options = FileSystemReadWriteOptions::new();
        options.set_at(at as f64);
        match handle.write_with_u8_array_and_options(bytes, &options) {
            Ok(n) if n as usize == bytes.len() => Ok(()),
            Ok(_) => Err("the browser's storage is full".into()),
            Err(e) => Err(describe(&e)),
        }
    };
    let (mut at, mut failed) = (HEADER, None);
    let header = pack_into(meta, table, &mut |chunk| {
        if failed.is_none() {
            failed = write(chunk, at).err();
            at += chunk.len();
        }
    });
    match failed {
        Some(error) => Err(error),
        None => write(&header, 0).map(|_| at),
    }
}

/// Keeps `blob` in `cache` under `key`, streamed a piece at a time (a `Response` of the `Blob` itself made the
/// browser process hold ~600 MB more at the peak of a 5M-row load).
pub async fn put_blob(cache: &web_sys::Cache, key: &str, blob: &Blob) -> Result<(), String> {
    let response = web_sys::Response::new_with_opt_readable_stream(Some(&blob.stream())).map_err(|e| describe(&e))?;
    JsFuture::from(cache.put_with_str(key, &response)).await.map(|_| ()).map_err(|e| describe(&e))
}

//! Keeping the loaded dataset between visits, in the browser's Cache Storage (same origin, never sent anywhere).

use js_sys::Uint8Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::describe;
use super::handover::Packed;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStream, ReadableStreamDefaultController, Response};

const CACHE: &str = "meterlens-data-v1";
const KEY: &str = "/meterlens/dataset";

async fn open() -> Result<Cache, String> {
    let window = web_sys::window().ok_or("no window")?;
    let caches = window.caches().map_err(|_| "this browser offers no Cache Storage here".to_string())?;
    let cache = JsFuture::from(caches.open(CACHE)).await.map_err(|e| describe(&e))?;
    Ok(cache.unchecked_into())
}

/// Keeps the packed dataset to restore next time; the error says why the browser refused (quota, privacy).
/// A hand-over file is streamed from disk, then removed. Buffers are streamed into the cache
/// one by one and let go as they are taken, so the browser never holds a second whole copy in memory (a `Blob` of
/// them did: ~480 MB more at the peak of a 5M-row load).
pub async fn store_dataset(packed: Packed) -> Result<(), String> {
    let cache = match open().await {
        Ok(cache) => cache,
        Err(error) => {
            packed.discard().await;
            return Err(error);
        }
    };
    let buffers = match packed {
        Packed::Buffers(transferred) => transferred.into_buffers(),
        Packed::Blob { ref blob, .. } => {
            let stored = super::handover::put_blob(&cache, KEY, blob).await;
            packed.discard().await;
            return stored;
        }
    };
    let pull = Closure::<dyn FnMut(ReadableStreamDefaultController)>::new(move |c: ReadableStreamDefaultController| {
        let next = buffers.shift();
        let taken = if next.is_undefined() { c.close() } else { c.enqueue_with_chunk(&Uint8Array::new(&next)) };
        // A buffer the stream refused fails the put (and so the keeping), instead of a copy with a gap in it.
        if let Err(error) = taken {
            c.error_with_e(&error);
        }
    });
    let source = js_sys::Object::new();
    js_sys::Reflect::set(&source, &"pull".into(), pull.as_ref()).map_err(|e| describe(&e))?;
    let stream = ReadableStream::new_with_underlying_source(&source).map_err(|e| describe(&e))?;
    let response = Response::new_with_opt_readable_stream(Some(&stream)).map_err(|e| describe(&e))?;
    let stored = JsFuture::from(cache.put_with_str(KEY, &response)).await.map_err(|e| describe(&e));
    // The stream has ended (or failed) once the put settles: its pull is not called again.
    drop(pull);
    stored.map(|_| ())
}

/// The dataset kept by [`store_dataset`], if any, as a `Blob` on disk: decoded a section at a time, never read
/// whole into memory.
pub async fn stored_dataset() -> Option<Packed> {
    let cache = open().await.ok()?;
    let found = JsFuture::from(cache.match_with_str(KEY)).await.ok()?;
    let response: Response = found.dyn_into().ok()?;
    let blob = JsFuture::from(response.blob().ok()?).await.ok()?;
    Some(Packed::Blob { blob: blob.dyn_into().ok()?, handover: None })
}

/// Forgets the kept dataset.
pub async fn forget_dataset() {
    if let Ok(cache) = open().await {
        let _ = JsFuture::from(cache.delete_with_str(KEY)).await;
    }
}

/// Milliseconds since the epoch (progress rates).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

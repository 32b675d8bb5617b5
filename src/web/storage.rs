//! Keeping the loaded dataset between visits, in the browser's Cache Storage (same origin, never sent anywhere).

use wasm_bindgen::JsCast;

use super::describe;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Response};

const CACHE: &str = "meterlens-data-v1";
const KEY: &str = "/meterlens/dataset";

async fn open() -> Result<Cache, String> {
    let window = web_sys::window().ok_or("no window")?;
    let caches = window.caches().map_err(|_| "this browser offers no Cache Storage here".to_string())?;
    let cache = JsFuture::from(caches.open(CACHE)).await.map_err(|e| describe(&e))?;
    Ok(cache.unchecked_into())
}

/// Keeps the packed dataset to restore next time; the error says why the browser refused (quota, privacy).
pub async fn store_dataset(packed: &super::worker::Transferred) -> Result<(), String> {
    let cache = open().await?;
    let blob = web_sys::Blob::new_with_buffer_source_sequence(packed.buffers()).map_err(|e| describe(&e))?;
    let response = Response::new_with_opt_blob(Some(&blob)).map_err(|e| describe(&e))?;
    JsFuture::from(cache.put_with_str(KEY, &response)).await.map_err(|e| describe(&e))?;
    Ok(())
}

/// The dataset kept by [`store_dataset`], if any.
pub async fn stored_dataset() -> Option<super::worker::Transferred> {
    let cache = open().await.ok()?;
    let found = JsFuture::from(cache.match_with_str(KEY)).await.ok()?;
    let response: Response = found.dyn_into().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(super::worker::Transferred::of(js_sys::Array::of1(&buffer)))
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

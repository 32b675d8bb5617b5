//! The usage API's one browser call: a GET with the bearer token. What to fetch and what answers mean is the
//! engine's `usage_api`; the token is only ever passed through here, never stored or logged.

use wasm_bindgen_futures::JsFuture;

/// An HTTP answer: status, `Retry-After` in seconds, body.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<f64>,
    pub body: String,
}

/// GETs `url` with `Authorization: Bearer <token>`; `None` when there was no HTTP answer at all (CORS refusal,
/// network failure, bad certificate: the browser does not say which).
pub async fn get_with_token(url: &str, token: &str) -> Option<Answer> {
    let response = gloo_net::http::Request::get(url)
        .header("Authorization", &format!("Bearer {}", token.trim()))
        .send()
        .await
        .ok()?;
    let retry_after = response.headers().get("retry-after").and_then(|v| v.trim().parse::<f64>().ok());
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Some(Answer { status, retry_after, body })
}

/// Waits `ms` milliseconds without blocking the page.
pub async fn sleep_ms(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.min(i32::MAX as u64) as i32);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Seconds since the epoch, UTC (to refuse end times in the future).
pub fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

//! The Azure Stack Hub usage API client's logic, without I/O: requests validated and written as URLs, pages
//! followed by `nextLink` per subscriber, 503/429 retried with bounded exponential backoff (honouring
//! `Retry-After`), repeated pages dropped, and every documented error turned into a sentence. The browser does
//! the fetch; this decides what to fetch next and what an answer means.

use std::collections::HashSet;

use crate::time::parse_timestamp;

/// The only documented API version.
pub const API_VERSION: &str = "2015-06-01-preview";

/// Attempts of one request before a retryable failure becomes an error.
pub const MAX_ATTEMPTS: u32 = 6;
/// First backoff; doubled per attempt.
pub const FIRST_BACKOFF_MS: u64 = 500;
/// More pages than this in one load means the stamp is looping (1,000 rows a page: 100M rows).
pub const MAX_PAGES: u32 = 100_000;
/// The same page this many times in a row means the stamp is looping.
pub const MAX_REPEATS_IN_A_ROW: u32 = 3;
/// Longest wait between attempts (a longer `Retry-After` is capped too).
pub const MAX_BACKOFF_MS: u64 = 30_000;

/// Which API is called.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// A tenant's own usage: `Microsoft.Commerce/usageAggregates`.
    Tenant,
    /// An operator's view of tenants: `Microsoft.Commerce.Admin/subscriberUsageAggregates`; no subscribers means
    /// all direct tenants in one call sequence, else one sequence per subscriber (avoids gateway timeouts).
    Provider { subscribers: Vec<String> },
}

/// Hourly or daily buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Daily,
    Hourly,
}

impl Granularity {
    fn as_str(self) -> &'static str {
        match self {
            Granularity::Daily => "Daily",
            Granularity::Hourly => "Hourly",
        }
    }
}

/// What the user asked for in the Connect form.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRequest {
    /// ARM endpoint, e.g. `https://management.local.azurestack.external` (tenant) or `https://adminmanagement.…`.
    pub endpoint: String,
    /// The caller's subscription (tenant: their own; operator: the default provider subscription).
    pub subscription: String,
    pub mode: Mode,
    /// Reported start, inclusive (`YYYY-MM-DDTHH:00:00Z` or a date).
    pub start: String,
    /// Reported end, exclusive.
    pub end: String,
    pub granularity: Granularity,
}

impl UsageRequest {
    /// Checks the request before anything is sent; `now` is the current UTC time in seconds. Every problem is
    /// listed, in words.
    pub fn validate(&self, now: i64) -> Result<(i64, i64), Vec<String>> {
        let mut problems = Vec::new();
        let local_http = origin(&self.endpoint).is_some_and(|o| {
            let host = o.strip_prefix("http://").unwrap_or("");
            let name = match host.rsplit_once(':') {
                Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
                _ => host,
            };
            matches!(name, "127.0.0.1" | "localhost")
        });
        let https = origin(&self.endpoint).is_some_and(|o| o.starts_with("https://"));
        if !(https || local_http) {
            problems.push(
                "The ARM endpoint must be an https:// address (e.g. https://management.local.azurestack.external); \
                 plain http only for this computer (127.0.0.1, localhost)."
                    .into(),
            );
        }
        if !is_guid(self.subscription.trim()) {
            problems.push("The subscription ID must be a GUID like 11111111-aaaa-4bbb-8ccc-000000000001.".into());
        }
        if let Mode::Provider { subscribers } = &self.mode {
            for s in subscribers.iter().filter(|s| !is_guid(s)) {
                problems.push(format!("Subscriber {s:?} is not a subscription GUID."));
            }
        }
        let bucket = match self.granularity {
            Granularity::Daily => 86_400,
            Granularity::Hourly => 3_600,
        };
        let time = |label: &str, text: &str, problems: &mut Vec<String>| match parse_timestamp(text.trim()) {
            Ok(t) if t % bucket == 0 => Some(t),
            Ok(_) => {
                let rule = if bucket == 86_400 { "at UTC midnight for daily usage" } else { "on the hour (UTC)" };
                problems.push(format!("The {label} time {text} must be {rule}."));
                None
            }
            Err(_) => {
                problems.push(format!("The {label} time {text:?} is not a date and time (use 2026-10-01T00:00:00Z)."));
                None
            }
        };
        let start = time("start", &self.start, &mut problems);
        let end = time("end", &self.end, &mut problems);
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                problems.push("The end time must be after the start time.".into());
            }
        }
        if end.is_some_and(|e| e > now) {
            problems.push("The end time is in the future: the stamp refuses it (RequestEndTimeIsInFuture).".into());
        }
        match (start, end) {
            (Some(s), Some(e)) if problems.is_empty() => Ok((s, e)),
            _ => Err(problems),
        }
    }

    /// The first URL of one call sequence (`subscriber` only in provider mode).
    pub fn first_url(&self, start: i64, end: i64, subscriber: Option<&str>) -> String {
        let endpoint = self.endpoint.trim().trim_end_matches('/');
        let provider = match self.mode {
            Mode::Tenant => "Microsoft.Commerce/usageAggregates",
            Mode::Provider { .. } => "Microsoft.Commerce.Admin/subscriberUsageAggregates",
        };
        let mut url = format!(
            "{endpoint}/subscriptions/{}/providers/{provider}?reportedStartTime={}&reportedEndTime={}&aggregationGranularity={}&api-version={API_VERSION}",
            self.subscription.trim(),
            escaped_time(start),
            escaped_time(end),
            self.granularity.as_str()
        );
        if let Some(s) = subscriber {
            url += &format!("&subscriberId={s}");
        }
        url
    }
}

/// `2026-10-01T00%3a00%3a00Z`: ISO 8601 with `:` escaped, as the documentation writes it.
fn escaped_time(seconds: i64) -> String {
    let label = chrono::DateTime::from_timestamp(seconds, 0)
        .map_or_else(|| seconds.to_string(), |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    label.replace(':', "%3a")
}

/// `scheme://host[:port]` of a URL, lower-cased (None when it has no scheme).
fn origin(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in a URL (`user@host`) would hide the real host.
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Why a load from the API stopped.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The stamp answered with a documented error code (or another one).
    #[error("{}", describe_code(code, message))]
    Code { status: u16, code: String, message: String },
    /// 401: no token, a wrong one, or one that expired.
    #[error("the stamp refused the access token (HTTP 401): it is missing, for another audience, or expired — get a new token and connect again")]
    Unauthorized,
    /// 403: the token is fine but its account lacks rights.
    #[error("the account of this token may not read usage of this subscription (HTTP 403): it needs Owner, Contributor or Reader on it")]
    Forbidden,
    /// Retries ran out.
    #[error("the stamp is still busy after {attempts} attempts (HTTP {status}); try again later or ask for a shorter period")]
    GaveUp { status: u16, attempts: u32 },
    /// A page that is not a usage page.
    #[error("page {page} is not a usage page ({detail})")]
    Malformed { page: u32, detail: String },
    /// Another HTTP status.
    #[error("the stamp answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    /// A `nextLink` to another host: following it would send the token there.
    #[error("the stamp's next page link points to another host ({link}); it was not followed, so the token was not sent there")]
    ForeignLink { link: String },
    /// A link to a page already read, or far more pages than any stamp sends: a loop.
    #[error("the stamp keeps linking to pages already read (after {pages} pages); stopped to avoid a loop")]
    Loop { pages: u32 },
    /// No answer at all: CORS, network, certificate, or a wrong address.
    #[error(
        "no answer from {endpoint}: the browser blocked the call or could not reach the stamp. The stamp must allow \
         this page's origin (CORS) and be reachable from this computer. Otherwise export the usage with PowerShell \
         (Get-AzsSubscriberUsage or Usagesummary.ps1) and load the file here"
    )]
    Network { endpoint: String },
}

fn describe_code(code: &str, message: &str) -> String {
    let what = match code {
        "NoApiVersion" => "the request had no api-version (a MeterLens bug: please report it)",
        "InvalidProperty" => "the stamp says a property of the request is missing or invalid",
        "RequestEndTimeIsInFuture" => "the end time is in the future (or today): choose an end time that has passed",
        "SubscriberIdIsNotDirectTenant" => "that subscriber is not a direct tenant of this provider subscription",
        "SubscriptionIdMissingInRequest" => "the subscription ID is missing from the request",
        "InvalidAggregationGranularity" => "only daily and hourly granularity are valid",
        "ServiceUnavailable" => "the usage service is busy or throttled",
        _ => "the stamp refused the request",
    };
    if message.is_empty() {
        format!("{what} ({code})")
    } else {
        format!("{what} ({code}: {message})")
    }
}

/// What to do after an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Fetch this URL next (after waiting `wait_ms`).
    Fetch { url: String, wait_ms: u64 },
    /// Everything was fetched.
    Done,
    /// Stop: the rows collected so far are kept, this says why the rest is missing.
    Fail(ApiError),
}

/// Progress of a load, for the page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PagerProgress {
    pub pages: u32,
    pub rows: u64,
    /// The subscriber being read (provider mode with chosen subscribers).
    pub subscriber: Option<String>,
    pub retries: u32,
    /// Pages that repeated an earlier page and were dropped.
    pub repeated_pages: u32,
}

/// Follows the pages of one request to the end: one sequence per subscriber, `nextLink` within a sequence,
/// retries of 503/429. Feed it each answer with [`Pager::answer`]; it collects the rows.
pub struct Pager {
    request: UsageRequest,
    range: (i64, i64),
    subscribers: Vec<Option<String>>,
    current: usize,
    url: String,
    attempts: u32,
    seen_pages: HashSet<u64>,
    fetched: HashSet<String>,
    endpoint_origin: Option<String>,
    repeats_in_a_row: u32,
    rows: Vec<Box<serde_json::value::RawValue>>,
    progress: PagerProgress,
}

#[derive(serde::Deserialize)]
struct Page {
    value: Vec<Box<serde_json::value::RawValue>>,
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl Pager {
    /// A pager for a validated request (`range` from [`UsageRequest::validate`]).
    pub fn new(request: UsageRequest, range: (i64, i64)) -> Pager {
        let subscribers = match &request.mode {
            Mode::Provider { subscribers } if !subscribers.is_empty() => {
                subscribers.iter().map(|s| Some(s.trim().to_string())).collect()
            }
            _ => vec![None],
        };
        let url = request.first_url(range.0, range.1, subscribers[0].as_deref());
        let progress = PagerProgress { subscriber: subscribers[0].clone(), ..Default::default() };
        let endpoint_origin = origin(&request.endpoint);
        Pager {
            request,
            range,
            subscribers,
            current: 0,
            url,
            attempts: 0,
            seen_pages: HashSet::new(),
            fetched: HashSet::new(),
            endpoint_origin,
            repeats_in_a_row: 0,
            rows: Vec::new(),
            progress,
        }
    }

    /// The first step.
    pub fn start(&self) -> Step {
        Step::Fetch { url: self.url.clone(), wait_ms: 0 }
    }

    pub fn progress(&self) -> &PagerProgress {
        &self.progress
    }

    /// The next step after an HTTP answer to the last URL (`retry_after` in seconds from the header).
    pub fn answer(&mut self, status: u16, retry_after: Option<f64>, body: &str) -> Step {
        match status {
            200 => self.page(body),
            429 | 503 => {
                self.attempts += 1;
                if self.attempts >= MAX_ATTEMPTS {
                    return Step::Fail(ApiError::GaveUp { status, attempts: self.attempts });
                }
                self.progress.retries += 1;
                let backoff = FIRST_BACKOFF_MS.saturating_mul(1 << (self.attempts - 1).min(16));
                let wait = retry_after.map_or(backoff, |s| (s.max(0.0) * 1000.0) as u64).min(MAX_BACKOFF_MS);
                Step::Fetch { url: self.url.clone(), wait_ms: wait }
            }
            401 => Step::Fail(ApiError::Unauthorized),
            403 => Step::Fail(ApiError::Forbidden),
            _ => Step::Fail(match serde_json::from_str::<ErrorBody>(body) {
                Ok(e) => ApiError::Code { status, code: e.error.code, message: e.error.message },
                Err(_) => ApiError::Http { status, detail: body.chars().take(200).collect() },
            }),
        }
    }

    /// The fetch failed without an HTTP answer (CORS, network, certificate).
    pub fn no_answer(&self) -> Step {
        Step::Fail(ApiError::Network { endpoint: self.request.endpoint.trim().to_string() })
    }

    fn page(&mut self, body: &str) -> Step {
        self.attempts = 0;
        let page: Page = match serde_json::from_str(body) {
            Ok(page) => page,
            Err(e) => return Step::Fail(ApiError::Malformed { page: self.progress.pages + 1, detail: e.to_string() }),
        };
        self.progress.pages += 1;
        // A page served twice (a retried gateway answer) would count its rows twice: rows, not links, identify it.
        let rows_text: Vec<&str> = page.value.iter().map(|r| r.get()).collect();
        if page.value.is_empty() || self.seen_pages.insert(crate::fnv1a(rows_text.join("\n").as_bytes())) {
            self.progress.rows += page.value.len() as u64;
            self.rows.extend(page.value);
            self.repeats_in_a_row = 0;
        } else {
            self.progress.repeated_pages += 1;
            self.repeats_in_a_row += 1;
            if self.repeats_in_a_row >= MAX_REPEATS_IN_A_ROW {
                return Step::Fail(ApiError::Malformed {
                    page: self.progress.pages,
                    detail: "the stamp keeps sending the same page; stopped to avoid a loop".into(),
                });
            }
        }

        self.fetched.insert(self.url.clone());
        match page.next_link.filter(|l| !l.is_empty()) {
            Some(next) => {
                if origin(&next).is_none() || origin(&next) != self.endpoint_origin {
                    return Step::Fail(ApiError::ForeignLink { link: origin(&next).unwrap_or(next) });
                }
                if self.fetched.contains(&next) || self.progress.pages >= MAX_PAGES {
                    return Step::Fail(ApiError::Loop { pages: self.progress.pages });
                }
                self.url = next;
                Step::Fetch { url: self.url.clone(), wait_ms: 0 }
            }
            None if self.current + 1 < self.subscribers.len() => {
                self.current += 1;
                let subscriber = self.subscribers[self.current].clone();
                self.url = self.request.first_url(self.range.0, self.range.1, subscriber.as_deref());
                self.progress.subscriber = subscriber;
                Step::Fetch { url: self.url.clone(), wait_ms: 0 }
            }
            None => Step::Done,
        }
    }

    /// The rows so far as one usage API page (`{"value":[…]}`), what the ingester and "Save as JSON" take.
    pub fn document(&self) -> String {
        let mut out = String::from("{\"value\":[");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(row.get());
        }
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
mod tests;

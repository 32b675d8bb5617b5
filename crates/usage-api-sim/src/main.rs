//! `usage-api-sim`: a local Azure Stack Hub usage API on 127.0.0.1 for trying MeterLens' Connect page and for
//! its end-to-end tests. Serves the tenant (`Microsoft.Commerce/usageAggregates`) and provider
//! (`Microsoft.Commerce.Admin/subscriberUsageAggregates`) endpoints over rows from the MeterLens generator, in
//! pages of 1,000 with `nextLink`, checks the bearer token, answers CORS, and injects faults when the endpoint
//! path starts with `/fault/<name>` (503-burst, 429, slow, malformed, duplicate, expire, future; `<name>~<tag>`
//! counts attempts apart per tag).
//! `/_sim/truth/<path and query>` returns every row of a request in one document: the ground truth.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Mutex;
use std::time::Duration;

use clap::Parser;
use meterlens_engine::generate::{generate, GenerateFormat, GenerateOptions};
use meterlens_engine::time::parse_timestamp;
use serde_json::Value;
use tiny_http::{Header, Method, Request, Response, Server};

#[derive(Parser)]
#[command(about = "A local Azure Stack Hub usage API for MeterLens (tests and demos)")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8097)]
    port: u16,
    /// The bearer token requests must carry.
    #[arg(long, default_value = "demo-token")]
    token: String,
    /// Usage rows generated (a month, five tenants and the provider).
    #[arg(long, default_value_t = 5000)]
    rows: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

const PAGE_SIZE: usize = 1000;

/// A usage row and what requests select it by.
struct Row {
    subscription: String,
    start: i64,
    json: Value,
}

struct Sim {
    token: String,
    rows: Vec<Row>,
    /// Attempts per URL, for faults that fail the first tries.
    attempts: Mutex<HashMap<String, u32>>,
}

fn main() {
    let args = Args::parse();
    let mut bytes = Vec::new();
    let options =
        GenerateOptions { rows: args.rows, seed: args.seed, format: GenerateFormat::AzsApiJson, ..Default::default() };
    if let Err(e) = generate(&options, &mut bytes) {
        eprintln!("usage-api-sim: could not generate data: {e}");
        std::process::exit(1);
    }
    let rows = String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .flat_map(|page| page["value"].as_array().cloned().unwrap_or_default())
        .map(|json| Row {
            subscription: json["properties"]["subscriptionId"].as_str().unwrap_or_default().to_string(),
            start: json["properties"]["usageStartTime"].as_str().and_then(|t| parse_timestamp(t).ok()).unwrap_or(0),
            json,
        })
        .collect();
    let sim = Sim { token: args.token, rows, attempts: Mutex::new(HashMap::new()) };
    let server = match Server::http(("127.0.0.1", args.port)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("usage-api-sim: cannot listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(1);
        }
    };
    let tenants: Vec<&str> = {
        let mut t: Vec<&str> = sim.rows.iter().map(|r| r.subscription.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    println!(
        "usage-api-sim: http://127.0.0.1:{} · token {:?} · {} rows · subscriptions: {}",
        args.port,
        sim.token,
        sim.rows.len(),
        tenants.join(", ")
    );
    for request in server.incoming_requests() {
        let response = sim.answer(&request);
        let _ = request.respond(response);
    }
}

type Reply = Response<Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes("X-Bad", "1").expect("static header"))
}

fn reply(status: u16, body: String) -> Reply {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"))
        .with_header(header("Access-Control-Allow-Origin", "*"))
        .with_header(header("Access-Control-Expose-Headers", "Retry-After"))
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    reply(status, serde_json::json!({ "error": { "code": code, "message": message, "details": [] } }).to_string())
}

fn decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Sim {
    fn answer(&self, request: &Request) -> Reply {
        if request.method() == &Method::Options {
            return reply(204, String::new())
                .with_header(header("Access-Control-Allow-Headers", "Authorization, Content-Type"))
                .with_header(header("Access-Control-Allow-Methods", "GET, OPTIONS"));
        }
        let url = request.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
            .collect();
        if let Some(rest) = path.strip_prefix("/_sim/truth") {
            return match self.select(rest, &params) {
                Ok(rows) => reply(
                    200,
                    serde_json::json!({ "value": rows.iter().map(|r| &r.json).collect::<Vec<_>>() }).to_string(),
                ),
                Err(e) => e,
            };
        }
        let (fault, path) = match path.strip_prefix("/fault/") {
            Some(rest) => rest.split_once('/').map_or((rest, ""), |(f, p)| (f, p)),
            None => ("", path.trim_start_matches('/')),
        };
        // `/fault/<name>~<run>/…`: the run tag only keeps one run's attempt counts apart from another's.
        let fault = fault.split('~').next().unwrap_or(fault);
        let path = format!("/{path}");
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
            let n = attempts.entry(url.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let authorized = request
            .headers()
            .iter()
            .any(|h| h.field.equiv("Authorization") && h.value.as_str() == format!("Bearer {}", self.token));
        let offset: usize = params.get("continuationtoken").and_then(|t| t.parse().ok()).unwrap_or(0);
        let page_index = offset / PAGE_SIZE;
        if !authorized || (fault == "expire" && page_index >= 2) {
            return error(401, "InvalidAuthenticationToken", "The access token is missing, invalid or expired.");
        }
        match fault {
            "503-burst" if attempt <= 2 => return error(503, "ServiceUnavailable", "The service is busy."),
            "429" if attempt == 1 => {
                return error(429, "TooManyRequests", "Too many requests.").with_header(header("Retry-After", "1"))
            }
            "slow" => std::thread::sleep(Duration::from_millis(300)),
            "future" => return error(400, "RequestEndTimeIsInFuture", "ReportedEndTime is in the future."),
            _ => {}
        }
        let rows = match self.select(&path, &params) {
            Ok(rows) => rows,
            Err(e) => return e,
        };
        // The duplicate fault serves page 2 twice: its nextLink first points at page 2 again.
        let duplicate = fault == "duplicate" && page_index == 1 && !params.contains_key("again");
        let end = (offset + PAGE_SIZE).min(rows.len());
        let page: Vec<&Value> = rows[offset.min(rows.len())..end].iter().map(|r| &r.json).collect();
        let host = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map_or("127.0.0.1".to_string(), |h| h.value.to_string());
        let base = url.split("&continuationToken=").next().unwrap_or(&url).split("&again=").next().unwrap_or(&url);
        let next = if duplicate {
            Some(format!("http://{host}{base}&continuationToken={offset}&again=1"))
        } else {
            (end < rows.len()).then(|| format!("http://{host}{base}&continuationToken={end}"))
        };
        let mut body = serde_json::json!({ "value": page });
        if let Some(next) = next {
            body["nextLink"] = Value::String(next);
        }
        let mut text = body.to_string();
        if fault == "malformed" && page_index == 1 {
            text.truncate(text.len() / 2);
        }
        reply(200, text)
    }

    /// The rows a request selects, or its documented error.
    fn select(&self, path: &str, params: &HashMap<String, String>) -> Result<Vec<&Row>, Reply> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (subscription, provider) = match parts.as_slice() {
            ["subscriptions", sub, "providers", "Microsoft.Commerce", api]
                if api.eq_ignore_ascii_case("usageAggregates") =>
            {
                (*sub, false)
            }
            ["subscriptions", sub, "providers", "Microsoft.Commerce.Admin", api]
                if api.eq_ignore_ascii_case("subscriberUsageAggregates") =>
            {
                (*sub, true)
            }
            _ => return Err(error(404, "NotFound", &format!("no usage API at {path}"))),
        };
        if subscription.is_empty() {
            return Err(error(400, "SubscriptionIdMissingInRequest", "The subscription ID is missing."));
        }
        if params.get("api-version").is_none_or(|v| v.is_empty()) {
            return Err(error(400, "NoApiVersion", "The api-version query parameter is missing."));
        }
        let granularity = params.get("aggregationgranularity").map_or("daily".to_string(), |g| g.to_ascii_lowercase());
        if granularity != "daily" && granularity != "hourly" {
            return Err(error(400, "InvalidAggregationGranularity", "Only daily and hourly are valid."));
        }
        let time = |key: &str| params.get(key).and_then(|t| parse_timestamp(t).ok());
        let (Some(start), Some(end)) = (time("reportedstarttime"), time("reportedendtime")) else {
            return Err(error(
                400,
                "InvalidProperty",
                "reportedStartTime and reportedEndTime are required date-times.",
            ));
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        if end > now {
            return Err(error(400, "RequestEndTimeIsInFuture", "ReportedEndTime is in the future."));
        }
        let subscriber = params.get("subscriberid").filter(|s| !s.is_empty());
        if let Some(s) = subscriber {
            if !self.rows.iter().any(|r| &r.subscription == s) {
                return Err(error(400, "SubscriberIdIsNotDirectTenant", &format!("{s} is not a direct tenant.")));
            }
        }
        Ok(self
            .rows
            .iter()
            .filter(|r| (start..end).contains(&r.start))
            .filter(|r| match (provider, subscriber) {
                (false, _) => r.subscription == subscription,
                (true, Some(s)) => &r.subscription == s,
                (true, None) => true,
            })
            .collect())
    }
}

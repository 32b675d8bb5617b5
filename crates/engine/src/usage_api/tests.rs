//! The usage API client's logic: validation, URLs, the paging state machine, retries and error words.

use super::*;

const SUB: &str = "11111111-aaaa-4bbb-8ccc-000000000001";
const OCT1: i64 = 1_790_812_800;

fn request(mode: Mode) -> UsageRequest {
    UsageRequest {
        endpoint: "https://management.local.azurestack.external/".into(),
        subscription: SUB.into(),
        mode,
        start: "2026-10-01T00:00:00Z".into(),
        end: "2026-10-03".into(),
        granularity: Granularity::Daily,
    }
}

fn page(rows: &[&str], next: Option<&str>) -> String {
    let value: Vec<String> = rows.iter().map(|r| format!("{{\"id\":\"{r}\"}}")).collect();
    match next {
        Some(n) => format!("{{\"value\":[{}],\"nextLink\":\"{n}\"}}", value.join(",")),
        None => format!("{{\"value\":[{}]}}", value.join(",")),
    }
}

#[test]
fn requests_are_checked_before_sending() {
    let now = OCT1 + 10 * 86_400;
    assert_eq!(request(Mode::Tenant).validate(now), Ok((OCT1, OCT1 + 2 * 86_400)));
    let mut bad = request(Mode::Provider { subscribers: vec!["nope".into()] });
    bad.endpoint = "ftp://stamp".into();
    bad.subscription = "abc".into();
    bad.start = "2026-10-01T05:00:00Z".into();
    bad.end = "2026-12-01".into();
    let problems = bad.validate(now).expect_err("invalid");
    let text = problems.join("\n");
    for expected in ["https://", "GUID", "\"nope\"", "UTC midnight", "future"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let mut hourly = request(Mode::Tenant);
    hourly.granularity = Granularity::Hourly;
    hourly.start = "2026-10-01T05:00:00Z".into();
    hourly.end = "2026-10-01T05:30:00Z".into();
    assert!(hourly.validate(now).expect_err("half hour").join(" ").contains("on the hour"));
    let mut backwards = request(Mode::Tenant);
    backwards.end = "2026-09-30".into();
    assert!(backwards.validate(now).expect_err("backwards").join(" ").contains("after the start"));
}

#[test]
fn urls_follow_the_documented_shape() {
    let tenant = request(Mode::Tenant).first_url(OCT1, OCT1 + 86_400, None);
    assert_eq!(
        tenant,
        format!(
            "https://management.local.azurestack.external/subscriptions/{SUB}/providers/Microsoft.Commerce/usageAggregates?\
             reportedStartTime=2026-10-01T00%3a00%3a00Z&reportedEndTime=2026-10-02T00%3a00%3a00Z&aggregationGranularity=Daily&api-version=2015-06-01-preview"
        )
    );
    let provider = request(Mode::Provider { subscribers: vec![] }).first_url(OCT1, OCT1 + 86_400, Some("s1"));
    assert!(provider.contains("/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates?"));
    assert!(provider.ends_with("&subscriberId=s1"));
}

#[test]
fn pages_are_followed_per_subscriber_and_repeats_dropped() {
    let a = "22222222-aaaa-4bbb-8ccc-000000000002";
    let b = "33333333-aaaa-4bbb-8ccc-000000000003";
    let mut pager =
        Pager::new(request(Mode::Provider { subscribers: vec![a.into(), b.into()] }), (OCT1, OCT1 + 86_400));
    let Step::Fetch { url, .. } = pager.start() else { panic!() };
    assert!(url.ends_with(&format!("subscriberId={a}")));
    let step =
        pager.answer(200, None, &page(&["r1", "r2"], Some("https://management.local.azurestack.external/p/next1")));
    assert_eq!(step, Step::Fetch { url: "https://management.local.azurestack.external/p/next1".into(), wait_ms: 0 });
    // The gateway served page one again: its rows are not counted twice.
    let again =
        pager.answer(200, None, &page(&["r1", "r2"], Some("https://management.local.azurestack.external/p/next1b")));
    assert!(matches!(again, Step::Fetch { .. }));
    let step = pager.answer(200, None, &page(&["r3"], None));
    let Step::Fetch { url, .. } = step else { panic!("{step:?}") };
    assert!(url.ends_with(&format!("subscriberId={b}")), "{url}");
    assert_eq!(pager.progress().subscriber.as_deref(), Some(b));
    assert_eq!(pager.answer(200, None, &page(&["r4"], Some(""))), Step::Done);
    let progress = pager.progress();
    assert_eq!((progress.pages, progress.rows, progress.repeated_pages), (4, 4, 1));
    let doc: serde_json::Value = serde_json::from_str(&pager.document()).unwrap();
    let ids: Vec<&str> = doc["value"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r1", "r2", "r3", "r4"]);
}

#[test]
fn busy_answers_are_retried_with_bounded_backoff_and_retry_after() {
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    let Step::Fetch { url: first, .. } = pager.start() else { panic!() };
    let waits: Vec<u64> = (0..MAX_ATTEMPTS - 1)
        .map(|_| match pager.answer(503, None, "") {
            Step::Fetch { url, wait_ms } => {
                assert_eq!(url, first, "the same URL again");
                wait_ms
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(waits, [500, 1000, 2000, 4000, 8000]);
    assert_eq!(pager.answer(503, None, ""), Step::Fail(ApiError::GaveUp { status: 503, attempts: MAX_ATTEMPTS }));

    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    assert!(matches!(pager.answer(429, Some(3.0), ""), Step::Fetch { wait_ms: 3000, .. }));
    assert!(matches!(pager.answer(429, Some(600.0), ""), Step::Fetch { wait_ms: MAX_BACKOFF_MS, .. }));
    // A success resets the count: a later burst gets its full budget again.
    assert!(matches!(
        pager.answer(200, None, &page(&["r1"], Some("https://management.local.azurestack.external/p/2"))),
        Step::Fetch { .. }
    ));
    assert!(matches!(pager.answer(503, None, ""), Step::Fetch { wait_ms: 500, .. }));
    assert_eq!(pager.progress().retries, 3);
}

#[test]
fn errors_become_sentences_and_keep_the_rows() {
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    pager.answer(200, None, &page(&["r1"], Some("https://management.local.azurestack.external/p/2")));
    assert_eq!(pager.answer(401, None, ""), Step::Fail(ApiError::Unauthorized));
    assert_eq!(pager.progress().rows, 1, "the rows before the failure are kept");
    let cases = [
        ("NoApiVersion", "api-version"),
        ("InvalidProperty", "missing or invalid"),
        ("RequestEndTimeIsInFuture", "in the future"),
        ("SubscriberIdIsNotDirectTenant", "not a direct tenant"),
        ("SubscriptionIdMissingInRequest", "subscription ID is missing"),
        ("InvalidAggregationGranularity", "daily and hourly"),
        ("ServiceUnavailable", "busy"),
    ];
    for (code, words) in cases {
        let body = format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"from the stamp\"}}}}");
        let Step::Fail(error) = pager.answer(400, None, &body) else { panic!() };
        let text = error.to_string();
        assert!(text.contains(words) && text.contains(code) && text.contains("from the stamp"), "{text}");
    }
    assert!(pager.answer(403, None, "").eq(&Step::Fail(ApiError::Forbidden)));
    let Step::Fail(other) = pager.answer(500, None, "<html>gateway</html>") else { panic!() };
    assert!(other.to_string().contains("HTTP 500: <html>gateway</html>"));
    let Step::Fail(malformed) = pager.answer(200, None, "{\"value\": [") else { panic!() };
    assert!(malformed.to_string().starts_with("page 2 is not a usage page"), "{malformed}");
    let Step::Fail(network) = pager.no_answer() else { panic!() };
    assert!(network.to_string().contains("CORS") && network.to_string().contains("PowerShell"));
}

#[test]
fn a_stamp_that_keeps_sending_one_page_is_stopped() {
    // The same rows under new links: dropped as repeats, then stopped.
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    for n in 0..MAX_REPEATS_IN_A_ROW {
        let link = format!("https://management.local.azurestack.external/p/{n}");
        assert!(matches!(pager.answer(200, None, &page(&["r1"], Some(&link))), Step::Fetch { .. }));
    }
    let Step::Fail(error) =
        pager.answer(200, None, &page(&["r1"], Some("https://management.local.azurestack.external/p/x")))
    else {
        panic!()
    };
    assert!(error.to_string().contains("keeps sending the same page"));
    assert_eq!(pager.progress().rows, 1);
    // The same link again: a loop at once.
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    let again = "https://management.local.azurestack.external/p/again";
    assert!(matches!(pager.answer(200, None, &page(&["r1"], Some(again))), Step::Fetch { .. }));
    assert!(matches!(pager.answer(200, None, &page(&["r2"], Some(again))), Step::Fail(ApiError::Loop { pages: 2 })));
}

#[test]
fn the_token_never_follows_a_link_to_another_host_and_loops_stop() {
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    let step = pager.answer(200, None, &page(&["r1"], Some("https://evil.example/steal?continuationToken=1")));
    let Step::Fail(error) = step else { panic!("{step:?}") };
    assert_eq!(error, ApiError::ForeignLink { link: "https://evil.example".into() });
    assert!(error.to_string().contains("not followed"));
    for trick in
        ["https://management.local.azurestack.external@evil.example/x", "//evil.example/x", "javascript:alert(1)"]
    {
        let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
        assert!(
            matches!(pager.answer(200, None, &page(&["r1"], Some(trick))), Step::Fail(ApiError::ForeignLink { .. })),
            "{trick}"
        );
    }
    // A link back to a page already read (even with new rows) is a loop.
    let mut pager = Pager::new(request(Mode::Tenant), (OCT1, OCT1 + 86_400));
    let Step::Fetch { url: first, .. } = pager.start() else { panic!() };
    assert!(matches!(pager.answer(200, None, &page(&[], Some(&first))), Step::Fail(ApiError::Loop { pages: 1 })));
    // Endpoints: https anywhere, plain http only on this computer, exactly.
    let now = OCT1 + 10 * 86_400;
    for (endpoint, ok) in [
        ("http://127.0.0.1:8097", true),
        ("http://localhost", true),
        ("http://localhost.evil.com", false),
        ("http://127.0.0.1.evil.com:80", false),
        ("http://stamp.example", false),
        ("https://", false),
    ] {
        let mut r = request(Mode::Tenant);
        r.endpoint = endpoint.into();
        assert_eq!(r.validate(now).is_ok(), ok, "{endpoint}");
    }
}

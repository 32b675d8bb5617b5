//! Browser tests (wasm-bindgen-test in headless Chromium): real DOM, real canvas text measurement.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use meterlens::ui::kpi_cards::KpiCards;
use meterlens_engine::ingest::Ingester;
use meterlens_engine::summary::{Summary, SummaryOptions};
use meterlens_engine::UsageTable;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FIXTURE: &[u8] = include_bytes!("fixtures/usagesummary-small.csv");

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn container() -> web_sys::HtmlElement {
    let div = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
fn kpi_cards_show_the_engine_figures() {
    let mut ingester = Ingester::new(UsageTable::default(), "fixture.csv");
    for chunk in FIXTURE.chunks(100) {
        ingester.feed(chunk);
    }
    let (table, _) = ingester.finish();
    let expected = Summary::of(&table, &SummaryOptions::default());
    let summary = Memo::new(move |_| Some(Summary::of(&table, &SummaryOptions::default())));
    let root = container();
    let _handle = leptos::mount::mount_to(root.clone(), move || view! { <KpiCards summary=summary /> });
    let value = |selector: &str| root.query_selector(selector).unwrap().unwrap().get_attribute("data-value").unwrap();
    assert_eq!(value("[data-testid=kpi-rows]"), expected.rows.to_string());
    assert_eq!(value("[data-testid=kpi-subscriptions]"), "2");
    let vcpu = value("[data-testid=kpi-quantity] li[data-unit='Virtual core hours']");
    assert_eq!(vcpu.parse::<f64>().unwrap(), 204.5);
    assert!(root.text_content().unwrap().contains("204.5"));
}

#[wasm_bindgen_test]
fn chart_labels_are_measured_and_drawn_in_the_browser() {
    let bars = [("2026-10-01", 5.0), ("2026-10-02", 7.5)].map(|(label, value)| meterlens::chart::Bar {
        label: label.into(),
        value,
        selected: false,
    });
    let svg = meterlens::chart::column_chart(&bars, "GB*hours", "Day (UTC)", 600, 300).svg;
    let root = container();
    root.set_inner_html(&svg);
    let texts = root.query_selector_all("text").unwrap();
    assert!(texts.length() >= 4, "axis labels drawn");
    let label = root.query_selector("svg").unwrap().unwrap().text_content().unwrap();
    assert!(label.contains("GB*hours") && label.contains("10-01"), "{label}");
    let bars = root.query_selector_all("rect[fill='#118DFF']").unwrap();
    assert_eq!(bars.length(), 2);
    let first: web_sys::SvgGraphicsElement = texts.get(0).unwrap().unchecked_into();
    assert!(first.get_b_box().unwrap().width() > 0.0, "text has a rendered width");
}

#[wasm_bindgen_test]
async fn app_shows_a_clear_message_when_the_sample_is_missing() {
    // The test runner serves no sample, so the app must say so instead of going blank.
    let root = container();
    let _handle = leptos::mount::mount_to(root.clone(), meterlens::App);
    assert!(root.text_content().unwrap().contains("MeterLens"));
    for _ in 0..100 {
        settle().await;
        if let Some(notice) = root.query_selector("[data-testid=notice].error").unwrap() {
            assert!(notice.text_content().unwrap().contains("embedded sample could not be loaded"));
            assert!(root.query_selector("[data-testid=file-input]").unwrap().is_some());
            return;
        }
    }
    panic!("no error notice appeared: {}", root.inner_html());
}

#[wasm_bindgen_test]
fn handed_over_buffers_read_as_one_run_of_bytes_and_anything_else_is_refused() {
    use meterlens_engine::table::ByteSource;
    let bytes: Vec<u8> = (0..=250u8).collect();
    let buffers: js_sys::Array = [&bytes[..7], &bytes[7..7], &bytes[7..200], &bytes[200..]]
        .iter()
        .map(|part| js_sys::Uint8Array::from(*part).buffer())
        .collect();
    let handed = meterlens::web::Transferred::of(buffers, "the test").expect("buffers");
    assert_eq!(handed.len(), bytes.len());
    // Reads that start in one buffer and end in another, across the empty one.
    for (at, n) in [(0, 251), (5, 10), (6, 194), (199, 2), (250, 1)] {
        let mut out = vec![0u8; n];
        handed.read(at, &mut out);
        assert_eq!(out, &bytes[at..at + n], "{n} bytes at {at}");
    }
    let mixed = js_sys::Array::of2(&js_sys::Uint8Array::from(&bytes[..]).buffer(), &"text".into());
    let refused = meterlens::web::Transferred::of(mixed, "the ingest worker").err().expect("refused");
    assert_eq!(refused, "the ingest worker handed over something that is not bytes (part 2 of 2)");
}

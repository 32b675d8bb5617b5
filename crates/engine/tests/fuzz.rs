//! No-panic fuzzing of every entry point that takes outside bytes: the ingester (every format and the bad-input
//! corpus, mutated, cut and re-chunked), price sheets, key/value cells, filters, table snapshots and usage API
//! pages. Deterministic (a seeded xorshift) and bounded: `METERLENS_FUZZ_ROUNDS` (default 40) rounds per seed
//! file. Anything it finds is fixed and kept as a fixture.

use std::path::Path;

use meterlens_engine::ingest::Ingester;
use meterlens_engine::prices::PriceBook;
use meterlens_engine::query::Filter;
use meterlens_engine::summary::{Summary, SummaryOptions};
use meterlens_engine::usage_api::{Granularity, Mode, Pager, UsageRequest};
use meterlens_engine::UsageTable;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn rounds() -> usize {
    std::env::var("METERLENS_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(40)
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("bad")] {
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let path = entry.path();
            if path.is_file() {
                files.push((path.display().to_string(), std::fs::read(&path).expect("readable")));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "the fixtures and the corpus are there");
    files
}

/// Byte flips, insertions of structural characters, deletions, cuts and duplicated spans.
fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(10) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] = rng.next() as u8,
            1 => {
                let structural = b"\"\r\n,;{}[]:\\\0\xff\xfe";
                out.insert(at, structural[rng.below(structural.len())]);
            }
            2 => {
                out.remove(at);
            }
            3 => out.truncate(at),
            4 => {
                let end = (at + rng.below(200)).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            _ => {
                out.splice(at..at, b"\x1f\x8b\x08\x00".iter().copied());
            }
        }
    }
    out
}

#[test]
fn the_ingester_never_panics_and_counts_every_row_it_keeps() {
    let mut rng = Rng(0xC0FF_EE00_DEAD_BEEF);
    for (name, bytes) in seeds() {
        for _ in 0..rounds() {
            let input = mutate(&mut rng, &bytes);
            let mut ingester = Ingester::new(UsageTable::default(), &name);
            let mut rest = input.as_slice();
            while !rest.is_empty() {
                let small = rng.below(4) == 0;
                let n = 1 + rng.below(if small { 3 } else { 4096 });
                let (chunk, tail) = rest.split_at(n.min(rest.len()));
                ingester.feed(chunk);
                rest = tail;
            }
            let (table, report) = ingester.finish();
            assert_eq!(table.len() as u64, report.rows, "{name}");
            assert!(report.issues.len() as u64 <= report.issue_count);
            let _ = Summary::of(&table, &SummaryOptions { include_admin: true, ..Default::default() });
            // What was read survives a snapshot, and a damaged snapshot is an error, not a panic.
            let snapshot = table.to_snapshot();
            assert_eq!(UsageTable::from_snapshot(&snapshot).map(|t| t.len()).ok(), Some(table.len()));
            let _ = UsageTable::from_snapshot(&mutate(&mut rng, &snapshot));
        }
    }
}

#[test]
fn price_sheets_cells_and_filters_never_panic() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let sheet =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/price-sheet-eur.csv")).unwrap();
    for _ in 0..rounds() * 20 {
        let mut book = PriceBook::default();
        let _ = book.import_csv("fuzz.csv", &mutate(&mut rng, &sheet));
        let text =
            String::from_utf8_lossy(&mutate(&mut rng, b"@{env=prod; costcenter=\"1,2\"} {\"a\":\"b\"}")).into_owned();
        let _ = meterlens_engine::kv::parse(&text);
        let _ = Filter::parse(&text);
    }
}

#[test]
fn usage_api_pages_never_panic() {
    let mut rng = Rng(0x0BAD_CAFE_F00D_0001);
    let page =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/azs-api-page.json")).unwrap();
    let request = UsageRequest {
        endpoint: "https://management.local.azurestack.external".into(),
        subscription: "11111111-aaaa-4bbb-8ccc-000000000001".into(),
        mode: Mode::Tenant,
        start: "2026-10-01".into(),
        end: "2026-10-02".into(),
        granularity: Granularity::Daily,
    };
    for _ in 0..rounds() * 20 {
        let mut pager = Pager::new(request.clone(), (1_790_812_800, 1_790_899_200));
        let status = [200, 200, 200, 400, 401, 403, 429, 500, 503][rng.below(9)];
        let body = String::from_utf8_lossy(&mutate(&mut rng, &page)).into_owned();
        let _ = pager.answer(status, Some(rng.below(100) as f64 - 10.0), &body);
        let _ = pager.document();
    }
}

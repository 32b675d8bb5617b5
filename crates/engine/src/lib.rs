//! MeterLens engine: reads Azure Stack Hub and Azure usage files into one columnar usage table and answers
//! questions about it. Pure Rust: bytes and options in, plain values out; no browser, file system, clock or
//! randomness, so the same code runs natively (CLI, tests, benchmarks) and in the browser (wasm32).
//!
//! ```
//! use meterlens_engine::{ingest::Ingester, summary::Summary, UsageTable};
//! let csv = "\"UsageStartTime\",\"UsageEndTime\",\"MeterName\",\"Quantity\",\"resourceType\",\"location\",\
//! \"resourceGroup\",\"resourceName\",\"subowner\",\"tags\",\"MeterId\",\"additionalInfo\",\"subscription\",\"resourceUri\"\n\
//! \"10/1/2026 12:00:00 AM\",\"10/2/2026 12:00:00 AM\",\"Base VM Size Hours\",\"48\",\"virtualMachines\",\"local\",\
//! \"rg-web\",\"web01\",\"\",\"\",\"FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5\",\"\",\"11111111-aaaa-4bbb-8ccc-000000000001\",\"\"\n";
//! let mut ingester = Ingester::new(UsageTable::default(), "usage.csv");
//! ingester.feed(csv.as_bytes());
//! let (table, report) = ingester.finish();
//! assert_eq!(report.error, None);
//! let summary = Summary::of(&table, &Default::default());
//! assert_eq!(summary.rows, 1);
//! assert_eq!(summary.quantity["Virtual core hours"], 48.0);
//! ```

pub mod admin;
pub mod bill;
pub mod catalog;
mod csv_records;
pub mod export;
pub mod focus;
pub mod generate;
pub mod ingest;
pub mod kv;
pub mod licensing;
pub mod meter_id;
#[cfg(feature = "parquet")]
pub mod parquet_out;
pub mod prices;
pub mod query;
pub mod reconcile;
pub mod summary;
pub mod table;
pub mod time;
pub mod usage_api;

pub use table::{StrId, UsageTable};

/// A checksum of stored bytes, 64 bits, FNV-1a over 8-byte words (eight times fewer steps than over bytes):
/// every step is a bijection of the state, so any one changed word always changes the sum.
pub fn checksum(bytes: &[u8]) -> u64 {
    let step = |h: u64, word: u64| ((h ^ word).wrapping_mul(0x0100_0000_01b3)).rotate_left(29);
    let mut words = bytes.chunks_exact(8);
    let mut h = (&mut words).fold(0xcbf2_9ce4_8422_2325, |h, w| {
        step(h, u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
    });
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = step(h, u64::from_le_bytes(tail));
    step(h, bytes.len() as u64)
}

/// FNV-1a: a small, stable hash (file fingerprints, per-resource generator draws).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

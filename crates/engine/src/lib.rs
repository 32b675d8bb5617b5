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
    let mut sum = Checksum::default();
    sum.update(bytes);
    sum.finish()
}

/// [`checksum`] of bytes that come in pieces, split anywhere.
#[derive(Clone, Debug)]
pub struct Checksum {
    state: u64,
    len: u64,
    /// The bytes of a word not yet complete.
    partial: ([u8; 8], usize),
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum { state: 0xcbf2_9ce4_8422_2325, len: 0, partial: ([0; 8], 0) }
    }
}

impl Checksum {
    fn step(h: u64, word: u64) -> u64 {
        ((h ^ word).wrapping_mul(0x0100_0000_01b3)).rotate_left(29)
    }

    /// Adds the next bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let (word, filled) = &mut self.partial;
        if *filled > 0 {
            let n = (8 - *filled).min(bytes.len());
            word[*filled..*filled + n].copy_from_slice(&bytes[..n]);
            *filled += n;
            bytes = &bytes[n..];
            if *filled < 8 {
                return;
            }
            self.state = Self::step(self.state, u64::from_le_bytes(*word));
            *filled = 0;
        }
        let mut words = bytes.chunks_exact(8);
        self.state = (&mut words).fold(self.state, |h, w| {
            Self::step(h, u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
        });
        let rest = words.remainder();
        word[..rest.len()].copy_from_slice(rest);
        *filled = rest.len();
    }

    /// The checksum of every byte added.
    pub fn finish(&self) -> u64 {
        let (word, filled) = self.partial;
        let mut tail = [0u8; 8];
        tail[..filled].copy_from_slice(&word[..filled]);
        Self::step(Self::step(self.state, u64::from_le_bytes(tail)), self.len)
    }
}

/// FNV-1a: a small, stable hash (file fingerprints, per-resource generator draws).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod checksum_tests {
    use super::*;

    /// The one-shot checksum data kept by earlier versions was stored with.
    fn stored_with(bytes: &[u8]) -> u64 {
        let step = |h: u64, word: u64| ((h ^ word).wrapping_mul(0x0100_0000_01b3)).rotate_left(29);
        let mut words = bytes.chunks_exact(8);
        let h = (&mut words).fold(0xcbf2_9ce4_8422_2325, |h, w| step(h, u64::from_le_bytes(w.try_into().unwrap())));
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        step(step(h, u64::from_le_bytes(tail)), bytes.len() as u64)
    }

    #[test]
    fn a_checksum_in_pieces_split_anywhere_is_the_stored_one() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 9, 999, 1000] {
            let want = stored_with(&bytes[..len]);
            assert_eq!(checksum(&bytes[..len]), want);
            for piece in [1, 3, 8, 13, 64] {
                let mut sum = Checksum::default();
                bytes[..len].chunks(piece).for_each(|p| sum.update(p));
                assert_eq!(sum.finish(), want, "{len} bytes in pieces of {piece}");
            }
        }
    }
}

//! A compact binary snapshot of a [`UsageTable`]: how the ingest worker hands its table to the page and how the
//! page keeps it in browser storage. Decoding checks every length and index, so a damaged snapshot is an error.

use super::{Column, ColumnValue, Dictionary, Repr, Source, StrId, UsageTable};
use crate::ingest::Format;

const MAGIC: &[u8; 8] = b"MLTABLE2";

/// Why a snapshot could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a MeterLens table snapshot, or one of another version.
    #[error("not a MeterLens table snapshot of this version")]
    NotASnapshot,
    /// The bytes end before the table does.
    #[error("the table snapshot is truncated")]
    Truncated,
    /// A length or index points outside the table.
    #[error("the table snapshot is damaged: {0}")]
    Damaged(&'static str),
}

impl UsageTable {
    /// The table as snapshot bytes (read back by [`UsageTable::from_snapshot`]).
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_snapshot(&mut out);
        out
    }

    /// Appends the snapshot to `out` (no intermediate copy when it follows a header).
    pub fn write_snapshot(&self, into: &mut Vec<u8>) {
        into.reserve(self.heap_bytes() / 2 + 64);
        let mut out = Writer(std::mem::take(into));
        out.0.extend_from_slice(MAGIC);
        out.u32(self.strings.values.len() as u32);
        for s in &self.strings.values {
            out.text(s);
        }
        out.u32(self.sources.len() as u32);
        for source in &self.sources {
            out.text(&source.file);
            out.text(source.format.as_str());
        }
        let mut pairs: Vec<_> = self.key_values.iter().collect();
        pairs.sort_unstable_by_key(|(id, _)| **id);
        out.u32(pairs.len() as u32);
        for (id, kv) in pairs {
            out.u32(id.0);
            out.u32(kv.len() as u32);
            for (k, v) in kv.iter() {
                out.u32(k.0);
                out.u32(v.0);
            }
        }
        out.u64(self.len() as u64);
        self.line.iter().for_each(|v| out.u32(*v));
        self.usage_start.iter().for_each(|v| out.u64(*v as u64));
        self.usage_end.iter().for_each(|v| out.u64(*v as u64));
        self.quantity.iter().for_each(|v| out.u64(v.to_bits()));
        out.column(&self.source, |o, v| o.0.extend_from_slice(&v.to_le_bytes()));
        for column in [&self.cost, &self.effective_cost, &self.unit_price] {
            out.column(column, |o, v| o.u64(v.to_bits()));
        }
        for column in [&self.azure_stack, &self.local] {
            out.column(column, |o, v| o.0.push(*v as u8));
        }
        for column in [&self.tags, &self.additional_info].into_iter().chain(self.string_columns()) {
            out.column(column, |o, v| o.u32(v.0));
        }
        *into = out.0;
    }

    /// Reads snapshot bytes written by [`UsageTable::to_snapshot`].
    pub fn from_snapshot(bytes: &[u8]) -> Result<UsageTable, SnapshotError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
            return Err(SnapshotError::NotASnapshot);
        }
        let mut table =
            UsageTable { strings: Dictionary { values: Vec::new(), index: Default::default() }, ..Default::default() };
        let strings = r.count(4)?;
        for _ in 0..strings {
            let text = r.text()?;
            table.strings.index.insert(text.into(), StrId(table.strings.values.len() as u32));
            table.strings.values.push(text.into());
        }
        if table.strings.values.first().is_none_or(|s| !s.is_empty()) {
            return Err(SnapshotError::Damaged("the dictionary does not start with the empty string"));
        }
        let n_strings = table.strings.values.len() as u32;
        let id = |raw: u32| {
            if raw < n_strings {
                Ok(StrId(raw))
            } else {
                Err(SnapshotError::Damaged("string id out of range"))
            }
        };
        for _ in 0..r.count(8)? {
            let file = r.text()?.to_string();
            let format = Format::from_name(r.text()?).ok_or(SnapshotError::Damaged("unknown source format"))?;
            table.sources.push(Source { file, format });
        }
        for _ in 0..r.count(8)? {
            let key = id(r.u32()?)?;
            let mut pairs = Vec::new();
            for _ in 0..r.count(8)? {
                pairs.push((id(r.u32()?)?, id(r.u32()?)?));
            }
            table.key_values.insert(key, pairs.into());
        }
        let rows = r.rows()?;
        table.line = (0..rows).map(|_| r.u32()).collect::<Result<_, _>>()?;
        table.usage_start = (0..rows).map(|_| r.u64().map(|v| v as i64)).collect::<Result<_, _>>()?;
        table.usage_end = (0..rows).map(|_| r.u64().map(|v| v as i64)).collect::<Result<_, _>>()?;
        table.quantity = (0..rows).map(|_| r.u64().map(f64::from_bits)).collect::<Result<_, _>>()?;
        let n_sources = table.sources.len();
        table.source = r.column(rows, 2, |r| {
            let s = u16::from_le_bytes([r.u8()?, r.u8()?]);
            if (s as usize) < n_sources {
                Ok(s)
            } else {
                Err(SnapshotError::Damaged("source index out of range"))
            }
        })?;
        table.cost = r.column(rows, 8, |r| r.u64().map(f64::from_bits))?;
        table.effective_cost = r.column(rows, 8, |r| r.u64().map(f64::from_bits))?;
        table.unit_price = r.column(rows, 8, |r| r.u64().map(f64::from_bits))?;
        table.azure_stack = r.column(rows, 1, |r| r.u8().map(|b| b != 0))?;
        table.local = r.column(rows, 1, |r| r.u8().map(|b| b != 0))?;
        table.tags = r.column(rows, 4, |r| id(r.u32()?))?;
        table.additional_info = r.column(rows, 4, |r| id(r.u32()?))?;
        let mut columns = Vec::new();
        for _ in 0..table.string_columns().len() {
            columns.push(r.column(rows, 4, |r| id(r.u32()?))?);
        }
        for (into, from) in table.string_columns_mut().into_iter().zip(columns) {
            *into = from;
        }
        if r.at != bytes.len() {
            return Err(SnapshotError::Damaged("bytes after the table"));
        }
        Ok(table)
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// Tag 0: constant (then a presence byte and the value), tag 1: one value per row.
    fn column<T: ColumnValue>(&mut self, column: &Column<T>, mut value: impl FnMut(&mut Self, &T)) {
        match &column.repr {
            Repr::Constant { value: v, .. } => {
                self.0.push(0);
                self.0.push(v.is_some() as u8);
                if let Some(v) = v {
                    value(self, v);
                }
            }
            Repr::Values(values) => {
                self.0.push(1);
                values.iter().for_each(|v| value(self, v));
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or(SnapshotError::Truncated)?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// A count of items of at least `min_bytes` each, refused when the rest of the bytes cannot hold them.
    fn count(&mut self, min_bytes: usize) -> Result<usize, SnapshotError> {
        let n = self.u32()? as usize;
        self.fits(n, min_bytes)
    }

    /// The row count, refused when the rest of the bytes cannot hold that many rows.
    fn rows(&mut self) -> Result<usize, SnapshotError> {
        let n = usize::try_from(self.u64()?).map_err(|_| SnapshotError::Truncated)?;
        self.fits(n, 4 + 8 + 8 + 8)
    }

    fn fits(&self, n: usize, min_bytes: usize) -> Result<usize, SnapshotError> {
        if n.saturating_mul(min_bytes) > self.bytes.len() - self.at {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }

    fn text(&mut self) -> Result<&'a str, SnapshotError> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| SnapshotError::Damaged("text is not UTF-8"))
    }

    fn column<T: ColumnValue>(
        &mut self,
        rows: usize,
        width: usize,
        mut value: impl FnMut(&mut Self) -> Result<T, SnapshotError>,
    ) -> Result<Column<T>, SnapshotError> {
        let repr = match self.u8()? {
            0 => {
                let value = if self.u8()? != 0 { Some(value(self)?) } else { None };
                if value.is_none() && rows > 0 {
                    return Err(SnapshotError::Damaged("a constant column without its value"));
                }
                Repr::Constant { value, len: rows }
            }
            1 => {
                if rows.saturating_mul(width) > self.bytes.len() - self.at {
                    return Err(SnapshotError::Truncated);
                }
                Repr::Values((0..rows).map(|_| value(self)).collect::<Result<_, _>>()?)
            }
            _ => return Err(SnapshotError::Damaged("unknown column encoding")),
        };
        Ok(Column { repr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, GenerateOptions};
    use crate::ingest::Ingester;
    use crate::summary::{Dimension, Summary, SummaryOptions};

    fn sample() -> UsageTable {
        let mut ingester = Ingester::new(UsageTable::default(), "usage.csv");
        let mut csv = Vec::new();
        generate(&GenerateOptions { rows: 800, seed: 7, ..Default::default() }, &mut csv).expect("generates");
        ingester.feed(&csv);
        let (mut table, report) = ingester.finish();
        table.add_source("second.csv", Format::CostManagementCsv);
        assert_eq!(report.error, None);
        table
    }

    #[test]
    fn a_snapshot_reads_back_to_the_same_answers() {
        let table = sample();
        let back = UsageTable::from_snapshot(&table.to_snapshot()).expect("reads back");
        assert_eq!(back.len(), table.len());
        assert_eq!(back.sources(), table.sources());
        let options = SummaryOptions {
            by: vec![Dimension::Subscription, Dimension::MeterName, Dimension::Day, Dimension::Tag("owner".into())],
            include_admin: true,
            ..Default::default()
        };
        assert_eq!(Summary::of(&back, &options), Summary::of(&table, &options));
        for row in (0..table.len()).step_by(37) {
            assert_eq!(back.str(back.resource_uri[row]), table.str(table.resource_uri[row]));
            assert_eq!(back.line[row], table.line[row]);
            assert_eq!(back.str(back.tags[row]), table.str(table.tags[row]));
            assert_eq!(back.key_values(back.tags[row]).len(), table.key_values(table.tags[row]).len());
        }
        assert_eq!(back.to_snapshot(), table.to_snapshot(), "stable bytes");
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_an_error_or_a_table_never_a_panic() {
        let bytes = sample().to_snapshot();
        for cut in (0..bytes.len()).step_by(bytes.len() / 997 + 1) {
            assert!(UsageTable::from_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in (0..bytes.len()).step_by(bytes.len() / 499 + 1) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xA5;
            let _ = UsageTable::from_snapshot(&damaged);
        }
        assert_eq!(UsageTable::from_snapshot(b"PK\x03\x04").err(), Some(SnapshotError::NotASnapshot));
    }

    #[test]
    fn an_empty_table_round_trips() {
        let back = UsageTable::from_snapshot(&UsageTable::default().to_snapshot()).expect("empty");
        assert!(back.is_empty());
        assert_eq!(back.strings().len(), 1);
    }
}

//! A compact binary snapshot of a [`UsageTable`]: how the ingest worker hands its table to the page and how the
//! page keeps it in browser storage. Columns are written narrow (a table of distinct values with 1- or 2-byte
//! indexes, or the distance from the column's minimum in as few bytes as it needs), so the copies that coexist
//! while a dataset is handed over and kept are small. Decoding checks every length and index, so a damaged
//! snapshot is an error.

use rustc_hash::FxHashMap;

use super::numbers::{BLOCK_HEAD_BYTES, BLOCK_ROWS};
use super::packed::bits_for;
use super::{
    Column, ColumnValue, Dictionary, Keyed, LineRun, Lines, Numbers, Packed, Repr, Source, StrId, UsageTable,
    SAME_AS_COST,
};
use crate::ingest::Format;

const MAGIC: &[u8; 8] = b"MLTABLE6";
/// The last bytes of a snapshot, after its section index.
const INDEX_MAGIC: &[u8; 8] = b"MLINDEX6";
/// Sections before the dictionary-encoded string columns: the head (dictionary, sources, key-value pairs, row
/// count), quantity, lines, usage start and end, source, cost, effective cost, unit price, the two flags, tags and
/// additional info. Each string column is one more.
const SECTIONS_BEFORE_STRINGS: usize = 13;

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
    /// The sections of a snapshot.
    fn sections(&self) -> usize {
        SECTIONS_BEFORE_STRINGS + self.string_columns().len() + self.keyed_columns().len()
    }

    /// The table as snapshot bytes (read back by [`UsageTable::from_snapshot`]).
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_snapshot(&mut |chunk| out.extend_from_slice(chunk));
        out
    }

    /// Writes the snapshot to `sink` in chunks of about [`SNAPSHOT_CHUNK`] bytes, so that the whole snapshot
    /// need never be in one buffer next to the table (the worker sends each chunk on as it comes).
    pub fn write_snapshot(&self, sink: &mut dyn FnMut(&[u8])) {
        let mut out = Writer { buf: Vec::with_capacity(SNAPSHOT_CHUNK), sink, flushed: 0, ends: Vec::new() };
        out.bytes(MAGIC);
        out.u32(self.strings.len() as u32);
        for s in self.strings.iter() {
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
        let rows = self.len();
        out.u64(rows as u64);
        out.end_section();
        // The quantities come first: they check the row count before any other column is sized by it.
        out.numbers(&self.quantity);
        // Lines as the step from the row before (mostly 1).
        let mut steps = Vec::with_capacity(rows);
        let mut before = 0i64;
        for line in self.line.iter() {
            steps.push((line as i64 - before).bits());
            before = line as i64;
        }
        out.narrow(rows, |row| steps[row]);
        drop(steps);
        out.end_section();
        out.column(&self.usage_start);
        out.column(&self.usage_end);
        out.column(&self.source);
        out.numbers(&self.cost);
        // Effective cost is often the billed cost, bit for bit.
        if self.effective_cost.constant().is_some_and(|v| v.same(&SAME_AS_COST)) || rows == 0 {
            out.byte(SAME_AS_BEFORE);
            out.end_section();
        } else {
            out.column(&self.effective_cost);
        }
        out.column(&self.unit_price);
        for column in [&self.azure_stack, &self.local] {
            out.column(column);
        }
        for column in [&self.tags, &self.additional_info].into_iter().chain(self.string_columns()) {
            out.column(column);
        }
        for (keyed, _) in self.keyed_columns() {
            match keyed.by_key() {
                Some(_) => {
                    let pairs: Vec<(StrId, StrId)> = keyed.pairs().collect();
                    out.byte(KEYED);
                    out.u32(pairs.len() as u32);
                    for (key, value) in pairs {
                        out.u32(key.0);
                        out.u32(value.0);
                    }
                    out.end_section();
                }
                None => out.column(keyed.column()),
            }
        }
        // The index: where each section ends, so that a reader can take the sections one by one.
        for end in std::mem::take(&mut out.ends) {
            out.u64(end as u64);
        }
        out.u32(self.sections() as u32);
        out.bytes(INDEX_MAGIC);
        out.flush();
    }

    /// Reads snapshot bytes written by [`UsageTable::to_snapshot`].
    pub fn from_snapshot(bytes: &[u8]) -> Result<UsageTable, SnapshotError> {
        Self::from_snapshot_source(&bytes)
    }

    /// Reads a snapshot from `source` a window at a time: the columns are built straight from it, without a copy
    /// of the whole snapshot (the page reads the worker's buffers this way).
    pub fn from_snapshot_source(source: &dyn ByteSource) -> Result<UsageTable, SnapshotError> {
        let mut start = [0u8; MAGIC.len()];
        let start = &mut start[..source.len().min(MAGIC.len())];
        source.read(0, start);
        SnapshotDecoder::check_start(start)?;
        let tail_at = source.len().saturating_sub(SnapshotDecoder::INDEX_BYTES);
        let mut tail = vec![0u8; source.len() - tail_at];
        source.read(tail_at, &mut tail);
        let mut decoder = SnapshotDecoder::default();
        for section in decoder.sections(source.len(), &tail)? {
            decoder.feed(&Within { source, start: section.start, len: section.len() })?;
        }
        decoder.finish()
    }
}

/// A snapshot decoded a section at a time, each from its own bytes: a reader that fetches bytes asynchronously
/// (the page reading a stored file) holds one section at a time, not the whole snapshot.
pub struct SnapshotDecoder {
    table: UsageTable,
    rows: usize,
    /// The next section to decode.
    next: usize,
    sections: usize,
}

impl Default for SnapshotDecoder {
    fn default() -> Self {
        let table = UsageTable { strings: Dictionary::empty(), ..Default::default() };
        let sections = table.sections();
        SnapshotDecoder { table, rows: 0, next: 0, sections }
    }
}

impl SnapshotDecoder {
    /// The most bytes the index at the end of a snapshot takes: read these last bytes for [`Self::sections`].
    pub const INDEX_BYTES: usize = 8 * 64 + 4 + 8;

    /// Where each section of a snapshot of `len` bytes is, from its last bytes (`tail`, up to [`Self::INDEX_BYTES`]).
    pub fn sections(&mut self, len: usize, tail: &[u8]) -> Result<Vec<std::ops::Range<usize>>, SnapshotError> {
        let n = self.sections;
        let index_len = n * 8 + 4 + INDEX_MAGIC.len();
        if tail.len() < index_len || len < index_len || tail.len() > len {
            return Err(SnapshotError::Truncated);
        }
        let index = &tail[tail.len() - index_len..];
        let (ends, rest) = index.split_at(n * 8);
        if rest[4..] != *INDEX_MAGIC {
            return Err(SnapshotError::Truncated);
        }
        if u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize != n {
            return Err(SnapshotError::Damaged("the section index does not fit this table"));
        }
        let mut sections = Vec::with_capacity(n);
        let mut start = 0;
        for end in ends.chunks_exact(8) {
            let end = u64::from_le_bytes(end.try_into().unwrap_or_default());
            let end = usize::try_from(end).map_err(|_| SnapshotError::Damaged("a section ends past the table"))?;
            if end < start {
                return Err(SnapshotError::Damaged("sections out of order"));
            }
            sections.push(start..end);
            start = end;
        }
        if start != len - index_len {
            return Err(SnapshotError::Damaged("the sections do not end where the index begins"));
        }
        Ok(sections)
    }

    /// Refuses bytes that do not start as a snapshot of this version (before its index is looked for).
    pub fn check_start(start: &[u8]) -> Result<(), SnapshotError> {
        if start.len() < MAGIC.len() || start[..MAGIC.len()] != *MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        Ok(())
    }

    /// Decodes the next section from exactly its bytes.
    pub fn feed(&mut self, bytes: &dyn ByteSource) -> Result<(), SnapshotError> {
        let mut r = Reader { source: bytes, len: bytes.len(), window: Vec::new(), window_at: 0, at: 0 };
        let (section, rows) = (self.next, self.rows);
        self.next += 1;
        let t = &mut self.table;
        let n_strings = t.strings.len() as u32;
        let id = |raw: u64| match u32::try_from(raw) {
            Ok(raw) if raw < n_strings => Ok(StrId(raw)),
            _ => Err(SnapshotError::Damaged("string id out of range")),
        };
        let f64_bits = |v: u64| Ok(f64::from_bits(v));
        let flag = |v: u64| if v <= 1 { Ok(v == 1) } else { Err(SnapshotError::Damaged("a flag is neither 0 nor 1")) };
        match section {
            0 => self.rows = Self::head(&mut r, t)?,
            1 => {
                // Their own count, checked before any column is sized by the head's.
                t.quantity = r.numbers(rows)?;
            }
            2 => match r.range_of_one() {
                Some(step) if rows > 0 => {
                    // Every step the same: one run, however many rows (nothing sized by the count).
                    let fits = u32::try_from(unsigned(step)).ok().filter(|&s| s.checked_mul(rows as u32).is_some());
                    let step = fits.ok_or(SnapshotError::Damaged("line number out of range"))?;
                    r.at += 10;
                    t.line = Lines::Runs { runs: vec![LineRun { first_row: 0, line: step, step }], len: rows };
                }
                _ => {
                    let mut line = 0i64;
                    t.line = r
                        .narrow(rows, |step| {
                            line += unsigned(step);
                            u32::try_from(line).map_err(|_| SnapshotError::Damaged("line number out of range"))
                        })?
                        .into_iter()
                        .collect();
                }
            },
            3 => t.usage_start = r.column(rows, |v| Ok(unsigned(v)))?,
            4 => t.usage_end = r.column(rows, |v| Ok(unsigned(v)))?,
            5 => {
                let n_sources = t.sources.len() as u64;
                t.source = r.column(rows, |s| {
                    if s < n_sources {
                        Ok(s as u16)
                    } else {
                        Err(SnapshotError::Damaged("source index out of range"))
                    }
                })?;
            }
            6 => t.cost = r.numbers(rows)?,
            7 => {
                t.effective_cost = if r.peek() == Some(SAME_AS_BEFORE) {
                    r.at += 1;
                    Column::of(Repr::Constant { value: (rows > 0).then_some(SAME_AS_COST), len: rows })
                } else {
                    r.column(rows, f64_bits)?
                };
            }
            8 => t.unit_price = r.column(rows, f64_bits)?,
            9 => t.azure_stack = r.column(rows, flag)?,
            10 => t.local = r.column(rows, flag)?,
            11 => t.tags = r.column(rows, id)?,
            12 => t.additional_info = r.column(rows, id)?,
            s if s < SECTIONS_BEFORE_STRINGS + t.string_columns().len() => {
                let column = r.column(rows, id)?;
                if let Some(into) = t.string_columns_mut().into_iter().nth(s - SECTIONS_BEFORE_STRINGS) {
                    *into = column;
                }
            }
            s if s < self.sections => {
                let keyed = if r.peek() == Some(KEYED) {
                    r.at += 1;
                    let pairs = (0..r.count(8)?).map(|_| Ok((id(r.u32()? as u64)?, id(r.u32()? as u64)?)));
                    let pairs: Vec<(StrId, StrId)> = pairs.collect::<Result<_, SnapshotError>>()?;
                    Keyed::from_pairs(rows, pairs.into_iter())
                } else {
                    Keyed::from_column(r.column(rows, id)?)
                };
                let at = s - SECTIONS_BEFORE_STRINGS - t.string_columns().len();
                if let Some(into) = t.keyed_columns_mut().into_iter().nth(at) {
                    *into = keyed;
                }
            }
            _ => return Err(SnapshotError::Damaged("more sections than a table has")),
        }
        if r.at != r.len {
            return Err(SnapshotError::Damaged("bytes after a section"));
        }
        Ok(())
    }

    /// The dictionary, sources and key-value pairs; returns the row count.
    fn head(r: &mut Reader<'_>, t: &mut UsageTable) -> Result<usize, SnapshotError> {
        Self::check_start(r.take(MAGIC.len()).unwrap_or_default())?;
        let strings = r.count(4)?;
        for _ in 0..strings {
            let text = r.text()?;
            if t.strings.push_new(text).is_none() {
                return Err(SnapshotError::Damaged("a string is in the dictionary twice"));
            }
        }
        if t.strings.iter().next().is_none_or(|s| !s.is_empty()) {
            return Err(SnapshotError::Damaged("the dictionary does not start with the empty string"));
        }
        t.strings.shrink_to_fit();
        let n_strings = t.strings.len() as u32;
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
            t.sources.push(Source { file, format });
        }
        for _ in 0..r.count(8)? {
            let key = id(r.u32()?)?;
            let mut pairs = Vec::new();
            for _ in 0..r.count(8)? {
                pairs.push((id(r.u32()?)?, id(r.u32()?)?));
            }
            t.key_values.insert(key, pairs.into());
        }
        // The quantities check the count against their own; row ids are 32-bit.
        match u32::try_from(r.u64()?) {
            Ok(rows) => Ok(rows as usize),
            Err(_) => Err(SnapshotError::Damaged("more rows than a table holds")),
        }
    }

    /// The table, once every section has been fed.
    pub fn finish(self) -> Result<UsageTable, SnapshotError> {
        if self.next != self.sections {
            return Err(SnapshotError::Truncated);
        }
        Ok(self.table)
    }
}

/// `len` bytes of `source` from `start` on.
pub struct Within<'s> {
    pub source: &'s dyn ByteSource,
    pub start: usize,
    pub len: usize,
}

impl ByteSource for Within<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, at: usize, out: &mut [u8]) {
        assert!(at + out.len() <= self.len, "read past the end");
        self.source.read(self.start + at, out);
    }
}

/// Bytes a snapshot is written in (the last chunk may be shorter).
pub const SNAPSHOT_CHUNK: usize = 1 << 20;

struct Writer<'s> {
    buf: Vec<u8>,
    sink: &'s mut dyn FnMut(&[u8]),
    /// Bytes already given to `sink`.
    flushed: usize,
    /// Where each section ended.
    ends: Vec<usize>,
}

impl Writer<'_> {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            (self.sink)(&self.buf);
            self.flushed += self.buf.len();
            self.buf.clear();
        }
    }

    fn end_section(&mut self) {
        self.ends.push(self.flushed + self.buf.len());
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
        if self.buf.len() >= SNAPSHOT_CHUNK {
            self.flush();
        }
    }

    fn bytes(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = (SNAPSHOT_CHUNK - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.buf.len() >= SNAPSHOT_CHUNK {
                self.flush();
            }
        }
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }

    /// A [`Numbers`] column: its blocks as they are.
    fn numbers(&mut self, numbers: &Numbers) {
        numbers.write(&mut |bytes| self.bytes(bytes));
        self.end_section();
    }

    /// A column of [`ColumnValue::bits`]: [`CONSTANT`] (a presence byte, then the value in 8 bytes), [`DISTINCT`]
    /// (a narrow column as it is) or [`Writer::narrow`] values.
    fn column<T: ColumnValue>(&mut self, column: &Column<T>) {
        self.column_bytes(column);
        self.end_section();
    }

    fn column_bytes<T: ColumnValue>(&mut self, column: &Column<T>) {
        match &column.repr {
            Repr::Constant { value, .. } => {
                self.byte(CONSTANT);
                self.byte(value.is_some() as u8);
                if let Some(v) = value {
                    self.u64(v.bits());
                }
            }
            Repr::Values(values) => self.narrow(values.len(), |row| values[row].bits()),
            Repr::Distinct { values, codes } => {
                self.byte(PACKED);
                self.u32(values.len() as u32);
                values.iter().for_each(|v| self.u64(v.bits()));
                self.byte(codes.bits() as u8);
                codes.words().iter().for_each(|&w| self.u64(w));
            }
        }
    }

    /// The head of a [`DISTINCT`] column: the values, then the width of the indexes that follow.
    fn distinct(&mut self, values: impl ExactSizeIterator<Item = u64>, index_width: u8) {
        self.byte(DISTINCT);
        self.u32(values.len() as u32);
        values.for_each(|v| self.u64(v));
        self.byte(index_width);
    }

    /// `rows` values as [`DISTINCT`] (the distinct values, then a 1- or 2-byte index per row) or [`RANGE`] (the
    /// minimum, a width, then each value's distance from the minimum in that many bytes), whichever is smaller.
    fn narrow(&mut self, rows: usize, value: impl Fn(usize) -> u64) {
        let (mut min, mut max) = (u64::MAX, 0);
        for row in 0..rows {
            let v = value(row);
            min = min.min(v);
            max = max.max(v);
        }
        let width = if rows == 0 { 0 } else { (64 - (max - min).leading_zeros() as usize).div_ceil(8) };
        let mut distinct: Vec<u64> = Vec::new();
        let mut index: FxHashMap<u64, u16> = FxHashMap::default();
        let mut codes: Vec<u16> = Vec::new();
        if width > 1 {
            codes.reserve(rows);
            for row in 0..rows {
                let v = value(row);
                let next = distinct.len();
                if next > u16::MAX as usize {
                    break;
                }
                let code = *index.entry(v).or_insert_with(|| {
                    distinct.push(v);
                    next as u16
                });
                codes.push(code);
            }
        }
        let index_width = if distinct.len() <= 256 { 1 } else { 2 };
        let by_distinct = 4 + distinct.len() * 8 + rows * index_width;
        if codes.len() == rows && rows > 0 && by_distinct < 9 + rows * width {
            self.distinct(distinct.into_iter(), index_width as u8);
            for code in codes {
                self.bytes(&code.to_le_bytes()[..index_width]);
            }
        } else {
            self.byte(RANGE);
            self.u64(min);
            self.byte(width as u8);
            for row in 0..rows {
                self.bytes(&(value(row) - min).to_le_bytes()[..width]);
            }
        }
    }
}

/// Column encodings (the first byte of a column).
const CONSTANT: u8 = 0;
const DISTINCT: u8 = 2;
const RANGE: u8 = 3;
/// A narrow column as it is: its distinct values, the bits of an index, the words of packed indexes.
const PACKED: u8 = 5;
/// A [`Keyed`] column whose values follow their keys: the pairs (key id, value id).
const KEYED: u8 = 6;
/// The column is the one before it, bit for bit.
const SAME_AS_BEFORE: u8 = 4;

/// The inverse of `i64`'s [`ColumnValue::bits`].
fn unsigned(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

/// Bytes that can be read by range without being in this memory (the page reads the worker's JS buffers so).
pub trait ByteSource {
    /// Number of bytes.
    fn len(&self) -> usize;
    /// True when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies bytes `at..at + out.len()` (within `len`) into `out`.
    fn read(&self, at: usize, out: &mut [u8]);
}

impl ByteSource for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read(&self, at: usize, out: &mut [u8]) {
        out.copy_from_slice(&self[at..at + out.len()]);
    }
}

/// Bytes in pieces, one after the other (a hand-over's chunks).
impl ByteSource for Vec<Vec<u8>> {
    fn len(&self) -> usize {
        self.iter().map(Vec::len).sum()
    }

    fn read(&self, mut at: usize, mut out: &mut [u8]) {
        for piece in self {
            if at >= piece.len() {
                at -= piece.len();
                continue;
            }
            let n = out.len().min(piece.len() - at);
            out[..n].copy_from_slice(&piece[at..at + n]);
            out = &mut out[n..];
            at = 0;
        }
        // Past the end fails as a slice's read does.
        assert!(out.is_empty(), "read past the end");
    }
}

/// Bytes a reader copies from its source at a time.
const WINDOW: usize = 1 << 20;

struct Reader<'s> {
    source: &'s dyn ByteSource,
    len: usize,
    /// Bytes `window_at..window_at + window.len()` of the source.
    window: Vec<u8>,
    window_at: usize,
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SnapshotError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.len).ok_or(SnapshotError::Truncated)?;
        if self.at < self.window_at || end > self.window_at + self.window.len() {
            self.window.clear();
            self.window.resize(n.max(WINDOW).min(self.len - self.at), 0);
            self.source.read(self.at, &mut self.window);
            self.window_at = self.at;
        }
        let from = self.at - self.window_at;
        self.at = end;
        Ok(&self.window[from..from + n])
    }

    /// The next byte, not taken.
    fn peek(&mut self) -> Option<u8> {
        let at = self.at;
        let byte = self.take(1).ok()?[0];
        self.at = at;
        Some(byte)
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

    fn fits(&self, n: usize, min_bytes: usize) -> Result<usize, SnapshotError> {
        if n.saturating_mul(min_bytes) > self.len - self.at {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }

    fn text(&mut self) -> Result<&str, SnapshotError> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| SnapshotError::Damaged("text is not UTF-8"))
    }

    /// A [`Numbers`] column of `rows` rows written by `Writer::numbers`.
    fn numbers(&mut self, rows: usize) -> Result<Numbers, SnapshotError> {
        if self.u64()? != rows as u64 {
            return Err(SnapshotError::Damaged("the row count does not match the quantities"));
        }
        let sealed_bytes = self.u64()? as usize;
        let sealed_bytes = self.fits(sealed_bytes, 1)?;
        let mut numbers = Numbers::default();
        numbers.reserve_bytes(sealed_bytes);
        while numbers.len() < rows {
            let head: [u8; BLOCK_HEAD_BYTES] = self.take(BLOCK_HEAD_BYTES)?.try_into().unwrap_or_default();
            let n = (rows - numbers.len()).min(BLOCK_ROWS);
            let data = Numbers::block_bytes(&head, n).map_err(SnapshotError::Damaged)?;
            numbers.push_block(&head, n, self.take(data)?);
        }
        Ok(numbers)
    }

    /// The least significant `width` bytes of a little-endian number.
    fn uint(&mut self, width: usize) -> Result<u64, SnapshotError> {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(self.take(width)?);
        Ok(u64::from_le_bytes(b))
    }

    /// A column written by `Writer::column`, each value checked by `value`; a [`DISTINCT`] one stays narrow.
    fn column<T: ColumnValue>(
        &mut self,
        rows: usize,
        mut value: impl FnMut(u64) -> Result<T, SnapshotError>,
    ) -> Result<Column<T>, SnapshotError> {
        let repr = match self.peek() {
            Some(CONSTANT) => {
                self.at += 1;
                let value = if self.u8()? != 0 { Some(value(self.u64()?)?) } else { None };
                if value.is_none() && rows > 0 {
                    return Err(SnapshotError::Damaged("a constant column without its value"));
                }
                Repr::Constant { value, len: rows }
            }
            Some(DISTINCT) => {
                // Distinct values with 1- or 2-byte indexes (`Writer::narrow` of a plain column): narrow again.
                self.at += 1;
                let values: Vec<T> = (0..self.count(8)?).map(|_| value(self.u64()?)).collect::<Result<_, _>>()?;
                let width = self.u8()? as usize;
                if !matches!(width, 1 | 2) {
                    return Err(SnapshotError::Damaged("unknown index width"));
                }
                self.fits(rows, width)?;
                let mut codes = Packed::zeros(0, bits_for(values.len()), rows);
                for _ in 0..rows {
                    match self.uint(width)? as usize {
                        i if i < values.len() => codes.push(i as u32, rows),
                        _ => return Err(SnapshotError::Damaged("value index out of range")),
                    }
                }
                Repr::Distinct { values, codes }
            }
            Some(PACKED) => {
                self.at += 1;
                let values: Vec<T> = (0..self.count(8)?).map(|_| value(self.u64()?)).collect::<Result<_, _>>()?;
                let bits = self.u8()? as u32;
                let n_words = (rows as u64 * bits as u64).div_ceil(64) + 1;
                let n_words = self.fits(usize::try_from(n_words).map_err(|_| SnapshotError::Truncated)?, 8)?;
                let words = exactly(n_words, || self.u64())?;
                let codes =
                    Packed::from_words(words, bits, rows).ok_or(SnapshotError::Damaged("unknown index width"))?;
                if codes.iter().any(|i| i >= values.len()) {
                    return Err(SnapshotError::Damaged("value index out of range"));
                }
                Repr::Distinct { values, codes }
            }
            // One value in every row: a constant column, nothing sized by the count.
            _ => match self.range_of_one() {
                Some(v) if rows > 0 => {
                    self.at += 10;
                    Repr::Constant { value: Some(value(v)?), len: rows }
                }
                _ => Repr::Values(self.narrow(rows, value)?),
            },
        };
        Ok(Column::of(repr))
    }

    /// Values written by `Writer::narrow`, each checked by `value`, in row order.
    /// The value of a [`RANGE`] of width 0 (every row the same) next, not taken (its 10 bytes).
    fn range_of_one(&mut self) -> Option<u64> {
        let at = self.at;
        let head = self.take(10).ok().map(|b| (b[0], u64::from_le_bytes(b[1..9].try_into().unwrap_or_default()), b[9]));
        self.at = at;
        match head {
            Some((RANGE, min, 0)) => Some(min),
            _ => None,
        }
    }

    fn narrow<T>(
        &mut self,
        rows: usize,
        mut value: impl FnMut(u64) -> Result<T, SnapshotError>,
    ) -> Result<Vec<T>, SnapshotError> {
        match self.u8()? {
            DISTINCT => {
                let distinct: Vec<u64> = (0..self.count(8)?).map(|_| self.u64()).collect::<Result<_, _>>()?;
                let width = self.u8()? as usize;
                if !matches!(width, 1 | 2) {
                    return Err(SnapshotError::Damaged("unknown index width"));
                }
                self.fits(rows, width)?;
                exactly(rows, || {
                    let code = self.uint(width)? as usize;
                    value(*distinct.get(code).ok_or(SnapshotError::Damaged("value index out of range"))?)
                })
            }
            RANGE => {
                let min = self.u64()?;
                let width = self.u8()? as usize;
                if width > 8 {
                    return Err(SnapshotError::Damaged("unknown value width"));
                }
                self.fits(rows, width)?;
                exactly(rows, || value(min.wrapping_add(self.uint(width)?)))
            }
            _ => Err(SnapshotError::Damaged("unknown column encoding")),
        }
    }
}

/// `rows` values from `next`, in a vector of exactly that capacity (collecting `Result`s would grow it by doubling:
/// at 5M rows, 1.7× the column).
fn exactly<T>(rows: usize, mut next: impl FnMut() -> Result<T, SnapshotError>) -> Result<Vec<T>, SnapshotError> {
    let mut values = Vec::with_capacity(rows);
    for _ in 0..rows {
        values.push(next()?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, GenerateOptions};
    use crate::ingest::Ingester;
    use crate::summary::{Dimension, Summary, SummaryOptions};
    use crate::table::UsageRecord;

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
            assert_eq!(back.line.get(row), table.line.get(row));
            assert_eq!(back.str(back.tags[row]), table.str(table.tags[row]));
            assert_eq!(back.key_values(back.tags[row]).len(), table.key_values(table.tags[row]).len());
        }
        assert_eq!(back.to_snapshot(), table.to_snapshot(), "stable bytes");
    }

    #[test]
    fn a_decoded_table_holds_no_more_than_the_table_it_was_packed_from() {
        // 40,000 rows: a vector grown by doubling would hold room for 65,536 (quantities alone: +8 bytes a row).
        let mut ingester = Ingester::new(UsageTable::default(), "usage.csv");
        let mut csv = Vec::new();
        generate(&GenerateOptions { rows: 40_000, seed: 5, ..Default::default() }, &mut csv).expect("generates");
        ingester.feed(&csv);
        let (mut table, _) = ingester.finish();
        table.shrink_to_fit();
        let back = UsageTable::from_snapshot(&table.to_snapshot()).expect("reads back");
        assert_eq!(back.len(), 40_000);
        // Within 5% (hash tables of ids round their capacity differently); a doubled column would be +25%.
        let (decoded, packed_from) = (back.heap_bytes(), table.heap_bytes());
        assert!(decoded * 20 <= packed_from * 21, "decoded {decoded} bytes, packed from {packed_from}");
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
    fn a_snapshot_decodes_section_by_section_from_separate_pieces() {
        let table = sample();
        let bytes = table.to_snapshot();
        let mut decoder = SnapshotDecoder::default();
        let tail = &bytes[bytes.len().saturating_sub(SnapshotDecoder::INDEX_BYTES)..];
        let sections = decoder.sections(bytes.len(), tail).expect("an index");
        assert_eq!(sections.len(), 13 + table.string_columns().len() + table.keyed_columns().len());
        assert!(sections.iter().all(|s| s.len() < bytes.len() / 2), "no section is most of the table");
        for section in &sections {
            // Each piece on its own, as a reader that fetches one section at a time hands it over.
            let piece = bytes[section.clone()].to_vec();
            decoder.feed(&piece.as_slice()).expect("a section");
        }
        let back = decoder.finish().expect("a table");
        assert_eq!(back.to_snapshot(), bytes);

        let mut short = SnapshotDecoder::default();
        short.sections(bytes.len(), tail).expect("an index");
        short.feed(&&bytes[sections[0].clone()]).expect("the head");
        assert_eq!(short.finish().err(), Some(SnapshotError::Truncated), "sections missing");
        let mut shifted = SnapshotDecoder::default();
        shifted.sections(bytes.len(), tail).expect("an index");
        let err = shifted.feed(&&bytes[sections[0].start..sections[0].end + 1]).err();
        assert_eq!(err, Some(SnapshotError::Damaged("bytes after a section")), "a piece that is not its section");
        let mut damaged = bytes.clone();
        let index_at = bytes.len() - 12 - 8 * sections.len();
        damaged[index_at..index_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(UsageTable::from_snapshot(&damaged).is_err(), "an index that points outside the table");
    }

    #[test]
    fn a_row_count_past_the_quantities_is_refused_before_anything_is_sized_by_it() {
        // One row: its lines are a range of width 0, so only the quantities can bound the count.
        let mut table = UsageTable::default();
        let source = table.add_source("one.csv", Format::CostManagementCsv);
        table.push(source, 2, &UsageRecord { quantity: 1.5, ..Default::default() });
        let mut bytes = table.to_snapshot();
        let mut decoder = SnapshotDecoder::default();
        let tail = bytes[bytes.len().saturating_sub(SnapshotDecoder::INDEX_BYTES)..].to_vec();
        let head = decoder.sections(bytes.len(), &tail).expect("an index")[0].clone();
        for (count, error) in [
            (2u64, "the row count does not match the quantities"),
            (1 << 28, "the row count does not match the quantities"),
            (1 << 40, "more rows than a table holds"),
            (u64::MAX, "more rows than a table holds"),
        ] {
            bytes[head.end - 8..head.end].copy_from_slice(&count.to_le_bytes());
            assert_eq!(UsageTable::from_snapshot(&bytes).err(), Some(SnapshotError::Damaged(error)), "{count} rows");
        }
    }

    #[test]
    fn a_table_of_one_row_repeated_decodes_into_next_to_nothing() {
        // Nothing is sized by the row count unless bytes back it: lines one run, every column constant.
        let mut table = UsageTable::default();
        let source = table.add_source("same.csv", Format::CostManagementCsv);
        let record =
            UsageRecord { quantity: 2.5, cost: Some(0.1), meter_id: "m", resource_uri: "/r", ..Default::default() };
        (0..300_000u64).for_each(|row| table.push(source, row + 1, &record));
        let bytes = table.to_snapshot();
        let back = UsageTable::from_snapshot(&bytes).expect("reads back");
        assert!(matches!(&back.line, Lines::Runs { runs, .. } if runs.len() == 1), "one run of lines");
        assert_eq!((back.len(), back.line.get(299_999), back.quantity.get(7)), (300_000, 300_000, 2.5));
        assert!(back.heap_bytes() < 300_000 / 4, "{} bytes", back.heap_bytes());
        assert_eq!(back.to_snapshot(), bytes);
    }

    #[test]
    fn a_dictionary_holding_a_string_twice_is_refused() {
        let mut table = UsageTable::default();
        let source = table.add_source("two.csv", Format::CostManagementCsv);
        for (line, subscription) in [(2, "sub-a"), (3, "sub-b")] {
            table.push(source, line, &UsageRecord { subscription, ..Default::default() });
        }
        let mut bytes = table.to_snapshot();
        assert!(UsageTable::from_snapshot(&bytes).is_ok());
        let at = bytes.windows(5).position(|w| w == b"sub-b").expect("the dictionary holds sub-b");
        bytes[at..at + 5].copy_from_slice(b"sub-a");
        // Two ids for one string would make two groups of one label.
        assert_eq!(
            UsageTable::from_snapshot(&bytes).err(),
            Some(SnapshotError::Damaged("a string is in the dictionary twice"))
        );
    }

    #[test]
    fn every_column_encoding_reads_back_exactly() {
        let mut table = UsageTable::default();
        let source = table.add_source("wide.csv", Format::CostManagementCsv);
        let uris: Vec<String> =
            (0..70_000).map(|i| format!("/subscriptions/s/resourceGroups/rg/providers/x/{i}")).collect();
        let groups: Vec<String> = (0..300).map(|i| format!("rg-{i}")).collect();
        for (i, uri) in uris.iter().enumerate() {
            let record = UsageRecord {
                // Before 1970 and after: a range of signed values.
                usage_start: -86_400 * 3 + (i as i64 % 700) * 3600,
                usage_end: -86_400 * 3 + (i as i64 % 700) * 3600 + if i % 2 == 0 { 3600 } else { 86_400 },
                quantity: i as f64 / 7.0,
                cost: Some(i as f64 / 3.0),
                effective_cost: Some(if i == 69_999 { 1.5 } else { i as f64 / 3.0 }),
                unit_price: Some([0.25, 0.5, f64::NAN][i % 3]),
                azure_stack: i % 5 == 0,
                resource_uri: uri,
                resource_group: &groups[i % 300],
                location: &groups[i % 300],
                meter_id: ["A", "B", "C"][i % 3],
                // Two names for meter A: not a name per meter.
                meter_name: ["n1", "n2"][i % 2],
                unit: ["u1", "u2", "u3"][i % 3],
                currency: "USD",
                ..Default::default()
            };
            // Lines step by 1 mostly, sometimes more (quoted newlines), and start again in the next file.
            let line = if i < 40_000 { 2 + i as u64 + i as u64 / 1000 } else { 2 + (i - 40_000) as u64 };
            table.push(source, line, &record);
        }
        fn same<T: ColumnValue>(a: &Column<T>, b: &Column<T>) -> bool {
            a.len() == b.len() && (0..a.len()).all(|r| a[r].same(&b[r]))
        }
        table.shrink_to_fit();
        assert!(table.location.distinct().is_some_and(|(v, c)| v.len() == 300 && c.bits() == 9), "9-bit indexes");
        assert!(table.meter_id.distinct().is_some_and(|(v, c)| v.len() == 3 && c.bits() == 2), "2-bit indexes");
        assert!(table.usage_start.distinct().is_some_and(|(v, _)| v.len() == 700), "700 times");
        assert!(table.resource_uri.distinct().is_none(), "too many to index");
        assert!(table.unit.by_key().is_some(), "one unit per meter");
        assert!(table.resource_group.by_key().is_none(), "a URI per row: a column of its own");
        assert!(table.meter_name.by_key().is_none(), "two names for a meter: a column of its own");
        // A wide copy (every column a plain vector, as the snapshot's range encoding reads them back).
        let wide = table.widened();
        assert!(wide.location.distinct().is_none() && wide.meter_name.column().distinct().is_none());
        for bytes in [table.to_snapshot(), wide.to_snapshot()] {
            let back = UsageTable::from_snapshot(&bytes).expect("reads back");
            assert_eq!(back.line, table.line);
            assert_eq!((&back.quantity, &back.cost), (&table.quantity, &table.cost));
            for (a, b) in [(&back.usage_start, &table.usage_start), (&back.usage_end, &table.usage_end)] {
                assert!(same(a, b));
            }
            for (a, b) in [(&back.effective_cost, &table.effective_cost), (&back.unit_price, &table.unit_price)] {
                assert!(same(a, b));
            }
            assert!(same(&back.azure_stack, &table.azure_stack));
            for (a, b) in back.string_columns().into_iter().zip(table.string_columns()) {
                assert!(a.len() == b.len() && (0..a.len()).all(|r| back.str(a[r]) == table.str(b[r])));
            }
            for ((a, a_key), (b, b_key)) in back.keyed_columns().into_iter().zip(table.keyed_columns()) {
                assert_eq!(a.by_key().is_some(), b.by_key().is_some());
                let same = |r| back.str(a.get(r, a_key)) == table.str(b.get(r, b_key));
                assert!(a.len() == b.len() && (0..a.len()).all(same));
            }
            // The URIs need 3 bytes, the rest 1 or 2, the quantity and costs 8: far below 4 bytes a string.
            let per_row = bytes.len() as f64 / table.len() as f64;
            let text: usize = uris.iter().map(|u| u.len() + 4).sum();
            assert!((per_row - text as f64 / table.len() as f64) < 40.0, "{per_row} bytes a row");
        }
    }

    #[test]
    fn an_empty_table_round_trips() {
        let back = UsageTable::from_snapshot(&UsageTable::default().to_snapshot()).expect("empty");
        assert!(back.is_empty());
        assert_eq!(back.strings().len(), 1);
    }
}

//! The canonical usage table: one row per usage record, stored by column, strings dictionary-encoded.

use rustc_hash::FxHashMap;

use crate::ingest::Format;

/// Index of a distinct string in a [`UsageTable`]'s dictionary. `StrId::EMPTY` is the empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StrId(pub u32);

impl StrId {
    /// The empty string, present in every dictionary.
    pub const EMPTY: StrId = StrId(0);
}

/// One copy of each distinct string: the texts end to end in blocks that never move, and a hash table of ids
/// that finds them (a string is not held twice, as a list and a map key, nor allocated one by one).
#[derive(Clone)]
pub struct Dictionary {
    blocks: Vec<String>,
    spans: Vec<Span>,
    index: hashbrown::HashTable<StrId>,
}

/// Where a string is: its block, and its bytes in it.
#[derive(Clone, Copy, Debug)]
struct Span {
    block: u32,
    start: u32,
    len: u32,
}

/// The largest block strings are appended to (a longer string gets a block of its own).
const BLOCK: usize = 1 << 20;

fn hash_of(value: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(value)
}

fn text_of<'d>(blocks: &'d [String], spans: &[Span], id: StrId) -> &'d str {
    match spans.get(id.0 as usize) {
        Some(span) if span.len > 0 => {
            let start = span.start as usize;
            blocks.get(span.block as usize).and_then(|b| b.get(start..start + span.len as usize)).unwrap_or("")
        }
        _ => "",
    }
}

/// Appends `value`'s text to the blocks and returns the id of its span (the index is the caller's).
fn append(blocks: &mut Vec<String>, spans: &mut Vec<Span>, value: &str) -> StrId {
    let room = blocks.last().map_or(0, |b| b.capacity() - b.len());
    if value.len() > room {
        // Blocks double up to BLOCK, so a small table holds little spare room.
        let last = blocks.last().map_or(0, String::capacity);
        blocks.push(String::with_capacity((2 * last).clamp(4096, BLOCK).max(value.len())));
    }
    let block = blocks.len().saturating_sub(1);
    let start = blocks.last().map_or(0, String::len);
    if let Some(b) = blocks.last_mut() {
        b.push_str(value);
    }
    spans.push(Span { block: block as u32, start: start as u32, len: value.len() as u32 });
    StrId(spans.len() as u32 - 1)
}

impl Default for Dictionary {
    fn default() -> Self {
        let mut dictionary = Dictionary { blocks: Vec::new(), spans: Vec::new(), index: Default::default() };
        dictionary.intern("");
        dictionary
    }
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary").field("strings", &self.spans.len()).finish()
    }
}

impl Dictionary {
    /// A dictionary without even the empty string (snapshots fill it in their order).
    pub(crate) fn empty() -> Self {
        Dictionary { blocks: Vec::new(), spans: Vec::new(), index: Default::default() }
    }

    /// The id of `value`, adding it if new.
    pub fn intern(&mut self, value: &str) -> StrId {
        let hash = hash_of(value);
        let (blocks, spans) = (&self.blocks, &self.spans);
        if let Some(&id) = self.index.find(hash, |&id| text_of(blocks, spans, id) == value) {
            return id;
        }
        self.push(hash, value)
    }

    /// Appends `value` as the next id; `None` when it is there already (a snapshot holds each string once).
    pub(crate) fn push_new(&mut self, value: &str) -> Option<StrId> {
        let Dictionary { blocks, spans, index } = self;
        let eq = |&id: &StrId| text_of(blocks, spans, id) == value;
        match index.entry(hash_of(value), eq, |&id| hash_of(text_of(blocks, spans, id))) {
            hashbrown::hash_table::Entry::Occupied(_) => None,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let id = append(blocks, spans, value);
                slot.insert(id);
                Some(id)
            }
        }
    }

    fn push(&mut self, hash: u64, value: &str) -> StrId {
        let id = append(&mut self.blocks, &mut self.spans, value);
        let (blocks, spans) = (&self.blocks, &self.spans);
        self.index.insert_unique(hash, id, |&id| hash_of(text_of(blocks, spans, id)));
        id
    }

    /// [`Dictionary::intern`], checking `previous` first: the same column's value in the row before, usually the
    /// same, and in cache, where the index probe of a big dictionary is a cache miss or two.
    pub fn intern_after(&mut self, previous: Option<StrId>, value: &str) -> StrId {
        match previous {
            Some(id) if self.get(id) == value => id,
            _ => self.intern(value),
        }
    }

    /// The string behind `id` (empty for an id from another dictionary that is out of range).
    pub fn get(&self, id: StrId) -> &str {
        text_of(&self.blocks, &self.spans, id)
    }

    /// The id of `value` if it is present.
    pub fn find(&self, value: &str) -> Option<StrId> {
        self.index.find(hash_of(value), |&id| self.get(id) == value).copied()
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }

    /// The strings in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.spans.len() as u32).map(|id| self.get(StrId(id)))
    }

    fn heap_bytes(&self) -> usize {
        let text: usize = self.blocks.iter().map(String::capacity).sum();
        text + self.spans.capacity() * std::mem::size_of::<Span>() + self.index.capacity() * 5
    }

    fn shrink_to_fit(&mut self) {
        if let Some(last) = self.blocks.last_mut() {
            last.shrink_to_fit();
        }
        self.spans.shrink_to_fit();
        let (blocks, spans) = (&self.blocks, &self.spans);
        self.index.shrink_to_fit(|&id| hash_of(text_of(blocks, spans, id)));
    }
}

/// Where rows came from: one entry per ingested file.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// File name as the user gave it.
    pub file: String,
    /// Detected format.
    pub format: Format,
}

/// Values that a [`Column`] can hold; `same` is bit equality (so a NaN "no value" column stays constant).
pub trait ColumnValue: Copy + std::fmt::Debug {
    /// The value's bits (equal bits, same value).
    fn bits(&self) -> u64;
    /// True when both are the same value.
    fn same(&self, other: &Self) -> bool {
        self.bits() == other.bits()
    }
}

impl ColumnValue for StrId {
    fn bits(&self) -> u64 {
        self.0 as u64
    }
}

impl ColumnValue for f64 {
    fn bits(&self) -> u64 {
        self.to_bits()
    }
}

impl ColumnValue for i64 {
    /// In the same order as the values, so that a range of them is a small distance (snapshots rely on it).
    fn bits(&self) -> u64 {
        (*self as u64) ^ (1 << 63)
    }
}

impl ColumnValue for bool {
    fn bits(&self) -> u64 {
        *self as u64
    }
}

impl ColumnValue for u8 {
    fn bits(&self) -> u64 {
        *self as u64
    }
}

impl ColumnValue for u16 {
    fn bits(&self) -> u64 {
        *self as u64
    }
}

/// Rows past which a column vector grows by half instead of doubling: doubling leaves up to as much again unused
/// once ingest ends (a 5M-row table had room for 8.4M), and wasm memory keeps its high-water mark.
const LEAN_GROWTH_FROM: usize = 1 << 16;

/// Room for `rows`, with the spare room lean growth would leave, or for the `expected` rows if more.
fn lean_capacity(rows: usize, expected: usize) -> usize {
    if expected >= rows {
        expected
    } else if rows < LEAN_GROWTH_FROM {
        rows.next_power_of_two()
    } else {
        rows + rows / 2
    }
}

/// Appends to a column vector: when full, it grows to the `expected` rows at once (each outgrown block is memory
/// a wasm instance keeps), or by half once it is large.
fn push_lean<T>(values: &mut Vec<T>, value: T, expected: usize) {
    if values.len() == values.capacity() {
        if expected > values.len() {
            values.reserve_exact(expected - values.len());
        } else if values.len() >= LEAN_GROWTH_FROM {
            values.reserve_exact(values.len() / 2);
        }
    }
    values.push(value);
}

/// A column that costs nothing while every row holds the same value (many columns of a file are constant:
/// currency, charge type, the costs of local data…). While its distinct values are few against its rows it keeps
/// them once and a packed index per row, in as few bits as their number needs (a meter 5 bits, a resource 17,
/// instead of 4 bytes); past that it is a plain vector.
#[derive(Clone, Debug)]
pub struct Column<T> {
    repr: Repr<T>,
    /// Value bits → index, while rows are appended to a narrow column (dropped by `shrink_to_fit`).
    index: Option<Box<FxHashMap<u64, u32>>>,
    /// Rows ingest expects the column to reach: the room it takes the next time it grows (0: none known).
    expected: usize,
}

#[derive(Clone, Debug)]
enum Repr<T> {
    Constant { value: Option<T>, len: usize },
    Values(Vec<T>),
    Distinct { values: Vec<T>, codes: Packed },
}

/// The most distinct values a narrow column keeps; past 65,536 it also needs 8 rows a value.
const MAX_DISTINCT: usize = 1 << 24;

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column::of(Repr::Constant { value: None, len: 0 })
    }
}

impl<T> Column<T> {
    fn of(repr: Repr<T>) -> Self {
        Column { repr, index: None, expected: 0 }
    }

    /// Tells the column how many rows it will likely hold, so that it grows once to that many.
    pub fn expect_rows(&mut self, rows: usize) {
        self.expected = rows;
    }
}

impl<T: ColumnValue> Column<T> {
    /// Appends a value.
    pub fn push(&mut self, value: T) {
        let expected = self.expected;
        match &mut self.repr {
            Repr::Constant { value: constant @ None, len } => {
                *constant = Some(value);
                *len = 1;
            }
            Repr::Constant { value: Some(constant), len } if constant.same(&value) => *len += 1,
            Repr::Constant { .. } => {
                self.make_distinct();
                self.push(value);
            }
            Repr::Values(values) => push_lean(values, value, expected),
            Repr::Distinct { values, codes } => {
                let last = codes.len().checked_sub(1).map(|row| codes.get(row));
                match last {
                    Some(code) if values[code].same(&value) => codes.push(code as u32, expected),
                    _ => match self.code_of(value) {
                        Some(code) => {
                            if let Repr::Distinct { codes, .. } = &mut self.repr {
                                codes.push(code, expected);
                            }
                        }
                        None => self.widen_then(|values| values.push(value)),
                    },
                }
            }
        }
    }

    /// Replaces row `row`'s value (ingest corrects dates once the file's date order is known).
    pub fn set(&mut self, row: usize, value: T) {
        if self[row].same(&value) {
            return;
        }
        self.make_distinct();
        match (self.code_of(value), &mut self.repr) {
            (_, Repr::Values(values)) => values[row] = value,
            (Some(code), Repr::Distinct { codes, .. }) => codes.set(row, code),
            _ => self.widen_then(|values| values[row] = value),
        }
    }

    /// Makes a constant column a narrow one of its single value (every row index 0), ready to take others.
    fn make_distinct(&mut self) {
        if let Repr::Constant { value: Some(constant), len } = self.repr {
            let codes = Packed::zeros(len, 1, lean_capacity(len + 1, self.expected));
            self.index = Some(Box::new([(constant.bits(), 0)].into_iter().collect()));
            self.repr = Repr::Distinct { values: vec![constant], codes };
        }
    }

    /// The index of `value` in a narrow column, added (and the indexes widened a bit) if new; `None` when the
    /// column is not narrow or holds as many values as it may.
    fn code_of(&mut self, value: T) -> Option<u32> {
        if let Some(code) = self.index.as_ref()?.get(&value.bits()) {
            return Some(*code);
        }
        let Repr::Distinct { values, codes } = &mut self.repr else { return None };
        let next = values.len();
        let rows = codes.len().max(self.expected);
        if next >= MAX_DISTINCT || (next >= 1 << 16 && next * 8 > rows) {
            return None;
        }
        if next >= 1 << codes.bits() {
            codes.widen(codes.bits() + 1, self.expected);
        }
        values.push(value);
        self.index.as_mut()?.insert(value.bits(), next as u32);
        Some(next as u32)
    }

    /// Makes the column a plain vector, then changes it.
    fn widen_then(&mut self, change: impl FnOnce(&mut Vec<T>)) {
        let mut values: Vec<T> = Vec::with_capacity(lean_capacity(self.len() + 1, self.expected));
        values.extend(self.iter().copied());
        change(&mut values);
        self.repr = Repr::Values(values);
        self.index = None;
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Constant { len, .. } => *len,
            Repr::Values(values) => values.len(),
            Repr::Distinct { codes, .. } => codes.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, row by row.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len()).map(move |row| &self[row])
    }

    /// The values as a slice, when they are neither all equal nor narrow.
    pub fn as_slice(&self) -> Option<&[T]> {
        match &self.repr {
            Repr::Values(values) => Some(values),
            _ => None,
        }
    }

    /// The value every row holds, when the column is constant.
    pub fn constant(&self) -> Option<T> {
        match &self.repr {
            Repr::Constant { value, .. } => *value,
            _ => None,
        }
    }

    /// The distinct values and, per row, the index of its value (`None` unless the column is narrow).
    pub fn distinct(&self) -> Option<(&[T], &Packed)> {
        match &self.repr {
            Repr::Distinct { values, codes } => Some((values, codes)),
            _ => None,
        }
    }

    fn heap_bytes(&self) -> usize {
        let size = std::mem::size_of::<T>();
        let index = self.index.as_ref().map_or(0, |i| i.capacity() * 13);
        index
            + match &self.repr {
                Repr::Constant { .. } => 0,
                Repr::Values(values) => values.capacity() * size,
                Repr::Distinct { values, codes } => values.capacity() * size + codes.heap_bytes(),
            }
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.index = None;
        self.expected = 0;
        match &mut self.repr {
            Repr::Constant { .. } => {}
            Repr::Values(values) => values.shrink_to_fit(),
            Repr::Distinct { values, codes } => {
                values.shrink_to_fit();
                codes.shrink_to_fit();
            }
        }
    }
}

/// The source line of each row, kept as runs of rows whose lines step evenly (a CSV file's records one line
/// each, a JSON file's records the same number of lines each): a few bytes a file instead of 4 a row. Lines that
/// step unevenly (many quoted line breaks) fall back to a line per row.
#[derive(Clone, Debug, PartialEq)]
pub enum Lines {
    /// Runs in row order and the number of rows.
    Runs { runs: Vec<LineRun>, len: usize },
    /// A line per row.
    Plain(Vec<u32>),
}

/// Rows `first_row..` (up to the next run) on lines `line`, `line + step`, `line + 2 × step`…
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineRun {
    first_row: u32,
    line: u32,
    step: u32,
}

impl Default for Lines {
    fn default() -> Self {
        Lines::Runs { runs: Vec::new(), len: 0 }
    }
}

impl Lines {
    /// Appends the line of the next row.
    pub fn push(&mut self, line: u32) {
        let Lines::Runs { runs, len } = self else {
            if let Lines::Plain(lines) = self {
                push_lean(lines, line, 0);
            }
            return;
        };
        let extends = runs.last_mut().is_some_and(|run| {
            let rows = (*len - run.first_row as usize) as u64;
            if rows == 1 && line >= run.line {
                run.step = line - run.line;
                return true;
            }
            run.line as u64 + rows * run.step as u64 == line as u64
        });
        if !extends {
            runs.push(LineRun { first_row: *len as u32, line, step: 0 });
        }
        *len += 1;
        // A run costs 12 bytes, a row's line 4: past a run per 3 rows, plain lines are smaller.
        if runs.len() > 64 && runs.len() * 3 > *len {
            let plain = self.iter().collect();
            *self = Lines::Plain(plain);
        }
    }

    /// The line of row `row` (panics past the end, as a `Vec` index does).
    pub fn get(&self, row: usize) -> u32 {
        match self {
            Lines::Plain(lines) => lines[row],
            Lines::Runs { runs, len } => {
                assert!(row < *len, "row {row} out of {len}");
                let run = runs[runs.partition_point(|run| run.first_row as usize <= row) - 1];
                run.line + (row - run.first_row as usize) as u32 * run.step
            }
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Lines::Plain(lines) => lines.len(),
            Lines::Runs { len, .. } => *len,
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines, row by row.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Lines::Plain(lines) => lines.capacity() * 4,
            Lines::Runs { runs, .. } => runs.capacity() * std::mem::size_of::<LineRun>(),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Lines::Plain(lines) => lines.shrink_to_fit(),
            Lines::Runs { runs, .. } => runs.shrink_to_fit(),
        }
    }
}

impl FromIterator<u32> for Lines {
    fn from_iter<I: IntoIterator<Item = u32>>(lines: I) -> Self {
        let mut out = Lines::default();
        lines.into_iter().for_each(|line| out.push(line));
        out
    }
}

impl PartialEq<Vec<u32>> for Lines {
    fn eq(&self, other: &Vec<u32>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl<T: ColumnValue> Column<T> {
    /// The last row's value.
    pub fn last(&self) -> Option<T> {
        self.len().checked_sub(1).map(|row| self[row])
    }
}

impl<T: ColumnValue> std::ops::Index<usize> for Column<T> {
    type Output = T;
    fn index(&self, row: usize) -> &T {
        match &self.repr {
            // Out of range fails as a Vec index does.
            Repr::Constant { value, len } => &value.as_slice()[if row < *len { 0 } else { usize::MAX }],
            Repr::Values(values) => &values[row],
            Repr::Distinct { values, codes } => &values[codes.get(row)],
        }
    }
}

impl<T: ColumnValue> PartialEq<Vec<T>> for Column<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

/// Declares the dictionary-encoded string columns once: the record field, the table column, push, size.
macro_rules! string_columns {
    (
        columns { $($(#[$doc:meta])* $name:ident),* $(,)? }
        keyed { $($(#[$kdoc:meta])* $kname:ident by $key:ident),* $(,)? }
    ) => {
        /// One usage record as parsed, before it is stored. Strings borrow from the parser's buffers.
        #[derive(Clone, Debug, Default)]
        pub struct UsageRecord<'a> {
            /// Start of the usage window, UTC seconds.
            pub usage_start: i64,
            /// End of the usage window, UTC seconds.
            pub usage_end: i64,
            /// Quantity in `unit`.
            pub quantity: f64,
            /// Billed (actual) cost, when the file carries one.
            pub cost: Option<f64>,
            /// Effective (amortized) cost, when the file carries one.
            pub effective_cost: Option<f64>,
            /// Unit price, when the file carries one.
            pub unit_price: Option<f64>,
            /// True for Azure Stack Hub usage (local data, or Azure rows that carry Azure Stack markers).
            pub azure_stack: bool,
            /// True for usage as the stamp reports it (usage API, AzureStack-Tools CSVs), false for Azure billing data.
            pub local: bool,
            /// Tags, already interned by [`UsageTable::intern_key_values`].
            pub tags: StrId,
            /// Additional info, already interned by [`UsageTable::intern_key_values`].
            pub additional_info: StrId,
            $($(#[$doc])* pub $name: &'a str,)*
            $($(#[$kdoc])* pub $kname: &'a str,)*
        }

        /// The columnar usage table every view reads. Rows are appended by ingest and never change.
        #[derive(Clone, Debug, Default)]
        pub struct UsageTable {
            strings: Dictionary,
            sources: Vec<Source>,
            key_values: FxHashMap<StrId, Box<[(StrId, StrId)]>>,
            /// Index into [`UsageTable::sources`] per row.
            pub source: Column<u16>,
            /// Line in the source file where the row starts (1-based).
            pub line: Lines,
            /// Usage window start, UTC seconds.
            pub usage_start: Column<i64>,
            /// Usage window end, UTC seconds.
            pub usage_end: Column<i64>,
            /// Quantity per row.
            pub quantity: Numbers,
            /// Billed cost per row; NaN when the source had none.
            pub cost: Numbers,
            /// Effective (amortized) cost per row, [`SAME_AS_COST`] where it is the billed cost bit for bit (in most
            /// files, every row: then it costs nothing); read it through [`UsageTable::effective_cost`].
            effective_cost: Column<f64>,
            /// Unit price per row; NaN when the source had none.
            pub unit_price: Column<f64>,
            /// Azure Stack Hub flag per row.
            pub azure_stack: Column<bool>,
            /// Local (stamp) data flag per row; false for Azure billing data.
            pub local: Column<bool>,
            /// Tags (raw text; pairs through [`UsageTable::key_values`]).
            pub tags: Column<StrId>,
            /// Additional info (raw text; pairs through [`UsageTable::key_values`]).
            pub additional_info: Column<StrId>,
            $($(#[$doc])* pub $name: Column<StrId>,)*
            $($(#[$kdoc])* pub $kname: Keyed,)*
        }

        impl UsageTable {
            $(
                $(#[$kdoc])*
                /// (Row `row`'s: see [`Keyed`].)
                pub fn $kname(&self, row: usize) -> StrId {
                    self.$kname.get(row, &self.$key)
                }
            )*

            /// The keyed string columns with their key columns, in declaration order (snapshots rely on it).
            fn keyed_columns(&self) -> Vec<(&Keyed, &Column<StrId>)> {
                vec![$((&self.$kname, &self.$key)),*]
            }

            fn keyed_columns_mut(&mut self) -> Vec<&mut Keyed> {
                vec![$(&mut self.$kname),*]
            }
        }

        impl UsageTable {
            /// Appends one row.
            pub fn push(&mut self, source: u16, line: u64, record: &UsageRecord<'_>) {
                self.source.push(source);
                self.line.push(line.min(u32::MAX as u64) as u32);
                self.usage_start.push(record.usage_start);
                self.usage_end.push(record.usage_end);
                self.quantity.push(record.quantity);
                self.cost.push(record.cost.unwrap_or(f64::NAN));
                let (cost, effective) = (record.cost.unwrap_or(f64::NAN), record.effective_cost.unwrap_or(f64::NAN));
                self.effective_cost.push(if effective.to_bits() == cost.to_bits() { SAME_AS_COST } else { effective });
                self.unit_price.push(record.unit_price.unwrap_or(f64::NAN));
                self.azure_stack.push(record.azure_stack);
                self.local.push(record.local);
                self.tags.push(record.tags);
                self.additional_info.push(record.additional_info);
                $(
                    let previous = self.$name.last();
                    self.$name.push(self.strings.intern_after(previous, record.$name));
                )*
                // After the plain columns: a keyed column reads its key's value in this row.
                $(
                    let id = self.strings.intern_after(self.$kname.last(), record.$kname);
                    self.$kname.push(id, &self.$key);
                )*
            }

            /// Bytes held on the heap by the table (columns with spare capacity, dictionary, parsed pairs).
            pub fn heap_bytes(&self) -> usize {
                self.heap_bytes_by_part().iter().map(|(_, bytes)| bytes).sum()
            }

            /// Heap bytes held by each part of the table, by name (for `meterlens bench-memory`).
            pub fn heap_bytes_by_part(&self) -> Vec<(&'static str, usize)> {
                let pairs: usize = self.key_values.values().map(|p| 16 + p.len() * 8).sum();
                vec![
                    ("source", self.source.heap_bytes()),
                    ("line", self.line.heap_bytes()),
                    ("usage_start", self.usage_start.heap_bytes()),
                    ("usage_end", self.usage_end.heap_bytes()),
                    ("quantity", self.quantity.heap_bytes()),
                    ("cost", self.cost.heap_bytes()),
                    ("effective_cost", self.effective_cost.heap_bytes()),
                    ("unit_price", self.unit_price.heap_bytes()),
                    ("azure_stack", self.azure_stack.heap_bytes()),
                    ("local", self.local.heap_bytes()),
                    ("tags", self.tags.heap_bytes()),
                    ("additional_info", self.additional_info.heap_bytes()),
                    $((stringify!($name), self.$name.heap_bytes()),)*
                    $((stringify!($kname), self.$kname.heap_bytes()),)*
                    ("strings", self.strings.heap_bytes()),
                    ("key_values", pairs),
                ]
            }

            /// The dictionary-encoded string columns, in declaration order (snapshots rely on it).
            fn string_columns(&self) -> Vec<&Column<StrId>> {
                vec![$(&self.$name),*]
            }

            fn string_columns_mut(&mut self) -> Vec<&mut Column<StrId>> {
                vec![$(&mut self.$name),*]
            }

            /// Tells every column how many rows the table will likely hold (ingest estimates it from a file's size
            /// and its first rows), so that each grows once to that many instead of leaving the blocks it outgrew.
            pub fn expect_rows(&mut self, rows: usize) {
                self.source.expect_rows(rows);
                self.usage_start.expect_rows(rows);
                self.usage_end.expect_rows(rows);
                self.quantity.expect_rows(rows);
                self.cost.expect_rows(rows);
                self.effective_cost.expect_rows(rows);
                self.unit_price.expect_rows(rows);
                self.azure_stack.expect_rows(rows);
                self.local.expect_rows(rows);
                self.tags.expect_rows(rows);
                self.additional_info.expect_rows(rows);
                $(self.$name.expect_rows(rows);)*
                $(self.$kname.expect_rows(rows);)*
            }

            /// Frees spare column capacity (after ingest has finished).
            pub fn shrink_to_fit(&mut self) {
                self.source.shrink_to_fit();
                self.line.shrink_to_fit();
                self.usage_start.shrink_to_fit();
                self.usage_end.shrink_to_fit();
                self.quantity.shrink_to_fit();
                self.cost.shrink_to_fit();
                self.effective_cost.shrink_to_fit();
                self.unit_price.shrink_to_fit();
                self.azure_stack.shrink_to_fit();
                self.local.shrink_to_fit();
                self.tags.shrink_to_fit();
                self.additional_info.shrink_to_fit();
                $(self.$name.shrink_to_fit();)*
                $(self.$kname.shrink_to_fit();)*
                self.strings.shrink_to_fit();
            }
        }
    };
}

string_columns! {
    columns {
        /// Subscription that consumed (Azure-side rows: the billed subscription).
        subscription,
        /// Subscription display name, when the file has one (e.g. `Default Provider Subscription`).
        subscription_name,
        /// Full resource URI or ID.
        resource_uri,
        /// Location or region.
        location,
        /// Normalised meter ID (see [`crate::meter_id::normalize`]).
        meter_id,
        /// Meter region (`Azure Stack` for Azure Stack rows on the Azure side).
        meter_region,
        /// Currency of the cost columns.
        currency,
        /// Charge type (Usage, Purchase, Refund…).
        charge_type,
        /// Pricing model (OnDemand, Reservation…).
        pricing_model,
        /// CSP customer (Partner Center files): the customer's name as Partner Center shows it.
        customer,
    }
    keyed {
        /// For Azure-side Azure Stack rows: the local (stamp) subscription from `azureStack.SubscriptionId`.
        local_subscription by resource_uri,
        /// Resource group.
        resource_group by resource_uri,
        /// Resource type, e.g. `virtualMachines` or `Microsoft.Compute/virtualMachines`.
        resource_type by resource_uri,
        /// Resource name.
        resource_name by resource_uri,
        /// The local Azure Stack Hub meter ID: the meter itself for local data, `azureStack.MeterId` for Azure rows.
        local_meter_id by meter_id,
        /// The commerce meter Azure bills: the meter itself for Azure rows, the catalog's mapping for local data.
        commerce_meter_id by meter_id,
        /// Meter name.
        meter_name by meter_id,
        /// Meter category.
        meter_category by meter_id,
        /// Meter subcategory.
        meter_subcategory by meter_id,
        /// Unit of the quantity.
        unit by meter_id,
    }
}

/// Stored as a row's effective cost when it is the billed cost: a NaN no parser or arithmetic produces.
pub(crate) const SAME_AS_COST: f64 = f64::from_bits(0x7ff8_4d4c_5341_4d45);

impl UsageTable {
    /// Effective (amortized) cost of row `row`; NaN when the source had none.
    pub fn effective_cost(&self, row: usize) -> f64 {
        let stored = self.effective_cost[row];
        if stored.to_bits() == SAME_AS_COST.to_bits() {
            self.cost.get(row)
        } else {
            stored
        }
    }

    /// True when row `row`'s effective cost is its billed cost bit for bit (sums then add the same part).
    pub fn effective_cost_is_billed(&self, row: usize) -> bool {
        self.effective_cost[row].to_bits() == SAME_AS_COST.to_bits()
    }

    /// True when every row's effective cost is its billed cost.
    pub fn effective_cost_is_cost(&self) -> bool {
        match self.effective_cost.constant() {
            Some(stored) => stored.same(&SAME_AS_COST),
            None => self.effective_cost.is_empty(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.quantity.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.quantity.is_empty()
    }

    /// The string behind a dictionary id.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// The dictionary of distinct strings.
    pub fn strings(&self) -> &Dictionary {
        &self.strings
    }

    /// Ingested files, in order.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Registers a source file and returns its index for [`UsageTable::push`].
    pub fn add_source(&mut self, file: &str, format: Format) -> u16 {
        self.sources.push(Source { file: file.to_string(), format });
        (self.sources.len() - 1).min(u16::MAX as usize) as u16
    }

    /// Sets the format of an already registered source (formats are known only after the header is read).
    pub fn set_source_format(&mut self, source: u16, format: Format) {
        if let Some(s) = self.sources.get_mut(source as usize) {
            s.format = format;
        }
    }

    /// Interns key/value text (tags, additional info), parsing it the first time it is seen; `previous` is the
    /// same column's value in the row before (see [`Dictionary::intern_after`]).
    /// Returns its id and, the first time only, why it could not be parsed.
    pub fn intern_key_values(&mut self, previous: Option<StrId>, text: &str) -> (StrId, Option<String>) {
        let id = self.strings.intern_after(previous, text);
        if self.key_values.contains_key(&id) {
            return (id, None);
        }
        let (pairs, error) = match crate::kv::parse(text) {
            Ok(pairs) => (pairs, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let pairs: Box<[(StrId, StrId)]> =
            pairs.iter().map(|(k, v)| (self.strings.intern(k), self.strings.intern(v))).collect();
        self.key_values.insert(id, pairs);
        (id, error)
    }

    /// The key/value pairs of interned tags or additional info.
    pub fn key_values(&self, id: StrId) -> &[(StrId, StrId)] {
        self.key_values.get(&id).map_or(&[], |p| p)
    }

    /// The distinct tag keys of every row, sorted (keys differing only in ASCII case are one key).
    pub fn tag_keys(&self) -> Vec<String> {
        let mut texts: Vec<StrId> = match self.tags.constant() {
            Some(id) => vec![id],
            None => self.tags.iter().copied().collect::<rustc_hash::FxHashSet<_>>().into_iter().collect(),
        };
        texts.sort_unstable();
        let mut keys: Vec<String> = Vec::new();
        for id in texts {
            for (k, _) in self.key_values(id) {
                let key = self.str(*k);
                if !keys.iter().any(|seen| seen.eq_ignore_ascii_case(key)) {
                    keys.push(key.to_string());
                }
            }
        }
        keys.sort_by_key(|k| k.to_lowercase());
        keys
    }

    /// The value of `key` (ASCII case-insensitive) in interned tags or additional info.
    pub fn key_value(&self, id: StrId, key: &str) -> Option<&str> {
        self.key_values(id).iter().find(|(k, _)| self.str(*k).eq_ignore_ascii_case(key)).map(|(_, v)| self.str(*v))
    }
}

#[cfg(test)]
impl UsageTable {
    /// The same table with every narrow column a plain vector (tests reach the wide code paths with it).
    pub(crate) fn widened(&self) -> UsageTable {
        fn wide<T: ColumnValue>(column: &mut Column<T>) {
            if column.distinct().is_some() {
                column.widen_then(|_| {});
            }
        }
        let mut t = self.clone();
        wide(&mut t.usage_start);
        wide(&mut t.usage_end);
        wide(&mut t.effective_cost);
        wide(&mut t.unit_price);
        wide(&mut t.tags);
        wide(&mut t.additional_info);
        t.string_columns_mut().into_iter().for_each(wide);
        for keyed in t.keyed_columns_mut() {
            keyed.widen_own(wide);
        }
        t
    }
}

mod keyed;
mod numbers;
mod packed;
mod snapshot;
pub use keyed::Keyed;
pub use numbers::{DecimalSum, Numbers, Part};
pub use packed::Packed;
pub use snapshot::{ByteSource, SnapshotDecoder, SnapshotError, Within, SNAPSHOT_CHUNK};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_after_the_previous_value_gives_the_ids_interning_does() {
        let mut d = Dictionary::default();
        let a = d.intern("/subscriptions/s/resourceGroups/rg-a");
        let b = d.intern_after(Some(a), "/subscriptions/s/resourceGroups/rg-b");
        assert_ne!(a, b);
        assert_eq!(d.intern_after(Some(b), "/subscriptions/s/resourceGroups/rg-b"), b);
        assert_eq!(d.intern_after(Some(b), "/subscriptions/s/resourceGroups/rg-a"), a, "an earlier value keeps its id");
        assert_eq!(d.intern_after(None, "/subscriptions/s/resourceGroups/rg-a"), a);
        assert_eq!(d.len(), 3, "the empty string, rg-a and rg-b");
    }

    #[test]
    fn the_dictionary_keeps_each_string_once_across_blocks() {
        let mut d = Dictionary::default();
        let long = "x".repeat(BLOCK + 5);
        let texts: Vec<String> = (0..60_000).map(|i| format!("/subscriptions/s/resourceGroups/rg-{i}")).collect();
        let mut ids: Vec<StrId> = texts.iter().map(|t| d.intern(t)).collect();
        ids.push(d.intern(&long));
        ids.push(d.intern("after the long one"));
        assert!(d.blocks.len() > 2, "{} blocks", d.blocks.len());
        assert_eq!(d.len(), 60_003, "the empty string, then each text once");
        for (text, id) in texts.iter().map(String::as_str).chain([long.as_str(), "after the long one"]).zip(&ids) {
            assert_eq!(d.get(*id), text);
            assert_eq!(d.intern(text), *id);
            assert_eq!(d.find(text), Some(*id));
        }
        assert_eq!(d.find("rg-absent"), None);
        let text: usize = texts.iter().map(String::len).sum::<usize>() + long.len() + 18;
        d.shrink_to_fit();
        // At most one block left part empty (the one before the long string), then ~21 bytes a string.
        assert!(d.heap_bytes() < text + BLOCK + 60_003 * 24, "{} bytes for {text} of text", d.heap_bytes());
    }

    #[test]
    fn large_columns_grow_by_half_not_by_doubling() {
        // 140,000 rows: doubling would leave room for 262,144 (1.9×); growth by half past 65,536 for 147,456.
        let rows = 140_000;
        let mut plain: Column<f64> = Column::default();
        let mut narrow: Column<u16> = Column::default();
        let mut quantities = Vec::new();
        for i in 0..rows {
            plain.push(i as f64 * 0.25);
            narrow.push((i % 3) as u16);
            push_lean(&mut quantities, i as f64, 0);
        }
        assert!(matches!(plain.repr, Repr::Values(_)));
        assert!(matches!(&narrow.repr, Repr::Distinct { codes, .. } if codes.bits() == 2), "3 values, 2 bits");
        assert!(plain.heap_bytes() <= rows * 8 * 11 / 10, "{} bytes for {rows} f64", plain.heap_bytes());
        assert!(narrow.heap_bytes() <= rows / 4 * 11 / 10 + 64, "{} bytes for {rows} 2-bit codes", narrow.heap_bytes());
        assert!(quantities.capacity() <= rows * 11 / 10, "{} room for {rows}", quantities.capacity());
        assert_eq!(plain[rows - 1], (rows - 1) as f64 * 0.25);
    }

    #[test]
    fn a_column_stays_narrow_while_it_can_and_reads_the_same_at_every_width() {
        let value = |i: usize| (i % 70_001) as i64 * 7 - 1000;
        // 70,001 values in 140,000 rows: narrow up to 65,536 values, then plain; in a column expecting 1M rows,
        // narrow throughout (17 bits a row against 8 bytes).
        for (expected, last_kind) in [(0, 999), (1_000_000, 117)] {
            let mut column: Column<i64> = Column::default();
            column.expect_rows(expected);
            let mut kinds = Vec::new();
            for i in 0..140_000 {
                column.push(if i < 10 { -1000 } else { value(i) });
                let kind = match &column.repr {
                    Repr::Constant { .. } => 0,
                    Repr::Distinct { codes, .. } => 100 + codes.bits(),
                    Repr::Values(_) => 999,
                };
                if kinds.last() != Some(&kind) {
                    kinds.push(kind);
                }
            }
            let mut widths: Vec<u32> = [0].into_iter().chain(101..=116).collect();
            widths.push(last_kind);
            assert_eq!(kinds, widths, "constant, indexes a bit wider at a time, then plain values or 17 bits");
            assert!((0..140_000).all(|i| column[i] == if i < 10 { -1000 } else { value(i) }));
        }
        let mut hours: Column<i64> = Column::default();
        (0..1000).for_each(|i| hours.push(i % 3));
        hours.set(5, 7);
        hours.set(6, 2);
        assert!(hours.distinct().is_some_and(|(values, _)| values == [0, 1, 2, 7]), "set keeps it narrow");
        assert_eq!((hours[5], hours[6], hours[7]), (7, 2, 1));
        let mut constant: Column<i64> = Column::default();
        (0..4).for_each(|_| constant.push(9));
        constant.set(2, 8);
        assert_eq!(constant.iter().copied().collect::<Vec<_>>(), vec![9, 9, 8, 9]);
    }

    #[test]
    fn lines_are_runs_while_they_step_evenly_and_read_back_the_same() {
        // A CSV file (header on line 1, a quoted line break at row 500), then a JSON file of 7-line records.
        let mut expected: Vec<u32> = (0..1000).map(|r| r + 2 + u32::from(r >= 500)).collect();
        expected.extend((0..1000).map(|r| 3 + 7 * r));
        let lines: Lines = expected.iter().copied().collect();
        assert!(matches!(&lines, Lines::Runs { runs, .. } if runs.len() == 3), "{lines:?}");
        assert_eq!(lines, expected);
        assert!((0..expected.len()).all(|r| lines.get(r) == expected[r]));
        assert!(lines.heap_bytes() < 100);
        // Lines that do not step evenly: a line per row, the same values.
        let uneven: Vec<u32> = (0..1000u32).map(|r| r * r % 7 + 3 * r).collect();
        let lines: Lines = uneven.iter().copied().collect();
        assert!(matches!(lines, Lines::Plain(_)));
        assert_eq!(lines, uneven);
        let minified: Lines = [1, 1, 1, 1].into_iter().collect();
        assert_eq!(minified, vec![1, 1, 1, 1], "a one-line JSON file: every record on line 1");
    }

    #[test]
    fn strings_are_stored_once() {
        let mut table = UsageTable::default();
        let src = table.add_source("a.csv", Format::UsageSummaryCsv);
        let (tags, error) = table.intern_key_values(None, "@{env=prod}");
        assert_eq!(error, None);
        let rec = UsageRecord { subscription: "sub-1", meter_id: "M", quantity: 2.0, tags, ..Default::default() };
        table.push(src, 2, &rec);
        table.push(src, 3, &rec);
        assert_eq!(table.len(), 2);
        assert_eq!(table.subscription[0], table.subscription[1]);
        assert_eq!(table.str(table.subscription[1]), "sub-1");
        assert_eq!(table.str(table.resource_group(0)), "");
        assert_eq!(table.key_value(table.tags[1], "ENV"), Some("prod"));
        assert_eq!(table.tag_keys(), vec!["env".to_string()]);
        assert_eq!(table.intern_key_values(None, "@{env=prod}"), (tags, None));
        assert!(table.intern_key_values(None, "{oops").1.is_some());
        assert_eq!(table.intern_key_values(None, "{oops").1, None, "reported once");
        assert!(table.cost.get(0).is_nan());
        assert_eq!(table.line, vec![2, 3]);
    }
}

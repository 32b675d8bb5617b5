//! The query engine every view and the CLI use: filters become masks over dense dimension codes, group-by
//! accumulates into dense arrays indexed by those codes (a hash map only when the code space is huge), and
//! results are small. Dimension codes are computed once per table and dimension and cached.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;

use crate::admin::{AdminClassifier, AdminReason};
use crate::catalog::Catalog;
use crate::table::{Column, DecimalSum, Keyed, Packed, Part, StrId, UsageTable};
use crate::time;

mod selection;
pub use selection::Selection;

/// A dimension to filter or group by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Subscription ID.
    Subscription,
    /// Resource group.
    ResourceGroup,
    /// Resource URI.
    Resource,
    /// Meter ID.
    MeterId,
    /// Meter name.
    MeterName,
    /// Meter category.
    MeterCategory,
    /// Meter subcategory.
    MeterSubcategory,
    /// Location.
    Location,
    /// Unit of measure.
    Unit,
    /// Source file format.
    SourceFormat,
    /// Day of the usage start.
    Day,
    /// Month of the usage start.
    Month,
    /// Hour of the usage start.
    Hour,
    /// Commerce meter Azure bills.
    CommerceMeterId,
    /// Billing unit of the commerce meter (local data: from the catalog).
    BillingUnit,
    /// Currency of the costs.
    Currency,
    /// ISO week (Monday) of the usage start.
    Week,
    /// Source file name.
    SourceFile,
    /// CSP customer (Partner Center files).
    Customer,
    /// The value of one tag (key matched ignoring ASCII case).
    Tag(String),
}

impl Dimension {
    /// The fixed dimensions, in the order of [`Dimension::NAMES`] (plus `tag:KEY`).
    pub const ALL: &'static [Dimension] = &[
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::Resource,
        Dimension::MeterId,
        Dimension::MeterName,
        Dimension::MeterCategory,
        Dimension::MeterSubcategory,
        Dimension::Location,
        Dimension::Unit,
        Dimension::SourceFormat,
        Dimension::Day,
        Dimension::Month,
        Dimension::Hour,
        Dimension::CommerceMeterId,
        Dimension::BillingUnit,
        Dimension::Currency,
        Dimension::Week,
        Dimension::SourceFile,
        Dimension::Customer,
    ];

    /// The names accepted by [`Dimension::from_str`], besides `tag:KEY`.
    pub const NAMES: &'static [&'static str] = &[
        "subscription",
        "resource_group",
        "resource",
        "meter_id",
        "meter_name",
        "meter_category",
        "meter_subcategory",
        "location",
        "unit",
        "source_format",
        "day",
        "month",
        "hour",
        "commerce_meter_id",
        "billing_unit",
        "currency",
        "week",
        "source_file",
        "customer",
    ];

    /// Stable name, used as the key in JSON output (`tag:KEY` for tags).
    pub fn name(&self) -> String {
        match self {
            Dimension::Tag(key) => format!("tag:{key}"),
            fixed => Self::NAMES[Self::ALL.iter().position(|d| d == fixed).unwrap_or(0)].to_string(),
        }
    }

    fn is_time(&self) -> bool {
        matches!(self, Dimension::Day | Dimension::Month | Dimension::Hour | Dimension::Week)
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(key) = s.strip_prefix("tag:") {
            return if key.is_empty() {
                Err("tag: needs a key, e.g. tag:costcenter".into())
            } else {
                Ok(Dimension::Tag(key.into()))
            };
        }
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i].clone())
            .ok_or_else(|| format!("unknown dimension {s:?}; valid dimensions: {}, tag:KEY", Self::NAMES.join(", ")))
    }
}

/// A row filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// The dimension's value is one of these.
    In(Dimension, Vec<String>),
    /// The dimension's value is none of these.
    NotIn(Dimension, Vec<String>),
    /// Usage starts in `[from, to)` (UTC seconds).
    TimeRange {
        /// Inclusive start.
        from: i64,
        /// Exclusive end.
        to: i64,
    },
    /// Case-insensitive text in the subscription, resource group, resource, meter ID or meter name.
    Text(String),
}

impl Filter {
    fn dimension(&self) -> Option<&Dimension> {
        match self {
            Filter::In(d, _) | Filter::NotIn(d, _) => Some(d),
            _ => None,
        }
    }

    /// Parses `DIM=VALUE` (or `DIM!=VALUE`).
    pub fn parse(text: &str) -> Result<Filter, String> {
        if let Some((dim, value)) = text.split_once("!=") {
            return Ok(Filter::NotIn(dim.parse()?, vec![value.to_string()]));
        }
        let (dim, value) = text.split_once('=').ok_or_else(|| format!("filter {text:?} is not DIM=VALUE"))?;
        Ok(Filter::In(dim.parse()?, vec![value.to_string()]))
    }
}

/// How groups are ordered.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum SortBy {
    /// By the group key, ascending (time keys sort chronologically).
    #[default]
    Key,
    /// By row count, largest first.
    Rows,
    /// By quantity in one unit, largest first.
    Quantity(String),
    /// By cost in one currency, largest first.
    Cost(String),
}

/// A question asked of the table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// All must hold (filters on one dimension should be merged into one `In`).
    pub filters: Vec<Filter>,
    /// Group by these, in order.
    pub group_by: Vec<Dimension>,
    /// Count admin (infrastructure) rows too.
    pub include_admin: bool,
    /// Count only admin rows (to show what is hidden).
    pub only_admin: bool,
    /// Time buckets are taken in this fixed offset from UTC (minutes east).
    pub utc_offset_minutes: i32,
    /// Group order.
    pub sort: SortBy,
    /// Keep the first N groups and put the rest in one "Others" group.
    pub top: Option<usize>,
    /// Skip this many groups, then keep at most this many (after top-N).
    pub page: Option<(usize, usize)>,
    /// Count distinct resources per group.
    pub distinct_resources: bool,
}

/// Label of the group holding everything outside the top N.
pub const OTHERS: &str = "Others";

/// Measures of a set of rows. Quantities per unit, costs per currency; never summed across keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Totals {
    /// Rows.
    pub rows: u64,
    /// Quantity per unit.
    pub quantity: BTreeMap<String, f64>,
    /// Billed cost per currency (only rows that carry a cost).
    pub cost: BTreeMap<String, f64>,
    /// Effective (amortized) cost per currency (only rows that carry one).
    pub effective_cost: BTreeMap<String, f64>,
    /// Distinct resources (when asked for).
    pub resources: u64,
}

impl Totals {
    /// Adds `other` into `self` (maps merged by key). Distinct resources cannot be added and are left alone.
    pub fn add(&mut self, other: &Totals) {
        self.rows += other.rows;
        for (map, from) in [
            (&mut self.quantity, &other.quantity),
            (&mut self.cost, &other.cost),
            (&mut self.effective_cost, &other.effective_cost),
        ] {
            for (k, v) in from {
                *map.entry(k.clone()).or_default() += v;
            }
        }
    }
}

/// One group of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Dimension values, in the order asked for.
    pub key: Vec<(Dimension, String)>,
    /// Measures.
    pub totals: Totals,
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct QueryResult {
    /// Groups after sort, top-N and paging.
    pub groups: Vec<Group>,
    /// Number of groups before top-N and paging.
    pub group_count: usize,
    /// Measures of every selected row.
    pub total: Totals,
}

/// Label used for rows whose unit is unknown.
pub const UNKNOWN_UNIT: &str = "(unknown unit)";
/// Label used for costs whose currency is unknown.
pub const UNKNOWN_CURRENCY: &str = "(unknown currency)";

/// Dense codes of one dimension: a code per row (or a way to read it through the table), a label and a row count
/// per code.
struct Codes {
    per_row: CodeVec,
    labels: Vec<String>,
    counts: Vec<u32>,
}

/// A code per row in as few bytes as the number of codes needs (most dimensions have at most 256 or 65,536
/// values: 1 or 2 bytes a row instead of 4), or none at all: through the table column's own indexes.
enum CodeVec {
    /// Every row has code 0 (a column holding one value).
    Zero(usize),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    /// The code of a row is `code_of` its index in the column (a narrow column's index, or a dictionary id):
    /// the table already holds a number per row, so the codes cost nothing a row.
    Through {
        column: Through,
        code_of: Vec<u32>,
        len: usize,
    },
}

/// A column whose per-row indexes or dictionary ids dimension codes read through.
#[derive(Clone, Copy)]
enum Through {
    Strings(fn(&UsageTable) -> &Column<StrId>),
    UsageStart,
}

/// Reads a [`CodeVec`]'s codes (the table's slices looked up once, not per row).
enum CodeReader<'a> {
    Zero(usize),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    /// A narrow column's packed indexes, and the code of each index.
    Via(&'a Packed, &'a [u32]),
    ViaIds(&'a [StrId], &'a [u32]),
}

impl CodeVec {
    /// `n` codes, the code of row `row` from `code`; every code is below `n_codes`.
    fn collect(n: usize, n_codes: usize, code: impl Fn(usize) -> u32) -> CodeVec {
        if n_codes <= 1 {
            CodeVec::Zero(n)
        } else if n_codes <= 1 << 8 {
            CodeVec::U8((0..n).map(|row| code(row) as u8).collect())
        } else if n_codes <= 1 << 16 {
            CodeVec::U16((0..n).map(|row| code(row) as u16).collect())
        } else {
            CodeVec::U32((0..n).map(code).collect())
        }
    }

    fn reader<'a>(&'a self, t: &'a UsageTable) -> CodeReader<'a> {
        match self {
            CodeVec::Zero(len) => CodeReader::Zero(*len),
            CodeVec::U8(codes) => CodeReader::U8(codes),
            CodeVec::U16(codes) => CodeReader::U16(codes),
            CodeVec::U32(codes) => CodeReader::U32(codes),
            CodeVec::Through { column, code_of, len } => {
                let indexes = match column {
                    Through::Strings(column) => {
                        let column = column(t);
                        if let Some(ids) = column.as_slice() {
                            return CodeReader::ViaIds(ids, code_of);
                        }
                        column.distinct().map(|(_, indexes)| indexes)
                    }
                    Through::UsageStart => t.usage_start.distinct().map(|(_, indexes)| indexes),
                };
                match indexes {
                    Some(indexes) => CodeReader::Via(indexes, code_of),
                    // The table never changes its columns' form: codes were made from this one.
                    None => CodeReader::Zero(*len),
                }
            }
        }
    }
}

impl CodeReader<'_> {
    #[inline]
    fn get(&self, row: usize) -> u32 {
        match self {
            CodeReader::Zero(len) => {
                assert!(row < *len, "row {row} out of {len}");
                0
            }
            CodeReader::U8(codes) => codes[row] as u32,
            CodeReader::U16(codes) => codes[row] as u32,
            CodeReader::U32(codes) => codes[row],
            CodeReader::Via(indexes, code_of) => code_of[indexes.get(row)],
            CodeReader::ViaIds(ids, code_of) => via_id(code_of, ids[row]),
        }
    }

    /// The codes of `rows` into `out` (a pass per width, not a match per row).
    fn gather(&self, rows: &[u32], out: &mut [u32]) {
        fn each(rows: &[u32], out: &mut [u32], code: impl Fn(usize) -> u32) {
            for (out, &row) in out.iter_mut().zip(rows) {
                *out = code(row as usize);
            }
        }
        match self {
            CodeReader::Zero(_) => out[..rows.len()].fill(0),
            CodeReader::U8(codes) => each(rows, out, |row| codes[row] as u32),
            CodeReader::U16(codes) => each(rows, out, |row| codes[row] as u32),
            CodeReader::U32(codes) => each(rows, out, |row| codes[row]),
            CodeReader::Via(indexes, code_of) => each(rows, out, |row| code_of[indexes.get(row)]),
            CodeReader::ViaIds(ids, code_of) => each(rows, out, |row| via_id(code_of, ids[row])),
        }
    }

    /// The rows whose code `keep` holds: one pass over the codes, or over the column's indexes with `keep`
    /// folded into a table per index.
    fn select(&self, keep: &[bool]) -> Selection {
        let through = |code_of: &[u32]| -> Vec<bool> { code_of.iter().map(|&code| keep[code as usize]).collect() };
        match self {
            CodeReader::Zero(len) if keep.first() == Some(&true) => Selection::all(*len),
            CodeReader::Zero(len) => Selection::none(*len),
            CodeReader::U8(codes) => Selection::of_codes(codes, |code| code as usize, keep),
            CodeReader::U16(codes) => Selection::of_codes(codes, |code| code as usize, keep),
            CodeReader::U32(codes) => Selection::of_codes(codes, |code| code as usize, keep),
            CodeReader::Via(indexes, code_of) => {
                let keep_index = through(code_of);
                Selection::of_rows(indexes.len(), |row| keep_index[indexes.get(row)])
            }
            CodeReader::ViaIds(ids, code_of) => {
                let keep_id = through(code_of);
                Selection::of_codes(ids, |id| id_index(id, keep_id.len()), &keep_id)
            }
        }
    }
}

/// The code of dictionary id `id`.
#[inline]
fn via_id(code_of: &[u32], id: StrId) -> u32 {
    code_of[id_index(id, code_of.len())]
}

/// Where dictionary id `id` is in a table of `n_ids` entries per id: an id outside the dictionary, which ingest
/// never makes, reads as id 0 (the empty string).
#[inline]
fn id_index(id: StrId, n_ids: usize) -> usize {
    if (id.0 as usize) < n_ids {
        id.0 as usize
    } else {
        0
    }
}

/// Answers queries about one table; caches dimension codes and row selections between queries.
pub struct QueryEngine<'t> {
    table: TableRef<'t>,
    /// Each row's [`AdminReason::code`] (a few bits a row, nothing when no row is admin).
    admin: Column<u8>,
    codes: RefCell<HashMap<(Dimension, i32), Rc<Codes>>>,
    selections: RefCell<HashMap<String, Rc<Selection>>>,
    results: RefCell<HashMap<String, QueryResult>>,
}

/// A borrowed table (CLI, tests) or a shared one (the app keeps the engine as long as the data).
enum TableRef<'t> {
    Borrowed(&'t UsageTable),
    Shared(Arc<UsageTable>),
}

/// Row selections and answers kept for reuse (a report asks a few per filter state, and several visuals ask the
/// same question); beyond this many the cache starts over.
const SELECTIONS_KEPT: usize = 64;
/// Bytes of cached selections kept per table row (each is an eighth of a byte a row: 16 selections).
const SELECTION_BYTES_PER_TABLE_ROW: usize = 2;

/// Group index spaces up to this size accumulate into dense arrays.
const DENSE_LIMIT: usize = 1 << 22;

impl QueryEngine<'static> {
    /// Prepares queries over a shared table, owned by the engine as long as it lives.
    pub fn shared(table: Arc<UsageTable>) -> Self {
        Self::over(TableRef::Shared(table))
    }
}

impl<'t> QueryEngine<'t> {
    /// Prepares queries over `table` (classifies admin rows once).
    pub fn new(table: &'t UsageTable) -> Self {
        Self::over(TableRef::Borrowed(table))
    }

    fn over(table: TableRef<'t>) -> Self {
        let t = match &table {
            TableRef::Borrowed(t) => *t,
            TableRef::Shared(t) => t,
        };
        let classifier = AdminClassifier::new(t);
        let mut admin = Column::default();
        admin.expect_rows(t.len());
        (0..t.len()).for_each(|row| admin.push(AdminReason::code(classifier.classify(row))));
        admin.shrink_to_fit();
        QueryEngine {
            table,
            admin,
            codes: RefCell::default(),
            selections: RefCell::default(),
            results: RefCell::default(),
        }
    }

    /// Forgets every cached code, selection and answer (benchmarks measure cold queries with it).
    pub fn clear_caches(&self) {
        self.codes.borrow_mut().clear();
        self.selections.borrow_mut().clear();
        self.results.borrow_mut().clear();
    }

    /// Forgets cached selections and answers but keeps the dimension codes, which the app builds once per
    /// dataset: the next query is a re-aggregation as a slicer click makes it.
    pub fn clear_answers(&self) {
        self.selections.borrow_mut().clear();
        self.results.borrow_mut().clear();
    }

    /// The table queried.
    pub fn table(&self) -> &UsageTable {
        match &self.table {
            TableRef::Borrowed(t) => t,
            TableRef::Shared(t) => t,
        }
    }

    /// True when row `row` is admin (infrastructure) usage.
    pub fn is_admin(&self, row: usize) -> bool {
        self.admin[row] != 0
    }

    /// Why row `row` is admin (infrastructure) usage, if it is.
    pub fn admin_reason(&self, row: usize) -> Option<AdminReason> {
        AdminReason::of_code(self.admin[row])
    }

    fn codes(&self, dimension: &Dimension, offset: i32) -> Rc<Codes> {
        let offset = if dimension.is_time() { offset } else { 0 };
        let key = (dimension.clone(), offset);
        if let Some(codes) = self.codes.borrow().get(&key) {
            return codes.clone();
        }
        let codes = Rc::new(self.compute_codes(dimension, offset));
        self.codes.borrow_mut().insert(key, codes.clone());
        codes
    }

    fn compute_codes(&self, dimension: &Dimension, offset_minutes: i32) -> Codes {
        let t = self.table();
        let shift = offset_minutes as i64 * 60;
        // The codes of the ids in column `of`, each id taken as `follow[id]` when given (a keyed column's value by
        // its key's id: the codes read through the key column).
        let by_column = |of: fn(&UsageTable) -> &Column<StrId>, follow: Option<&[StrId]>, empty: &str| {
            let column = of(t);
            let label = |id: i64| {
                let s = t.str(StrId(id as u32));
                if s.is_empty() {
                    empty.to_string()
                } else {
                    s.to_string()
                }
            };
            let key = |id: StrId| match follow {
                Some(by_key) => by_key.get(id.0 as usize).filter(|v| v.0 != u32::MAX).map_or(0, |v| v.0 as i64),
                None => id.0 as i64,
            };
            // Dictionary ids are dense: index an array by them instead of hashing every row; a narrow column
            // already numbers its values.
            match (column.as_slice(), column.distinct()) {
                (Some(ids), _) => compact_dense(Through::Strings(of), ids, t.strings().len(), key, label),
                (None, Some((ids, indexes))) => from_distinct(
                    Through::Strings(of),
                    indexes,
                    column.len(),
                    ids.iter().map(|&id| key(id)).collect(),
                    label,
                ),
                (None, None) => match column.constant() {
                    Some(id) => order_codes_of_one(t.len(), key(id), label),
                    None => compact(t.len(), |row| key(column[row]), label),
                },
            }
        };
        let by_string = |of: fn(&UsageTable) -> &Column<StrId>, empty: &str| by_column(of, None, empty);
        let by_keyed = |keyed: fn(&UsageTable) -> &Keyed,
                        own: fn(&UsageTable) -> &Column<StrId>,
                        key: fn(&UsageTable) -> &Column<StrId>,
                        empty: &str| match keyed(t).by_key() {
            Some(by_key) => by_column(key, Some(by_key), empty),
            None => by_column(own, None, empty),
        };
        match dimension {
            Dimension::Subscription => by_string(|t| &t.subscription, ""),
            Dimension::ResourceGroup => {
                by_keyed(|t| &t.resource_group, |t| t.resource_group.column(), |t| &t.resource_uri, "")
            }
            Dimension::Resource => by_string(|t| &t.resource_uri, ""),
            Dimension::MeterId => by_string(|t| &t.meter_id, ""),
            Dimension::MeterName => by_keyed(|t| &t.meter_name, |t| t.meter_name.column(), |t| &t.meter_id, ""),
            Dimension::MeterCategory => {
                by_keyed(|t| &t.meter_category, |t| t.meter_category.column(), |t| &t.meter_id, "")
            }
            Dimension::MeterSubcategory => {
                by_keyed(|t| &t.meter_subcategory, |t| t.meter_subcategory.column(), |t| &t.meter_id, "")
            }
            Dimension::Location => by_string(|t| &t.location, ""),
            Dimension::Customer => by_string(|t| &t.customer, ""),
            Dimension::Unit => by_keyed(|t| &t.unit, |t| t.unit.column(), |t| &t.meter_id, UNKNOWN_UNIT),
            Dimension::Currency => by_string(|t| &t.currency, UNKNOWN_CURRENCY),
            Dimension::CommerceMeterId => {
                by_keyed(|t| &t.commerce_meter_id, |t| t.commerce_meter_id.column(), |t| &t.meter_id, "")
            }
            Dimension::SourceFormat => {
                // Files of one format are one group: key each file by the first file of its format.
                let first: Vec<i64> = (0..t.sources().len())
                    .map(|i| t.sources().iter().position(|s| s.format == t.sources()[i].format).unwrap_or(i) as i64)
                    .collect();
                compact(
                    t.len(),
                    |row| first.get(t.source[row] as usize).copied().unwrap_or(0),
                    |s| t.sources().get(s as usize).map_or("unknown", |s| s.format.as_str()).to_string(),
                )
            }
            Dimension::SourceFile => compact(
                t.len(),
                |row| t.source[row] as i64,
                |s| t.sources().get(s as usize).map_or("", |s| s.file.as_str()).to_string(),
            ),
            Dimension::Hour => by_time(t, &|at| (at + shift).div_euclid(3600), &|h| time::hour_label(h * 3600)),
            Dimension::Day => by_time(t, &|at| time::day_of(at + shift), &time::day_label),
            Dimension::Week => {
                by_time(t, &|at| (time::day_of(at + shift) + 3).div_euclid(7), &|w| time::day_label(w * 7 - 3))
            }
            Dimension::Month => by_time(t, &|at| time::month_index(at + shift), &time::month_index_label),
            Dimension::BillingUnit => {
                let catalog = Catalog::builtin();
                let mut billing: HashMap<(bool, StrId, StrId), i64> = HashMap::new();
                let mut labels: Vec<String> = Vec::new();
                let mut index: HashMap<String, i64> = HashMap::new();
                let per_row: Vec<i64> = (0..t.len())
                    .map(|row| {
                        let key = (t.local[row], t.meter_id[row], t.unit(row));
                        *billing.entry(key).or_insert_with(|| {
                            let from_catalog =
                                catalog.local_meter(t.str(key.1)).and_then(|m| m.billed_as()).map(|c| c.unit.clone());
                            let unit = match from_catalog {
                                Some(unit) if key.0 => unit,
                                _ if t.str(key.2).is_empty() => UNKNOWN_UNIT.to_string(),
                                _ => t.str(key.2).to_string(),
                            };
                            let next = index.len() as i64;
                            *index.entry(unit.clone()).or_insert_with(|| {
                                labels.push(unit);
                                next
                            })
                        })
                    })
                    .collect();
                compact(t.len(), |row| per_row[row], |i| labels[i as usize].clone())
            }
            Dimension::Tag(key) => {
                let keys: Vec<StrId> = (0..t.strings().len() as u32)
                    .map(StrId)
                    .filter(|id| t.str(*id).eq_ignore_ascii_case(key))
                    .collect();
                compact(
                    t.len(),
                    |row| {
                        t.key_values(t.tags[row]).iter().find(|(k, _)| keys.contains(k)).map_or(0, |(_, v)| v.0 as i64)
                    },
                    |id| t.str(StrId(id as u32)).to_string(),
                )
            }
        }
    }

    /// The rows that pass `query`'s filters and admin choice, in table order (cached by filter set).
    fn selection(&self, query: &Query) -> Rc<Selection> {
        let (filters, offset) = (&query.filters, query.utc_offset_minutes);
        let admin_rows = |admin: bool| if query.only_admin { admin } else { query.include_admin || !admin };
        let key = format!("{filters:?}|{}|{}|{offset}", query.include_admin, query.only_admin);
        if let Some(rows) = self.selections.borrow().get(&key) {
            return rows.clone();
        }
        let t = self.table();
        let mut masks: Vec<(Rc<Codes>, Vec<bool>)> = Vec::new();
        let mut ranges = Vec::new();
        let mut texts: Vec<Vec<(Rc<Codes>, Vec<bool>)>> = Vec::new();
        for filter in filters {
            match filter {
                Filter::In(d, values) | Filter::NotIn(d, values) => {
                    let codes = self.codes(d, offset);
                    let keep = matches!(filter, Filter::In(..));
                    let mask = codes.labels.iter().map(|l| values.iter().any(|v| v == l) == keep).collect();
                    masks.push((codes, mask));
                }
                Filter::TimeRange { from, to } => ranges.push((*from, *to)),
                Filter::Text(text) => {
                    let needle = text.to_lowercase();
                    let dims = [
                        Dimension::Subscription,
                        Dimension::ResourceGroup,
                        Dimension::Resource,
                        Dimension::MeterId,
                        Dimension::MeterName,
                    ];
                    texts.push(
                        dims.iter()
                            .map(|d| {
                                let codes = self.codes(d, 0);
                                let mask = codes.labels.iter().map(|l| l.to_lowercase().contains(&needle)).collect();
                                (codes, mask)
                            })
                            .collect(),
                    );
                }
            }
        }
        // Start from a scan of the most selective filter's codes, then narrow filter by filter: each pass reads
        // one column, and only the rows still in.
        let n = t.len();
        let kept_rows = |(codes, mask): &(Rc<Codes>, Vec<bool>)| -> usize {
            codes.counts.iter().zip(mask).filter(|(_, keep)| **keep).map(|(count, _)| *count as usize).sum()
        };
        let seed = masks.iter().enumerate().map(|(i, m)| (kept_rows(m), i)).min();
        let mut rows = match seed {
            Some((_, i)) => masks[i].0.per_row.reader(t).select(&masks[i].1),
            None => Selection::all(n),
        };
        if !query.include_admin || query.only_admin {
            rows.retain(|row| admin_rows(self.admin[row] != 0));
        }
        for &(from, to) in &ranges {
            rows.retain(|row| (from..to).contains(&t.usage_start[row]));
        }
        for (i, (codes, mask)) in masks.iter().enumerate() {
            if seed.is_some_and(|(_, s)| s == i) {
                continue;
            }
            let per_row = codes.per_row.reader(t);
            rows.retain(|row| mask[per_row.get(row) as usize]);
        }
        for any in &texts {
            let any: Vec<(CodeReader, &Vec<bool>)> =
                any.iter().map(|(codes, mask)| (codes.per_row.reader(t), mask)).collect();
            rows.retain(|row| any.iter().any(|(codes, mask)| mask[codes.get(row) as usize]));
        }
        let rows = Rc::new(rows);
        let mut kept = self.selections.borrow_mut();
        // Bounded by count and by size (wasm memory never shrinks).
        let held: usize = kept.values().map(|r| r.heap_bytes()).sum();
        let limit = SELECTION_BYTES_PER_TABLE_ROW * t.len().max(1 << 16);
        if kept.len() >= SELECTIONS_KEPT || held + rows.heap_bytes() > limit {
            kept.clear();
        }
        kept.insert(key, rows.clone());
        rows
    }

    /// The table rows `query`'s filters and admin choice select, in table order.
    pub fn rows(&self, query: &Query) -> Vec<u32> {
        self.selection(query).to_rows()
    }

    /// The table rows `query`'s filters and admin choice select, as a set (cached by filter set).
    pub fn selected(&self, query: &Query) -> Rc<Selection> {
        self.selection(query)
    }

    /// Answers `query` (the same question asked again is answered from a cache).
    pub fn run(&self, query: &Query) -> QueryResult {
        let key = format!("{query:?}");
        if let Some(result) = self.results.borrow().get(&key) {
            return result.clone();
        }
        let result = self.compute(query);
        let mut kept = self.results.borrow_mut();
        if kept.len() >= SELECTIONS_KEPT {
            kept.clear();
        }
        kept.insert(key, result.clone());
        result
    }

    fn compute(&self, query: &Query) -> QueryResult {
        let t = self.table();
        let rows = self.selection(query);
        let dims: Vec<Rc<Codes>> = query.group_by.iter().map(|d| self.codes(d, query.utc_offset_minutes)).collect();
        let units = self.codes(&Dimension::Unit, 0);
        let currencies = self.codes(&Dimension::Currency, 0);
        let (n_units, n_currencies) = (units.labels.len().max(1), currencies.labels.len().max(1));
        let key_space: Option<u64> = dims.iter().try_fold(1u64, |acc, c| acc.checked_mul(c.labels.len().max(1) as u64));
        let space: Option<usize> = key_space.and_then(|s| usize::try_from(s).ok());
        let dense = space.is_some_and(|s| s <= DENSE_LIMIT && s <= 16 * rows.count().max(4096));

        // Groups get compact slots on first sight: through a dense index when the key space is small enough,
        // else a hash map. Accumulators are sized by the groups that exist, not by the key space.
        let mut dense_slot: Vec<u32> = if dense { vec![u32::MAX; space.unwrap_or(1)] } else { Vec::new() };
        let mut slot_of: HashMap<u64, usize> = HashMap::new();
        let mut acc = Accumulators { n_units, n_currencies, ..Default::default() };
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let resource_codes = query.distinct_resources.then(|| self.codes(&Dimension::Resource, 0));
        // (group, resource) pairs are recorded once each: a bitmap over group key × resource when it is small
        // enough, else a hash set (sorting every row's pair costs far more).
        let n_resources = resource_codes.as_ref().map_or(1, |c| c.labels.len().max(1));
        let bitmap_bits = space.and_then(|s| s.checked_mul(n_resources)).filter(|&b| b <= 1 << 27);
        let mut seen_bits: Vec<u64> = match (&resource_codes, bitmap_bits) {
            (Some(_), Some(bits)) => vec![0; bits.div_ceil(64)],
            _ => Vec::new(),
        };
        let mut seen_pairs: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let effective_is_cost = t.effective_cost_is_cost();
        // Group keys a block of rows at a time, one dimension after the other: each pass reads one code width.
        let mut block_keys = [0u64; KEY_BLOCK];
        let (mut block_units, mut block_currencies) = ([0u32; KEY_BLOCK], [0u32; KEY_BLOCK]);
        let (mut block_quantities, mut block_costs) = ([Part::default(); KEY_BLOCK], [Part::default(); KEY_BLOCK]);
        let ranked = key_space.is_none().then(|| RankedKeys::of(t, &dims, &rows.to_rows()));
        let (unit_codes, currency_codes) = (units.per_row.reader(t), currencies.per_row.reader(t));
        let resource_reader = resource_codes.as_ref().map(|codes| codes.per_row.reader(t));
        let dim_codes: Vec<CodeReader> = dims.iter().map(|dim| dim.per_row.reader(t)).collect();
        let (mut blocks, mut block_rows, mut done) = (rows.iter(), [0u32; KEY_BLOCK], 0);
        loop {
            let n = blocks.fill(&mut block_rows);
            if n == 0 {
                break;
            }
            let block_rows = &block_rows[..n];
            match &ranked {
                Some(ranked) => block_keys[..n].copy_from_slice(&ranked.keys[done..done + n]),
                None => group_keys(&dims, &dim_codes, block_rows, &mut block_keys[..n]),
            }
            done += n;
            unit_codes.gather(block_rows, &mut block_units);
            currency_codes.gather(block_rows, &mut block_currencies);
            t.quantity.gather_parts(block_rows, &mut block_quantities);
            t.cost.gather_parts(block_rows, &mut block_costs);
            for (at, &row) in block_rows.iter().enumerate() {
                let row = row as usize;
                let g = block_keys[at];
                let slot = if dense {
                    let entry = &mut dense_slot[g as usize];
                    if *entry == u32::MAX {
                        *entry = acc.new_slot(g) as u32;
                    }
                    *entry as usize
                } else {
                    *slot_of.entry(g).or_insert_with(|| acc.new_slot(g))
                };
                acc.counts[slot] += 1;
                let unit = slot * n_units + block_units[at] as usize;
                acc.quantity[unit].add(block_quantities[at]);
                acc.unit_seen[unit] = true;
                let cell = &mut acc.money[slot * n_currencies + block_currencies[at] as usize];
                let cost = block_costs[at];
                if !cost.is_nan() {
                    cell.0.add(cost);
                    cell.2 = true;
                }
                // Where every effective cost is the billed cost, it is copied once at the end, not added twice.
                let effective = if effective_is_cost {
                    Part::float(f64::NAN)
                } else if t.effective_cost_is_billed(row) {
                    cost
                } else {
                    Part::float(t.effective_cost(row))
                };
                if !effective.is_nan() {
                    cell.1.add(effective);
                    cell.3 = true;
                }
                if let Some(resources) = &resource_reader {
                    let resource = resources.get(row);
                    let new = if seen_bits.is_empty() {
                        seen_pairs.insert((slot as u64) << 32 | resource as u64)
                    } else {
                        let bit = g as usize * n_resources + resource as usize;
                        let word = &mut seen_bits[bit / 64];
                        let mask = 1u64 << (bit % 64);
                        let new = *word & mask == 0;
                        *word |= mask;
                        new
                    };
                    if new {
                        pairs.push((slot as u32, resource));
                    }
                }
            }
        }
        let Accumulators { keys, counts, quantity, unit_seen, mut money, .. } = acc;
        if effective_is_cost {
            money.iter_mut().for_each(|(cost, effective, has_cost, has_effective)| {
                (*effective, *has_effective) = (*cost, *has_cost);
            });
        }
        pairs.sort_unstable();

        // Measures of a set of slots, summed straight from the accumulators.
        let totals_of = |slots: &[usize]| {
            let mut q = vec![(DecimalSum::default(), false); n_units];
            let mut m = vec![(DecimalSum::default(), DecimalSum::default(), false, false); n_currencies];
            let mut rows = 0;
            for &slot in slots {
                rows += counts[slot];
                for (u, cell) in q.iter_mut().enumerate() {
                    if unit_seen[slot * n_units + u] {
                        cell.0.merge(&quantity[slot * n_units + u]);
                        cell.1 = true;
                    }
                }
                for (c, cell) in m.iter_mut().enumerate() {
                    let from = &money[slot * n_currencies + c];
                    cell.0.merge(&from.0);
                    cell.1.merge(&from.1);
                    (cell.2, cell.3) = (cell.2 || from.2, cell.3 || from.3);
                }
            }
            let mut totals = Totals { rows, ..Default::default() };
            for (u, (value, seen)) in q.into_iter().enumerate() {
                if seen {
                    totals.quantity.insert(units.labels.get(u).cloned().unwrap_or_default(), value.value());
                }
            }
            for (c, (cost, effective, has_cost, has_effective)) in m.into_iter().enumerate() {
                let label = || currencies.labels.get(c).cloned().unwrap_or_default();
                if has_cost {
                    totals.cost.insert(label(), cost.value());
                }
                if has_effective {
                    totals.effective_cost.insert(label(), effective.value());
                }
            }
            if let [slot] = slots {
                // Pairs are sorted by slot: one group's resources are a range.
                let from = pairs.partition_point(|(s, _)| (*s as usize) < *slot);
                let to = pairs.partition_point(|(s, _)| (*s as usize) <= *slot);
                totals.resources = (to - from) as u64;
            } else if resource_codes.is_some() {
                let mut in_set = vec![false; counts.len()];
                slots.iter().for_each(|&s| in_set[s] = true);
                let mut ids: Vec<u32> = pairs.iter().filter(|(s, _)| in_set[*s as usize]).map(|(_, r)| *r).collect();
                ids.sort_unstable();
                ids.dedup();
                totals.resources = ids.len() as u64;
            }
            totals
        };
        let key_of = |slot: usize| {
            let mut g = keys[slot];
            let mut key = vec![(Dimension::Subscription, String::new()); dims.len()];
            let mut ranks = ranked.iter().flat_map(|r| r.ranks.iter().rev()).peekable();
            for (i, c) in dims.iter().enumerate().rev() {
                let n = c.labels.len().max(1) as u64;
                key[i] = (query.group_by[i].clone(), c.labels.get((g % n) as usize).cloned().unwrap_or_default());
                g /= n;
                if let Some((_, prefixes)) = ranks.next_if(|(first, _)| *first == i) {
                    g = prefixes.get(g as usize).copied().unwrap_or(0);
                }
            }
            key
        };

        // Order the slots (keys are in label order), then build groups only for what is shown.
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_unstable_by_key(|&slot| keys[slot]);
        let measure = |slot: usize| -> f64 {
            let find = |labels: &[String], name: &str| labels.iter().position(|l| l == name);
            match &query.sort {
                SortBy::Key => 0.0,
                SortBy::Rows => counts[slot] as f64,
                SortBy::Quantity(unit) => {
                    find(&units.labels, unit).map_or(0.0, |u| quantity[slot * n_units + u].value())
                }
                SortBy::Cost(currency) => {
                    find(&currencies.labels, currency).map_or(0.0, |c| money[slot * n_currencies + c].0.value())
                }
            }
        };
        if query.sort != SortBy::Key {
            let values: Vec<f64> = (0..counts.len()).map(measure).collect();
            order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        }
        let group_count = order.len();
        let (shown, rest) = match query.top {
            Some(n) if n < order.len() => order.split_at(n),
            _ => (&order[..], &order[..0]),
        };
        let (skip, take) = query.page.unwrap_or((0, usize::MAX));
        let mut groups: Vec<Group> = shown
            .iter()
            .skip(skip)
            .take(take)
            .map(|&slot| Group { key: key_of(slot), totals: totals_of(&[slot]) })
            .collect();
        let others_position = shown.len();
        if !rest.is_empty() && others_position >= skip && others_position - skip < take {
            let key = query.group_by.iter().map(|d| (d.clone(), OTHERS.to_string())).collect();
            groups.push(Group { key, totals: totals_of(rest) });
        }
        let total = totals_of(&order);
        QueryResult { groups, group_count, total }
    }

    /// The values of `dimension` with their row counts under every filter of `query` except those on
    /// `dimension` itself (what a slicer lists while other visuals are filtered).
    /// Only rows are counted, one code a row: no measures per value (a slicer of 20,000 resource groups would
    /// otherwise build 20,000 groups of totals at each click).
    pub fn slicer(&self, query: &Query, dimension: &Dimension) -> Vec<(String, u64)> {
        let filters = query.filters.iter().filter(|f| f.dimension() != Some(dimension)).cloned().collect();
        let q = Query { filters, ..query.clone() };
        let rows = self.selection(&q);
        let codes = self.codes(dimension, q.utc_offset_minutes);
        let reader = codes.per_row.reader(self.table());
        let mut counts = vec![0u64; codes.labels.len().max(1)];
        let (mut blocks, mut block_rows, mut block_codes) = (rows.iter(), [0u32; KEY_BLOCK], [0u32; KEY_BLOCK]);
        loop {
            let n = blocks.fill(&mut block_rows);
            if n == 0 {
                break;
            }
            reader.gather(&block_rows[..n], &mut block_codes);
            block_codes[..n].iter().for_each(|&code| counts[code as usize] += 1);
        }
        // Codes follow label order: the values come sorted, as groups by key.
        codes.labels.iter().zip(counts).filter(|(_, n)| *n > 0).map(|(label, n)| (label.clone(), n)).collect()
    }

    /// A matrix: `rows` dimensions down, `columns` across, with subtotals at every row level and a total column
    /// and row. Every subtotal is the sum of the cells it spans, so the matrix adds up exactly.
    pub fn matrix(&self, query: &Query, rows: &[Dimension], columns: &[Dimension]) -> Matrix {
        let mut q =
            Query { group_by: [rows, columns].concat(), top: None, page: None, sort: SortBy::Key, ..query.clone() };
        q.distinct_resources = false;
        let result = self.run(&q);
        let mut column_keys: Vec<Vec<String>> =
            result.groups.iter().map(|g| g.key[rows.len()..].iter().map(|k| k.1.clone()).collect()).collect();
        column_keys.sort();
        column_keys.dedup();
        let column_index: HashMap<&Vec<String>, usize> = column_keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let mut leaves: BTreeMap<Vec<String>, Vec<Totals>> = BTreeMap::new();
        for g in &result.groups {
            let row_key: Vec<String> = g.key[..rows.len()].iter().map(|k| k.1.clone()).collect();
            let col_key: Vec<String> = g.key[rows.len()..].iter().map(|k| k.1.clone()).collect();
            let cells = leaves.entry(row_key).or_insert_with(|| vec![Totals::default(); column_keys.len()]);
            cells[column_index[&col_key]].add(&g.totals);
        }
        // Subtotal rows for every prefix, built by adding the leaves under them.
        let mut out: Vec<MatrixRow> = Vec::new();
        let mut grand = vec![Totals::default(); column_keys.len()];
        let leaf_rows: Vec<(Vec<String>, Vec<Totals>)> = leaves.into_iter().collect();
        fn add_cells(into: &mut [Totals], from: &[Totals]) {
            for (a, b) in into.iter_mut().zip(from) {
                a.add(b);
            }
        }
        let mut i = 0;
        while i < leaf_rows.len() {
            emit(&leaf_rows, &mut i, 0, rows.len(), column_keys.len(), &mut out, &mut grand);
        }
        fn emit(
            leaves: &[(Vec<String>, Vec<Totals>)],
            i: &mut usize,
            level: usize,
            depth: usize,
            width: usize,
            out: &mut Vec<MatrixRow>,
            parent: &mut [Totals],
        ) {
            if level + 1 >= depth {
                let (key, cells) = &leaves[*i];
                add_cells(parent, cells);
                out.push(MatrixRow {
                    key: key.clone(),
                    level,
                    subtotal: false,
                    total: row_total(cells),
                    cells: cells.clone(),
                });
                *i += 1;
                return;
            }
            let prefix = leaves[*i].0[..=level].to_vec();
            let position = out.len();
            out.push(MatrixRow {
                key: prefix.clone(),
                level,
                subtotal: true,
                cells: Vec::new(),
                total: Totals::default(),
            });
            let mut cells = vec![Totals::default(); width];
            while *i < leaves.len() && leaves[*i].0[..=level] == prefix[..] {
                emit(leaves, i, level + 1, depth, width, out, &mut cells);
            }
            add_cells(parent, &cells);
            out[position].total = row_total(&cells);
            out[position].cells = cells;
        }
        fn row_total(cells: &[Totals]) -> Totals {
            let mut total = Totals::default();
            for c in cells {
                total.add(c);
            }
            total
        }
        let grand_total = row_total(&grand);
        Matrix {
            row_dimensions: rows.to_vec(),
            column_dimensions: columns.to_vec(),
            columns: column_keys,
            rows: out,
            column_totals: grand,
            grand_total,
        }
    }
}

/// Per-group accumulators, one slot per group seen.
#[derive(Default)]
struct Accumulators {
    n_units: usize,
    n_currencies: usize,
    keys: Vec<u64>,
    counts: Vec<u64>,
    quantity: Vec<DecimalSum>,
    unit_seen: Vec<bool>,
    /// Per slot and currency: billed cost, effective cost, and whether any row carried each.
    money: Vec<(DecimalSum, DecimalSum, bool, bool)>,
}

impl Accumulators {
    fn new_slot(&mut self, key: u64) -> usize {
        self.keys.push(key);
        self.counts.push(0);
        self.quantity.resize(self.quantity.len() + self.n_units, DecimalSum::default());
        self.unit_seen.resize(self.unit_seen.len() + self.n_units, false);
        self.money.resize(self.money.len() + self.n_currencies, Default::default());
        self.keys.len() - 1
    }
}

/// Rows whose group keys are computed together.
const KEY_BLOCK: usize = 1024;

/// The group key of each of `rows` (codes of `dims`, read through `readers`, in mixed radix).
fn group_keys(dims: &[Rc<Codes>], readers: &[CodeReader], rows: &[u32], keys: &mut [u64]) {
    let mut codes = [0u32; KEY_BLOCK];
    keys.fill(0);
    for (dim, reader) in dims.iter().zip(readers) {
        let radix = dim.labels.len().max(1) as u64;
        reader.gather(rows, &mut codes);
        for (key, &code) in keys.iter_mut().zip(&codes) {
            *key = *key * radix + code as u64;
        }
    }
}

/// Group keys of the selected rows when the dimensions' mixed-radix key space does not fit in a u64: before a
/// dimension whose radix would overflow it, the key of the dimensions so far is replaced by its rank among the
/// keys that occur (sorted, so keys keep label order). A rank is below the row count, so the next step fits.
struct RankedKeys {
    /// The key of each selected row.
    keys: Vec<u64>,
    /// Each replacement: the first dimension after it, and the keys it ranked (rank → key).
    ranks: Vec<(usize, Vec<u64>)>,
}

impl RankedKeys {
    fn of(t: &UsageTable, dims: &[Rc<Codes>], rows: &[u32]) -> RankedKeys {
        let (mut keys, mut ranks) = (vec![0u64; rows.len()], Vec::new());
        let mut codes = vec![0u32; rows.len()];
        let mut space = 1u64;
        for (i, dim) in dims.iter().enumerate() {
            let radix = dim.labels.len().max(1) as u64;
            if space.checked_mul(radix).is_none() {
                let mut prefixes = keys.clone();
                prefixes.sort_unstable();
                prefixes.dedup();
                for key in &mut keys {
                    *key = prefixes.binary_search(key).unwrap_or(0) as u64;
                }
                space = prefixes.len().max(1) as u64;
                ranks.push((i, prefixes));
            }
            dim.per_row.reader(t).gather(rows, &mut codes);
            for (key, &code) in keys.iter_mut().zip(&codes) {
                *key = *key * radix + code as u64;
            }
            space = space.saturating_mul(radix);
        }
        RankedKeys { keys, ranks }
    }
}

/// Dense codes from dictionary ids (`ids[row] < n_ids`), each id grouped by `key_of_id` (several may share one),
/// numbered in label order; no hashing per row and no code per row (rows counted per id, codes read through).
fn compact_dense(
    column: Through,
    ids: &[StrId],
    n_ids: usize,
    key_of_id: impl Fn(StrId) -> i64,
    label: impl Fn(i64) -> String,
) -> Codes {
    let mut rows_of_id = vec![0u32; n_ids.max(1)];
    for &id in ids {
        rows_of_id[id_index(id, n_ids)] += 1;
    }
    let held = || (0..rows_of_id.len()).filter(|&id| rows_of_id[id] > 0);
    let mut raw: Vec<i64> = held().map(|id| key_of_id(StrId(id as u32))).collect();
    raw.sort_unstable();
    raw.dedup();
    let (rank, labels) = label_order(&raw, label);
    let (mut code_of_id, mut counts) = (vec![0u32; rows_of_id.len()], vec![0u32; raw.len()]);
    for id in held() {
        let code = raw.binary_search(&key_of_id(StrId(id as u32))).map_or(0, |i| rank[i]);
        code_of_id[id] = code;
        counts[code as usize] += rows_of_id[id];
    }
    let per_row = through(column, code_of_id, ids.len(), raw.len());
    Codes { per_row, labels, counts }
}

/// Dense codes of a time bucket of the usage start (`key` of the time); a narrow column's distinct times are
/// bucketed once each.
fn by_time(t: &UsageTable, key: &dyn Fn(i64) -> i64, label: &dyn Fn(i64) -> String) -> Codes {
    match t.usage_start.distinct() {
        Some((times, indexes)) => {
            from_distinct(Through::UsageStart, indexes, t.len(), times.iter().map(|&at| key(at)).collect(), label)
        }
        None => compact(t.len(), |row| key(t.usage_start[row]), label),
    }
}

/// Dense codes from sparse keys, numbered in label order.
fn compact(len: usize, key: impl Fn(usize) -> i64, label: impl Fn(i64) -> String) -> Codes {
    let keys: Vec<i64> = (0..len).map(key).collect();
    let (min, max) = keys.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let mut raw: Vec<i64> = Vec::new();
    // Keys in a small range (days, hours, months, files) index an array; others go through a hash map.
    let per_row: Vec<u32> = match max.checked_sub(min).filter(|&span| span < DENSE_LIMIT as i64) {
        Some(span) if len > 0 => {
            let mut code_of = vec![u32::MAX; span as usize + 1];
            keys.iter()
                .map(|&k| {
                    let code = &mut code_of[(k - min) as usize];
                    if *code == u32::MAX {
                        *code = raw.len() as u32;
                        raw.push(k);
                    }
                    *code
                })
                .collect()
        }
        _ => {
            let mut index: HashMap<i64, u32> = HashMap::new();
            keys.iter()
                .map(|&k| {
                    *index.entry(k).or_insert_with(|| {
                        raw.push(k);
                        raw.len() as u32 - 1
                    })
                })
                .collect()
        }
    };
    order_codes(per_row, raw, label)
}

/// Dense codes of a narrow column: `keys` per distinct value (several may share a key), each row's code through
/// its index; no key per row. Values no row holds get no code.
fn from_distinct(
    column: Through,
    indexes: &Packed,
    len: usize,
    keys: Vec<i64>,
    label: impl Fn(i64) -> String,
) -> Codes {
    let mut rows_of_index = vec![0u32; keys.len()];
    for row in 0..len {
        rows_of_index[indexes.get(row)] += 1;
    }
    let mut raw: Vec<i64> = keys.iter().zip(&rows_of_index).filter(|(_, &n)| n > 0).map(|(&k, _)| k).collect();
    raw.sort_unstable();
    raw.dedup();
    let (rank, labels) = label_order(&raw, label);
    let code_of_index: Vec<u32> = keys.iter().map(|k| raw.binary_search(k).map_or(0, |i| rank[i])).collect();
    let mut counts = vec![0u32; raw.len()];
    // Only indexes some row holds have a code (a damaged snapshot may carry values for no row at all).
    for (index, &n) in rows_of_index.iter().enumerate().filter(|(_, &n)| n > 0) {
        counts[code_of_index[index] as usize] += n;
    }
    let per_row = through(column, code_of_index, len, raw.len());
    Codes { per_row, labels, counts }
}

/// Codes through `column` (`code_of` each of its indexes), or none when there is one code.
fn through(column: Through, code_of: Vec<u32>, len: usize, n_codes: usize) -> CodeVec {
    if n_codes <= 1 {
        CodeVec::Zero(len)
    } else {
        CodeVec::Through { column, code_of, len }
    }
}

/// Each key's code when codes follow label order (time labels are ISO, so also chronological), and the labels
/// in code order.
fn label_order(raw: &[i64], label: impl Fn(i64) -> String) -> (Vec<u32>, Vec<String>) {
    let labels: Vec<String> = raw.iter().map(|&k| label(k)).collect();
    let mut order: Vec<u32> = (0..raw.len() as u32).collect();
    order.sort_by(|&a, &b| labels[a as usize].cmp(&labels[b as usize]).then(raw[a as usize].cmp(&raw[b as usize])));
    let mut rank = vec![0u32; raw.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    let mut labels: Vec<Option<String>> = labels.into_iter().map(Some).collect();
    (rank, order.iter().map(|&i| labels[i as usize].take().unwrap_or_default()).collect())
}

/// The codes of `len` rows that all hold `key`.
fn order_codes_of_one(len: usize, key: i64, label: impl Fn(i64) -> String) -> Codes {
    let (labels, counts) = if len == 0 { (Vec::new(), Vec::new()) } else { (vec![label(key)], vec![len as u32]) };
    Codes { per_row: CodeVec::Zero(len), labels, counts }
}

/// Renumbers first-seen codes so that codes follow label order.
fn order_codes(per_row: Vec<u32>, raw: Vec<i64>, label: impl Fn(i64) -> String) -> Codes {
    let (rank, labels) = label_order(&raw, label);
    let mut counts = vec![0u32; raw.len()];
    for &code in &per_row {
        counts[rank[code as usize] as usize] += 1;
    }
    let per_row = CodeVec::collect(per_row.len(), raw.len(), |row| rank[per_row[row] as usize]);
    Codes { per_row, labels, counts }
}

/// One row of a [`Matrix`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixRow {
    /// Row dimension values down to `level`.
    pub key: Vec<String>,
    /// Depth in the row hierarchy (0 = top).
    pub level: usize,
    /// A subtotal of the rows under `key`.
    pub subtotal: bool,
    /// One cell per column key.
    pub cells: Vec<Totals>,
    /// The row's total across columns.
    pub total: Totals,
}

/// A row hierarchy × column hierarchy with subtotals and totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Dimensions down.
    pub row_dimensions: Vec<Dimension>,
    /// Dimensions across.
    pub column_dimensions: Vec<Dimension>,
    /// Column keys, in order.
    pub columns: Vec<Vec<String>>,
    /// Rows in display order: each subtotal before the rows it spans.
    pub rows: Vec<MatrixRow>,
    /// Per column, the total of the top-level rows.
    pub column_totals: Vec<Totals>,
    /// Everything.
    pub grand_total: Totals,
}

#[cfg(test)]
mod tests;

//! Ingest: bytes of any usage file, fed in chunks of any size, into a [`UsageTable`], with row problems
//! reported beside the rows. Sans-IO: the caller reads the file (CLI: `std::fs`, browser: `File.slice`).
//! Gzip is undone on the fly; CSV goes through `csv-core`, JSON through a streaming row scanner.

mod detect;
mod json;
#[cfg(feature = "parquet")]
mod parquet;
mod row;

use std::fmt;
use std::io::Write;

use flate2::write::MultiGzDecoder;

use crate::csv_records::{CsvRecords, Event, Record};
use crate::table::UsageTable;
use crate::time::DateOrder;

use detect::Closest;
pub use detect::{ColumnMapping, Field, Layout};
use json::{JsonEvent, JsonRows};
use row::{FileRows, RawRow};

/// A file format MeterLens reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Format {
    /// AzureStack-Tools `Usagesummary.ps1` output (`UsageSummary.csv`).
    UsageSummaryCsv,
    /// AzureStack-Tools `AppServiceUsageSummary.csv`.
    AppServiceUsageSummaryCsv,
    /// Usage API JSON: Azure Stack Hub `subscriberUsageAggregates` / `usageAggregates`, or Azure's.
    UsageApiJson,
    /// Partner Center Azure utilization records JSON.
    PartnerCenterJson,
    /// Account Center v2 detailed usage, the "Daily Usage" section.
    AccountCenterDailyCsv,
    /// EA portal / EA Reporting usage detail v2.
    EaDetailCsv,
    /// Pay-as-you-go usage details (2019-11-01).
    PaygUsageCsv,
    /// Cost Management export (EA or MCA, actual or amortized).
    CostManagementCsv,
    /// FOCUS 1.0 / 1.0r2 export.
    Focus10Csv,
    /// FOCUS 1.2 export.
    Focus12Csv,
    /// Partner Center legacy usage-based reconciliation file (CSP, one row per meter and billing cycle).
    PartnerCenterUsageCsv,
    /// Partner Center daily rated usage reconciliation file (CSP, Azure plan / new commerce).
    PartnerCenterDailyCsv,
    /// A CSV read through the user's own column mapping.
    Mapped,
    /// Not yet known (the header has not been read).
    Unknown,
}

impl Format {
    /// Every format, `Unknown` last.
    pub const ALL: [Format; 14] = [
        Format::UsageSummaryCsv,
        Format::AppServiceUsageSummaryCsv,
        Format::UsageApiJson,
        Format::PartnerCenterJson,
        Format::AccountCenterDailyCsv,
        Format::EaDetailCsv,
        Format::PaygUsageCsv,
        Format::CostManagementCsv,
        Format::Focus10Csv,
        Format::Focus12Csv,
        Format::PartnerCenterUsageCsv,
        Format::PartnerCenterDailyCsv,
        Format::Mapped,
        Format::Unknown,
    ];

    /// The format whose [`Format::as_str`] is `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Stable machine name, used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::UsageSummaryCsv => "azs-usagesummary-csv",
            Format::AppServiceUsageSummaryCsv => "azs-appservice-usagesummary-csv",
            Format::UsageApiJson => "usage-api-json",
            Format::PartnerCenterJson => "partner-center-json",
            Format::AccountCenterDailyCsv => "account-center-daily-csv",
            Format::EaDetailCsv => "ea-detail-csv",
            Format::PaygUsageCsv => "payg-usage-csv",
            Format::CostManagementCsv => "cost-management-csv",
            Format::Focus10Csv => "focus-1.0-csv",
            Format::Focus12Csv => "focus-1.2-csv",
            Format::PartnerCenterUsageCsv => "partner-center-usage-csv",
            Format::PartnerCenterDailyCsv => "partner-center-daily-csv",
            Format::Mapped => "mapped-csv",
            Format::Unknown => "unknown",
        }
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            Format::UsageSummaryCsv => "Azure Stack Hub Usagesummary.ps1 CSV",
            Format::AppServiceUsageSummaryCsv => "Azure Stack Hub AppServiceUsageSummary CSV",
            Format::UsageApiJson => "usage API JSON",
            Format::PartnerCenterJson => "Partner Center utilization JSON",
            Format::AccountCenterDailyCsv => "Account Center daily usage CSV",
            Format::EaDetailCsv => "EA usage detail CSV",
            Format::PaygUsageCsv => "pay-as-you-go usage details CSV",
            Format::CostManagementCsv => "Cost Management export CSV",
            Format::Focus10Csv => "FOCUS 1.0 CSV",
            Format::Focus12Csv => "FOCUS 1.2 CSV",
            Format::PartnerCenterUsageCsv => "Partner Center usage-based reconciliation CSV",
            Format::PartnerCenterDailyCsv => "Partner Center daily rated usage CSV",
            Format::Mapped => "CSV with a user column mapping",
            Format::Unknown => "unknown format",
        }
    }
}

/// A problem with one row (or one field of it). The row is kept unless `dropped` says otherwise.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Line in the file where the row starts (1-based; 0 for the file as a whole).
    pub line: u64,
    /// Column name, when the problem is in one field.
    pub column: Option<String>,
    /// What is wrong, for people.
    pub message: String,
    /// A short excerpt of the offending text.
    pub excerpt: String,
    /// True when the row could not be used and was left out of the table.
    pub dropped: bool,
}

/// Why a whole file (or its rest) could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum FileError {
    /// Nothing in the file.
    #[error("the file is empty")]
    Empty,
    /// NUL bytes or other binary content.
    #[error("this is a binary file, not a CSV or JSON usage export")]
    Binary,
    /// UTF-16 text (Excel "Unicode text" or PowerShell 5 `Out-File`).
    #[error("the file is UTF-16 text; save it as UTF-8 CSV and load it again")]
    Utf16,
    /// Gzip data that does not decompress.
    #[error("the gzip data is damaged ({message}); rows before the damage were kept")]
    Gzip {
        /// What the decompressor said.
        message: String,
    },
    /// JSON that breaks its own syntax.
    #[error("broken JSON at line {line}: {message}; rows before it were kept")]
    BrokenJson {
        /// Line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// JSON that ends in the middle.
    #[error("the JSON ends early (line {line}): the file is truncated; rows before the cut were kept")]
    TruncatedJson {
        /// Last line.
        line: u64,
    },
    /// JSON with no array of usage rows.
    #[error("JSON without a \"value\" or \"items\" array of usage rows (expected a usage API page or Partner Center utilization records)")]
    JsonWithoutRows,
    /// A Parquet file whose footer, schema or pages cannot be decoded.
    #[error("the Parquet file cannot be read ({message}); rows before the damage were kept")]
    Parquet {
        /// What the Parquet reader said.
        message: String,
    },
    /// The header matches no known format.
    #[error("not a usage file MeterLens knows: the closest format is {closest} ({matched} of {expected} key columns), which also needs {}", missing.join(", "))]
    UnknownHeader {
        /// Closest known format.
        closest: String,
        /// Key columns of it found.
        matched: usize,
        /// Key columns it has.
        expected: usize,
        /// Key columns it lacks.
        missing: Vec<String>,
    },
}

/// Bytes from the start of a file that [`fingerprint`] reads.
pub const FINGERPRINT_BYTES: usize = 1 << 20;

/// Identifies a file's content for "the same file twice" checks: its size and a hash (FNV-1a) of its first
/// [`FINGERPRINT_BYTES`] bytes (`head` may be longer; the rest is ignored). Two usage exports of one size that
/// agree on their first MiB are the same export.
pub fn fingerprint(size: u64, head: &[u8]) -> u64 {
    let head = &head[..head.len().min(FINGERPRINT_BYTES)];
    crate::fnv1a(head) ^ size.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// At most this many issues are kept per file; the rest are only counted.
pub const MAX_ISSUES_KEPT: usize = 1000;

/// Lines looked at for a header before giving up (EA files have a preamble, Account Center several sections).
const MAX_HEADER_SEARCH_RECORDS: u32 = 10_000;

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileReport {
    /// File name.
    pub file: String,
    /// Detected format (`Unknown` when detection failed).
    pub format: Format,
    /// Rows added to the table.
    pub rows: u64,
    /// Rows that could not be used (each has an issue).
    pub rejected: u64,
    /// Row problems, the first [`MAX_ISSUES_KEPT`].
    pub issues: Vec<Issue>,
    /// Total number of issues, including those not kept.
    pub issue_count: u64,
    /// Bytes read (compressed size for gzip files).
    pub bytes: u64,
    /// True when the file was gzip-compressed.
    pub gzip: bool,
    /// True when the file was Parquet.
    #[serde(default)]
    pub parquet: bool,
    /// Lines skipped before the header (preamble, other sections).
    pub preamble_lines: u64,
    /// The order of day and month in slash dates, decided from every date in the file.
    pub date_order: Option<DateOrder>,
    /// Field delimiter of a CSV (`;` means decimal commas are read too).
    pub delimiter: char,
    /// True when text that is not UTF-8 was read as Latin-1 (Windows-1252 for the printable range).
    pub latin1: bool,
    /// Set when the file, or its rest, could not be read.
    pub error: Option<FileError>,
}

impl FileReport {
    fn new(file: &str) -> Self {
        FileReport {
            file: file.to_string(),
            format: Format::Unknown,
            rows: 0,
            rejected: 0,
            issues: Vec::new(),
            issue_count: 0,
            bytes: 0,
            gzip: false,
            parquet: false,
            preamble_lines: 0,
            date_order: None,
            delimiter: ',',
            latin1: false,
            error: None,
        }
    }

    /// The format for people, with the container: "Cost Management export (Parquet)".
    pub fn format_label(&self) -> String {
        match self.parquet {
            true => format!("{} (Parquet)", self.format.label().trim_end_matches(" CSV")),
            false => self.format.label().to_string(),
        }
    }

    fn push_issue(&mut self, issue: Issue) {
        self.issue_count += 1;
        if issue.dropped {
            self.rejected += 1;
        }
        if self.issues.len() < MAX_ISSUES_KEPT {
            self.issues.push(issue);
        }
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.error {
            write!(f, "{}: {e}", self.file)?;
            if self.rows == 0 {
                return Ok(());
            }
            write!(f, ". ")?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        write!(
            f,
            "{} rows as {} ({} rejected, {} issues)",
            self.rows,
            self.format_label(),
            self.rejected,
            self.issue_count
        )
    }
}

/// Options for reading files.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// The user's own column mapping, for CSVs whose header is not detected (or to override detection).
    pub mapping: ColumnMapping,
}

/// The bytes a Parquet file starts with.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Bytes looked at before deciding what a file is, if no line ends sooner.
const SNIFF_BYTES: usize = 64 * 1024;
/// Bytes checked for NUL (binary content) before deciding.
const BINARY_SNIFF_BYTES: usize = 4096;
/// Compressed bytes handed to the gzip decoder at a time (bounds the decompressed buffer).
const GZIP_SLICE: usize = 16 * 1024;
/// Rows of a file read before its size estimates how many it holds.
const ESTIMATE_FROM_ROWS: usize = 1000;

enum State {
    /// Collecting the first bytes to decide the format.
    Sniffing(Vec<u8>),
    Csv(Box<CsvState>),
    Json(Box<JsonRows>),
    /// A Parquet file fed as bytes: kept until the end, where its footer is.
    Parquet(Vec<u8>),
    /// Read another way (Parquet through random access, `Ingester::read_parquet`).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    Read,
    Failed,
}

struct CsvState {
    stream: CsvRecords,
    layout: Option<Layout>,
    closest: Closest,
    records_before_header: u32,
    section_ended: bool,
}

/// Reads one file into a table, chunk by chunk.
///
/// The result is the same however the bytes are split into chunks.
pub struct Ingester {
    table: UsageTable,
    options: IngestOptions,
    state: State,
    rows: FileRows,
    report: FileReport,
    /// First raw bytes, until the gzip magic can be checked.
    raw_head: Option<Vec<u8>>,
    gunzip: Option<MultiGzDecoder<Vec<u8>>>,
    /// The file's size, until its rows have been estimated from it (see [`Ingester::expect_bytes`]).
    expected_bytes: Option<u64>,
    /// Rows of the table before this file.
    rows_before: usize,
}

impl Ingester {
    /// Starts reading `file` into `table` (which may already hold rows of other files).
    pub fn new(table: UsageTable, file: &str) -> Self {
        Self::with_options(table, file, IngestOptions::default())
    }

    /// Like [`Ingester::new`], with options.
    pub fn with_options(mut table: UsageTable, file: &str, options: IngestOptions) -> Self {
        let source = table.add_source(file, Format::Unknown);
        Ingester {
            table,
            options,
            state: State::Sniffing(Vec::new()),
            rows: FileRows::new(source),
            report: FileReport::new(file),
            raw_head: Some(Vec::new()),
            gunzip: None,
            expected_bytes: None,
            rows_before: 0,
        }
    }

    /// Tells the ingester the file's size: once its first rows are read, it estimates how many the file holds and
    /// the table's columns take room for them at once (less memory than growing as they go, in wasm above all).
    pub fn expect_bytes(&mut self, size: u64) {
        self.expected_bytes = Some(size);
        self.rows_before = self.table.len();
    }

    /// Estimates the file's rows from the bytes read so far, once there are enough of them.
    fn estimate_rows(&mut self) {
        let Some(size) = self.expected_bytes else { return };
        let rows = self.table.len().saturating_sub(self.rows_before);
        if self.gunzip.is_some() {
            self.expected_bytes = None;
        } else if rows >= ESTIMATE_FROM_ROWS {
            self.expected_bytes = None;
            // The bytes fed end mid-record at most a record past the rows read; 2% more for rows that run longer.
            let estimate = rows as f64 * size as f64 / self.report.bytes as f64 * 1.02;
            if estimate.is_finite() && estimate > rows as f64 {
                self.table.expect_rows(self.table.len() + (estimate as usize - rows));
            }
        }
    }

    /// Rows in the table so far (this file's and earlier files'), for progress.
    pub fn rows_so_far(&self) -> u64 {
        self.table.len() as u64
    }

    /// Reads a whole Parquet file through random access (its footer first, then row group by row group), for
    /// sources that can seek: a file on disk, a browser `File`. Call [`Ingester::finish`] after.
    #[cfg(feature = "parquet")]
    pub fn read_parquet<R: ::parquet::file::reader::ChunkReader + 'static>(&mut self, source: R) {
        self.report.bytes = source.len();
        self.report.parquet = true;
        self.raw_head = None;
        self.state = State::Read;
        if let Err(error) = parquet::read(source, &self.options, &mut self.table, &mut self.rows, &mut self.report) {
            self.fail(error);
        }
    }

    /// Feeds the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.report.bytes += chunk.len() as u64;
        match self.raw_head.take() {
            Some(mut head) => {
                head.extend_from_slice(chunk);
                if head.len() < 2 {
                    self.raw_head = Some(head);
                    return;
                }
                if head.starts_with(&[0x1f, 0x8b]) {
                    self.report.gzip = true;
                    self.gunzip = Some(MultiGzDecoder::new(Vec::new()));
                }
                self.decode(&head);
            }
            None => self.decode(chunk),
        }
        self.estimate_rows();
    }

    fn decode(&mut self, bytes: &[u8]) {
        if self.gunzip.is_none() {
            return self.feed_plain(bytes);
        }
        if matches!(self.state, State::Failed) {
            return;
        }
        for slice in bytes.chunks(GZIP_SLICE) {
            let Some(gunzip) = &mut self.gunzip else { return };
            let result = gunzip.write_all(slice);
            let plain = std::mem::take(gunzip.get_mut());
            self.feed_plain(&plain);
            if let Err(error) = result {
                return self.fail(FileError::Gzip { message: error.to_string() });
            }
            if matches!(self.state, State::Failed) {
                return;
            }
        }
    }

    fn fail(&mut self, error: FileError) {
        if self.report.error.is_none() {
            self.report.error = Some(error);
        }
        self.state = State::Failed;
    }

    /// Ends the file and returns the table with this file's rows appended, and the report.
    pub fn finish(mut self) -> (UsageTable, FileReport) {
        if let Some(head) = self.raw_head.take() {
            self.decode(&head);
        }
        if let Some(mut gunzip) = self.gunzip.take() {
            let result = gunzip.try_finish();
            let plain = std::mem::take(gunzip.get_mut());
            self.feed_plain(&plain);
            if let Err(error) = result {
                self.fail(FileError::Gzip { message: error.to_string() });
            }
        }
        if let State::Sniffing(head) = &mut self.state {
            let head = std::mem::take(head);
            self.start(&head);
        }
        let Ingester { mut table, options, mut state, mut rows, mut report, .. } = self;
        match &mut state {
            State::Csv(csv) => {
                let CsvState { stream, layout, closest, records_before_header, section_ended } = &mut **csv;
                let mut rest = CsvRest { layout, closest, records_before_header, section_ended };
                let mut error = None;
                stream.finish(&mut |event| {
                    if error.is_none() {
                        error = on_csv_event(event, &mut rest, &options, &mut table, &mut rows, &mut report);
                    }
                });
                if let Some(error) = error {
                    report.error.get_or_insert(error);
                } else if rest.layout.is_none() && report.error.is_none() {
                    report.error = Some(std::mem::take(rest.closest).into_error());
                }
            }
            State::Json(scanner) => {
                if let Some(error) = scanner.finish() {
                    report.error.get_or_insert(error);
                }
            }
            State::Parquet(bytes) => {
                read_parquet_bytes(std::mem::take(bytes), &options, &mut table, &mut rows, &mut report)
            }
            State::Sniffing(_) | State::Read | State::Failed => {}
        }
        rows.finish(&mut table, &mut report);
        table.set_source_format(rows.source, report.format);
        (table, report)
    }

    fn feed_plain(&mut self, chunk: &[u8]) {
        if let State::Sniffing(head) = &mut self.state {
            head.extend_from_slice(chunk);
            // Decide on the first 4 KiB (binary content shows there) and a whole first line, however it was chunked.
            let blank = head.iter().all(u8::is_ascii_whitespace);
            if head.len() < SNIFF_BYTES && (blank || head.len() < BINARY_SNIFF_BYTES || !head.contains(&b'\n')) {
                return;
            }
            let head = std::mem::take(head);
            self.start(&head);
            return;
        }
        self.feed_body(chunk);
    }

    fn start(&mut self, head: &[u8]) {
        let head_without_bom = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let first = head_without_bom.iter().find(|b| !b.is_ascii_whitespace());
        if head.starts_with(PARQUET_MAGIC) {
            self.report.parquet = true;
            self.state = State::Parquet(Vec::new());
            return self.feed_body(head);
        }
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return self.fail(FileError::Utf16);
        }
        if head.iter().take(BINARY_SNIFF_BYTES).any(|&b| b == 0) {
            return self.fail(FileError::Binary);
        }
        if first.is_none() {
            return self.fail(FileError::Empty);
        }
        // A header with more semicolons than commas is a European Excel CSV: `;` between fields, `,` in numbers.
        let first_line = head_without_bom.split(|&b| b == b'\n').next().unwrap_or_default();
        let count = |c: u8| first_line.iter().filter(|&&b| b == c).count();
        let semicolons = count(b';') > count(b',');
        self.rows.decimal_comma = semicolons;
        self.report.delimiter = if semicolons { ';' } else { ',' };
        self.state = if looks_like_json(head_without_bom) {
            State::Json(Box::new(JsonRows::new()))
        } else {
            State::Csv(Box::new(CsvState {
                stream: if semicolons { CsvRecords::with_delimiter(b';') } else { CsvRecords::default() },
                layout: None,
                closest: Closest::default(),
                records_before_header: 0,
                section_ended: false,
            }))
        };
        self.feed_body(head_without_bom);
    }

    fn feed_body(&mut self, chunk: &[u8]) {
        let Ingester { table, options, state, rows, report, .. } = self;
        match state {
            State::Csv(csv) => {
                let CsvState { stream, layout, closest, records_before_header, section_ended } = &mut **csv;
                let mut rest = CsvRest { layout, closest, records_before_header, section_ended };
                let mut error = None;
                stream.feed(chunk, &mut |event| {
                    if error.is_none() {
                        error = on_csv_event(event, &mut rest, options, table, rows, report);
                    }
                });
                if let Some(error) = error {
                    report.error.get_or_insert(error);
                    *state = State::Failed;
                }
            }
            State::Json(scanner) => {
                scanner.feed(chunk, &mut |event| on_json_event(event, table, rows, report));
            }
            State::Parquet(bytes) => bytes.extend_from_slice(chunk),
            State::Sniffing(_) | State::Read | State::Failed => {}
        }
    }
}

#[cfg(feature = "parquet")]
fn read_parquet_bytes(
    bytes: Vec<u8>,
    options: &IngestOptions,
    table: &mut UsageTable,
    rows: &mut FileRows,
    report: &mut FileReport,
) {
    if let Err(error) = parquet::read(bytes::Bytes::from(bytes), options, table, rows, report) {
        report.error.get_or_insert(error);
    }
}

#[cfg(not(feature = "parquet"))]
fn read_parquet_bytes(_: Vec<u8>, _: &IngestOptions, _: &mut UsageTable, _: &mut FileRows, report: &mut FileReport) {
    report.error.get_or_insert(FileError::Parquet { message: "this build has no Parquet reader".into() });
}

/// The CSV state other than the record stream (records borrow the stream's buffer).
struct CsvRest<'a> {
    layout: &'a mut Option<Layout>,
    closest: &'a mut Closest,
    records_before_header: &'a mut u32,
    section_ended: &'a mut bool,
}

/// `{…`, or an array of objects, arrays, strings or numbers (a TOML or INI `[section]` header is not JSON).
fn looks_like_json(head: &[u8]) -> bool {
    let mut significant = head.iter().filter(|b| !b.is_ascii_whitespace());
    match significant.next() {
        Some(b'{') => true,
        Some(b'[') => matches!(significant.next(), Some(b'{' | b'[' | b']' | b'"' | b'-' | b'0'..=b'9') | None),
        _ => false,
    }
}

fn too_long(line: u64) -> Issue {
    Issue {
        line,
        column: None,
        message: format!(
            "row is longer than {} MiB or {} fields and was skipped",
            crate::csv_records::MAX_RECORD_BYTES >> 20,
            crate::csv_records::MAX_FIELDS
        ),
        excerpt: String::new(),
        dropped: true,
    }
}

/// Handles one CSV record; returns a file-level error when the header cannot be found.
fn on_csv_event(
    event: Event<'_>,
    csv: &mut CsvRest<'_>,
    options: &IngestOptions,
    table: &mut UsageTable,
    rows: &mut FileRows,
    report: &mut FileReport,
) -> Option<FileError> {
    let record = match event {
        Event::Record(record) => record,
        Event::TooLong { line } => {
            report.push_issue(too_long(line));
            return None;
        }
    };
    if *csv.section_ended {
        return None;
    }
    let Some(layout) = csv.layout.as_ref() else {
        let names: Vec<String> = record.iter().map(|b| String::from_utf8_lossy(b).trim().to_string()).collect();
        match detect::detect(names, &options.mapping, csv.closest) {
            Some(found) => {
                report.format = found.format;
                rows.format = found.format;
                report.preamble_lines = record.line - 1;
                *csv.layout = Some(found);
            }
            None => {
                *csv.records_before_header += 1;
                if *csv.records_before_header >= MAX_HEADER_SEARCH_RECORDS {
                    return Some(std::mem::take(csv.closest).into_error());
                }
            }
        }
        return None;
    };
    if record.len() == 1 && layout.width() > 1 {
        if layout.format == Format::AccountCenterDailyCsv {
            // Account Center files hold several sections; the daily usage one ends where the next begins.
            *csv.section_ended = true;
            let title = String::from_utf8_lossy(record.get(0).unwrap_or_default()).trim().to_string();
            report.push_issue(Issue {
                line: record.line,
                column: None,
                message: format!("the daily usage section ends here; the section {title:?} that follows was not read"),
                excerpt: title,
                dropped: false,
            });
            return None;
        }
        if record.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
            return None;
        }
    }
    // Fewer fields (a cut line) or more non-empty ones (an unquoted comma) would shift values into wrong columns.
    let extra =
        (layout.width()..record.len()).any(|i| record.get(i).is_some_and(|f| !f.iter().all(u8::is_ascii_whitespace)));
    if record.len() < layout.width() || extra {
        let excerpt: Vec<String> = record.iter().take(4).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        report.push_issue(Issue {
            line: record.line,
            column: None,
            message: format!("row has {} fields, the header has {}; row skipped", record.len(), layout.width()),
            excerpt: excerpt.join(",").chars().take(60).collect(),
            dropped: true,
        });
        return None;
    }
    let raw = csv_raw_row(&record, layout, report);
    row::ingest_row(&raw, rows, table, report);
    None
}

/// Field texts of a CSV record; text that is not UTF-8 is reported and read lossily.
fn csv_raw_row<'r>(record: &Record<'r>, layout: &'r Layout, report: &mut FileReport) -> RawRow<'r> {
    let mut raw = RawRow::csv(record.line, layout);
    let whole = std::str::from_utf8(record.bytes()).ok();
    for field in Field::ALL {
        let Some(index) = layout.column(field) else {
            continue;
        };
        if let Some(text) = whole.and_then(|whole| record.get_str(whole, index)) {
            raw.set(field, std::borrow::Cow::Borrowed(text));
            continue;
        }
        let bytes = record.get(index).unwrap_or_default();
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                // Not UTF-8: an ANSI export. Read it as Latin-1 and say so once per file.
                if !report.latin1 {
                    report.latin1 = true;
                    report.push_issue(Issue {
                        line: record.line,
                        column: Some(layout.column_name(index).to_string()),
                        message: "text is not UTF-8; the file is read as Latin-1 (check names with accents)".into(),
                        excerpt: String::from_utf8_lossy(bytes).chars().take(60).collect(),
                        dropped: false,
                    });
                }
                std::borrow::Cow::Owned(bytes.iter().map(|&b| b as char).collect())
            }
        };
        raw.set(field, text);
    }
    raw
}

fn on_json_event(event: JsonEvent<'_>, table: &mut UsageTable, rows: &mut FileRows, report: &mut FileReport) {
    let (line, bytes) = match event {
        JsonEvent::Row { line, bytes } => (line, bytes),
        JsonEvent::TooLong { line } => {
            report.push_issue(too_long(line));
            return;
        }
    };
    let parsed = match json::parse_row(bytes) {
        Ok(parsed) => parsed,
        Err(error) => {
            report.push_issue(Issue {
                line,
                column: None,
                message: format!("row is not valid JSON ({error}); row skipped"),
                excerpt: String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned(),
                dropped: true,
            });
            return;
        }
    };
    if report.format == Format::Unknown {
        report.format = if parsed.is_partner_center() { Format::PartnerCenterJson } else { Format::UsageApiJson };
        rows.format = report.format;
    }
    let (raw, problems) = json::raw_row(line, &parsed);
    for (field, message) in problems {
        report.push_issue(Issue {
            line,
            column: Some(row::FIELD_NAMES_JSON[field as usize].to_string()),
            message,
            excerpt: String::new(),
            dropped: false,
        });
    }
    row::ingest_row(&raw, rows, table, report);
}

#[cfg(test)]
mod tests;

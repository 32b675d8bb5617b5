//! Ingest: bytes of any usage file, fed in chunks of any size, into a [`UsageTable`], with row problems
//! reported beside the rows. Sans-IO: the caller reads the file (CLI: `std::fs`, browser: `File.slice`).

mod detect;
mod row;

use std::fmt;

use crate::csv_records::{CsvRecords, Event};
use crate::table::UsageTable;

pub use detect::{Field, Layout};

/// A file format MeterLens reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// AzureStack-Tools `Usagesummary.ps1` output (`UsageSummary.csv`).
    UsageSummaryCsv,
    /// AzureStack-Tools `AppServiceUsageSummary.csv`.
    AppServiceUsageSummaryCsv,
    /// Not yet known (the header has not been read).
    Unknown,
}

impl Format {
    /// Stable machine name, used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::UsageSummaryCsv => "azs-usagesummary-csv",
            Format::AppServiceUsageSummaryCsv => "azs-appservice-usagesummary-csv",
            Format::Unknown => "unknown",
        }
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            Format::UsageSummaryCsv => "Azure Stack Hub Usagesummary.ps1 CSV",
            Format::AppServiceUsageSummaryCsv => "Azure Stack Hub AppServiceUsageSummary CSV",
            Format::Unknown => "unknown format",
        }
    }
}

/// A problem with one row (or one field of it). The row is kept unless `dropped` says otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// Line in the file where the row starts (1-based).
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

/// Why a whole file could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
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
    /// JSON is recognised but not readable yet.
    #[error("JSON usage files are not supported yet; export CSV instead")]
    JsonNotSupported,
    /// The header matches no known format.
    #[error("not a usage file MeterLens knows: the closest format is {closest} ({matched} of {expected} columns), which also needs {}", missing.join(", "))]
    UnknownHeader {
        /// Closest known format.
        closest: &'static str,
        /// Columns of it found.
        matched: usize,
        /// Columns it has.
        expected: usize,
        /// Required columns it lacks.
        missing: Vec<String>,
    },
}

/// At most this many issues are kept per file; the rest are only counted.
pub const MAX_ISSUES_KEPT: usize = 1000;

/// What happened to one file.
#[derive(Clone, Debug, PartialEq)]
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
    /// Bytes read.
    pub bytes: u64,
    /// Set when the file as a whole could not be read.
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
            error: None,
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
        match &self.error {
            Some(e) => write!(f, "{}: {e}", self.file),
            None => write!(
                f,
                "{}: {} rows as {} ({} rejected, {} issues)",
                self.file,
                self.rows,
                self.format.label(),
                self.rejected,
                self.issue_count
            ),
        }
    }
}

/// Bytes looked at before deciding what a file is, if no line ends sooner.
const SNIFF_BYTES: usize = 64 * 1024;

enum State {
    /// Collecting the first bytes to decide the format.
    Sniffing(Vec<u8>),
    Csv {
        stream: Box<CsvRecords>,
        layout: Option<Box<Layout>>,
    },
    Failed,
}

/// Reads one file into a table, chunk by chunk.
///
/// The result is the same however the bytes are split into chunks.
pub struct Ingester {
    table: UsageTable,
    source: u16,
    state: State,
    report: FileReport,
}

impl Ingester {
    /// Starts reading `file` into `table` (which may already hold rows of other files).
    pub fn new(mut table: UsageTable, file: &str) -> Self {
        let source = table.add_source(file, Format::Unknown);
        Ingester {
            table,
            source,
            state: State::Sniffing(Vec::new()),
            report: FileReport::new(file),
        }
    }

    /// Feeds the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.report.bytes += chunk.len() as u64;
        if let State::Sniffing(head) = &mut self.state {
            head.extend_from_slice(chunk);
            let blank = head.iter().all(u8::is_ascii_whitespace);
            if head.len() < SNIFF_BYTES && (blank || !head.contains(&b'\n')) {
                return;
            }
            let head = std::mem::take(head);
            self.start(&head);
            return;
        }
        self.feed_body(chunk);
    }

    /// Ends the file and returns the table with this file's rows appended, and the report.
    pub fn finish(mut self) -> (UsageTable, FileReport) {
        if let State::Sniffing(head) = &mut self.state {
            let head = std::mem::take(head);
            self.start(&head);
        }
        let Ingester {
            mut table,
            source,
            mut state,
            mut report,
        } = self;
        if let State::Csv { stream, layout } = &mut state {
            stream
                .finish(&mut |event| on_csv_event(event, layout, &mut table, source, &mut report));
            if layout.is_none() && report.error.is_none() {
                report.error = Some(FileError::Empty);
            }
        }
        table.set_source_format(source, report.format);
        (table, report)
    }

    fn start(&mut self, head: &[u8]) {
        let head_without_bom = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let first = head_without_bom.iter().find(|b| !b.is_ascii_whitespace());
        let error = if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            Some(FileError::Utf16)
        } else if head.iter().take(4096).any(|&b| b == 0) {
            Some(FileError::Binary)
        } else {
            match first {
                None => Some(FileError::Empty),
                Some(_) if looks_like_json(head_without_bom) => Some(FileError::JsonNotSupported),
                _ => None,
            }
        };
        if let Some(error) = error {
            self.report.error = Some(error);
            self.state = State::Failed;
            return;
        }
        self.state = State::Csv {
            stream: Box::default(),
            layout: None,
        };
        self.feed_body(head_without_bom);
    }

    fn feed_body(&mut self, chunk: &[u8]) {
        let Ingester {
            table,
            source,
            state,
            report,
        } = self;
        if let State::Csv { stream, layout } = state {
            stream.feed(chunk, &mut |event| {
                on_csv_event(event, layout, table, *source, report)
            });
            if report.error.is_some() {
                *state = State::Failed;
            }
        }
    }
}

/// `{…` or `[{…`, `[[…`, `[]` (a TOML or INI `[section]` header is not JSON).
fn looks_like_json(head: &[u8]) -> bool {
    let mut significant = head.iter().filter(|b| !b.is_ascii_whitespace());
    match significant.next() {
        Some(b'{') => true,
        Some(b'[') => matches!(significant.next(), Some(b'{' | b'[' | b']') | None),
        _ => false,
    }
}

fn on_csv_event(
    event: Event<'_>,
    layout: &mut Option<Box<Layout>>,
    table: &mut UsageTable,
    source: u16,
    report: &mut FileReport,
) {
    if report.error.is_some() {
        return;
    }
    let record = match event {
        Event::Record(record) => record,
        Event::TooLong { line } => {
            report.push_issue(Issue {
                line,
                column: None,
                message: format!(
                    "row is longer than {} MiB and was skipped",
                    crate::csv_records::MAX_RECORD_BYTES >> 20
                ),
                excerpt: String::new(),
                dropped: true,
            });
            return;
        }
    };
    match layout {
        None => match detect::detect(&record) {
            Ok(found) => {
                report.format = found.format;
                *layout = Some(Box::new(found));
            }
            Err(error) => report.error = Some(error),
        },
        Some(layout) => row::ingest_row(&record, layout, table, source, report),
    }
}

#[cfg(test)]
mod tests;

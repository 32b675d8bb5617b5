//! Streaming JSON rows: finds the objects inside `value` (usage API pages) or `items` (Partner Center) arrays,
//! whether the file is one page, an array of pages, or one page per line, without holding the whole file.

use std::borrow::Cow;

use serde_json::Value;

use super::row::{RawRow, FIELD_NAMES_JSON};
use super::{Field, FileError};
use crate::csv_records::MAX_RECORD_BYTES;

enum Frame {
    Object { key: Vec<u8> },
    Array { rows: bool },
}

/// What the scanner hands out.
pub(super) enum JsonEvent<'a> {
    /// The bytes of one row object and the line it starts on.
    Row { line: u64, bytes: &'a [u8] },
    /// A row object over the size cap, skipped.
    TooLong { line: u64 },
}

#[derive(Default)]
pub(super) struct JsonRows {
    stack: Vec<Frame>,
    in_string: bool,
    escape: bool,
    reading_key: bool,
    expecting_key: bool,
    key: Vec<u8>,
    capture: Option<Vec<u8>>,
    capture_depth: usize,
    too_long: bool,
    line: u64,
    row_line: u64,
    saw_rows_array: bool,
    saw_value: bool,
    error: Option<FileError>,
}

impl JsonRows {
    pub(super) fn new() -> Self {
        JsonRows { line: 1, ..Default::default() }
    }

    pub(super) fn feed(&mut self, chunk: &[u8], on_event: &mut dyn FnMut(JsonEvent<'_>)) {
        if self.error.is_some() {
            return;
        }
        for &b in chunk {
            if let Some(capture) = &mut self.capture {
                if capture.len() < MAX_RECORD_BYTES {
                    capture.push(b);
                } else {
                    self.too_long = true;
                }
            }
            if b == b'\n' {
                self.line += 1;
            }
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.reading_key = false;
                } else if self.reading_key && self.key.len() < 64 {
                    self.key.push(b);
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.expecting_key && matches!(self.stack.last(), Some(Frame::Object { .. })) {
                        self.reading_key = true;
                        self.key.clear();
                    }
                }
                b':' => {
                    if let Some(Frame::Object { key }) = self.stack.last_mut() {
                        *key = std::mem::take(&mut self.key);
                        self.expecting_key = false;
                    }
                }
                b',' => self.expecting_key = matches!(self.stack.last(), Some(Frame::Object { .. })),
                b'{' => {
                    let row = matches!(self.stack.last(), Some(Frame::Array { rows: true }));
                    self.stack.push(Frame::Object { key: Vec::new() });
                    self.expecting_key = true;
                    self.saw_value = true;
                    if row && self.capture.is_none() {
                        self.capture = Some(vec![b'{']);
                        self.capture_depth = self.stack.len();
                        self.row_line = self.line;
                    }
                }
                b'[' => {
                    let rows =
                        matches!(self.stack.last(), Some(Frame::Object { key }) if key == b"value" || key == b"items");
                    self.saw_rows_array |= rows;
                    self.saw_value = true;
                    self.stack.push(Frame::Array { rows });
                }
                b'}' | b']' => {
                    let matches = match self.stack.pop() {
                        Some(Frame::Object { .. }) => b == b'}',
                        Some(Frame::Array { .. }) => b == b']',
                        None => false,
                    };
                    if !matches {
                        let message = format!("unexpected '{}'", b as char);
                        self.error = Some(FileError::BrokenJson { line: self.line, message });
                        return;
                    }
                    if self.capture.is_some() && self.stack.len() < self.capture_depth {
                        let bytes = self.capture.take().unwrap_or_default();
                        if std::mem::take(&mut self.too_long) {
                            on_event(JsonEvent::TooLong { line: self.row_line });
                        } else {
                            on_event(JsonEvent::Row { line: self.row_line, bytes: &bytes });
                        }
                    }
                    self.expecting_key = false;
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if self.stack.is_empty() => {
                    let message = format!("unexpected '{}' outside any object", (b as char).escape_default());
                    self.error = Some(FileError::BrokenJson { line: self.line, message });
                    return;
                }
                _ => {}
            }
        }
    }

    /// Ends the stream: a file cut short is an error, but the rows before the cut were already handed out.
    pub(super) fn finish(&mut self) -> Option<FileError> {
        if let Some(error) = self.error.take() {
            return Some(error);
        }
        if !self.stack.is_empty() || self.in_string {
            return Some(FileError::TruncatedJson { line: self.line });
        }
        if !self.saw_value {
            return Some(FileError::Empty);
        }
        (!self.saw_rows_array).then_some(FileError::JsonWithoutRows)
    }
}

fn text_of(value: Option<&Value>) -> Cow<'static, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::String(s)) => Cow::Owned(s.clone()),
        Some(other) => Cow::Owned(other.to_string()),
    }
}

/// One usage API row (`properties` holds the fields) or Partner Center utilization record (fields at the top,
/// meter under `resource`) as canonical field texts. Returns problems that do not make the row unusable.
pub(super) fn raw_row(line: u64, row: &Value) -> (RawRow<'static>, Vec<(Field, String)>) {
    let mut problems = Vec::new();
    let p = row.get("properties").unwrap_or(row);
    let resource = p.get("resource");
    let meter = |key: &str, resource_key: &str| p.get(key).or_else(|| resource.and_then(|r| r.get(resource_key)));
    let instance: Option<Value> = match p.get("instanceData") {
        Some(Value::String(s)) if !s.trim().is_empty() => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(e) => {
                problems
                    .push((Field::ResourceUri, format!("instanceData is not valid JSON ({e}); resource left empty")));
                None
            }
        },
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let resources = instance.as_ref().map(|i| i.get("Microsoft.Resources").unwrap_or(i));
    let from_instance = |key: &str| text_of(resources.and_then(|r| r.get(key)));
    let mut raw = RawRow::json(line);
    raw.set(Field::UsageStart, text_of(p.get("usageStartTime")));
    raw.set(Field::UsageEnd, text_of(p.get("usageEndTime")));
    raw.set(Field::MeterId, text_of(meter("meterId", "id")));
    raw.set(Field::MeterName, text_of(meter("meterName", "name")));
    raw.set(Field::MeterCategory, text_of(meter("meterCategory", "category")));
    raw.set(Field::MeterSubcategory, text_of(meter("meterSubCategory", "subcategory")));
    raw.set(Field::MeterRegion, text_of(meter("meterRegion", "region")));
    raw.set(Field::Quantity, text_of(p.get("quantity")));
    raw.set(Field::Unit, text_of(p.get("unit")));
    raw.set(Field::Subscription, text_of(p.get("subscriptionId")));
    raw.set(Field::ResourceUri, from_instance("resourceUri"));
    raw.set(Field::Location, from_instance("location"));
    raw.set(Field::Tags, from_instance("tags"));
    raw.set(Field::AdditionalInfo, from_instance("additionalInfo"));
    raw.local = p.get("meterName").is_none() && p.get("unit").is_none() && resource.is_none();
    debug_assert_eq!(FIELD_NAMES_JSON.len(), Field::ALL.len());
    (raw, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(chunks: &[&[u8]]) -> (Vec<(u64, String)>, Option<FileError>) {
        let mut scanner = JsonRows::new();
        let mut out = Vec::new();
        for chunk in chunks {
            scanner.feed(chunk, &mut |e| match e {
                JsonEvent::Row { line, bytes } => out.push((line, String::from_utf8_lossy(bytes).into_owned())),
                JsonEvent::TooLong { line } => out.push((line, "<too long>".into())),
            });
        }
        (out, scanner.finish())
    }

    #[test]
    fn pages_arrays_of_pages_and_lines_of_pages() {
        let one = br#"{"value":[{"a":1},{"b":"x}]{"}],"nextLink":null}"#;
        let (got, error) = rows(&[one]);
        assert_eq!(error, None);
        assert_eq!(got, vec![(1, r#"{"a":1}"#.to_string()), (1, r#"{"b":"x}]{"}"#.to_string())]);
        let array = b"[{\"value\":[{\"a\":1}]},\n{\"value\":[{\"a\":2}]}]";
        assert_eq!(rows(&[array]).0.len(), 2);
        let lines = b"{\"value\":[{\"a\":1}]}\n{\"value\":[{\"a\":2},\n{\"a\":3}]}\n";
        let (got, error) = rows(&[lines]);
        assert_eq!((got.len(), got[2].0, error), (3, 3, None));
        for split in 0..lines.len() {
            assert_eq!(rows(&[&lines[..split], &lines[split..]]).0, got, "split at {split}");
        }
    }

    #[test]
    fn broken_and_truncated_json_are_errors_after_the_good_rows() {
        let (got, error) = rows(&[br#"{"value":[{"a":1},{"a":2"#]);
        assert_eq!((got.len(), error), (1, Some(FileError::TruncatedJson { line: 1 })));
        let (_, error) = rows(&[br#"{"value":[{"a":1}}"#]);
        assert!(matches!(error, Some(FileError::BrokenJson { .. })));
        let (_, error) = rows(&[br#"{"rows":[{"a":1}]}"#]);
        assert_eq!(error, Some(FileError::JsonWithoutRows));
    }

    #[test]
    fn usage_api_and_partner_center_rows() {
        let api: Value = serde_json::from_str(include_str!("../../../../tests/fixtures/azs-api-page.json")).unwrap();
        let (raw, problems) = raw_row(3, &api["value"][0]);
        assert!(problems.is_empty());
        assert_eq!(raw.get(Field::Quantity), "48.0");
        assert!(raw.get(Field::ResourceUri).ends_with("virtualMachines/web01"));
        assert!(raw.local);
        let pc: Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/partner-center-utilization.json")).unwrap();
        let (raw, _) = raw_row(1, &pc["items"][0]);
        assert_eq!(raw.get(Field::MeterRegion), "Azure Stack");
        assert!(raw.get(Field::AdditionalInfo).contains("azureStack.MeterId"));
        assert!(!raw.local);
    }
}

//! Streaming JSON rows: finds the objects inside `value` (usage API pages) or `items` (Partner Center) arrays,
//! whether the file is one page, an array of pages, or one page per line, without holding the whole file.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

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

/// The fields MeterLens reads from a usage API row (`properties`) or a Partner Center record (top level).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RowFields<'a> {
    #[serde(borrow)]
    properties: Option<Box<RowFields<'a>>>,
    #[serde(borrow)]
    usage_start_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    usage_end_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    meter_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    meter_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    meter_category: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "meterSubCategory")]
    meter_subcategory: Option<Cow<'a, str>>,
    #[serde(borrow)]
    meter_region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    unit: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subscription_id: Option<Cow<'a, str>>,
    quantity: Option<f64>,
    #[serde(borrow)]
    instance_data: Option<&'a RawValue>,
    #[serde(borrow)]
    resource: Option<MeterFields<'a>>,
}

/// Partner Center's `resource`: the meter.
#[derive(Deserialize, Default)]
#[serde(default)]
struct MeterFields<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subcategory: Option<Cow<'a, str>>,
    #[serde(borrow)]
    region: Option<Cow<'a, str>>,
}

/// `instanceData`: `{"Microsoft.Resources": {...}}` (usage API) or the fields directly (Partner Center).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct InstanceFields<'a> {
    #[serde(borrow, rename = "Microsoft.Resources")]
    resources: Option<Box<InstanceFields<'a>>>,
    #[serde(borrow)]
    resource_uri: Option<Cow<'a, str>>,
    #[serde(borrow)]
    location: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tags: Option<&'a RawValue>,
    #[serde(borrow)]
    additional_info: Option<&'a RawValue>,
}

/// A parsed row, borrowing from the row's bytes.
pub(super) struct JsonRow<'a>(RowFields<'a>);

/// Parses one row object.
pub(super) fn parse_row(bytes: &[u8]) -> Result<JsonRow<'_>, serde_json::Error> {
    serde_json::from_slice(bytes).map(JsonRow)
}

impl JsonRow<'_> {
    /// A Partner Center record has its meter under `resource` and no `properties`.
    pub(super) fn is_partner_center(&self) -> bool {
        self.0.properties.is_none() && self.0.resource.is_some()
    }
}

fn raw_text(value: Option<&RawValue>) -> Cow<'static, str> {
    match value.map(RawValue::get) {
        None | Some("null") => Cow::Borrowed(""),
        Some(json) => Cow::Owned(json.to_string()),
    }
}

/// The instance fields as owned texts: resource URI, location, tags, additional info.
fn instance_texts(instance: &InstanceFields<'_>) -> [Cow<'static, str>; 4] {
    let fields = instance.resources.as_deref().unwrap_or(instance);
    let owned = |v: &Option<Cow<'_, str>>| Cow::Owned(v.as_deref().unwrap_or_default().to_string());
    [owned(&fields.resource_uri), owned(&fields.location), raw_text(fields.tags), raw_text(fields.additional_info)]
}

/// One usage API row (`properties` holds the fields) or Partner Center utilization record (fields at the top,
/// meter under `resource`) as canonical field texts. Returns problems that do not make the row unusable.
pub(super) fn raw_row<'a>(line: u64, row: &'a JsonRow<'a>) -> (RawRow<'a>, Vec<(Field, String)>) {
    let mut problems = Vec::new();
    let p = row.0.properties.as_deref().unwrap_or(&row.0);
    let resource = p.resource.as_ref();
    let text = |v: &'a Option<Cow<'a, str>>| Cow::Borrowed(v.as_deref().unwrap_or_default());
    let meter = |own: &'a Option<Cow<'a, str>>, of_resource: fn(&'a MeterFields<'a>) -> &'a Option<Cow<'a, str>>| match (
        own, resource,
    ) {
        (Some(value), _) => Cow::Borrowed(value.as_ref()),
        (None, Some(r)) => text(of_resource(r)),
        (None, None) => Cow::Borrowed(""),
    };
    let instance = match p.instance_data.map(RawValue::get) {
        Some(json) if json.starts_with('"') => match serde_json::from_str::<String>(json) {
            Ok(escaped) if escaped.trim().is_empty() => None,
            Ok(escaped) => match serde_json::from_str::<InstanceFields<'_>>(&escaped) {
                Ok(fields) => Some(instance_texts(&fields)),
                Err(e) => {
                    problems.push((
                        Field::ResourceUri,
                        format!("instanceData is not valid JSON ({e}); resource left empty"),
                    ));
                    None
                }
            },
            Err(e) => {
                problems.push((
                    Field::ResourceUri,
                    format!("instanceData is not a JSON string ({e}); resource left empty"),
                ));
                None
            }
        },
        Some(json) if json.starts_with('{') => match serde_json::from_str::<InstanceFields<'_>>(json) {
            Ok(fields) => Some(instance_texts(&fields)),
            Err(e) => {
                problems
                    .push((Field::ResourceUri, format!("instanceData is not valid JSON ({e}); resource left empty")));
                None
            }
        },
        _ => None,
    };
    let mut raw = RawRow::json(line);
    raw.set(Field::UsageStart, text(&p.usage_start_time));
    raw.set(Field::UsageEnd, text(&p.usage_end_time));
    raw.set(Field::MeterId, meter(&p.meter_id, |r| &r.id));
    raw.set(Field::MeterName, meter(&p.meter_name, |r| &r.name));
    raw.set(Field::MeterCategory, meter(&p.meter_category, |r| &r.category));
    raw.set(Field::MeterSubcategory, meter(&p.meter_subcategory, |r| &r.subcategory));
    raw.set(Field::MeterRegion, meter(&p.meter_region, |r| &r.region));
    raw.set(Field::Quantity, p.quantity.map_or(Cow::Borrowed(""), |q| Cow::Owned(q.to_string())));
    raw.set(Field::Unit, text(&p.unit));
    raw.set(Field::Subscription, text(&p.subscription_id));
    if let Some([uri, location, tags, additional_info]) = instance {
        raw.set(Field::ResourceUri, uri);
        raw.set(Field::Location, location);
        raw.set(Field::Tags, tags);
        raw.set(Field::AdditionalInfo, additional_info);
    }
    raw.local = p.meter_name.is_none() && p.unit.is_none() && resource.is_none();
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
        let api: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/azs-api-page.json")).unwrap();
        let bytes = api["value"][0].to_string();
        let row = parse_row(bytes.as_bytes()).unwrap();
        let (raw, problems) = raw_row(3, &row);
        assert!(problems.is_empty());
        assert_eq!(raw.get(Field::Quantity), "48");
        assert!(raw.get(Field::ResourceUri).ends_with("virtualMachines/web01"));
        assert!(raw.local);
        let pc: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/partner-center-utilization.json")).unwrap();
        let bytes = pc["items"][0].to_string();
        let row = parse_row(bytes.as_bytes()).unwrap();
        assert!(row.is_partner_center());
        let (raw, _) = raw_row(1, &row);
        assert_eq!(raw.get(Field::MeterRegion), "Azure Stack");
        assert!(raw.get(Field::AdditionalInfo).contains("azureStack.MeterId"));
        assert!(!raw.local);
    }
}

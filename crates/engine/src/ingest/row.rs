//! One CSV data row to one table row: typed, normalised, enriched from the catalog, problems reported.

use std::borrow::Cow;

use super::detect::{Field, Layout};
use super::{FileReport, Issue};
use crate::catalog::Catalog;
use crate::csv_records::Record;
use crate::meter_id;
use crate::table::{UsageRecord, UsageTable};
use crate::time::{parse_timestamp, DAY};

const EXCERPT_CHARS: usize = 60;

/// One row being read: its fields, and where its problems go.
struct RowReader<'r, 'a> {
    record: &'a Record<'r>,
    layout: &'a Layout,
    report: &'a mut FileReport,
}

impl<'r> RowReader<'r, '_> {
    fn issue(&mut self, field: Field, message: String, excerpt: &str, dropped: bool) {
        self.report.push_issue(Issue {
            line: self.record.line,
            column: self
                .layout
                .column(field)
                .map(|c| self.layout.column_name(c).to_string()),
            message,
            excerpt: excerpt.chars().take(EXCERPT_CHARS).collect(),
            dropped,
        });
    }

    /// The trimmed text of the column feeding `field` ("" when the format has none).
    fn text(&mut self, field: Field) -> Cow<'r, str> {
        let Some(index) = self.layout.column(field) else {
            return Cow::Borrowed("");
        };
        let bytes = self.record.get(index).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s.trim()),
            Err(_) => {
                let lossy = String::from_utf8_lossy(bytes).trim().to_string();
                let message =
                    "text is not valid UTF-8; unreadable characters were replaced".to_string();
                self.issue(field, message, &lossy, false);
                Cow::Owned(lossy)
            }
        }
    }

    /// The column's text, or `from_uri` when the column is absent or empty.
    fn text_or(&mut self, field: Field, from_uri: &'r str) -> Cow<'r, str> {
        let text = self.text(field);
        if text.is_empty() {
            Cow::Borrowed(from_uri)
        } else {
            text
        }
    }
}

pub(super) fn ingest_row(
    record: &Record<'_>,
    layout: &Layout,
    table: &mut UsageTable,
    source: u16,
    report: &mut FileReport,
) {
    let mut row = RowReader {
        record,
        layout,
        report,
    };
    let start_text = row.text(Field::UsageStart);
    let usage_start = match parse_timestamp(&start_text) {
        Ok(t) => t,
        Err(message) => {
            row.issue(
                Field::UsageStart,
                format!("{message}; row skipped"),
                &start_text,
                true,
            );
            return;
        }
    };
    let quantity_text = row.text(Field::Quantity);
    let quantity = match quantity_text.parse::<f64>() {
        Ok(q) if q.is_finite() => q,
        _ => {
            let message = format!("quantity {quantity_text:?} is not a number; row skipped");
            row.issue(Field::Quantity, message, &quantity_text, true);
            return;
        }
    };
    let end_text = row.text(Field::UsageEnd);
    let usage_end = match parse_timestamp(&end_text) {
        Ok(t) if t >= usage_start => t,
        Ok(_) => {
            row.issue(
                Field::UsageEnd,
                "usage ends before it starts; assumed one day".into(),
                &end_text,
                false,
            );
            usage_start + DAY
        }
        Err(message) => {
            row.issue(
                Field::UsageEnd,
                format!("{message}; assumed one day"),
                &end_text,
                false,
            );
            usage_start + DAY
        }
    };
    let cost_text = row.text(Field::Cost);
    let cost = match cost_text.parse::<f64>() {
        Ok(c) if c.is_finite() => Some(c),
        _ if cost_text.is_empty() => None,
        _ => {
            row.issue(
                Field::Cost,
                format!("cost {cost_text:?} is not a number; left empty"),
                &cost_text,
                false,
            );
            None
        }
    };

    let meter_id = meter_id::normalize(&row.text(Field::MeterId));
    let local_meter = Catalog::builtin().local_meter(&meter_id);
    if meter_id.is_empty() {
        row.issue(Field::MeterId, "meter ID is empty".into(), "", false);
    }
    let file_meter_name = row.text(Field::MeterName);
    let meter_name = match local_meter {
        Some(meter) if file_meter_name.is_empty() => meter.name.as_str(),
        _ => file_meter_name.as_ref(),
    };
    let file_unit = row.text(Field::Unit);
    let unit = match local_meter {
        Some(meter) if file_unit.is_empty() => meter.unit.as_str(),
        _ => file_unit.as_ref(),
    };
    let resource_uri = row.text(Field::ResourceUri);
    let uri_parts = UriParts::of(&resource_uri);
    let record = UsageRecord {
        usage_start,
        usage_end,
        subscription: &row.text_or(Field::Subscription, uri_parts.subscription),
        resource_group: &row.text_or(Field::ResourceGroup, uri_parts.resource_group),
        resource_uri: &resource_uri,
        resource_type: &row.text_or(Field::ResourceType, uri_parts.resource_type),
        resource_name: &row.text_or(Field::ResourceName, uri_parts.resource_name),
        location: &row.text(Field::Location),
        meter_id: &meter_id,
        meter_name,
        unit,
        quantity,
        cost,
        currency: if cost.is_some() { "USD" } else { "" },
        tags: &row.text(Field::Tags),
        additional_info: &row.text(Field::AdditionalInfo),
    };
    table.push(source, row.record.line, &record);
    row.report.rows += 1;
}

/// Parts of an ARM resource URI `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}`.
/// Backslashes count as slashes (AzureStack-Tools does the same).
#[derive(Default)]
struct UriParts<'a> {
    subscription: &'a str,
    resource_group: &'a str,
    resource_type: &'a str,
    resource_name: &'a str,
}

impl<'a> UriParts<'a> {
    fn of(uri: &'a str) -> Self {
        let parts: Vec<&str> = uri.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        let after = |key: &str| {
            parts
                .iter()
                .position(|p| p.eq_ignore_ascii_case(key))
                .and_then(|i| parts.get(i + 1))
                .copied()
        };
        let providers = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("providers"));
        UriParts {
            subscription: after("subscriptions").unwrap_or(""),
            resource_group: after("resourceGroups").unwrap_or(""),
            resource_type: providers
                .and_then(|i| parts.get(i + 2))
                .copied()
                .unwrap_or(""),
            resource_name: providers
                .and_then(|i| parts.get(i + 3))
                .copied()
                .unwrap_or(""),
        }
    }
}

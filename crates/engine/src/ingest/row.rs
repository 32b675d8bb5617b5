//! One CSV data row to one table row: typed, normalised, enriched from the catalog, problems reported.

use std::borrow::Cow;

use super::detect::{Field, Layout};
use super::{FileReport, Issue};
use crate::catalog::Catalog;
use crate::csv_records::Record;
use crate::table::{UsageRecord, UsageTable};
use crate::time::{parse_timestamp, DAY};
use crate::meter_id;

const EXCERPT_CHARS: usize = 60;

pub(super) fn ingest_row(
    record: &Record<'_>,
    layout: &Layout,
    table: &mut UsageTable,
    source: u16,
    report: &mut FileReport,
) {
    let line = record.line;
    let mut issue = |column: Option<usize>, message: String, excerpt: &str, dropped: bool| {
        report.push_issue(Issue {
            line,
            column: column.map(|c| layout.column_name(c).to_string()),
            message,
            excerpt: excerpt.chars().take(EXCERPT_CHARS).collect(),
            dropped,
        });
    };
    let text = |field: Field, issue: &mut dyn FnMut(Option<usize>, String, &str, bool)| field_text(record, layout, field, issue);

    let start_text = text(Field::UsageStart, &mut issue);
    let usage_start = match parse_timestamp(&start_text) {
        Ok(t) => t,
        Err(message) => {
            issue(layout.column(Field::UsageStart), format!("{message}; row skipped"), &start_text, true);
            return;
        }
    };
    let quantity_text = text(Field::Quantity, &mut issue);
    let quantity = match quantity_text.parse::<f64>() {
        Ok(q) if q.is_finite() => q,
        _ => {
            let message = format!("quantity {quantity_text:?} is not a number; row skipped");
            issue(layout.column(Field::Quantity), message, &quantity_text, true);
            return;
        }
    };
    let end_text = text(Field::UsageEnd, &mut issue);
    let usage_end = match parse_timestamp(&end_text) {
        Ok(t) if t >= usage_start => t,
        Ok(_) => {
            issue(layout.column(Field::UsageEnd), "usage ends before it starts; assumed one day".into(), &end_text, false);
            usage_start + DAY
        }
        Err(message) => {
            issue(layout.column(Field::UsageEnd), format!("{message}; assumed one day"), &end_text, false);
            usage_start + DAY
        }
    };
    let cost = match layout.column(Field::Cost) {
        None => None,
        Some(column) => {
            let cost_text = text(Field::Cost, &mut issue);
            match cost_text.parse::<f64>() {
                Ok(c) if c.is_finite() => Some(c),
                _ if cost_text.is_empty() => None,
                _ => {
                    issue(Some(column), format!("cost {cost_text:?} is not a number; left empty"), &cost_text, false);
                    None
                }
            }
        }
    };

    let raw_meter = text(Field::MeterId, &mut issue);
    let meter_id = meter_id::normalize(&raw_meter);
    let local_meter = Catalog::builtin().local_meter(&meter_id);
    if meter_id.is_empty() {
        issue(layout.column(Field::MeterId), "meter ID is empty".into(), "", false);
    }
    let file_meter_name = text(Field::MeterName, &mut issue);
    let meter_name = match (&file_meter_name, local_meter) {
        (name, Some(meter)) if name.is_empty() => meter.name.as_str(),
        (name, _) => name.as_ref(),
    };
    let file_unit = text(Field::Unit, &mut issue);
    let unit = match local_meter {
        Some(meter) if file_unit.is_empty() => meter.unit.as_str(),
        _ => file_unit.as_ref(),
    };
    let resource_uri = text(Field::ResourceUri, &mut issue);
    let resource_group = text(Field::ResourceGroup, &mut issue);
    let subscription = text(Field::Subscription, &mut issue);
    let resource_name = text(Field::ResourceName, &mut issue);
    let resource_type = text(Field::ResourceType, &mut issue);
    let location = text(Field::Location, &mut issue);
    let tags = text(Field::Tags, &mut issue);
    let additional_info = text(Field::AdditionalInfo, &mut issue);
    let uri_parts = UriParts::of(&resource_uri);

    let record = UsageRecord {
        usage_start,
        usage_end,
        subscription: if subscription.is_empty() { uri_parts.subscription } else { &subscription },
        resource_group: if resource_group.is_empty() { uri_parts.resource_group } else { &resource_group },
        resource_uri: &resource_uri,
        resource_type: if resource_type.is_empty() { uri_parts.resource_type } else { &resource_type },
        resource_name: if resource_name.is_empty() { uri_parts.resource_name } else { &resource_name },
        location: &location,
        meter_id: &meter_id,
        meter_name,
        unit,
        quantity,
        cost,
        currency: if cost.is_some() { "USD" } else { "" },
        tags: &tags,
        additional_info: &additional_info,
    };
    table.push(source, line, &record);
    report.rows += 1;
}

/// The trimmed text of the column feeding `field` ("" when the format has none).
fn field_text<'r>(
    record: &Record<'r>,
    layout: &Layout,
    field: Field,
    issue: &mut dyn FnMut(Option<usize>, String, &str, bool),
) -> Cow<'r, str> {
    let Some(index) = layout.column(field) else { return Cow::Borrowed("") };
    let bytes = record.get(index).unwrap_or_default();
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s.trim()),
        Err(_) => {
            let lossy = String::from_utf8_lossy(bytes).trim().to_string();
            issue(Some(index), "text is not valid UTF-8; unreadable characters were replaced".into(), &lossy, false);
            Cow::Owned(lossy)
        }
    }
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
            parts.iter().position(|p| p.eq_ignore_ascii_case(key)).and_then(|i| parts.get(i + 1)).copied()
        };
        let providers = parts.iter().position(|p| p.eq_ignore_ascii_case("providers"));
        UriParts {
            subscription: after("subscriptions").unwrap_or(""),
            resource_group: after("resourceGroups").unwrap_or(""),
            resource_type: providers.and_then(|i| parts.get(i + 2)).copied().unwrap_or(""),
            resource_name: providers.and_then(|i| parts.get(i + 3)).copied().unwrap_or(""),
        }
    }
}

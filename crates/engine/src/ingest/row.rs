//! One raw row (field texts from a CSV record or a JSON object) to one table row: typed, normalised,
//! enriched from the catalog and the `azureStack.*` markers, problems reported.

use std::borrow::Cow;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::detect::{Field, Layout};
use super::{FileReport, Format, Issue};
use crate::catalog::Catalog;
use crate::meter_id;
use crate::table::{UsageRecord, UsageTable};
use crate::time::{parse_timestamp_in_order, swap_day_and_month, DateOrder, OrderEvidence, DAY};

const EXCERPT_CHARS: usize = 60;

/// Names of the JSON keys feeding each field, for messages (in `Field::ALL` order).
pub(super) const FIELD_NAMES_JSON: [&str; 25] = [
    "usageStartTime",
    "usageEndTime",
    "meterId",
    "meterName",
    "meterCategory",
    "meterSubCategory",
    "meterRegion",
    "quantity",
    "unit",
    "resourceType",
    "location",
    "resourceGroup",
    "resourceName",
    "resourceUri",
    "subscriptionId",
    "subscriptionName",
    "tags",
    "additionalInfo",
    "cost",
    "effectiveCost",
    "unitPrice",
    "currency",
    "chargeType",
    "pricingModel",
    "customer",
];

/// Field texts of one row, as read, before any typing (stage one of two).
pub(super) struct RawRow<'r> {
    pub line: u64,
    texts: [Cow<'r, str>; Field::ALL.len()],
    layout: Option<&'r Layout>,
    /// The row is Azure Stack Hub local data (from the stamp, not from Azure billing).
    pub local: bool,
}

impl<'r> RawRow<'r> {
    pub(super) fn csv(line: u64, layout: &'r Layout) -> Self {
        RawRow { line, texts: std::array::from_fn(|_| Cow::Borrowed("")), layout: Some(layout), local: false }
    }

    pub(super) fn json(line: u64) -> Self {
        RawRow { line, texts: std::array::from_fn(|_| Cow::Borrowed("")), layout: None, local: false }
    }

    pub(super) fn set(&mut self, field: Field, text: Cow<'r, str>) {
        // Most fields start and end on a printable ASCII byte: nothing to trim, no characters to decode.
        let printable = |b: Option<&u8>| b.is_some_and(|&b| (0x21..0x7f).contains(&b));
        self.texts[field as usize] = match text {
            Cow::Borrowed(s) if printable(s.as_bytes().first()) && printable(s.as_bytes().last()) => Cow::Borrowed(s),
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        };
    }

    pub(super) fn get(&self, field: Field) -> &str {
        &self.texts[field as usize]
    }

    /// Where `field` came from, for messages: the header name, or the JSON key.
    fn column(&self, field: Field) -> Option<String> {
        match self.layout {
            Some(layout) => layout.column(field).map(|c| layout.column_name(c).to_string()),
            None => Some(FIELD_NAMES_JSON[field as usize].to_string()),
        }
    }
}

/// Per-file state that rows need: the source, its format, and the evidence about date order.
pub(super) struct FileRows {
    pub source: u16,
    pub format: Format,
    month_first: u64,
    day_first: u64,
    /// Runs of table rows (first, count) whose start (bit 0) or end (bit 1) was an ambiguous slash date read
    /// month-first: a file sorted by date has a run per day, not an entry per row.
    ambiguous: Vec<(u32, u32, u8)>,
    /// Numbers use a decimal comma (semicolon-delimited files).
    pub decimal_comma: bool,
    /// Meter IDs as written → normalised (a file repeats a few dozen meters millions of times).
    meters: FxHashMap<Box<str>, Rc<str>>,
}

impl FileRows {
    pub(super) fn new(source: u16) -> Self {
        FileRows {
            source,
            format: Format::Unknown,
            month_first: 0,
            day_first: 0,
            ambiguous: Vec::new(),
            decimal_comma: false,
            meters: FxHashMap::default(),
        }
    }

    fn normalized_meter(&mut self, raw: &str) -> Rc<str> {
        if let Some(id) = self.meters.get(raw) {
            return id.clone();
        }
        let id: Rc<str> = meter_id::normalize(raw).into();
        self.meters.insert(raw.into(), id.clone());
        id
    }

    fn date(&mut self, text: &str) -> Result<(i64, bool), String> {
        let (t, evidence) = parse_timestamp_in_order(text, DateOrder::MonthFirst)?;
        match evidence {
            OrderEvidence::MonthFirst => self.month_first += 1,
            OrderEvidence::DayFirst => self.day_first += 1,
            _ => {}
        }
        Ok((t, evidence == OrderEvidence::Ambiguous))
    }

    /// Decides the file's date order from all its dates and re-reads ambiguous ones if it is day-first.
    pub(super) fn finish(&mut self, table: &mut UsageTable, report: &mut FileReport) {
        if self.month_first + self.day_first + self.ambiguous.len() as u64 == 0 {
            return;
        }
        let order =
            if self.day_first > 0 && self.month_first == 0 { DateOrder::DayFirst } else { DateOrder::MonthFirst };
        report.date_order = Some(order);
        if self.day_first > 0 && self.month_first > 0 {
            report.push_issue(Issue {
                line: 0,
                column: None,
                message: format!(
                    "dates mix day-first ({} values) and month-first ({} values); ambiguous dates read as MM/DD/YYYY",
                    self.day_first, self.month_first
                ),
                excerpt: String::new(),
                dropped: false,
            });
        }
        let rows = self.ambiguous.iter().flat_map(|&(first, n, which)| (first..first + n).map(move |r| (r, which)));
        for (row, which) in rows {
            let row = row as usize;
            if order == DateOrder::DayFirst {
                if which & 1 != 0 {
                    let start = table.usage_start[row];
                    table.usage_start.set(row, swap_day_and_month(start).unwrap_or(start));
                }
                if which & 2 != 0 {
                    let end = table.usage_end[row];
                    table.usage_end.set(row, swap_day_and_month(end).unwrap_or(end));
                }
            }
            if table.usage_end[row] < table.usage_start[row] {
                table.usage_end.set(row, table.usage_start[row] + DAY);
                report.push_issue(Issue {
                    line: table.line.get(row) as u64,
                    column: None,
                    message: "usage ends before it starts; assumed one day".into(),
                    excerpt: String::new(),
                    dropped: false,
                });
            }
        }
        self.ambiguous = Vec::new();
    }
}

struct Problems<'a, 'r> {
    raw: &'a RawRow<'r>,
    report: &'a mut FileReport,
}

impl Problems<'_, '_> {
    fn push(&mut self, field: Field, message: String, dropped: bool) {
        let excerpt = self.raw.get(field).chars().take(EXCERPT_CHARS).collect();
        self.report.push_issue(Issue {
            line: self.raw.line,
            column: self.raw.column(field),
            message,
            excerpt,
            dropped,
        });
    }
}

fn number(text: &str, decimal_comma: bool) -> Option<f64> {
    let value = if decimal_comma && text.contains(',') {
        // `1.234,5` or `2,5`: dots group thousands, the comma is the decimal point.
        text.replace('.', "").replace(',', ".").parse::<f64>()
    } else {
        text.parse::<f64>()
    };
    value.ok().filter(|v| v.is_finite())
}

/// Types, normalises and stores one raw row (stage two of two).
pub(super) fn ingest_row(raw: &RawRow<'_>, file: &mut FileRows, table: &mut UsageTable, report: &mut FileReport) {
    let mut problems = Problems { raw, report };
    let (usage_start, start_ambiguous) = match file.date(raw.get(Field::UsageStart)) {
        Ok(t) => t,
        Err(message) => return problems.push(Field::UsageStart, format!("{message}; row skipped"), true),
    };
    let Some(quantity) = number(raw.get(Field::Quantity), file.decimal_comma) else {
        let message = format!("quantity {:?} is not a number; row skipped", raw.get(Field::Quantity));
        return problems.push(Field::Quantity, message, true);
    };
    let (usage_end, end_ambiguous) = if raw.get(Field::UsageEnd).is_empty() {
        // Daily exports (EA, Cost Management, Account Center) carry only the day.
        (usage_start + DAY, false)
    } else {
        match file.date(raw.get(Field::UsageEnd)) {
            // An ambiguous date may still be re-read in the other order; the check then happens in `finish`.
            Ok((t, ambiguous)) if t >= usage_start || ambiguous || start_ambiguous => (t, ambiguous),
            Ok(_) => {
                problems.push(Field::UsageEnd, "usage ends before it starts; assumed one day".into(), false);
                (usage_start + DAY, false)
            }
            Err(message) => {
                problems.push(Field::UsageEnd, format!("{message}; assumed one day"), false);
                (usage_start + DAY, false)
            }
        }
    };
    let decimal_comma = file.decimal_comma;
    let mut money = |field: Field| {
        let text = raw.get(field);
        if text.is_empty() {
            return None;
        }
        let value = number(text, decimal_comma);
        if value.is_none() {
            problems.push(field, format!("{text:?} is not a number; left empty"), false);
        }
        value
    };
    let cost = money(Field::Cost);
    let effective_cost = money(Field::EffectiveCost);
    let unit_price = money(Field::UnitPrice);

    let meter_id = file.normalized_meter(raw.get(Field::MeterId));
    // Purchases, refunds and other non-usage charges carry no meter.
    if meter_id.is_empty() && matches!(raw.get(Field::ChargeType), "" | "Usage") {
        problems.push(Field::MeterId, "meter ID is empty".into(), false);
    }
    let (tags, error) = table.intern_key_values(table.tags.last(), raw.get(Field::Tags));
    if let Some(error) = error {
        problems.push(Field::Tags, format!("tags: {error}; kept as text"), false);
    }
    let (additional_info, error) =
        table.intern_key_values(table.additional_info.last(), raw.get(Field::AdditionalInfo));
    if let Some(error) = error {
        problems.push(Field::AdditionalInfo, format!("additional info: {error}; kept as text"), false);
    }
    let local = raw.local || matches!(file.format, Format::UsageSummaryCsv | Format::AppServiceUsageSummaryCsv);
    if local && quantity < 0.0 {
        // Azure-side files carry refunds and corrections; a stamp's own usage should never be negative.
        problems.push(
            Field::Quantity,
            format!("negative quantity {quantity} kept as reported; check the stamp"),
            false,
        );
    }
    let (local_meter_id, marker_subscription) = if local {
        (meter_id.clone(), None)
    } else {
        let meter = table.key_value(additional_info, "azureStack.MeterId").map(str::to_string);
        let subscription = table.key_value(additional_info, "azureStack.SubscriptionId").map(str::to_string);
        // Without an azureStack.MeterId marker, the catalog's commerce map says which local meter it bills.
        let meter = meter.or_else(|| Catalog::builtin().commerce_meter(&meter_id).map(|(local, _)| local.id.clone()));
        (meter.map_or_else(|| Rc::from(""), |m| file.normalized_meter(&m)), subscription)
    };
    // Name and unit come from the catalog only when the file has none (Usagesummary, usage API pages).
    let catalog_meter = Catalog::builtin().local_meter(&meter_id);
    let azure_stack = local
        || !local_meter_id.is_empty()
        || raw.get(Field::MeterRegion).eq_ignore_ascii_case("Azure Stack")
        || raw.get(Field::Location).eq_ignore_ascii_case("azurestack");

    let resource_uri = raw.get(Field::ResourceUri);
    let from_uri = [Field::Subscription, Field::ResourceGroup, Field::ResourceType, Field::ResourceName];
    let uri =
        if from_uri.iter().any(|f| raw.get(*f).is_empty()) { UriParts::of(resource_uri) } else { UriParts::default() };
    let subscription = or(raw.get(Field::Subscription), uri.subscription);
    let subscription = subscription.strip_prefix("/subscriptions/").unwrap_or(subscription);
    let resource_group = or(raw.get(Field::ResourceGroup), uri.resource_group);
    let resource_type = or(raw.get(Field::ResourceType), uri.resource_type);
    let resource_name = or(raw.get(Field::ResourceName), uri.resource_name);
    let local_subscription = if local { subscription } else { marker_subscription.as_deref().unwrap_or_default() };
    let meter_name = match catalog_meter {
        Some(meter) if raw.get(Field::MeterName).is_empty() => meter.name.as_str(),
        _ => raw.get(Field::MeterName),
    };
    let unit = match catalog_meter {
        Some(meter) if raw.get(Field::Unit).is_empty() => meter.unit.as_str(),
        _ => raw.get(Field::Unit),
    };
    // Local files carry no category: the meter's resource provider (Compute, Storage, Network…) stands in.
    let meter_category = match catalog_meter {
        Some(meter) if raw.get(Field::MeterCategory).is_empty() => meter.provider.as_str(),
        _ => raw.get(Field::MeterCategory),
    };
    let currency = match raw.get(Field::Currency) {
        "" if cost.is_some() && file.format == Format::AppServiceUsageSummaryCsv => "USD",
        c => c,
    };
    let record = UsageRecord {
        usage_start,
        usage_end,
        quantity,
        cost,
        effective_cost,
        unit_price,
        azure_stack,
        local,
        tags,
        additional_info,
        subscription,
        subscription_name: raw.get(Field::SubscriptionName),
        customer: raw.get(Field::Customer),
        local_subscription,
        resource_group,
        resource_uri,
        resource_type,
        resource_name,
        location: raw.get(Field::Location),
        meter_id: &meter_id,
        local_meter_id: &local_meter_id,
        commerce_meter_id: if local {
            catalog_meter.and_then(|m| m.billed_as()).map_or("", |c| c.id.as_str())
        } else {
            &meter_id
        },
        meter_name,
        meter_category,
        meter_subcategory: raw.get(Field::MeterSubcategory),
        meter_region: raw.get(Field::MeterRegion),
        unit,
        currency,
        charge_type: raw.get(Field::ChargeType),
        pricing_model: raw.get(Field::PricingModel),
    };
    let row = table.len() as u32;
    table.push(file.source, raw.line, &record);
    let which = u8::from(start_ambiguous) | (u8::from(end_ambiguous) << 1);
    if which != 0 {
        match file.ambiguous.last_mut() {
            Some((first, n, same)) if *same == which && *first + *n == row => *n += 1,
            _ => file.ambiguous.push((row, 1, which)),
        }
    }
    report.rows += 1;
}

/// `text`, or `fallback` when it is empty.
fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() {
        fallback
    } else {
        text
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
    /// One pass over the segments, without collecting them (every Cost Management row has a URI to read).
    fn of(uri: &'a str) -> Self {
        let mut parts = UriParts::default();
        let (mut subscription_next, mut group_next) = (false, false);
        let (mut seen_subscriptions, mut seen_groups) = (false, false);
        let mut providers_at = None;
        for (i, part) in uri.split(['/', '\\']).filter(|p| !p.is_empty()).enumerate() {
            if std::mem::take(&mut subscription_next) {
                parts.subscription = part;
            }
            if std::mem::take(&mut group_next) {
                parts.resource_group = part;
            }
            match providers_at {
                Some(at) if i == at + 2 => parts.resource_type = part,
                Some(at) if i == at + 3 => parts.resource_name = part,
                _ => {}
            }
            if !seen_subscriptions && part.eq_ignore_ascii_case("subscriptions") {
                (seen_subscriptions, subscription_next) = (true, true);
            }
            if !seen_groups && part.eq_ignore_ascii_case("resourceGroups") {
                (seen_groups, group_next) = (true, true);
            }
            if providers_at.is_none() && part.eq_ignore_ascii_case("providers") {
                providers_at = Some(i);
            }
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::{number, UriParts};

    #[test]
    fn resource_uris_give_their_parts() {
        let parts = |uri| {
            let p = UriParts::of(uri);
            [p.subscription, p.resource_group, p.resource_type, p.resource_name]
        };
        let vm = "/subscriptions/sub-1/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-01";
        assert_eq!(parts(vm), ["sub-1", "rg-a", "virtualMachines", "vm-01"]);
        assert_eq!(parts(r"\SUBSCRIPTIONS\s\resourcegroups\g\Providers\ns\t\n\extra"), ["s", "g", "t", "n"]);
        assert_eq!(parts("subscriptions//s/providers/ns"), ["s", "", "", ""]);
        // The first occurrence counts, even when the next segment is itself a key.
        assert_eq!(parts("/subscriptions/resourceGroups/g/providers/a/b/c"), ["resourceGroups", "g", "b", "c"]);
        assert_eq!(parts("/subscriptions/s/subscriptions/t"), ["s", "", "", ""]);
        assert_eq!(parts(""), ["", "", "", ""]);
        assert_eq!(parts("/subscriptions"), ["", "", "", ""]);
    }

    #[test]
    fn decimal_commas_only_where_the_file_uses_them() {
        assert_eq!(number("1.234,5", true), Some(1234.5));
        assert_eq!(number("2,5", true), Some(2.5));
        assert_eq!(number("2.5", true), Some(2.5));
        assert_eq!(number("2,5", false), None);
        assert_eq!(number("NaN", false), None);
        assert_eq!(number("inf", false), None);
        assert_eq!(number("-3", false), Some(-3.0));
    }
}

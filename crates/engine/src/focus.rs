//! The loaded data as FOCUS 1.2 rows: meters mapped, local usage priced, admin rows filtered, choices in `x_` columns.

use std::borrow::Cow;
use std::io::{self, Write};
use std::rc::Rc;

use crate::admin::AdminClassifier;
use crate::catalog::Catalog;
use crate::prices::PriceBook;
use crate::table::UsageTable;
use crate::time::DAY;

/// A FOCUS data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusType {
    /// Text.
    String,
    /// A number (written as a double in Parquet).
    Decimal,
    /// A UTC instant (`YYYY-MM-DDTHH:mm:ssZ` in CSV, a UTC timestamp in Parquet).
    DateTime,
    /// A JSON object as text.
    Json,
}

/// One column MeterLens writes: its FOCUS 1.2 name and type, whether FOCUS makes it mandatory, and whether it
/// may be null.
#[derive(Clone, Copy, Debug)]
pub struct FocusColumn {
    /// Column name (`x_` for MeterLens's own).
    pub name: &'static str,
    /// Data type.
    pub kind: FocusType,
    /// FOCUS 1.2 feature level Mandatory.
    pub mandatory: bool,
    /// Null allowed.
    pub nullable: bool,
}

const fn column(name: &'static str, kind: FocusType, mandatory: bool, nullable: bool) -> FocusColumn {
    FocusColumn { name, kind, mandatory, nullable }
}

use FocusType::{DateTime, Decimal, Json, String as Text};

/// Every column written, in order: the 21 FOCUS 1.2 mandatory columns, the conditional ones the data supports,
/// then MeterLens's `x_` columns.
pub const COLUMNS: [FocusColumn; 43] = [
    column("BilledCost", Decimal, true, false),
    column("BillingAccountId", Text, true, false),
    column("BillingAccountName", Text, true, true),
    column("BillingCurrency", Text, true, false),
    column("BillingPeriodEnd", DateTime, true, false),
    column("BillingPeriodStart", DateTime, true, false),
    column("ChargeCategory", Text, true, false),
    column("ChargeClass", Text, true, true),
    column("ChargeDescription", Text, true, true),
    column("ChargePeriodEnd", DateTime, true, false),
    column("ChargePeriodStart", DateTime, true, false),
    column("ContractedCost", Decimal, true, false),
    column("EffectiveCost", Decimal, true, false),
    column("InvoiceIssuerName", Text, true, false),
    column("ListCost", Decimal, true, false),
    column("PricingQuantity", Decimal, true, true),
    column("PricingUnit", Text, true, true),
    column("ProviderName", Text, true, false),
    column("PublisherName", Text, true, false),
    column("ServiceCategory", Text, true, false),
    column("ServiceName", Text, true, false),
    column("ChargeFrequency", Text, false, false),
    column("ConsumedQuantity", Decimal, false, true),
    column("ConsumedUnit", Text, false, true),
    column("ContractedUnitPrice", Decimal, false, true),
    column("ListUnitPrice", Decimal, false, true),
    column("PricingCategory", Text, false, true),
    column("RegionId", Text, false, true),
    column("RegionName", Text, false, true),
    column("ResourceId", Text, false, true),
    column("ResourceName", Text, false, true),
    column("ResourceType", Text, false, true),
    column("SkuMeter", Text, false, true),
    column("SubAccountId", Text, false, true),
    column("SubAccountName", Text, false, true),
    column("Tags", Json, false, true),
    column("x_SkuMeterId", Text, false, true),
    column("x_CustomerName", Text, false, true),
    column("x_MeterLensLocalMeterId", Text, false, true),
    column("x_MeterLensPriceSource", Text, false, false),
    column("x_MeterLensAdminReason", Text, false, true),
    column("x_MeterLensSourceFile", Text, false, false),
    column("x_MeterLensSourceLine", Decimal, false, false),
];

/// The FOCUS 1.2 columns of feature level Mandatory (the specification's list), for validation.
pub const FOCUS_12_MANDATORY: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// One value of a FOCUS row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Text (String and JSON columns).
    Text(Cow<'a, str>),
    /// A number.
    Number(f64),
    /// UTC seconds.
    Time(i64),
    /// No value.
    Null,
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct FocusOptions {
    /// Keep zero-priced admin (infrastructure) rows, with their reason in `x_MeterLensAdminReason`.
    pub include_admin: bool,
}

/// A priced row.
struct Priced {
    row: u32,
    pricing_quantity: f64,
    pricing_unit: Rc<str>,
    unit_price: Option<f64>,
    billed: f64,
    effective: f64,
    currency: Rc<str>,
    commerce_meter: Rc<str>,
    price_source: Rc<str>,
    admin: Option<&'static str>,
}

/// The table's rows in FOCUS terms.
pub struct FocusExport<'t> {
    table: &'t UsageTable,
    priced: Vec<Priced>,
    /// Admin rows left out.
    pub admin_rows_excluded: u64,
}

impl<'t> FocusExport<'t> {
    /// Maps and prices every row of `table`: local Azure Stack Hub usage with `prices` (rate × quantity in the
    /// commerce meter's unit; admin and unpriced rows cost 0), Azure-side rows with their own costs.
    pub fn new(table: &'t UsageTable, prices: &PriceBook, options: &FocusOptions) -> Self {
        let catalog = Catalog::builtin();
        let admin = AdminClassifier::new(table);
        let shared = |s: &str| -> Rc<str> { Rc::from(s) };
        let book_currency = shared(&prices.currency);
        let own_source = shared("the source file's cost");
        let no_rate = shared("no rate");
        let admin_source = shared("admin (infrastructure) usage is not charged");
        let informational_source = shared("informational meter (VM size hours, not core-adjusted): not billed");
        let mut rates: std::collections::HashMap<(u32, i64), (Option<f64>, Rc<str>)> = Default::default();
        let mut texts: std::collections::HashMap<String, Rc<str>> = Default::default();
        let mut intern = |s: &str| texts.entry(s.to_string()).or_insert_with(|| Rc::from(s)).clone();
        let mut priced = Vec::with_capacity(table.len());
        let mut admin_rows_excluded = 0;
        for row in 0..table.len() {
            let reason = admin.classify(row).map(|r| r.as_str());
            if reason.is_some() && !options.include_admin {
                admin_rows_excluded += 1;
                continue;
            }
            let quantity = table.quantity.get(row);
            let meter = table.str(table.meter_id[row]);
            if !table.local[row] {
                let cost = table.cost.get(row);
                let billed = if cost.is_nan() { 0.0 } else { cost };
                let effective = table.effective_cost(row);
                let unit_price = table.unit_price[row];
                priced.push(Priced {
                    row: row as u32,
                    pricing_quantity: quantity,
                    pricing_unit: intern(table.str(table.unit(row))),
                    unit_price: (!unit_price.is_nan()).then_some(unit_price),
                    billed,
                    effective: if effective.is_nan() { billed } else { effective },
                    currency: intern(table.str(table.currency[row])),
                    commerce_meter: intern(meter),
                    price_source: own_source.clone(),
                    admin: reason,
                });
                continue;
            }
            let local = catalog.local_meter(meter);
            let commerce = local.and_then(|m| m.billed_as());
            let factor = commerce.map_or(1.0, |c| c.factor);
            let pricing_unit = intern(commerce.map_or_else(|| table.str(table.unit(row)), |c| c.unit.as_str()));
            let (rate, source) = if reason.is_some() {
                (Some(0.0), admin_source.clone())
            } else if local.is_some_and(|m| m.informational) {
                (Some(0.0), informational_source.clone())
            } else {
                let day = table.usage_start[row].div_euclid(DAY);
                rates
                    .entry((table.meter_id[row].0, day))
                    .or_insert_with(|| match prices.rate(meter, table.usage_start[row]) {
                        Some(rate) => (Some(rate.unit_price), intern(&rate.source.describe())),
                        None => (None, no_rate.clone()),
                    })
                    .clone()
            };
            let pricing_quantity = quantity * factor;
            let cost = rate.map_or(0.0, |r| r * pricing_quantity);
            priced.push(Priced {
                row: row as u32,
                pricing_quantity,
                pricing_unit,
                unit_price: rate,
                billed: cost,
                effective: cost,
                currency: book_currency.clone(),
                commerce_meter: intern(
                    commerce.map_or_else(|| table.str(table.commerce_meter_id(row)), |c| c.id.as_str()),
                ),
                price_source: source,
                admin: reason,
            });
        }
        FocusExport { table, priced, admin_rows_excluded }
    }

    /// Rows exported.
    pub fn len(&self) -> usize {
        self.priced.len()
    }

    /// True when no row is exported.
    pub fn is_empty(&self) -> bool {
        self.priced.is_empty()
    }

    /// The billing month (`YYYY-MM`, UTC) of exported row `i`: the partition it is written to.
    pub fn month(&self, i: usize) -> String {
        let (start, _) = month_of(self.table.usage_start[self.priced[i].row as usize]);
        chrono::DateTime::from_timestamp(start, 0).map_or_else(String::new, |t| t.format("%Y-%m").to_string())
    }

    /// Billed cost per currency, in first-seen order.
    pub fn billed_by_currency(&self) -> Vec<(String, f64)> {
        let mut totals: Vec<(String, f64)> = Vec::new();
        for p in &self.priced {
            match totals.iter_mut().find(|(c, _)| **c == *p.currency) {
                Some((_, total)) => *total += p.billed,
                None => totals.push((p.currency.to_string(), p.billed)),
            }
        }
        totals
    }

    /// The value of column `column` (an index into [`COLUMNS`]) of exported row `i`.
    pub fn cell(&self, i: usize, column: usize) -> Cell<'_> {
        let p = &self.priced[i];
        let t = self.table;
        let row = p.row as usize;
        let text = |s: &'t str| if s.is_empty() { Cell::Null } else { Cell::Text(Cow::Borrowed(s)) };
        let shared = |s: &Rc<str>| Cell::Text(Cow::Owned(s.to_string()));
        let local = t.local[row];
        match COLUMNS[column].name {
            "BilledCost" | "ContractedCost" | "ListCost" => Cell::Number(p.billed),
            "EffectiveCost" => Cell::Number(p.effective),
            "BillingAccountId" => Cell::Text(Cow::Borrowed(t.str(t.subscription[row]))),
            "BillingAccountName" | "SubAccountName" => {
                let name = t.str(t.subscription_name[row]);
                if name.is_empty() {
                    text(t.str(t.subscription[row]))
                } else {
                    text(name)
                }
            }
            "BillingCurrency" => shared(&p.currency),
            "BillingPeriodStart" => Cell::Time(month_of(t.usage_start[row]).0),
            "BillingPeriodEnd" => Cell::Time(month_of(t.usage_start[row]).1),
            "ChargeCategory" => Cell::Text(Cow::Borrowed(charge_category(t.str(t.charge_type[row])))),
            "ChargeClass" => Cell::Null,
            "ChargeDescription" => text(t.str(t.meter_name(row))),
            "ChargePeriodStart" => Cell::Time(t.usage_start[row]),
            "ChargePeriodEnd" => Cell::Time(t.usage_end[row]),
            "InvoiceIssuerName" | "ProviderName" | "PublisherName" => Cell::Text(Cow::Borrowed("Microsoft")),
            "PricingQuantity" => Cell::Number(p.pricing_quantity),
            "PricingUnit" => shared(&p.pricing_unit),
            "ServiceCategory" => Cell::Text(Cow::Borrowed(service_category(t.str(t.meter_category(row))))),
            "ServiceName" => {
                let category = t.str(t.meter_category(row));
                Cell::Text(Cow::Borrowed(if category.is_empty() { "Unknown" } else { category }))
            }
            "ChargeFrequency" => Cell::Text(Cow::Borrowed("Usage-Based")),
            "ConsumedQuantity" => Cell::Number(t.quantity.get(row)),
            "ConsumedUnit" => text(t.str(t.unit(row))),
            "ContractedUnitPrice" | "ListUnitPrice" => p.unit_price.map_or(Cell::Null, Cell::Number),
            "PricingCategory" => Cell::Text(Cow::Borrowed("Standard")),
            "RegionId" if t.azure_stack[row] && local => Cell::Text(Cow::Borrowed("azurestack")),
            "RegionId" => match t.str(t.location[row]) {
                "" => Cell::Null,
                region => Cell::Text(Cow::Owned(region.to_ascii_lowercase().replace(' ', ""))),
            },
            "RegionName" => text(t.str(t.location[row])),
            "ResourceId" => text(t.str(t.resource_uri[row])),
            "ResourceName" => text(t.str(t.resource_name(row))),
            "ResourceType" => text(t.str(t.resource_type(row))),
            "SkuMeter" => text(t.str(t.meter_name(row))),
            "SubAccountId" => text(t.str(t.subscription[row])),
            "Tags" => {
                let pairs = t.key_values(t.tags[row]);
                if pairs.is_empty() {
                    return Cell::Null;
                }
                let map: serde_json::Map<String, serde_json::Value> =
                    pairs.iter().map(|(k, v)| (t.str(*k).to_string(), t.str(*v).into())).collect();
                Cell::Text(Cow::Owned(serde_json::Value::Object(map).to_string()))
            }
            "x_CustomerName" => text(t.str(t.customer[row])),
            "x_SkuMeterId" if p.commerce_meter.is_empty() => Cell::Null,
            "x_SkuMeterId" => shared(&p.commerce_meter),
            "x_MeterLensLocalMeterId" => text(t.str(t.local_meter_id(row))),
            "x_MeterLensPriceSource" => shared(&p.price_source),
            "x_MeterLensAdminReason" => p.admin.map_or(Cell::Null, |r| Cell::Text(Cow::Borrowed(r))),
            "x_MeterLensSourceFile" => {
                Cell::Text(Cow::Borrowed(t.sources().get(t.source[row] as usize).map_or("", |s| s.file.as_str())))
            }
            "x_MeterLensSourceLine" => Cell::Number(f64::from(t.line.get(row))),
            _ => Cell::Null,
        }
    }

    /// Writes the rows at `indices` (all rows when `None`) as FOCUS 1.2 CSV: a header, then one line a row.
    pub fn write_csv(&self, indices: Option<&[u32]>, spreadsheet_safe: bool, out: &mut impl Write) -> io::Result<()> {
        out.write_all(csv_header().as_bytes())?;
        match indices {
            Some(indices) => {
                for chunk in indices.chunks(64 * 1024) {
                    let lines = self.csv_lines(chunk.iter().map(|&i| i as usize), spreadsheet_safe);
                    out.write_all(lines.as_bytes())?;
                }
                Ok(())
            }
            None => out.write_all(self.csv_lines(0..self.len(), spreadsheet_safe).as_bytes()),
        }
    }

    /// CSV lines (no header) of the exported rows `indices`. `spreadsheet_safe` prefixes text a spreadsheet would
    /// run as a formula with `'` (for a file people open in Excel; engines want the text as it is).
    pub fn csv_lines(&self, indices: impl Iterator<Item = usize>, spreadsheet_safe: bool) -> String {
        let mut text = String::new();
        for i in indices {
            for column in 0..COLUMNS.len() {
                if column > 0 {
                    text.push(',');
                }
                match self.cell(i, column) {
                    Cell::Text(s) if spreadsheet_safe => text.push_str(&crate::export::csv_field(&s)),
                    cell => push_csv(&cell, &mut text),
                }
            }
            text.push('\n');
        }
        text
    }

    /// The exported rows that come from table rows `rows` (ascending), e.g. a report's selection.
    pub fn indices_of(&self, rows: &[u32]) -> Vec<u32> {
        let mut indices = Vec::with_capacity(rows.len());
        let mut from = 0;
        for &row in rows {
            let at = from + self.priced[from..].partition_point(|p| p.row < row);
            if self.priced.get(at).is_some_and(|p| p.row == row) {
                indices.push(at as u32);
            }
            from = at;
        }
        indices
    }

    /// Exported row indices per billing month, months in order.
    pub fn by_month(&self) -> Vec<(String, Vec<u32>)> {
        let mut months: std::collections::BTreeMap<i64, Vec<u32>> = Default::default();
        for (i, p) in self.priced.iter().enumerate() {
            months.entry(month_of(self.table.usage_start[p.row as usize]).0).or_default().push(i as u32);
        }
        months.into_values().map(|rows| (self.month(rows[0] as usize), rows)).collect()
    }
}

/// The FOCUS CSV header line.
pub fn csv_header() -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    names.join(",") + "\n"
}

/// A CSV field: quoted when it holds a comma, quote or line break. Values are data, not spreadsheet formulas:
/// nothing is prefixed, so that DuckDB or Spark read back exactly what was written.
fn push_csv(cell: &Cell<'_>, out: &mut String) {
    use std::fmt::Write;
    match cell {
        Cell::Null => {}
        Cell::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Cell::Time(seconds) => out.push_str(&iso(*seconds)),
        Cell::Text(s) if s.contains([',', '"', '\n', '\r']) => {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        }
        Cell::Text(s) => out.push_str(s),
    }
}

/// `YYYY-MM-DDTHH:mm:ssZ`.
pub fn iso(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The UTC calendar month holding `seconds`: its first instant and the first instant of the next month.
fn month_of(seconds: i64) -> (i64, i64) {
    use chrono::Datelike;
    let Some(t) = chrono::DateTime::from_timestamp(seconds, 0) else { return (seconds, seconds) };
    let start = |y: i32, m: u32| {
        chrono::NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(seconds, |d| d.and_utc().timestamp())
    };
    let (y, m) = (t.year(), t.month());
    let next = if m == 12 { start(y + 1, 1) } else { start(y, m + 1) };
    (start(y, m), next)
}

/// FOCUS ChargeCategory from a source's charge type.
fn charge_category(charge_type: &str) -> &'static str {
    match charge_type.to_ascii_lowercase().as_str() {
        "purchase" | "unusedreservation" | "unusedsavingsplan" => "Purchase",
        "refund" | "credit" => "Credit",
        "tax" => "Tax",
        "adjustment" | "roundingadjustment" => "Adjustment",
        _ => "Usage",
    }
}

/// FOCUS ServiceCategory from an Azure meter category or an Azure Stack Hub resource provider.
fn service_category(category: &str) -> &'static str {
    let c = category.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| c.contains(w));
    if has(&["virtual machine", "compute", "container", "kubernetes"]) {
        "Compute"
    } else if has(&["storage", "disk", "blob", "backup"]) {
        "Storage"
    } else if has(&["network", "bandwidth", "ip address", "load balancer", "dns", "gateway"]) {
        "Networking"
    } else if has(&["sql", "mysql", "database", "cosmos"]) {
        "Databases"
    } else if has(&["app service", "web", "function"]) {
        "Web"
    } else if has(&["key vault", "security"]) {
        "Security"
    } else if has(&["event hub", "service bus", "iot"]) {
        "Integration"
    } else {
        "Other"
    }
}

#[cfg(test)]
mod tests;

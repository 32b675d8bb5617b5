//! Prices: the catalog's list rates, a user's imported price sheet or chargeback rates, and rates edited by
//! hand, resolved in that order of precedence. One price book has one currency; rates in another currency
//! are reported, never mixed in.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::csv_records::{CsvRecords, Event};
use crate::export::csv_field;
use crate::licensing::Licensing;
use crate::meter_id;
use crate::time::parse_timestamp;

/// Where a rate comes from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RateSource {
    /// The catalog's list price, with the date it was seen.
    List {
        /// When the list price was seen.
        date: String,
    },
    /// An imported price sheet.
    PriceSheet {
        /// The file it came from.
        file: String,
    },
    /// Edited by the user.
    Edited,
    /// Waived by the stamp's licensing model (the rate is 0).
    Licensing {
        /// Why, in words.
        reason: String,
    },
}

impl RateSource {
    /// For people.
    pub fn describe(&self) -> String {
        match self {
            RateSource::List { date } if date.is_empty() => "list price".to_string(),
            RateSource::List { date } => format!("list price ({date})"),
            RateSource::PriceSheet { file } => format!("price sheet {file}"),
            RateSource::Edited => "edited".to_string(),
            RateSource::Licensing { reason } => reason.clone(),
        }
    }
}

/// A rate for one meter.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// Price per billing unit.
    pub unit_price: f64,
    /// Billing unit the price is per (as the sheet or catalog says).
    pub unit: String,
    /// When the rate takes effect (UTC seconds), if the sheet says.
    pub effective: Option<i64>,
    /// Where it comes from.
    pub source: RateSource,
}

/// The rates a bill is priced with, in one currency.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriceBook {
    /// Currency of every rate in the book.
    pub currency: String,
    sheet: BTreeMap<String, Vec<Rate>>,
    edited: BTreeMap<String, f64>,
    /// Use the catalog's USD list prices for meters the sheet does not price (only when the book is in USD).
    pub list_prices: bool,
    /// The stamp's licensing model: which usage charges are waived.
    pub licensing: Licensing,
}

impl Default for PriceBook {
    fn default() -> Self {
        PriceBook {
            currency: "USD".into(),
            sheet: BTreeMap::new(),
            edited: BTreeMap::new(),
            list_prices: true,
            licensing: Licensing::default(),
        }
    }
}

/// What importing a price sheet did.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PriceSheetReport {
    /// Rates taken.
    pub rates: usize,
    /// Rows left out, with why (other currency, unreadable price…).
    pub skipped: Vec<(u64, String)>,
    /// Set when the file is not a price sheet at all.
    pub error: Option<String>,
}

const METER_COLUMNS: &[&str] = &["MeterId", "Meter ID", "meter_id", "Meter Id", "ResourceMeterId"];
const PRICE_COLUMNS: &[&str] = &[
    "UnitPrice",
    "Unit Price",
    "unit_price",
    "EffectivePrice",
    "MeterRates",
    "ListPrice",
    "Rate",
    "Price",
    "PayGPrice",
];
const CURRENCY_COLUMNS: &[&str] = &["Currency", "CurrencyCode", "Currency Code", "currency", "BillingCurrency"];
const UNIT_COLUMNS: &[&str] = &["UnitOfMeasure", "Unit Of Measure", "Unit", "unit"];
const DATE_COLUMNS: &[&str] = &["EffectiveStartDate", "EffectiveDate", "Effective Date", "effective_date"];

impl PriceBook {
    /// Imports a price sheet CSV (MeterRates, EA price sheet and Partner Center column names are understood).
    /// The book takes the sheet's currency (the most common one in it); rows in other currencies are skipped
    /// and reported. Rates already imported in another currency are dropped, so the book never mixes.
    pub fn import_csv(&mut self, file: &str, bytes: &[u8]) -> PriceSheetReport {
        let mut report = PriceSheetReport::default();
        let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
        let mut stream = CsvRecords::default();
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut on_event = |event: Event<'_>| {
            if let Event::Record(r) = event {
                rows.push((r.line, r.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()));
            }
        };
        stream.feed(text, &mut on_event);
        stream.finish(&mut on_event);
        let Some((_, header)) = rows.first() else {
            report.error = Some(format!("{file}: the price sheet is empty"));
            return report;
        };
        let find = |names: &[&str]| names.iter().find_map(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)));
        let (Some(meter), Some(price)) = (find(METER_COLUMNS), find(PRICE_COLUMNS)) else {
            report.error = Some(format!(
                "{file}: not a price sheet: it needs a meter ID column ({}) and a price column ({})",
                METER_COLUMNS.join(", "),
                PRICE_COLUMNS.join(", ")
            ));
            return report;
        };
        let (currency, unit, date) = (find(CURRENCY_COLUMNS), find(UNIT_COLUMNS), find(DATE_COLUMNS));
        let field = |row: &Vec<String>, i: Option<usize>| i.and_then(|i| row.get(i)).cloned().unwrap_or_default();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, row) in &rows[1..] {
            *counts.entry(field(row, currency).to_ascii_uppercase()).or_default() += 1;
        }
        let sheet_currency = counts
            .iter()
            .max_by_key(|(c, n)| (**n, !c.is_empty()))
            .map(|(c, _)| if c.is_empty() { "USD".to_string() } else { c.clone() })
            .unwrap_or_else(|| "USD".into());
        // Importing a file again replaces what it gave before.
        for rates in self.sheet.values_mut() {
            rates.retain(|r| r.source != RateSource::PriceSheet { file: file.to_string() });
        }
        self.sheet.retain(|_, rates| !rates.is_empty());
        if sheet_currency != self.currency {
            self.sheet.clear();
            self.edited.clear();
            self.currency = sheet_currency.clone();
        }
        self.list_prices = self.currency == "USD";
        for (line, row) in &rows[1..] {
            let row_currency = field(row, currency).to_ascii_uppercase();
            if !row_currency.is_empty() && row_currency != sheet_currency {
                report.skipped.push((*line, format!("rate in {row_currency}, the sheet is in {sheet_currency}")));
                continue;
            }
            let id = meter_id::normalize(&field(row, Some(meter)));
            let price_text = field(row, Some(price));
            if price_text.contains(',') {
                report
                    .skipped
                    .push((*line, format!("price {price_text:?} has a comma; write it with a decimal point")));
                continue;
            }
            let unit_price = match price_text.parse::<f64>() {
                Ok(p) if p.is_finite() && p >= 0.0 => p,
                _ => {
                    report.skipped.push((*line, format!("price {price_text:?} is not a number")));
                    continue;
                }
            };
            if id.is_empty() {
                report.skipped.push((*line, "no meter ID".into()));
                continue;
            }
            let date_text = field(row, date);
            let effective = match parse_timestamp(&date_text) {
                Ok(t) => Some(t),
                Err(_) if date_text.is_empty() => None,
                Err(message) => {
                    report.skipped.push((*line, format!("effective date: {message}")));
                    continue;
                }
            };
            let rate = Rate {
                unit_price,
                unit: field(row, unit),
                effective,
                source: RateSource::PriceSheet { file: file.to_string() },
            };
            let rates = self.sheet.entry(id).or_default();
            rates.push(rate);
            rates.sort_by_key(|r| r.effective);
            report.rates += 1;
        }
        report
    }

    /// Sets a meter's rate by hand (in the book's currency).
    pub fn edit(&mut self, meter: &str, unit_price: f64) {
        self.edited.insert(meter_id::normalize(meter), unit_price);
    }

    /// Rates edited by hand, for saving.
    pub fn edited(&self) -> &BTreeMap<String, f64> {
        &self.edited
    }

    /// Forgets a hand-edited rate.
    pub fn reset(&mut self, meter: &str) {
        self.edited.remove(&meter_id::normalize(meter));
    }

    /// The rate of a local meter for usage at `at` (UTC seconds), per billing unit of the meter's commerce
    /// meter: edited, else the sheet's rate in effect, else the catalog list price when the book is in USD.
    /// A sheet rate per `10 Hours` counts a tenth per hour; a rate keyed by the local meter ID in a unit other
    /// than the billing unit is per local unit.
    pub fn rate(&self, meter: &str, at: i64) -> Option<Rate> {
        let local = Catalog::builtin().local_meter(meter);
        let billed = local.and_then(|m| m.billed_as());
        // Without a known commerce meter, the local unit is the billing unit.
        let unit = billed.map(|c| c.unit.clone()).or_else(|| local.map(|m| m.unit.clone())).unwrap_or_default();
        if let Some(reason) = self.licensing.waiver(meter) {
            let source = RateSource::Licensing { reason: reason.to_string() };
            return Some(Rate { unit_price: 0.0, unit, effective: None, source });
        }
        if let Some(&unit_price) = self.edited.get(meter) {
            return Some(Rate { unit_price, unit, effective: None, source: RateSource::Edited });
        }
        // A sheet may price the local meter or the commerce meter it is billed as.
        let commerce = billed.map(|c| c.id.as_str()).filter(|id| !id.is_empty() && *id != meter);
        let (rates, by_local_id) = match (self.sheet.get(meter), commerce.and_then(|c| self.sheet.get(c))) {
            (Some(rates), _) => (Some(rates), true),
            (None, rates) => (rates, false),
        };
        if let Some(rate) = rates.and_then(|rates| rates.iter().rev().find(|r| r.effective.is_none_or(|e| e <= at))) {
            // A rate keyed by the local meter in the local unit is per local unit; otherwise per billing unit.
            let local_unit = local.map_or("", |m| m.unit.as_str());
            let per_local = by_local_id && !rate.unit.is_empty() && same_unit(&rate.unit, local_unit);
            let target = if per_local { local_unit } else { unit.as_str() };
            let mut per_unit = rate.unit_price * block_size(target) / block_size(&rate.unit);
            let factor = billed.map_or(1.0, |c| c.factor);
            if per_local && factor != 1.0 {
                per_unit /= factor;
            }
            return Some(Rate { unit_price: per_unit, unit, ..rate.clone() });
        }
        if !self.list_prices {
            return None;
        }
        let billed = billed?;
        Some(Rate {
            unit_price: billed.rate?,
            unit: billed.unit.clone(),
            effective: None,
            source: RateSource::List { date: billed.rate_date.clone() },
        })
    }

    /// Every rate the book holds from sheets and edits, as CSV (`MeterId,UnitPrice,Currency,Unit,EffectiveDate,Source`).
    pub fn export_csv(&self) -> String {
        let mut out = String::from("MeterId,UnitPrice,Currency,Unit,EffectiveDate,Source\n");
        let currency = csv_field(&self.currency);
        for (meter, rates) in &self.sheet {
            for r in rates {
                let date = r.effective.map(|e| crate::time::day_label(crate::time::day_of(e))).unwrap_or_default();
                let (meter, unit, source) = (csv_field(meter), csv_field(&r.unit), csv_field(&r.source.describe()));
                out += &format!("{meter},{},{currency},{unit},{date},{source}\n", r.unit_price);
            }
        }
        for (meter, price) in &self.edited {
            out += &format!("{},{price},{currency},,,edited\n", csv_field(meter));
        }
        out
    }
}

/// The block a price or quantity is counted in: `10 Hours` → 10, `10K` → 10,000, `Request count in 10,000s`
/// → 10,000, `100 GB/Month` → 100; no number → 1.
fn block_size(unit: &str) -> f64 {
    let Some(start) = unit.find(|c: char| c.is_ascii_digit()) else { return 1.0 };
    let rest = &unit[start..];
    let digits: String =
        rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',').filter(|c| *c != ',').collect();
    let after = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
    let scale = match after.chars().next() {
        Some('K' | 'k') => 1e3,
        Some('M') => 1e6,
        _ => 1.0,
    };
    digits.parse::<f64>().ok().filter(|n| *n > 0.0).map_or(1.0, |n| n * scale)
}

/// Units equal ignoring case, spaces, a leading `1` and a plural `s`.
fn same_unit(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        u.trim().trim_start_matches('1').replace(' ', "").to_ascii_lowercase().trim_end_matches('s').to_string()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWS: &str = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";
    const BASE: &str = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";

    #[test]
    fn list_prices_by_default() {
        let book = PriceBook::default();
        let rate = book.rate(WINDOWS, 0).unwrap();
        assert_eq!((rate.unit_price, rate.unit.as_str()), (0.046, "1 Hour"));
        assert_eq!(rate.source.describe(), "list price (2019-12-03)");
        assert_eq!(book.rate("F271A8A3-88C4-4D93-956A-063E1D2FA80B", 0), None, "IPs have no list price");
    }

    #[test]
    fn sheet_then_edit_take_precedence_and_dates_pick_the_rate_in_effect() {
        let mut book = PriceBook::default();
        let sheet = format!(
            "MeterId,MeterName,UnitPrice,Currency,Unit,EffectiveDate\n{WINDOWS},Windows,0.05,USD,1 Hour,2026-01-01\n\
             {WINDOWS},Windows,0.06,USD,1 Hour,2026-10-15\nfb8c0713-ea20-40bf-901f-5560fd3f6330,x,1,USD,1 Hour,\n"
        );
        let report = book.import_csv("rates.csv", sheet.as_bytes());
        assert_eq!((report.rates, report.skipped.len(), report.error.clone()), (3, 0, None));
        let oct1 = parse_timestamp("2026-10-01").unwrap();
        assert_eq!(book.rate(WINDOWS, oct1).unwrap().unit_price, 0.05);
        assert_eq!(book.rate(WINDOWS, oct1 + 20 * 86_400).unwrap().unit_price, 0.06);
        assert_eq!(book.rate(BASE, oct1).unwrap().unit_price, 0.008, "unpriced by the sheet: list price");
        book.edit(WINDOWS, 0.07);
        assert_eq!(book.rate(WINDOWS, oct1).unwrap().source, RateSource::Edited);
        assert!(book.export_csv().contains(&format!("{WINDOWS},0.07,USD,,,edited")));
        // A unit taken from a sheet must not become a formula in the exported file.
        book.import_csv("evil.csv", format!("MeterId,UnitPrice,Unit\n{WINDOWS},1,=1+1\n").as_bytes());
        assert!(book.export_csv().contains(",'=1+1,"), "{}", book.export_csv());
    }

    #[test]
    fn another_currency_is_reported_not_mixed() {
        let mut book = PriceBook::default();
        let sheet = format!(
            "Meter ID,Unit Price,Currency Code\n{WINDOWS},0.04,EUR\n{BASE},0.007,EUR\n190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA,0.06,USD\n"
        );
        let report = book.import_csv("eur.csv", sheet.as_bytes());
        assert_eq!(book.currency, "EUR");
        assert_eq!(report.rates, 2);
        assert_eq!(report.skipped, vec![(4, "rate in USD, the sheet is in EUR".to_string())]);
        assert_eq!(book.rate("190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA", 0), None, "no USD list price in a EUR book");
        assert_eq!(book.rate(WINDOWS, 0).unwrap().unit_price, 0.04);
    }

    #[test]
    fn files_that_are_not_price_sheets() {
        let mut book = PriceBook::default();
        assert!(book.import_csv("x.csv", b"").error.unwrap().contains("empty"));
        let report = book.import_csv("usage.csv", b"Date,Quantity\n2026-10-01,3\n");
        assert!(report.error.unwrap().contains("needs a meter ID column"));
        let sheet = format!("MeterId,UnitPrice,EffectiveDate\n{WINDOWS},cheap,\n{WINDOWS},\"0,046\",\n{WINDOWS},NaN,\n{WINDOWS},1,soon\n");
        let report = book.import_csv("bad.csv", sheet.as_bytes());
        assert_eq!(report.rates, 0);
        assert_eq!(report.skipped[0], (2, "price \"cheap\" is not a number".to_string()));
        assert_eq!(report.skipped[1], (3, "price \"0,046\" has a comma; write it with a decimal point".to_string()));
        assert_eq!(report.skipped[2].0, 4);
        assert!(report.skipped[3].1.starts_with("effective date:"));
    }

    #[test]
    fn units_blocks_future_rates_and_reimports() {
        let table_storage = "B4438D5D-453B-4EE1-B42A-DC72E377F1E4";
        let mut book = PriceBook::default();
        let sheet = format!(
            "MeterId,UnitPrice,Currency,Unit,EffectiveDate\n{WINDOWS},0.5,USD,10 Hours,\n{table_storage},0.001,USD,GB*hours,\n\
             {BASE},0.009,USD,1 Hour,2099-01-01\n"
        );
        book.import_csv("units.csv", sheet.as_bytes());
        assert!((book.rate(WINDOWS, 0).unwrap().unit_price - 0.05).abs() < 1e-12, "0.5 per 10 hours");
        let storage = book.rate(table_storage, 0).unwrap();
        assert!(
            (storage.unit_price - 0.72).abs() < 1e-9,
            "per local GB*hour = 0.72 per GB/month: {}",
            storage.unit_price
        );
        assert_eq!(
            book.rate(BASE, 0).unwrap().source,
            RateSource::List { date: "2017-07".into() },
            "a future rate is not used"
        );
        let key_vault = "EBF13B9F-B3EA-46FE-BF54-396E93D48AB4";
        let mut sheet_book = PriceBook::default();
        let tx =
            format!("MeterId,UnitPrice,Unit\n{key_vault},0.03,10K transactions\n{table_storage},0.018,1 GB/Month\n");
        sheet_book.import_csv("tx.csv", tx.as_bytes());
        assert!((sheet_book.rate(key_vault, 0).unwrap().unit_price - 0.03).abs() < 1e-12, "10K = the meter's 10,000s");
        assert!((sheet_book.rate(table_storage, 0).unwrap().unit_price - 0.018).abs() < 1e-12, "per GB/month: no ×720");
        assert_eq!(block_size("Request count in 10,000s"), 10_000.0);
        assert_eq!(block_size("10 Hours"), 10.0);
        assert_eq!(block_size("GB*hours"), 1.0);
        let again = book.import_csv("units.csv", sheet.as_bytes());
        assert_eq!(again.rates, 3);
        assert_eq!(book.export_csv().lines().count(), 4, "re-importing replaces, not duplicates");
    }
}

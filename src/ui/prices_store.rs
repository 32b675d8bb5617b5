//! The user's rates (imported price sheets and edited rates), kept in the browser between visits.

use std::collections::BTreeMap;

use meterlens_engine::licensing::Licensing;
use meterlens_engine::prices::{PriceBook, PriceSheetReport};
use serde::{Deserialize, Serialize};

use crate::web;

const STORAGE_KEY: &str = "meterlens.prices.v1";

/// What is saved: the sheets as imported (re-read on load) and the hand-edited rates. Versioned on purpose.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Stored {
    version: u32,
    sheets: Vec<StoredSheet>,
    edited: BTreeMap<String, f64>,
    /// The stamp's licensing model (a later addition: absent in older saves).
    #[serde(default)]
    licensing: Licensing,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StoredSheet {
    file: String,
    csv: String,
}

/// The price book in use, and what to save of it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Prices {
    pub book: PriceBook,
    stored: Stored,
    /// Set when the browser refused to save.
    pub save_failed: bool,
}

impl Prices {
    /// The rates saved in this browser, or the list prices.
    pub fn load() -> Prices {
        let stored: Stored = web::load_setting(STORAGE_KEY)
            .and_then(|text| serde_json::from_str(&text).ok())
            .filter(|s: &Stored| s.version == 1)
            .unwrap_or_default();
        let mut book = PriceBook::default();
        book.licensing = stored.licensing;
        for sheet in &stored.sheets {
            book.import_csv(&sheet.file, sheet.csv.as_bytes());
        }
        for (meter, rate) in &stored.edited {
            book.edit(meter, *rate);
        }
        Prices { book, stored, save_failed: false }
    }

    /// Imports a price sheet; a sheet in another currency replaces the earlier rates (never mixed).
    pub fn import(&mut self, file: &str, bytes: &[u8]) -> PriceSheetReport {
        let currency = self.book.currency.clone();
        let report = self.book.import_csv(file, bytes);
        if report.error.is_none() {
            if self.book.currency != currency {
                self.stored.sheets.clear();
                self.stored.edited.clear();
            }
            self.stored
                .sheets
                .push(StoredSheet { file: file.to_string(), csv: String::from_utf8_lossy(bytes).into_owned() });
            self.save();
        }
        report
    }

    /// Sets a meter's rate by hand.
    pub fn edit(&mut self, meter: &str, rate: f64) {
        self.book.edit(meter, rate);
        self.stored.edited = self.book.edited().clone();
        self.save();
    }

    /// Sets the stamp's licensing model (which usage charges are waived).
    pub fn set_licensing(&mut self, licensing: Licensing) {
        self.book.licensing = licensing;
        self.stored.licensing = licensing;
        self.save();
    }

    /// Back to the list prices: forgets sheets and edits (the licensing model stays: it is not a price).
    pub fn reset(&mut self) {
        let licensing = self.book.licensing;
        *self = Prices {
            book: PriceBook::default(),
            stored: Stored { version: 1, ..Default::default() },
            save_failed: false,
        };
        self.set_licensing(licensing);
    }

    fn save(&mut self) {
        self.stored.version = 1;
        let text = serde_json::to_string(&self.stored).unwrap_or_default();
        self.save_failed = !web::save_setting(STORAGE_KEY, &text);
    }
}

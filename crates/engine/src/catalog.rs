//! The built-in meter catalog: every known Azure Stack Hub local meter, read from `data/azs-meters.csv`
//! (a copy of the shared domain data, compiled in, never retyped).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::csv_records::{CsvRecords, Event};
use crate::meter_id;

const AZS_METERS_CSV: &str = include_str!("../data/azs-meters.csv");

/// A local Azure Stack Hub meter.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalMeter {
    /// Normalised meter ID.
    pub id: String,
    /// Meter name as the FAQ gives it.
    pub name: String,
    /// Unit of the metered quantity, e.g. `Virtual core hours`, `GB*hours`.
    pub unit: String,
    /// Resource provider, e.g. `Compute`, `Storage`.
    pub provider: String,
    /// Notes from the source documents.
    pub notes: String,
    /// The meter is deprecated (superseded by another meter; never add both).
    pub deprecated: bool,
    /// The meter is informational only (e.g. VM size hours, not core-adjusted) and is never billed.
    pub informational: bool,
}

/// Local meters by ID.
#[derive(Debug)]
pub struct Catalog {
    meters: Vec<LocalMeter>,
    by_id: HashMap<String, usize>,
}

impl Catalog {
    /// The catalog compiled into this build.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::from_csv(AZS_METERS_CSV))
    }

    fn from_csv(text: &str) -> Catalog {
        let mut meters = Vec::new();
        let mut stream = CsvRecords::default();
        let mut on_event = |event: Event<'_>| {
            let Event::Record(record) = event else { return };
            let field = |i| record.get(i).map(|b| String::from_utf8_lossy(b).trim().to_string()).unwrap_or_default();
            if record.line == 1 {
                return;
            }
            let notes = field(4);
            let unit = field(2);
            meters.push(LocalMeter {
                id: meter_id::normalize(&field(0)),
                name: field(1),
                deprecated: notes.contains("Deprecated"),
                informational: notes.contains("informational") || notes.contains("Historical only"),
                unit,
                provider: field(3),
                notes,
            });
        };
        stream.feed(text.as_bytes(), &mut on_event);
        stream.finish(&mut on_event);
        let by_id = meters.iter().enumerate().map(|(i, m)| (m.id.clone(), i)).collect();
        Catalog { meters, by_id }
    }

    /// The local meter with this (normalised) ID.
    pub fn local_meter(&self, normalized_id: &str) -> Option<&LocalMeter> {
        self.by_id.get(normalized_id).map(|&i| &self.meters[i])
    }

    /// All local meters, in catalog order.
    pub fn local_meters(&self) -> &[LocalMeter] {
        &self.meters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meter_of_the_data_file_is_loaded() {
        let catalog = Catalog::builtin();
        let data_rows = AZS_METERS_CSV.lines().filter(|l| !l.trim().is_empty()).count() - 1;
        assert_eq!(catalog.local_meters().len(), data_rows);
        assert_eq!(data_rows, 86);
    }

    #[test]
    fn lookups_use_normalised_ids() {
        let catalog = Catalog::builtin();
        let ip = catalog.local_meter("F271A8A3-88C4-4D93-956A-063E1D2FA80B").expect("static IP meter");
        assert_eq!(ip.unit, "IP addresses");
        let vm_hours = catalog.local_meter("6DAB500F-A4FD-49C4-956D-229BB9C8C793").expect("VM size hours");
        assert!(vm_hours.informational);
        let old_s4 = catalog.local_meter("5D76E09F-4567-452A-94CC-7D1F097761F0").expect("hourly S4");
        assert!(old_s4.deprecated);
        assert_eq!(catalog.local_meter("TableTransactions"), None);
        let tx = catalog.local_meter("B9FF3CD0-28AA-4762-84BB-FF8FBAEA6A90").expect("table transactions");
        assert_eq!(tx.unit, "Request count in 10,000s");
    }
}

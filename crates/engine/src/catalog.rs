//! The built-in meter catalog: every known Azure Stack Hub local meter and its known Azure commerce meters,
//! rates and units, compiled in from `data/azs-meters.csv` and `data/commerce-meter-map.csv` (byte copies of
//! the shared domain data; never retyped).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::csv_records::{CsvRecords, Event};
use crate::meter_id;

const AZS_METERS_CSV: &str = include_str!("../data/azs-meters.csv");
const COMMERCE_MAP_CSV: &str = include_str!("../data/commerce-meter-map.csv");

/// What users see as the catalog's version and source.
pub const CATALOG_SOURCE: &str = "Azure Stack Hub usage FAQ (local meters, 2021-02) and a partial local→commerce map \
     from public RateCard dumps, HPE scripts, AzureStack-Tools and Directions on Microsoft (2017–2019)";

/// Hours in a billing month, as Azure's GB/month ↔ GB/hour rates assume (0.0000083333 × 720 = 0.006).
pub const HOURS_PER_MONTH: f64 = 720.0;

/// How Azure bills a local meter.
#[derive(Clone, Debug, PartialEq)]
pub struct CommerceMeter {
    /// Normalised commerce meter ID; empty when no ID is known.
    pub id: String,
    /// Meter category on the Azure side.
    pub category: String,
    /// Meter subcategory on the Azure side.
    pub subcategory: String,
    /// Meter name on the Azure side.
    pub name: String,
    /// Billing unit, e.g. `1 Hour`, `1 GB/Hr`, `1/Month`.
    pub unit: String,
    /// Billed quantity = local quantity × factor.
    pub factor: f64,
    /// List rate in USD per billing unit, when known.
    pub rate: Option<f64>,
    /// When the rate was seen.
    pub rate_date: String,
    /// How sure the mapping is, as the source says.
    pub confidence: String,
    /// Where the mapping comes from.
    pub source: String,
    /// Infrastructure (admin) usage: reported, billed at zero.
    pub admin: bool,
}

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
    /// Known commerce meters: the tenant one first, then an admin variant if any.
    pub commerce: Vec<CommerceMeter>,
}

impl LocalMeter {
    /// The commerce meter tenant usage is billed under.
    pub fn billed_as(&self) -> Option<&CommerceMeter> {
        self.commerce.iter().find(|c| !c.admin)
    }
}

/// Local meters by ID, and commerce meters by ID.
#[derive(Debug)]
pub struct Catalog {
    meters: Vec<LocalMeter>,
    by_id: HashMap<String, usize>,
    /// Commerce meter ID → (local meter index, commerce index).
    by_commerce_id: HashMap<String, (usize, usize)>,
}

impl Catalog {
    /// The catalog compiled into this build.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::from_csv(AZS_METERS_CSV, COMMERCE_MAP_CSV))
    }

    fn from_csv(meters_csv: &str, map_csv: &str) -> Catalog {
        let mut meters: Vec<LocalMeter> = records(meters_csv)
            .into_iter()
            .map(|f| {
                let notes = f[4].clone();
                LocalMeter {
                    id: meter_id::normalize(&f[0]),
                    name: f[1].clone(),
                    unit: f[2].clone(),
                    provider: f[3].clone(),
                    deprecated: notes.contains("Deprecated"),
                    informational: notes.contains("informational") || notes.contains("Historical only"),
                    notes,
                    commerce: Vec::new(),
                }
            })
            .collect();
        let by_id: HashMap<String, usize> = meters.iter().enumerate().map(|(i, m)| (m.id.clone(), i)).collect();
        let mut by_commerce_id = HashMap::new();
        for f in records(map_csv) {
            let commerce_id = guids(&f[2]).into_iter().next().unwrap_or_default();
            for local in guids(&f[0]) {
                let Some(&index) = by_id.get(&local) else { continue };
                let meter = &mut meters[index];
                if commerce_id.is_empty() && f[6].is_empty() {
                    continue; // "(none expected)": informational meters have no commerce meter.
                }
                let commerce = CommerceMeter {
                    id: commerce_id.clone(),
                    category: f[3].clone(),
                    subcategory: f[4].clone(),
                    name: f[5].clone(),
                    factor: unit_factor(&meter.unit, &f[6]),
                    unit: f[6].clone(),
                    rate: first_number(&f[7]),
                    rate_date: f[8].clone(),
                    confidence: f[9].clone(),
                    source: f[10].clone(),
                    admin: f[5].contains("Admin") || f[1].contains("infrastructure"),
                };
                if !commerce.id.is_empty() {
                    by_commerce_id.insert(commerce.id.clone(), (index, meter.commerce.len()));
                }
                meter.commerce.push(commerce);
            }
        }
        Catalog { meters, by_id, by_commerce_id }
    }

    /// The local meter with this (normalised) ID.
    pub fn local_meter(&self, normalized_id: &str) -> Option<&LocalMeter> {
        self.by_id.get(normalized_id).map(|&i| &self.meters[i])
    }

    /// The commerce meter with this (normalised) ID, with the local meter it bills.
    pub fn commerce_meter(&self, normalized_id: &str) -> Option<(&LocalMeter, &CommerceMeter)> {
        self.by_commerce_id.get(normalized_id).map(|&(m, c)| (&self.meters[m], &self.meters[m].commerce[c]))
    }

    /// All local meters, in catalog order.
    pub fn local_meters(&self) -> &[LocalMeter] {
        &self.meters
    }

    /// A short version string: the data it was built from, for people.
    pub fn version(&self) -> String {
        let mapped = self.meters.iter().filter(|m| !m.commerce.is_empty()).count();
        format!("{} local meters, {} with a known commerce mapping", self.meters.len(), mapped)
    }
}

/// Data records of a small CSV (header skipped), fields trimmed.
fn records(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut stream = CsvRecords::default();
    let mut on_event = |event: Event<'_>| {
        if let Event::Record(record) = event {
            if record.line > 1 {
                let mut fields: Vec<String> =
                    record.iter().map(|b| String::from_utf8_lossy(b).trim().to_string()).collect();
                fields.resize(11, String::new());
                rows.push(fields);
            }
        }
    };
    stream.feed(text.as_bytes(), &mut on_event);
    stream.finish(&mut on_event);
    rows
}

/// Every GUID in `text` (with or without dashes), normalised.
fn guids(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .map(meter_id::normalize)
        .filter(|id| id.len() == 36 && id.matches('-').count() == 4)
        .collect()
}

/// The first number in `text` (`"0.046"`, `"(0 expected; unconfirmed)"`).
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let number: String = text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    number.parse().ok()
}

/// Billed quantity per local quantity when converting `local_unit` into `commerce_unit`.
pub fn unit_factor(local_unit: &str, commerce_unit: &str) -> f64 {
    let local = local_unit.to_ascii_lowercase();
    let commerce = commerce_unit.to_ascii_lowercase();
    if local.contains("hours") && local.contains("gb") && commerce.contains("month") {
        1.0 / HOURS_PER_MONTH
    } else {
        1.0
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
        assert!(vm_hours.informational && vm_hours.commerce.is_empty());
        let old_s4 = catalog.local_meter("5D76E09F-4567-452A-94CC-7D1F097761F0").expect("hourly S4");
        assert!(old_s4.deprecated);
        assert_eq!(catalog.local_meter("TableTransactions"), None);
    }

    #[test]
    fn commerce_mappings_with_rates_units_and_confidence() {
        let catalog = Catalog::builtin();
        let windows = catalog.local_meter("9CD92D4C-BAFD-4492-B278-BEDC2DE8232A").unwrap().billed_as().unwrap();
        assert_eq!(
            (windows.id.as_str(), windows.rate, windows.factor),
            ("FB8C0713-EA20-40BF-901F-5560FD3F6330", Some(0.046), 1.0)
        );
        assert!(windows.confidence.starts_with("medium"));
        let blob = catalog.local_meter("09F8879E-87E9-4305-A572-4B7BE209F857").unwrap();
        assert_eq!(blob.commerce.len(), 2);
        assert_eq!(blob.billed_as().unwrap().rate, Some(0.0000083333));
        assert!(blob.commerce[1].admin && blob.commerce[1].name == "Storage Admin");
        let (local, admin) = catalog.commerce_meter("8767AEB3-6909-4DB2-9927-3F51E9A9085E").unwrap();
        assert_eq!((local.name.as_str(), admin.admin), ("BlockBlobCapacity", true));
        let table = catalog.local_meter("B4438D5D-453B-4EE1-B42A-DC72E377F1E4").unwrap().billed_as().unwrap();
        assert_eq!((table.rate, table.factor), (Some(0.018), 1.0 / 720.0), "GB*hours billed per GB/month");
        let s30 = catalog.local_meter("5B1DB88A-8596-4002-8052-347947C26940").unwrap().billed_as().unwrap();
        assert_eq!((s30.unit.as_str(), s30.rate), ("1/Month", Some(10.24)));
        assert!(catalog.version().starts_with("86 local meters"));
    }

    #[test]
    fn the_data_files_are_copies_of_the_shared_domain_data() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/domain/data");
        if !shared.exists() {
            return; // A clone without the shared folder beside it: nothing to compare with.
        }
        for (name, ours) in [("azs-meters.csv", AZS_METERS_CSV), ("commerce-meter-map.csv", COMMERCE_MAP_CSV)] {
            let theirs = std::fs::read_to_string(shared.join(name)).unwrap();
            assert_eq!(
                ours, theirs,
                "crates/engine/data/{name} differs from the shared data: run scripts/sync-domain-data"
            );
        }
    }
}

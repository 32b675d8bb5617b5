//! The canonical usage table: one row per usage record, stored by column, strings dictionary-encoded.

use rustc_hash::FxHashMap;

use crate::ingest::Format;

/// Index of a distinct string in a [`UsageTable`]'s dictionary. `StrId::EMPTY` is the empty string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StrId(pub u32);

impl StrId {
    /// The empty string, present in every dictionary.
    pub const EMPTY: StrId = StrId(0);
}

/// One copy of each distinct string.
#[derive(Clone, Debug)]
pub struct Dictionary {
    values: Vec<Box<str>>,
    index: FxHashMap<Box<str>, StrId>,
}

impl Default for Dictionary {
    fn default() -> Self {
        let mut dictionary = Dictionary {
            values: Vec::new(),
            index: FxHashMap::default(),
        };
        dictionary.intern("");
        dictionary
    }
}

impl Dictionary {
    /// The id of `value`, adding it if new.
    pub fn intern(&mut self, value: &str) -> StrId {
        if let Some(&id) = self.index.get(value) {
            return id;
        }
        let id = StrId(self.values.len() as u32);
        self.values.push(value.into());
        self.index.insert(value.into(), id);
        id
    }

    /// The string behind `id` (empty for an id from another dictionary that is out of range).
    pub fn get(&self, id: StrId) -> &str {
        self.values.get(id.0 as usize).map_or("", |s| s)
    }

    /// The id of `value` if it is present.
    pub fn find(&self, value: &str) -> Option<StrId> {
        self.index.get(value).copied()
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.values.len() <= 1
    }

    fn heap_bytes(&self) -> usize {
        let text: usize = self.values.iter().map(|s| s.len()).sum();
        // Each string is held twice (list and index); count pointers and hash slots too.
        2 * text + self.values.capacity() * 16 + self.index.capacity() * (16 + 4 + 8)
    }
}

/// Where rows came from: one entry per ingested file.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// File name as the user gave it.
    pub file: String,
    /// Detected format.
    pub format: Format,
}

/// One usage record as parsed, before it is stored. Strings borrow from the parser's buffers.
#[derive(Clone, Debug, Default)]
pub struct UsageRecord<'a> {
    /// Start of the usage window, UTC seconds.
    pub usage_start: i64,
    /// End of the usage window, UTC seconds.
    pub usage_end: i64,
    /// Subscription that consumed (for Azure Stack local data: the tenant subscription).
    pub subscription: &'a str,
    /// Resource group (lower-case is not enforced; the source spelling is kept).
    pub resource_group: &'a str,
    /// Full resource URI or ID.
    pub resource_uri: &'a str,
    /// Resource type such as `virtualMachines` or `Microsoft.Compute/virtualMachines`.
    pub resource_type: &'a str,
    /// Resource name.
    pub resource_name: &'a str,
    /// Location or region.
    pub location: &'a str,
    /// Normalised meter ID (see [`crate::meter_id::normalize`]).
    pub meter_id: &'a str,
    /// Meter name.
    pub meter_name: &'a str,
    /// Unit of the quantity.
    pub unit: &'a str,
    /// Quantity in `unit`.
    pub quantity: f64,
    /// Billed cost when the file carries one, else `None`.
    pub cost: Option<f64>,
    /// Currency of `cost` (empty when unknown).
    pub currency: &'a str,
    /// Tags as the source wrote them.
    pub tags: &'a str,
    /// Additional info as the source wrote it.
    pub additional_info: &'a str,
}

/// The columnar usage table every view reads. Rows are appended by ingest and never change afterwards.
#[derive(Clone, Debug, Default)]
pub struct UsageTable {
    strings: Dictionary,
    sources: Vec<Source>,
    /// Index into `sources` per row.
    pub source: Vec<u16>,
    /// Line in the source file where the row starts (1-based).
    pub line: Vec<u32>,
    /// Usage window start, UTC seconds.
    pub usage_start: Vec<i64>,
    /// Usage window end, UTC seconds.
    pub usage_end: Vec<i64>,
    /// Subscription per row.
    pub subscription: Vec<StrId>,
    /// Resource group per row.
    pub resource_group: Vec<StrId>,
    /// Resource URI per row.
    pub resource_uri: Vec<StrId>,
    /// Resource type per row.
    pub resource_type: Vec<StrId>,
    /// Resource name per row.
    pub resource_name: Vec<StrId>,
    /// Location per row.
    pub location: Vec<StrId>,
    /// Normalised meter ID per row.
    pub meter_id: Vec<StrId>,
    /// Meter name per row.
    pub meter_name: Vec<StrId>,
    /// Unit per row.
    pub unit: Vec<StrId>,
    /// Quantity per row.
    pub quantity: Vec<f64>,
    /// Billed cost per row; NaN when the source had none.
    pub cost: Vec<f64>,
    /// Currency per row.
    pub currency: Vec<StrId>,
    /// Tags text per row.
    pub tags: Vec<StrId>,
    /// Additional info text per row.
    pub additional_info: Vec<StrId>,
}

impl UsageTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.quantity.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.quantity.is_empty()
    }

    /// The string behind a dictionary id.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// The dictionary of distinct strings.
    pub fn strings(&self) -> &Dictionary {
        &self.strings
    }

    /// Ingested files, in order.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Registers a source file and returns its index for [`UsageTable::push`].
    pub fn add_source(&mut self, file: &str, format: Format) -> u16 {
        self.sources.push(Source {
            file: file.to_string(),
            format,
        });
        (self.sources.len() - 1).min(u16::MAX as usize) as u16
    }

    /// Sets the format of an already registered source (formats are known only after the header is read).
    pub fn set_source_format(&mut self, source: u16, format: Format) {
        if let Some(s) = self.sources.get_mut(source as usize) {
            s.format = format;
        }
    }

    /// Appends one row.
    pub fn push(&mut self, source: u16, line: u64, record: &UsageRecord<'_>) {
        let s = &mut self.strings;
        self.source.push(source);
        self.line.push(line.min(u32::MAX as u64) as u32);
        self.usage_start.push(record.usage_start);
        self.usage_end.push(record.usage_end);
        self.subscription.push(s.intern(record.subscription));
        self.resource_group.push(s.intern(record.resource_group));
        self.resource_uri.push(s.intern(record.resource_uri));
        self.resource_type.push(s.intern(record.resource_type));
        self.resource_name.push(s.intern(record.resource_name));
        self.location.push(s.intern(record.location));
        self.meter_id.push(s.intern(record.meter_id));
        self.meter_name.push(s.intern(record.meter_name));
        self.unit.push(s.intern(record.unit));
        self.quantity.push(record.quantity);
        self.cost.push(record.cost.unwrap_or(f64::NAN));
        self.currency.push(s.intern(record.currency));
        self.tags.push(s.intern(record.tags));
        self.additional_info.push(s.intern(record.additional_info));
    }

    /// Bytes held on the heap by the table (columns with their spare capacity, and the dictionary).
    pub fn heap_bytes(&self) -> usize {
        fn bytes<T>(column: &Vec<T>) -> usize {
            column.capacity() * std::mem::size_of::<T>()
        }
        let ids = [
            &self.subscription,
            &self.resource_group,
            &self.resource_uri,
            &self.resource_type,
            &self.resource_name,
            &self.location,
            &self.meter_id,
            &self.meter_name,
            &self.unit,
            &self.currency,
            &self.tags,
            &self.additional_info,
        ];
        ids.iter().map(|c| bytes(c)).sum::<usize>()
            + bytes(&self.source)
            + bytes(&self.line)
            + bytes(&self.usage_start)
            + bytes(&self.usage_end)
            + bytes(&self.quantity)
            + bytes(&self.cost)
            + self.strings.heap_bytes()
    }

    /// Frees spare column capacity (after ingest has finished).
    pub fn shrink_to_fit(&mut self) {
        for c in [
            &mut self.subscription,
            &mut self.resource_group,
            &mut self.resource_uri,
            &mut self.resource_type,
            &mut self.resource_name,
            &mut self.location,
            &mut self.meter_id,
            &mut self.meter_name,
            &mut self.unit,
            &mut self.currency,
            &mut self.tags,
            &mut self.additional_info,
        ] {
            c.shrink_to_fit();
        }
        self.source.shrink_to_fit();
        self.line.shrink_to_fit();
        self.usage_start.shrink_to_fit();
        self.usage_end.shrink_to_fit();
        self.quantity.shrink_to_fit();
        self.cost.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_stored_once() {
        let mut table = UsageTable::default();
        let src = table.add_source("a.csv", Format::UsageSummaryCsv);
        let rec = UsageRecord {
            subscription: "sub-1",
            meter_id: "M",
            quantity: 2.0,
            ..Default::default()
        };
        table.push(src, 2, &rec);
        table.push(src, 3, &rec);
        assert_eq!(table.len(), 2);
        assert_eq!(table.subscription[0], table.subscription[1]);
        assert_eq!(table.str(table.subscription[1]), "sub-1");
        assert_eq!(table.str(table.resource_group[0]), "");
        assert_eq!(table.strings().len(), 3);
        assert!(table.cost[0].is_nan());
        assert_eq!(table.line, vec![2, 3]);
    }
}

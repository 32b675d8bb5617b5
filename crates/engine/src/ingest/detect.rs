//! Format detection from a CSV header, and the column layout each format maps to the canonical fields.

use super::{FileError, Format};
use crate::csv_records::Record;

/// A canonical usage field that a source column can feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Usage window start.
    UsageStart,
    /// Usage window end.
    UsageEnd,
    /// Meter ID.
    MeterId,
    /// Meter name.
    MeterName,
    /// Quantity.
    Quantity,
    /// Unit of measure.
    Unit,
    /// Resource type.
    ResourceType,
    /// Location.
    Location,
    /// Resource group.
    ResourceGroup,
    /// Resource name.
    ResourceName,
    /// Tags.
    Tags,
    /// Additional info.
    AdditionalInfo,
    /// Subscription.
    Subscription,
    /// Resource URI.
    ResourceUri,
    /// Billed cost.
    Cost,
}

const FIELD_COUNT: usize = Field::Cost as usize + 1;

/// Which column feeds which field, for one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The detected format.
    pub format: Format,
    columns: [Option<usize>; FIELD_COUNT],
    names: Vec<String>,
}

impl Layout {
    /// Index of the column feeding `field`.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    /// Header name of column `index`.
    pub fn column_name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }
}

struct Spec {
    format: Format,
    /// Header names (matched case-insensitively) and the field each feeds; all are required.
    columns: &'static [(&'static str, Option<Field>)],
}

/// Headers from AzureStack-Tools `Usage/Usagesummary.ps1` and `Usage/AppService/Common.ps1`.
const SPECS: &[Spec] = &[
    Spec {
        format: Format::UsageSummaryCsv,
        columns: &[
            ("UsageStartTime", Some(Field::UsageStart)),
            ("UsageEndTime", Some(Field::UsageEnd)),
            ("MeterName", Some(Field::MeterName)),
            ("Quantity", Some(Field::Quantity)),
            ("resourceType", Some(Field::ResourceType)),
            ("location", Some(Field::Location)),
            ("resourceGroup", Some(Field::ResourceGroup)),
            ("resourceName", Some(Field::ResourceName)),
            ("subowner", None),
            ("tags", Some(Field::Tags)),
            ("MeterId", Some(Field::MeterId)),
            ("additionalInfo", Some(Field::AdditionalInfo)),
            ("subscription", Some(Field::Subscription)),
            ("resourceUri", Some(Field::ResourceUri)),
        ],
    },
    Spec {
        format: Format::AppServiceUsageSummaryCsv,
        columns: &[
            ("MeterId", Some(Field::MeterId)),
            ("MeterName", Some(Field::MeterName)),
            ("Quantity", Some(Field::Quantity)),
            ("UnitPrice", None),
            ("Amount", Some(Field::Cost)),
            ("UsageStartTime", Some(Field::UsageStart)),
            ("UsageEndTime", Some(Field::UsageEnd)),
            ("additionalInfo", Some(Field::AdditionalInfo)),
            ("location", Some(Field::Location)),
            ("tags", Some(Field::Tags)),
            ("subscription", Some(Field::Subscription)),
            ("resourceType", Some(Field::ResourceType)),
            ("resourceName", Some(Field::ResourceName)),
            ("resourceUri", Some(Field::ResourceUri)),
        ],
    },
];

/// Decides the format from a header record.
pub(super) fn detect(header: &Record<'_>) -> Result<Layout, FileError> {
    let names: Vec<String> = header
        .iter()
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .collect();
    let position = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let mut closest: Option<(&Spec, usize)> = None;
    for spec in SPECS {
        let matched = spec
            .columns
            .iter()
            .filter(|(name, _)| position(name).is_some())
            .count();
        if matched == spec.columns.len() {
            let mut columns = [None; FIELD_COUNT];
            for (name, field) in spec.columns {
                if let Some(field) = field {
                    columns[*field as usize] = position(name);
                }
            }
            return Ok(Layout {
                format: spec.format,
                columns,
                names,
            });
        }
        if closest.is_none_or(|(_, best)| matched > best) {
            closest = Some((spec, matched));
        }
    }
    let (spec, matched) = closest.expect("SPECS is not empty");
    Err(FileError::UnknownHeader {
        closest: spec.format.label(),
        matched,
        expected: spec.columns.len(),
        missing: spec
            .columns
            .iter()
            .filter(|(name, _)| position(name).is_none())
            .map(|(name, _)| name.to_string())
            .collect(),
    })
}

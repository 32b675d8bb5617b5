//! Format detection from a CSV header, and the layout mapping a file's columns to canonical fields.

use super::{FileError, Format};

/// A canonical usage field that a source column can feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    UsageStart,
    UsageEnd,
    MeterId,
    MeterName,
    MeterCategory,
    MeterSubcategory,
    MeterRegion,
    Quantity,
    Unit,
    ResourceType,
    Location,
    ResourceGroup,
    ResourceName,
    ResourceUri,
    Subscription,
    SubscriptionName,
    Tags,
    AdditionalInfo,
    Cost,
    EffectiveCost,
    UnitPrice,
    Currency,
    ChargeType,
    PricingModel,
    Customer,
}

const FIELD_COUNT: usize = Field::Customer as usize + 1;

impl Field {
    /// Every field, for listing and for `--map`.
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::UsageStart,
        Field::UsageEnd,
        Field::MeterId,
        Field::MeterName,
        Field::MeterCategory,
        Field::MeterSubcategory,
        Field::MeterRegion,
        Field::Quantity,
        Field::Unit,
        Field::ResourceType,
        Field::Location,
        Field::ResourceGroup,
        Field::ResourceName,
        Field::ResourceUri,
        Field::Subscription,
        Field::SubscriptionName,
        Field::Tags,
        Field::AdditionalInfo,
        Field::Cost,
        Field::EffectiveCost,
        Field::UnitPrice,
        Field::Currency,
        Field::ChargeType,
        Field::PricingModel,
        Field::Customer,
    ];

    /// Stable snake_case name (used by `--map FIELD=COLUMN`).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::UsageStart => "usage_start",
            Field::UsageEnd => "usage_end",
            Field::MeterId => "meter_id",
            Field::MeterName => "meter_name",
            Field::MeterCategory => "meter_category",
            Field::MeterSubcategory => "meter_subcategory",
            Field::MeterRegion => "meter_region",
            Field::Quantity => "quantity",
            Field::Unit => "unit",
            Field::ResourceType => "resource_type",
            Field::Location => "location",
            Field::ResourceGroup => "resource_group",
            Field::ResourceName => "resource_name",
            Field::ResourceUri => "resource_uri",
            Field::Subscription => "subscription",
            Field::SubscriptionName => "subscription_name",
            Field::Tags => "tags",
            Field::AdditionalInfo => "additional_info",
            Field::Cost => "cost",
            Field::EffectiveCost => "effective_cost",
            Field::UnitPrice => "unit_price",
            Field::Currency => "currency",
            Field::ChargeType => "charge_type",
            Field::PricingModel => "pricing_model",
            Field::Customer => "customer",
        }
    }

    /// Header names that feed this field, in order of preference (matched ignoring case).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::UsageStart => {
                &["UsageStartTime", "ChargePeriodStart", "Usage Date", "UsageDateTime", "Date", "UsageDate"]
            }
            Field::UsageEnd => &["UsageEndTime", "ChargePeriodEnd"],
            Field::MeterId => &["MeterId", "Meter ID", "x_SkuMeterId"],
            Field::MeterName => &["MeterName", "Meter Name", "x_SkuMeterName", "SkuMeter"],
            Field::MeterCategory => &["MeterCategory", "Meter Category", "x_SkuMeterCategory"],
            Field::MeterSubcategory => {
                &["MeterSubCategory", "Meter Sub-category", "Meter Sub-Category", "x_SkuMeterSubcategory"]
            }
            Field::MeterRegion => &["MeterRegion", "Meter Region", "x_SkuRegion"],
            Field::Quantity => &["Quantity", "Consumed Quantity", "UsageQuantity", "ConsumedQuantity"],
            Field::Unit => &["UnitOfMeasure", "Unit Of Measure", "Unit", "ConsumedUnit"],
            Field::ResourceType => &["resourceType", "x_ResourceType"],
            Field::Location => &["location", "Resource Location", "ResourceLocation", "RegionId", "RegionName"],
            Field::ResourceGroup => &["resourceGroup", "Resource Group", "x_ResourceGroupName"],
            Field::ResourceName => &["resourceName"],
            Field::ResourceUri => &["resourceUri", "Instance ID", "InstanceId", "ResourceId"],
            Field::Subscription => &["subscription", "SubscriptionGuid", "SubscriptionId", "SubAccountId"],
            Field::SubscriptionName => &["SubscriptionName", "Subscription Name", "SubAccountName"],
            Field::Tags => &["tags"],
            Field::AdditionalInfo => &["additionalInfo", "Additional Info", "x_SkuDetails"],
            Field::Cost => {
                &["Amount", "BilledCost", "CostInBillingCurrency", "Cost", "PreTaxCost", "ExtendedCost", "Value"]
            }
            Field::EffectiveCost => &["EffectiveCost"],
            Field::UnitPrice => &["UnitPrice", "EffectivePrice", "ResourceRate", "Rate", "x_EffectiveUnitPrice"],
            Field::Currency => &["BillingCurrency", "BillingCurrencyCode", "Currency"],
            Field::ChargeType => &["ChargeType", "ChargeCategory"],
            Field::PricingModel => &["PricingModel", "PricingCategory"],
            Field::Customer => &["CustomerName", "CustomerCompanyName", "Customer Name"],
        }
    }
}

impl std::str::FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Field::ALL.iter().copied().find(|f| f.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown field {s:?}; valid fields: {}", names.join(", "))
        })
    }
}

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

    /// Number of columns in the header.
    pub fn width(&self) -> usize {
        self.names.len()
    }
}

/// A user's own column mapping: canonical field → header name. It overrides what detection found, and lets
/// a file with an unknown header be read when it names at least the usage start, meter ID and quantity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnMapping(pub Vec<(Field, String)>);

impl ColumnMapping {
    /// Parses `field=Column` pairs, e.g. `usage_start=Day,meter_id=Meter,quantity=Qty`.
    pub fn parse(text: &str) -> Result<ColumnMapping, String> {
        let mut pairs = Vec::new();
        for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (field, column) =
                pair.split_once('=').ok_or_else(|| format!("column mapping {pair:?} is not FIELD=COLUMN"))?;
            pairs.push((field.parse()?, column.trim().to_string()));
        }
        Ok(ColumnMapping(pairs))
    }
}

/// In a spec's `columns`: the field has no column in this format, whatever the synonyms would find.
const NO_COLUMN: &str = "";

/// A format's identity: every group must have one of its columns present. `columns` names the column of a field
/// where the shared synonyms would pick the wrong one (`""`: none).
struct Spec {
    format: Format,
    signature: &'static [&'static [&'static str]],
    columns: &'static [(Field, &'static str)],
}

/// Most specific first: the first spec whose signature is complete wins.
const SPECS: &[Spec] = &[
    // Partner Center legacy usage-based reconciliation file: one row per meter and billing cycle, no resources.
    Spec {
        format: Format::PartnerCenterUsageCsv,
        signature: &[&["PartnerBillableAccountId"], &["ResourceGuid"], &["ConsumedQuantity"], &["ChargeStartDate"]],
        columns: &[
            (Field::UsageStart, "ChargeStartDate"),
            (Field::UsageEnd, "ChargeEndDate"),
            (Field::MeterId, "ResourceGuid"),
            (Field::MeterName, "ResourceName"),
            (Field::MeterCategory, "ServiceName"),
            (Field::MeterSubcategory, "ServiceType"),
            (Field::MeterRegion, "Region"),
            (Field::Quantity, "ConsumedQuantity"),
            (Field::Cost, "PretaxCharges"),
            (Field::UnitPrice, "ListPrice"),
            (Field::Location, "MeteredRegion"),
            (Field::ResourceName, NO_COLUMN),
            (Field::Customer, "CustomerCompanyName"),
        ],
    },
    // Partner Center daily rated usage reconciliation file (Azure plan, new commerce).
    Spec {
        format: Format::PartnerCenterDailyCsv,
        signature: &[&["EntitlementId"], &["UsageDate"], &["MeterId"], &["Quantity"], &["BillingPreTaxTotal"]],
        columns: &[
            (Field::UsageStart, "UsageDate"),
            (Field::Subscription, "EntitlementId"),
            (Field::SubscriptionName, "EntitlementDescription"),
            (Field::Cost, "BillingPreTaxTotal"),
            // Unit prices are in PricingCurrency, costs in BillingCurrency: one currency per row, so no unit price.
            (Field::UnitPrice, NO_COLUMN),
        ],
    },
    Spec {
        format: Format::UsageSummaryCsv,
        signature: &[
            &["UsageStartTime"],
            &["UsageEndTime"],
            &["MeterId"],
            &["Quantity"],
            &["resourceGroup"],
            &["subowner"],
        ],
        columns: &[],
    },
    Spec {
        format: Format::AppServiceUsageSummaryCsv,
        signature: &[&["UsageStartTime"], &["UsageEndTime"], &["MeterId"], &["Quantity"], &["UnitPrice"], &["Amount"]],
        columns: &[],
    },
    Spec {
        format: Format::Focus12Csv,
        signature: &[&["ChargePeriodStart"], &["BilledCost"], &["EffectiveCost"], &["ConsumedQuantity"], &["SkuMeter"]],
        columns: &[],
    },
    Spec {
        format: Format::Focus10Csv,
        signature: &[
            &["ChargePeriodStart"],
            &["BilledCost"],
            &["EffectiveCost"],
            &["ConsumedQuantity"],
            &["x_SkuMeterId"],
        ],
        columns: &[],
    },
    Spec {
        format: Format::EaDetailCsv,
        signature: &[
            &["AccountOwnerId"],
            &["SubscriptionGuid"],
            &["Date"],
            &["Meter ID"],
            &["Consumed Quantity"],
            &["ExtendedCost"],
        ],
        columns: &[],
    },
    Spec {
        format: Format::PaygUsageCsv,
        signature: &[&["SubscriptionGuid"], &["UsageDateTime"], &["MeterId"], &["UsageQuantity"], &["PreTaxCost"]],
        columns: &[],
    },
    Spec {
        format: Format::AccountCenterDailyCsv,
        signature: &[&["Usage Date"], &["Meter ID"], &["Consumed Quantity"], &["Instance ID"]],
        columns: &[],
    },
    Spec {
        format: Format::CostManagementCsv,
        signature: &[&["Date"], &["MeterId"], &["Quantity"], &["CostInBillingCurrency", "Cost"], &["UnitOfMeasure"]],
        columns: &[],
    },
];

/// The best candidate seen while looking for a header, for the error when none is found.
#[derive(Clone, Debug, Default)]
pub(super) struct Closest {
    best: Option<(Format, usize, usize, Vec<String>)>,
}

impl Closest {
    pub(super) fn into_error(self) -> FileError {
        match self.best {
            Some((format, matched, expected, missing)) => {
                FileError::UnknownHeader { closest: format.label().to_string(), matched, expected, missing }
            }
            None => FileError::Empty,
        }
    }
}

/// Tries a record as a header. `Ok(None)` when it is not one (a preamble line, or a header of nothing known).
pub(super) fn detect(names: Vec<String>, mapping: &ColumnMapping, closest: &mut Closest) -> Option<Layout> {
    let position = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let mut format = None;
    for spec in SPECS {
        let missing: Vec<String> = spec
            .signature
            .iter()
            .filter(|group| group.iter().all(|name| position(name).is_none()))
            .map(|group| group.join(" or "))
            .collect();
        if missing.is_empty() {
            format = Some(spec.format);
            break;
        }
        let matched = spec.signature.len() - missing.len();
        if closest.best.as_ref().is_none_or(|b| matched > b.1) {
            closest.best = Some((spec.format, matched, spec.signature.len(), missing));
        }
    }
    let mapped = |field: Field| mapping.0.iter().find(|(f, _)| *f == field).and_then(|(_, column)| position(column));
    let spec_columns = SPECS.iter().find(|s| Some(s.format) == format).map_or(&[][..], |s| s.columns);
    let mapping_complete = !mapping.0.is_empty()
        && [Field::UsageStart, Field::MeterId, Field::Quantity].iter().all(|f| mapped(*f).is_some());
    let format = match format {
        Some(format) => format,
        None if mapping_complete => Format::Mapped,
        None => return None,
    };
    let mut columns = [None; FIELD_COUNT];
    for field in Field::ALL {
        let own = spec_columns.iter().find(|(f, _)| *f == field).map(|(_, column)| {
            if *column == NO_COLUMN {
                None
            } else {
                position(column)
            }
        });
        columns[field as usize] = mapped(field).or_else(|| match own {
            Some(column) => column,
            None => field.synonyms().iter().find_map(|name| position(name)),
        });
    }
    Some(Layout { format, columns, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(format: &str) -> Vec<String> {
        include_str!("../../data/usage-csv-headers.csv")
            .lines()
            .filter_map(|l| {
                let mut fields = l.split(',');
                (fields.next()? == format).then(|| fields.nth(1).unwrap_or_default().to_string())
            })
            .collect()
    }

    #[test]
    fn every_documented_header_is_detected() {
        let cases = [
            ("azs-usagesummary-ps1", Format::UsageSummaryCsv),
            ("azs-appservice-billingrecords-ps1", Format::AppServiceUsageSummaryCsv),
            ("account-center-v2-daily-usage", Format::AccountCenterDailyCsv),
            ("ea-portal-detail-v2", Format::EaDetailCsv),
            ("payg-mosp-2019-11-01", Format::PaygUsageCsv),
            ("ea-cm-export-actual (2023 export)", Format::CostManagementCsv),
            ("ea-cm-export-2023-12-01-preview", Format::CostManagementCsv),
            ("ea-cm-2024-08-01", Format::CostManagementCsv),
            ("focus-1.0", Format::Focus10Csv),
            ("focus-1.2", Format::Focus12Csv),
        ];
        for (prefix, want) in cases {
            let names = header(prefix);
            assert!(names.len() > 10, "{prefix}: {names:?}");
            let layout = detect(names, &ColumnMapping::default(), &mut Closest::default());
            let layout = layout.unwrap_or_else(|| panic!("{prefix} not detected"));
            assert_eq!(layout.format, want, "{prefix}");
            for field in [Field::UsageStart, Field::MeterId, Field::Quantity] {
                assert!(layout.column(field).is_some(), "{prefix} lacks {field:?}");
            }
        }
        let statement = header("account-center-v2-statement");
        assert!(detect(statement, &ColumnMapping::default(), &mut Closest::default()).is_none());
    }

    #[test]
    fn a_mapping_reads_an_unknown_header() {
        let names: Vec<String> = ["Day", "Meter", "Qty", "Sub"].iter().map(|s| s.to_string()).collect();
        assert!(detect(names.clone(), &ColumnMapping::default(), &mut Closest::default()).is_none());
        let mapping = ColumnMapping::parse("usage_start=Day, meter_id=Meter,quantity=qty,subscription=Sub").unwrap();
        let layout = detect(names, &mapping, &mut Closest::default()).unwrap();
        assert_eq!(layout.format, Format::Mapped);
        assert_eq!((layout.column(Field::Quantity), layout.column(Field::Subscription)), (Some(2), Some(3)));
        assert!(ColumnMapping::parse("colour=Red").unwrap_err().contains("valid fields"));
    }
}

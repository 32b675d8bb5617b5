//! Admin (infrastructure) usage: Azure Stack Hub usage that is reported to Azure but billed at zero. Every
//! classification carries its reason; rows that are not Azure Stack Hub usage are never admin.

use crate::catalog::Catalog;
use crate::table::{StrId, UsageTable};

/// Why a row counts as admin usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminReason {
    /// The catalog marks the commerce meter as infrastructure (e.g. `Storage Admin`).
    CatalogInfrastructure,
    /// The commerce meter's name says Admin.
    AdminMeterName,
    /// The resource group is an infrastructure group (`system.<region>`).
    SystemResourceGroup,
    /// The usage belongs to the operator's Default Provider Subscription.
    DefaultProviderSubscription,
    /// Azure priced it at zero although the catalog knows a price for the meter.
    ZeroPriceWherePriced,
}

impl AdminReason {
    /// Every reason, in declaration order (a reason's code is its place here plus one; 0 is "not admin").
    pub const ALL: [AdminReason; 5] = [
        AdminReason::CatalogInfrastructure,
        AdminReason::AdminMeterName,
        AdminReason::SystemResourceGroup,
        AdminReason::DefaultProviderSubscription,
        AdminReason::ZeroPriceWherePriced,
    ];

    /// The code of a row's classification: 0 for none, else the reason's place in [`AdminReason::ALL`] plus one.
    pub fn code(reason: Option<AdminReason>) -> u8 {
        match reason {
            None => 0,
            Some(AdminReason::CatalogInfrastructure) => 1,
            Some(AdminReason::AdminMeterName) => 2,
            Some(AdminReason::SystemResourceGroup) => 3,
            Some(AdminReason::DefaultProviderSubscription) => 4,
            Some(AdminReason::ZeroPriceWherePriced) => 5,
        }
    }

    /// The classification of a code from [`AdminReason::code`].
    pub fn of_code(code: u8) -> Option<AdminReason> {
        (code as usize).checked_sub(1).and_then(|i| Self::ALL.get(i).copied())
    }

    /// A sentence for users.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminReason::CatalogInfrastructure => "the catalog marks this meter as infrastructure",
            AdminReason::AdminMeterName => "the commerce meter name contains \"Admin\"",
            AdminReason::SystemResourceGroup => "infrastructure resource group system.*",
            AdminReason::DefaultProviderSubscription => "usage of the Default Provider Subscription",
            AdminReason::ZeroPriceWherePriced => "billed at zero where the meter has a price",
        }
    }
}

/// Classifies the rows of one table (string checks are done once per distinct string).
pub struct AdminClassifier<'t> {
    table: &'t UsageTable,
    system_group: Vec<bool>,
    admin_name: Vec<bool>,
    provider_subscription: Vec<bool>,
    catalog_admin: Vec<bool>,
    priced: Vec<bool>,
}

impl<'t> AdminClassifier<'t> {
    /// Prepares the checks for `table`.
    pub fn new(table: &'t UsageTable) -> Self {
        let catalog = Catalog::builtin();
        let strings = table.strings();
        let flags = |check: &dyn Fn(&str) -> bool| -> Vec<bool> {
            (0..strings.len() as u32).map(|i| check(strings.get(StrId(i)))).collect()
        };
        AdminClassifier {
            table,
            system_group: flags(&|s| s.len() > 7 && s.as_bytes()[..7].eq_ignore_ascii_case(b"system.")),
            admin_name: flags(&|s| s.split(|c: char| !c.is_alphanumeric()).any(|w| w == "Admin")),
            provider_subscription: flags(&|s| s.eq_ignore_ascii_case("Default Provider Subscription")),
            catalog_admin: flags(&|s| catalog.commerce_meter(s).is_some_and(|(_, c)| c.admin)),
            priced: flags(&|s| {
                let commerce = catalog.commerce_meter(s).map(|(_, c)| c);
                let local = catalog.local_meter(s).and_then(|m| m.billed_as());
                commerce.or(local).and_then(|c| c.rate).is_some_and(|r| r > 0.0)
            }),
        }
    }

    /// Why row `row` is admin usage, if it is.
    pub fn classify(&self, row: usize) -> Option<AdminReason> {
        let t = self.table;
        if !t.azure_stack[row] {
            return None;
        }
        let meter = t.meter_id[row].0 as usize;
        let local = t.local[row];
        if !local && self.catalog_admin[meter] {
            return Some(AdminReason::CatalogInfrastructure);
        }
        if !local && self.admin_name[t.meter_name(row).0 as usize] {
            return Some(AdminReason::AdminMeterName);
        }
        if self.system_group[t.resource_group(row).0 as usize] {
            return Some(AdminReason::SystemResourceGroup);
        }
        if self.provider_subscription[t.subscription_name[row].0 as usize] {
            return Some(AdminReason::DefaultProviderSubscription);
        }
        let zero = t.unit_price[row] == 0.0 || t.cost.get(row) == 0.0;
        if !local && zero && t.quantity.get(row) != 0.0 && self.priced[meter] {
            return Some(AdminReason::ZeroPriceWherePriced);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_code_and_reads_back() {
        assert_eq!(AdminReason::code(None), 0);
        assert_eq!(AdminReason::of_code(0), None);
        for reason in AdminReason::ALL {
            assert_ne!(AdminReason::code(Some(reason)), 0);
            assert_eq!(AdminReason::of_code(AdminReason::code(Some(reason))), Some(reason));
        }
        assert_eq!(AdminReason::of_code(99), None);
    }
    use crate::ingest::Format;
    use crate::table::UsageRecord;

    fn classify(record: UsageRecord<'_>) -> Option<AdminReason> {
        let mut table = UsageTable::default();
        let source = table.add_source("t", Format::CostManagementCsv);
        table.push(source, 2, &record);
        AdminClassifier::new(&table).classify(0)
    }

    const WINDOWS_COMMERCE: &str = "FB8C0713-EA20-40BF-901F-5560FD3F6330";
    const WINDOWS_LOCAL: &str = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";

    fn azure_side<'a>() -> UsageRecord<'a> {
        UsageRecord {
            azure_stack: true,
            meter_id: WINDOWS_COMMERCE,
            local_meter_id: WINDOWS_LOCAL,
            meter_name: "1 Core",
            resource_group: "rg-web",
            quantity: 48.0,
            cost: Some(2.208),
            unit_price: Some(0.046),
            ..Default::default()
        }
    }

    #[test]
    fn each_rule_with_its_reason() {
        assert_eq!(classify(azure_side()), None);
        let storage_admin = UsageRecord {
            meter_id: "8767AEB3-6909-4DB2-9927-3F51E9A9085E",
            local_meter_id: "09F8879E-87E9-4305-A572-4B7BE209F857",
            ..azure_side()
        };
        assert_eq!(classify(storage_admin), Some(AdminReason::CatalogInfrastructure));
        let named = UsageRecord {
            meter_id: "11111111-2222-3333-4444-555555555555",
            meter_name: "Compute Admin",
            ..azure_side()
        };
        assert_eq!(classify(named), Some(AdminReason::AdminMeterName));
        let administrator = UsageRecord { meter_name: "Administrator hours", ..azure_side() };
        assert_eq!(classify(administrator), None, "only the word Admin counts");
        assert_eq!(
            classify(UsageRecord { resource_group: "System.Local", ..azure_side() }),
            Some(AdminReason::SystemResourceGroup)
        );
        let provider = UsageRecord { subscription_name: "Default Provider Subscription", ..azure_side() };
        assert_eq!(classify(provider), Some(AdminReason::DefaultProviderSubscription));
        let zero = UsageRecord { cost: Some(0.0), unit_price: Some(0.0), ..azure_side() };
        assert_eq!(classify(zero), Some(AdminReason::ZeroPriceWherePriced));
    }

    #[test]
    fn regular_azure_rows_are_never_admin() {
        let azure_vm = UsageRecord {
            azure_stack: false,
            meter_id: "CD2D7CA5-2D4C-5F93-94D0-8CEE0662C71C",
            meter_name: "D2 v3/D2s v3 Admin",
            resource_group: "system.core",
            cost: Some(0.0),
            unit_price: Some(0.0),
            quantity: 24.0,
            ..Default::default()
        };
        assert_eq!(classify(azure_vm), None);
        let unpriced_zero =
            UsageRecord { meter_id: "11111111-2222-3333-4444-555555555555", cost: Some(0.0), ..azure_side() };
        assert_eq!(classify(unpriced_zero), None, "zero is only suspicious where a price is known");
    }

    #[test]
    fn local_rows_in_system_groups() {
        let local = UsageRecord {
            azure_stack: true,
            local: true,
            meter_id: "09F8879E-87E9-4305-A572-4B7BE209F857",
            local_meter_id: "09F8879E-87E9-4305-A572-4B7BE209F857",
            resource_group: "system.local",
            quantity: 480.0,
            ..Default::default()
        };
        assert_eq!(classify(local.clone()), Some(AdminReason::SystemResourceGroup));
        assert_eq!(classify(UsageRecord { resource_group: "rg-data", ..local }), None);
    }
}

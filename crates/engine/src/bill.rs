//! The tenant bill: Azure Stack Hub local usage (which carries no prices) priced per subscription and meter,
//! with the conversions and assumptions written out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::admin::AdminClassifier;
use crate::catalog::{Catalog, LocalMeter};
use crate::licensing::Licensing;
use crate::prices::PriceBook;
use crate::table::{StrId, UsageTable};
use crate::time::DAY;

const BASE_VM: &str = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
const WINDOWS_VM: &str = crate::licensing::WINDOWS_VM_METER;

/// What to bill.
#[derive(Clone, Debug, Default)]
pub struct BillOptions {
    /// Only this subscription.
    pub subscription: Option<String>,
    /// Only usage starting in `[from, to)` (UTC seconds).
    pub period: Option<(i64, i64)>,
    /// Bill admin (infrastructure) usage too.
    pub include_admin: bool,
    /// Only usage of this stamp (location, e.g. `local` or `redmond`): one bill per stamp.
    pub location: Option<String>,
}

/// One line of a bill.
#[derive(Clone, Debug, PartialEq)]
pub struct BillLine {
    /// Local meter ID.
    pub meter_id: String,
    /// Meter name.
    pub meter_name: String,
    /// Quantity in the local unit.
    pub quantity: f64,
    /// Local unit.
    pub unit: String,
    /// Quantity in the billing unit.
    pub billed_quantity: f64,
    /// Billing unit.
    pub billed_unit: String,
    /// Price per billing unit; `None` when the meter has no price.
    pub rate: Option<f64>,
    /// Where the rate comes from.
    pub rate_source: String,
    /// billed_quantity × rate (0 when unpriced).
    pub cost: f64,
    /// Anything the line includes that the usage rows alone do not show.
    pub note: Option<String>,
}

/// The bill of one subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionBill {
    /// Subscription ID.
    pub subscription: String,
    /// Lines by meter.
    pub lines: Vec<BillLine>,
    /// Sum of the lines.
    pub total: f64,
}

/// A bill for local Azure Stack Hub usage.
#[derive(Clone, Debug, PartialEq)]
pub struct Bill {
    /// The one currency of every amount.
    pub currency: String,
    /// Per subscription.
    pub subscriptions: Vec<SubscriptionBill>,
    /// Sum of all subscriptions.
    pub total: f64,
    /// Usage rows priced.
    pub rows: u64,
    /// Admin rows left out.
    pub admin_rows_excluded: u64,
    /// Azure-side rows left out (they carry Azure's own prices).
    pub azure_rows_skipped: u64,
    /// Meters with usage but no rate.
    pub unpriced_meters: Vec<String>,
    /// The rules applied, in words.
    pub assumptions: Vec<String>,
    /// The licensing model the bill was priced under (the price book's).
    pub licensing: Licensing,
}

#[derive(Default)]
struct Line {
    quantity: f64,
    implied_base: f64,
    cost: f64,
    rate: Option<f64>,
    rate_source: String,
}

/// Prices the local Azure Stack Hub usage in `table` with `prices`.
pub fn bill(table: &UsageTable, prices: &PriceBook, options: &BillOptions) -> Bill {
    let catalog = Catalog::builtin();
    let admin = AdminClassifier::new(table);
    let mut lines: BTreeMap<(StrId, StrId, u64), Line> = BTreeMap::new();
    let mut windows_by_vm: HashMap<(StrId, StrId, i64), (f64, f64)> = HashMap::new();
    let mut rate_cache: HashMap<(StrId, i64), Option<crate::prices::Rate>> = HashMap::new();
    let mut used_meters: BTreeMap<StrId, BTreeSet<StrId>> = BTreeMap::new();
    let (mut rows, mut admin_rows, mut azure_rows, mut informational_rows) = (0u64, 0u64, 0u64, 0u64);
    let subscription = options.subscription.as_deref().and_then(|s| table.strings().find(s));
    if options.subscription.is_some() && subscription.is_none() {
        return empty_bill(prices, options);
    }
    for row in 0..table.len() {
        if !table.azure_stack[row] {
            continue;
        }
        if !table.local[row] {
            azure_rows += 1;
            continue;
        }
        if subscription.is_some_and(|s| table.subscription[row] != s) {
            continue;
        }
        if options.location.as_deref().is_some_and(|l| !table.str(table.location[row]).eq_ignore_ascii_case(l)) {
            continue;
        }
        if let Some((from, to)) = options.period {
            if !(from..to).contains(&table.usage_start[row]) {
                continue;
            }
        }
        if !options.include_admin && admin.classify(row).is_some() {
            admin_rows += 1;
            continue;
        }
        let meter = table.meter_id[row];
        let local = catalog.local_meter(table.str(meter));
        if local.is_some_and(|m| m.informational) {
            informational_rows += 1;
            continue;
        }
        rows += 1;
        let sub = table.subscription[row];
        used_meters.entry(sub).or_default().insert(meter);
        let day = table.usage_start[row].div_euclid(DAY);
        let rate = rate_cache
            .entry((meter, day))
            .or_insert_with(|| prices.rate(table.str(meter), table.usage_start[row]))
            .clone();
        let factor = local.and_then(|m| m.billed_as()).map_or(1.0, |c| c.factor);
        let quantity = table.quantity.get(row);
        let key = (sub, meter, rate.as_ref().map_or(u64::MAX, |r| r.unit_price.to_bits()));
        let line = lines.entry(key).or_default();
        line.quantity += quantity;
        if let Some(rate) = &rate {
            line.cost += quantity * factor * rate.unit_price;
            line.rate = Some(rate.unit_price);
            line.rate_source = rate.source.describe();
        }
        match table.str(meter) {
            BASE_VM => windows_by_vm.entry((sub, table.resource_uri[row], day)).or_default().0 += quantity,
            WINDOWS_VM => windows_by_vm.entry((sub, table.resource_uri[row], day)).or_default().1 += quantity,
            _ => {}
        }
    }

    let mut assumptions = vec![
        prices.licensing.describe().to_string(),
        format!("All amounts are in {}; rates in other currencies are not used.", prices.currency),
    ];
    // Lines by subscription, meter ID and rate (a rate change inside the period makes a second line).
    let mut lines: BTreeMap<(StrId, String, u64), Line> =
        lines.into_iter().map(|((sub, meter, bits), line)| ((sub, table.str(meter).to_string(), bits), line)).collect();
    // Windows VMs: base rate plus Windows rate per vCPU hour; add the base where only Windows hours were metered,
    // priced at the base rate of that day.
    for ((sub, _, day), (base, windows)) in &windows_by_vm {
        if windows <= base {
            continue;
        }
        let hours = windows - base;
        let rate = prices.rate(BASE_VM, day * DAY);
        let key = (*sub, BASE_VM.to_string(), rate.as_ref().map_or(u64::MAX, |r| r.unit_price.to_bits()));
        let line = lines.entry(key).or_default();
        line.implied_base += hours;
        if let Some(rate) = rate {
            line.cost += hours * rate.unit_price;
            line.rate = Some(rate.unit_price);
            line.rate_source = rate.source.describe();
        }
    }
    assumptions.push(
        "A Windows VM is charged the base VM rate plus the Windows rate for each vCPU hour; where a VM shows Windows \
         hours without base VM hours, the base rate is added for them."
            .into(),
    );
    if informational_rows > 0 {
        assumptions.push(format!(
            "{informational_rows} rows of VM size hours (6DAB500F) are informational (not core-adjusted) and are not billed."
        ));
    }
    if admin_rows > 0 {
        assumptions.push(format!("{admin_rows} rows of zero-priced admin (infrastructure) usage are not billed."));
    }
    if azure_rows > 0 {
        assumptions.push(format!("{azure_rows} Azure-side rows carry Azure's own prices and are not re-priced here."));
    }

    // Deprecated hourly disk meters are not billed for a subscription that also has the monthly meters.
    let mut superseded = BTreeSet::new();
    for (sub, meters) in &used_meters {
        for meter in meters {
            let Some(old) = catalog.local_meter(table.str(*meter)).filter(|m| m.deprecated) else { continue };
            if meters.iter().any(|m| catalog.local_meter(table.str(*m)).is_some_and(|n| replaces(n, old))) {
                superseded.insert((*sub, *meter));
            }
        }
    }
    if !superseded.is_empty() {
        assumptions.push(
            "Deprecated hourly disk meters are not billed where the monthly meters of the same disks are present."
                .into(),
        );
    }

    let mut unpriced = BTreeSet::new();
    let mut subscriptions: BTreeMap<StrId, SubscriptionBill> = BTreeMap::new();
    let mut converted = false;
    for ((sub, id, _), line) in lines {
        if table.strings().find(&id).is_some_and(|meter| superseded.contains(&(sub, meter))) {
            continue;
        }
        let local = catalog.local_meter(&id);
        let commerce = local.and_then(|m| m.billed_as());
        let factor = commerce.map_or(1.0, |c| c.factor);
        converted |= factor != 1.0;
        let quantity = line.quantity + line.implied_base;
        if line.rate.is_none() {
            unpriced.insert(format!("{id} {}", local.map_or("(unknown meter)", |m| m.name.as_str())));
        }
        let note = (line.implied_base > 0.0)
            .then(|| format!("includes {} vCPU hours of Windows VMs without base VM hours", line.implied_base));
        let unit = local.map_or_else(|| "(unknown unit)".to_string(), |m| m.unit.clone());
        let entry = subscriptions.entry(sub).or_insert_with(|| SubscriptionBill {
            subscription: table.str(sub).to_string(),
            lines: Vec::new(),
            total: 0.0,
        });
        entry.total += line.cost;
        entry.lines.push(BillLine {
            meter_name: local.map_or_else(|| id.clone(), |m| m.name.clone()),
            meter_id: id,
            quantity,
            billed_quantity: quantity * factor,
            billed_unit: commerce.map_or_else(|| unit.clone(), |c| c.unit.clone()),
            unit,
            rate: line.rate,
            rate_source: if line.rate.is_some() { line.rate_source } else { "no rate".into() },
            cost: line.cost,
            note,
        });
    }
    if converted {
        assumptions.push("GB*hours are billed per GB/month at 720 hours a month.".into());
    }
    let subscriptions: Vec<SubscriptionBill> = subscriptions.into_values().collect();
    Bill {
        currency: prices.currency.clone(),
        total: subscriptions.iter().map(|s| s.total).sum(),
        subscriptions,
        rows,
        admin_rows_excluded: admin_rows,
        azure_rows_skipped: azure_rows,
        unpriced_meters: unpriced.into_iter().collect(),
        assumptions,
        licensing: prices.licensing,
    }
}

/// `new` is the monthly meter that replaced the deprecated hourly `old` (same disk tier or size meter).
fn replaces(new: &LocalMeter, old: &LocalMeter) -> bool {
    !new.deprecated && new.name == old.name && new.provider == old.provider && new.id != old.id
}

fn empty_bill(prices: &PriceBook, _options: &BillOptions) -> Bill {
    Bill {
        currency: prices.currency.clone(),
        subscriptions: Vec::new(),
        total: 0.0,
        rows: 0,
        admin_rows_excluded: 0,
        azure_rows_skipped: 0,
        unpriced_meters: Vec::new(),
        assumptions: vec![prices.licensing.describe().to_string()],
        licensing: prices.licensing,
    }
}

#[cfg(test)]
mod tests;

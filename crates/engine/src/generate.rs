//! Deterministic sample data: a month of Azure Stack Hub usage for several tenant subscriptions and the
//! provider subscription, with the real local meters and units, in the layouts Azure Stack tools write.

use std::io::{self, Write};
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate};

use crate::catalog::Catalog;
use crate::time::DAY;

/// Output layout of the generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateFormat {
    /// AzureStack-Tools `Usagesummary.ps1` CSV (PowerShell `Export-Csv`: every field quoted, US dates).
    UsageSummaryCsv,
    /// Provider usage API (`subscriberUsageAggregates`) pages of 1,000 rows, one JSON page per line.
    AzsApiJson,
    /// The same month as Azure bills it: an EA Cost Management actual-cost export (commerce meters, MM/DD/YYYY,
    /// JSON tags and `azureStack.*` additional info).
    CostManagementCsv,
}

impl GenerateFormat {
    /// Names accepted on the command line.
    pub const NAMES: &'static [&'static str] = &["usagesummary-csv", "azs-api-json", "cost-management-csv"];
}

impl FromStr for GenerateFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "usagesummary-csv" => Ok(GenerateFormat::UsageSummaryCsv),
            "azs-api-json" => Ok(GenerateFormat::AzsApiJson),
            "cost-management-csv" => Ok(GenerateFormat::CostManagementCsv),
            _ => Err(format!("unknown format {s:?}; valid formats: {}", GenerateFormat::NAMES.join(", "))),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Exact number of usage rows.
    pub rows: u64,
    /// Seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Output layout.
    pub format: GenerateFormat,
    /// First day of the month to generate (UTC).
    pub month: NaiveDate,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            rows: 1000,
            seed: 1,
            format: GenerateFormat::UsageSummaryCsv,
            month: NaiveDate::from_ymd_opt(2026, 10, 1).expect("valid date"),
        }
    }
}

/// SplitMix64: tiny, fast, and stable forever (unlike a library RNG whose stream may change between versions).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

const BASE_VM: &str = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
const WINDOWS_VM: &str = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";
const VM_SIZE_HOURS: &str = "6DAB500F-A4FD-49C4-956D-229BB9C8C793";
const BLOCK_BLOB_CAPACITY: &str = "09F8879E-87E9-4305-A572-4B7BE209F857";
const PAGE_BLOB_CAPACITY: &str = "B5C15376-6C94-4FDD-B655-1A69D138ACA3";
const TABLE_CAPACITY: &str = "B4438D5D-453B-4EE1-B42A-DC72E377F1E4";
const BLOB_TRANSACTIONS: &str = "43DAF82B-4618-444A-B994-40C23F7CD438";
const BLOB_EGRESS: &str = "3023FEF4-ECA5-4D7B-87B3-CFBC061931E8";
const STATIC_IP: &str = "F271A8A3-88C4-4D93-956A-063E1D2FA80B";
const DYNAMIC_IP: &str = "9E2739BA-8674-4796-B465-F64674B822BA";
const SQL_DB: &str = "CBCFEF9A-B91F-4597-A4D3-01FE334BED82";
const APP_SERVICE: &str = "190C935E-9ADA-48FF-9AB8-56EA1CF9ADAA";
const SMALL_STANDARD_APP_SERVICE: &str = "88039D51-A206-3A89-E9DE-C5117E2D10A6";
const KEY_VAULT_TRANSACTIONS: &str = "EBF13B9F-B3EA-46FE-BF54-396E93D48AB4";
const STANDARD_DISK_ACTUAL: &str = "7BA084EC-EF9C-4D64-A179-7732C6CB5E28";
/// Managed disk tiers: (meter, size GB).
const DISKS: &[(&str, u32)] = &[
    ("D5F7731B-F639-404A-89D0-E46186E22C8D", 128),  // S10
    ("88EA9228-457A-4091-ADC9-AD5194F30B6E", 512),  // S20
    ("5B1DB88A-8596-4002-8052-347947C26940", 1024), // S30
    ("E554B6BC-96CD-4938-A5B5-0DA990278519", 128),  // P10
    ("06BDE724-9F94-43C0-84C3-D0FC54538369", 1024), // P30
];

/// One metered resource: a meter on a resource, with its typical daily quantity.
struct Series {
    subscription: usize,
    resource_group: String,
    provider: &'static str,
    resource_type: &'static str,
    resource_name: String,
    meter_id: &'static str,
    daily: f64,
    /// Fraction of days the resource runs at full level (the rest it runs part of the day).
    steady: f64,
    tags: String,
    additional_info: String,
}

struct Subscription {
    id: String,
    owner: String,
}

/// Writes `options.rows` usage rows. Returns the number of rows written.
pub fn generate(options: &GenerateOptions, out: &mut dyn Write) -> io::Result<u64> {
    let mut rng = Rng(options.seed);
    let days = days_in_month(options.month);
    let subscriptions = subscriptions(&mut rng);
    let needed_series = options.rows.div_ceil(days as u64) as usize;
    let mut series = Vec::with_capacity(needed_series + 16);
    let mut n = 0;
    while series.len() < needed_series {
        add_resources(&mut rng, &mut series, n, subscriptions.len(), days as f64);
        n += 1;
    }
    let month_start = options.month.and_hms_opt(0, 0, 0).map_or(0, |d| d.and_utc().timestamp());
    let mut writer = RowWriter::new(options.format, out);
    writer.begin()?;
    let mut written = 0;
    'outer: for s in &series {
        let sub = &subscriptions[s.subscription];
        let uri = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{}/{}/{}",
            sub.id, s.resource_group, s.provider, s.resource_type, s.resource_name
        );
        for day in 0..days {
            if written == options.rows {
                break 'outer;
            }
            // One draw per resource and day, so every meter of a VM (base, Windows, size hours) agrees.
            let mut day_rng =
                Rng(options.seed ^ crate::fnv1a(uri.as_bytes()) ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let level = if day_rng.unit() < s.steady { 1.0 } else { 0.25 + 0.75 * day_rng.unit() };
            let quantity = round(s.daily * level, 6);
            let start = month_start + day as i64 * DAY;
            writer.row(&Row { start, end: start + DAY, sub, series: s, uri: &uri, quantity })?;
            written += 1;
        }
    }
    writer.end()?;
    Ok(written)
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn days_in_month(first: NaiveDate) -> u32 {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map_or(30, |n| (n - first).num_days() as u32)
}

/// Index 0 is the provider's Default Provider Subscription; the rest are tenants.
fn subscriptions(rng: &mut Rng) -> Vec<Subscription> {
    let tenants = ["contoso", "fabrikam", "northwind", "tailspin", "woodgrove"];
    let mut subs = vec![Subscription { id: rng.guid(), owner: "azurestackadmin@operator.onmicrosoft.com".into() }];
    subs.extend(tenants.iter().map(|t| Subscription { id: rng.guid(), owner: format!("admin@{t}.onmicrosoft.com") }));
    subs
}

/// Adds the series of resource bundle `n`: bundles rotate over the subscriptions, provider infrastructure first.
fn add_resources(rng: &mut Rng, out: &mut Vec<Series>, n: usize, subscription_count: usize, days: f64) {
    let subscription = n % subscription_count;
    let k = n / subscription_count;
    let mut add =
        |rg: &str, provider, resource_type, name: &str, meter_id, daily: f64, steady, tags: &str, info: &str| {
            out.push(Series {
                subscription,
                resource_group: rg.to_string(),
                provider,
                resource_type,
                resource_name: name.to_string(),
                meter_id,
                daily,
                steady,
                tags: tags.to_string(),
                additional_info: info.to_string(),
            })
        };
    if subscription == 0 {
        // Provider infrastructure: zero-priced admin usage in system.* resource groups.
        let rg = "system.local";
        let account =
            format!("{}{k}", rng.pick(&["srphealthaccount", "frphealthaccount", "wasphealthaccount", "acsblob"]));
        let gb = 20.0 + rng.below(400) as f64;
        add(rg, "Microsoft.Storage", "storageAccounts", &account, BLOCK_BLOB_CAPACITY, gb * 24.0, 0.95, "", "");
        add(
            rg,
            "Microsoft.Storage",
            "storageAccounts",
            &account,
            BLOB_TRANSACTIONS,
            1.0 + rng.below(30) as f64,
            0.5,
            "",
            "",
        );
        add(rg, "Microsoft.Network", "publicIPAddresses", &format!("infra-ip-{k}"), STATIC_IP, 24.0, 1.0, "", "");
        return;
    }
    let env = *rng.pick(&["prod", "dev", "test"]);
    let cost_center = 1000 + rng.below(9) * 111;
    let tags = format!("@{{costcenter={cost_center}; env={env}}}");
    match (k + subscription) % 4 {
        0 | 2 => {
            let rg = format!("rg-{}-{k}", rng.pick(&["web", "app", "erp", "crm"]));
            let vm = format!("{}{k:02}", rng.pick(&["web", "app", "sql", "build", "jump"]));
            let cores = *rng.pick(&[1u32, 2, 2, 4, 4, 8, 16]);
            let windows = rng.below(2) == 0;
            let steady = if env == "prod" { 0.97 } else { 0.6 };
            let size = match cores {
                1 => "Standard_A1_v2",
                2 => "Standard_D2_v2",
                4 => "Standard_D4_v2",
                8 => "Standard_F8s_v2",
                _ => "Standard_D16s_v3",
            };
            let info = format!("@{{ServiceType={size}; ImageType={}}}", if windows { "Windows" } else { "Linux" });
            let vcpu_hours = cores as f64 * 24.0;
            add(&rg, "Microsoft.Compute", "virtualMachines", &vm, BASE_VM, vcpu_hours, steady, &tags, &info);
            if windows {
                add(&rg, "Microsoft.Compute", "virtualMachines", &vm, WINDOWS_VM, vcpu_hours, steady, &tags, &info);
            }
            add(&rg, "Microsoft.Compute", "virtualMachines", &vm, VM_SIZE_HOURS, 24.0, steady, &tags, &info);
            let (disk_meter, disk_gb) = *rng.pick(DISKS);
            let disk = format!("{vm}_OsDisk_1");
            add(&rg, "Microsoft.Compute", "disks", &disk, disk_meter, 1.0 / days, 1.0, &tags, "");
            let used = disk_gb as f64 * (0.2 + 0.6 * rng.unit());
            add(&rg, "Microsoft.Compute", "disks", &disk, STANDARD_DISK_ACTUAL, used / days, 1.0, &tags, "");
            let ip_meter = if rng.below(3) == 0 { STATIC_IP } else { DYNAMIC_IP };
            add(&rg, "Microsoft.Network", "publicIPAddresses", &format!("{vm}-ip"), ip_meter, 24.0, 1.0, &tags, "");
        }
        1 => {
            let rg = format!("rg-data-{k}");
            let account = format!("stdata{k}{}", rng.below(1000));
            let gb = 50.0 + rng.below(2000) as f64;
            add(&rg, "Microsoft.Storage", "storageAccounts", &account, BLOCK_BLOB_CAPACITY, gb * 24.0, 0.99, &tags, "");
            add(&rg, "Microsoft.Storage", "storageAccounts", &account, PAGE_BLOB_CAPACITY, gb * 6.0, 0.99, &tags, "");
            add(&rg, "Microsoft.Storage", "storageAccounts", &account, TABLE_CAPACITY, 2.0 * 24.0, 0.99, &tags, "");
            add(
                &rg,
                "Microsoft.Storage",
                "storageAccounts",
                &account,
                BLOB_TRANSACTIONS,
                5.0 + rng.below(50) as f64,
                0.3,
                &tags,
                "",
            );
            add(
                &rg,
                "Microsoft.Storage",
                "storageAccounts",
                &account,
                BLOB_EGRESS,
                1.0 + rng.below(20) as f64,
                0.3,
                &tags,
                "",
            );
            let db = format!("db-{k}");
            let mb = 1024.0 * (1 + rng.below(50)) as f64;
            add(&rg, "Microsoft.SQLAdapter", "databases", &db, SQL_DB, mb * 24.0, 1.0, &tags, "");
        }
        _ => {
            let rg = format!("rg-apps-{k}");
            let plan = format!("plan-{k}");
            let workers = (1 + rng.below(3)) as f64;
            add(&rg, "Microsoft.Web", "serverFarms", &plan, APP_SERVICE, workers * 24.0, 0.9, &tags, "");
            add(&rg, "Microsoft.Web", "serverFarms", &plan, SMALL_STANDARD_APP_SERVICE, 24.0, 0.9, &tags, "");
            let vault = format!("kv-{k}");
            add(&rg, "Microsoft.KeyVault", "vaults", &vault, KEY_VAULT_TRANSACTIONS, 0.5 + rng.unit(), 0.2, &tags, "");
        }
    }
}

struct Row<'a> {
    start: i64,
    end: i64,
    sub: &'a Subscription,
    series: &'a Series,
    uri: &'a str,
    quantity: f64,
}

struct RowWriter<'w> {
    format: GenerateFormat,
    out: &'w mut dyn Write,
    in_page: usize,
}

const PAGE_ROWS: usize = 1000;

impl<'w> RowWriter<'w> {
    fn new(format: GenerateFormat, out: &'w mut dyn Write) -> Self {
        RowWriter { format, out, in_page: 0 }
    }

    fn begin(&mut self) -> io::Result<()> {
        match self.format {
            GenerateFormat::UsageSummaryCsv => writeln!(
                self.out,
                "\"UsageStartTime\",\"UsageEndTime\",\"MeterName\",\"Quantity\",\"resourceType\",\"location\",\
                 \"resourceGroup\",\"resourceName\",\"subowner\",\"tags\",\"MeterId\",\"additionalInfo\",\
                 \"subscription\",\"resourceUri\""
            ),
            GenerateFormat::AzsApiJson => Ok(()),
            GenerateFormat::CostManagementCsv => writeln!(self.out, "{}", cost_management_columns().join(",")),
        }
    }

    fn row(&mut self, row: &Row<'_>) -> io::Result<()> {
        let s = row.series;
        let meter_name = Catalog::builtin().local_meter(s.meter_id).map_or("", |m| m.name.as_str());
        match self.format {
            GenerateFormat::UsageSummaryCsv => {
                let fields = [
                    powershell_date(row.start),
                    powershell_date(row.end),
                    meter_name.to_string(),
                    row.quantity.to_string(),
                    s.resource_type.to_string(),
                    "local".to_string(),
                    s.resource_group.clone(),
                    s.resource_name.clone(),
                    row.sub.owner.clone(),
                    s.tags.clone(),
                    s.meter_id.to_string(),
                    s.additional_info.clone(),
                    row.sub.id.clone(),
                    row.uri.to_string(),
                ];
                let quoted: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
                writeln!(self.out, "{}", quoted.join(","))
            }
            GenerateFormat::CostManagementCsv => {
                let (meter, category, subcategory, name, unit, rate) = commerce_meter(s);
                let info = serde_json::json!({
                    "azureStack.MeterId": s.meter_id,
                    "azureStack.SubscriptionId": row.sub.id,
                    "azureStack.Location": "local",
                    "azureStack.EventDateTime": DateTime::from_timestamp(row.start, 0)
                        .map_or_else(String::new, |d| d.format("%m/%d/%Y %H:%M:%S").to_string()),
                });
                let tags = tags_object(&s.tags);
                let tags = if tags.is_null() { String::new() } else { tags.to_string() };
                let cost = round(row.quantity * rate, 8);
                let date = DateTime::from_timestamp(row.start, 0)
                    .map_or_else(String::new, |d| d.format("%m/%d/%Y").to_string());
                let mut fields = vec![String::new(); cost_management_columns().len()];
                let mut set = |column: &str, value: String| {
                    if let Some(i) = cost_management_columns().iter().position(|c| *c == column) {
                        fields[i] = value;
                    }
                };
                set("BillingAccountId", "12345678".into());
                set("BillingAccountName", "Contoso Azure Stack Hub".into());
                set("SubscriptionId", BILLING_SUBSCRIPTION.into());
                set("SubscriptionName", "Azure Stack Hub registration".into());
                set("Date", date);
                set("MeterId", meter.to_ascii_lowercase());
                set("MeterCategory", category.into());
                set("MeterSubCategory", subcategory.into());
                set("MeterRegion", "Azure Stack".into());
                set("MeterName", name.into());
                set("Quantity", row.quantity.to_string());
                set("EffectivePrice", rate.to_string());
                set("Cost", cost.to_string());
                set("UnitPrice", rate.to_string());
                set("BillingCurrency", "USD".into());
                set("ResourceLocation", "azurestack".into());
                set("ResourceId", row.uri.to_string());
                set("ResourceName", s.resource_name.clone());
                set("AdditionalInfo", info.to_string());
                set("Tags", tags);
                set("UnitOfMeasure", unit.into());
                set("ResourceGroup", s.resource_group.clone());
                set("ChargeType", "Usage".into());
                set("Frequency", "UsageBased".into());
                set("PricingModel", "OnDemand".into());
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(self.out, "{}", line.join(","))
            }
            GenerateFormat::AzsApiJson => {
                if self.in_page == PAGE_ROWS {
                    self.end_page(true)?;
                }
                if self.in_page == 0 {
                    write!(self.out, "{{\"value\":[")?;
                } else {
                    write!(self.out, ",")?;
                }
                self.in_page += 1;
                let instance = serde_json::json!({"Microsoft.Resources": {
                    "resourceUri": row.uri, "location": "local",
                    "tags": tags_object(&s.tags), "additionalInfo": tags_object(&s.additional_info)}});
                let name = format!("{}-{}", row.sub.id, s.meter_id);
                let value = serde_json::json!({
                    "id": format!("/subscriptions/{}/providers/Microsoft.Commerce.Admin/UsageAggregate/{name}", row.sub.id),
                    "name": name,
                    "type": "Microsoft.Commerce.Admin/UsageAggregate",
                    "properties": {
                        "subscriptionId": row.sub.id,
                        "usageStartTime": iso_date(row.start),
                        "usageEndTime": iso_date(row.end),
                        "instanceData": instance.to_string(),
                        "quantity": row.quantity,
                        "meterId": s.meter_id,
                    }
                });
                write!(self.out, "{value}")
            }
        }
    }

    fn end_page(&mut self, more: bool) -> io::Result<()> {
        let next = if more {
            "\"https://adminmanagement.local.azurestack.external/subscriptions/provider/providers/\
             Microsoft.Commerce.Admin/subscriberUsageAggregates?api-version=2015-06-01-preview&continuationToken=next\""
        } else {
            "null"
        };
        writeln!(self.out, "],\"nextLink\":{next}}}")?;
        self.in_page = 0;
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        if self.format == GenerateFormat::AzsApiJson && self.in_page > 0 {
            self.end_page(false)?;
        }
        self.out.flush()
    }
}

/// The subscription Azure bills Azure Stack Hub usage to (the registration subscription).
const BILLING_SUBSCRIPTION: &str = "5f1c7e2a-0b9d-4c3e-8a7f-6d5e4c3b2a10";

/// Columns of an EA Cost Management actual-cost export, from the documented header.
fn cost_management_columns() -> &'static [&'static str] {
    static COLUMNS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        include_str!("../data/usage-csv-headers.csv")
            .lines()
            .filter(|l| l.starts_with("ea-cm-export-actual (2023 export),"))
            .filter_map(|l| l.split(',').nth(2))
            .collect()
    })
}

/// How Azure shows a local meter: commerce meter, category, subcategory, name, unit, USD rate.
/// Known mappings from the shared commerce-meter map; other meters keep their local identity at no charge.
fn commerce_meter(series: &Series) -> (&'static str, &'static str, &'static str, &'static str, &'static str, f64) {
    let admin = series.resource_group.starts_with("system.");
    match series.meter_id {
        WINDOWS_VM => {
            ("fb8c0713-ea20-40bf-901f-5560fd3f6330", "Azure Stack Hub", "Windows VM", "1 Core", "1 Hour", 0.046)
        }
        BASE_VM => ("fab6eb84-500b-4a09-a8ca-7358f8bbaea5", "Azure Stack Hub", "Base VM", "1 Core", "1 Hour", 0.008),
        APP_SERVICE => {
            ("190c935e-9ada-48ff-9ab8-56ea1cf9adaa", "Azure Stack Hub", "App Service", "1 Core", "1 Hour", 0.0564)
        }
        BLOCK_BLOB_CAPACITY if admin => {
            ("8767aeb3-6909-4db2-9927-3f51e9a9085e", "Storage", "Block Blob", "Storage Admin", "1 GB/Hr", 0.0)
        }
        BLOCK_BLOB_CAPACITY => (
            "8a913f38-33b4-4772-9488-e89522fc09e5",
            "Azure Stack Hub",
            "Block Blob",
            "Capacity",
            "1 GB/Hr",
            0.0000083333,
        ),
        "5B1DB88A-8596-4002-8052-347947C26940" | "06BDE724-9F94-43C0-84C3-D0FC54538369" => {
            ("8b251e8f-ce5e-4a58-a6e5-2b8f0d176e3a", "Azure Stack Hub", "Managed Disks", "M30 Disks", "1/Month", 10.24)
        }
        // Billed under the local meter ID in the local unit, at the catalog's list price per local unit.
        other => {
            let local = Catalog::builtin().local_meter(other);
            let unit = local.map_or("", |m| m.unit.as_str());
            let rate = local.and_then(|m| m.billed_as()).and_then(|c| Some(c.rate? * c.factor)).unwrap_or(0.0);
            (other, "Azure Stack Hub", "Other", "Local meter", unit, rate)
        }
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `@{k=v; k2=v2}` (PowerShell's rendering of a hashtable) to a JSON object; empty text to null.
fn tags_object(text: &str) -> serde_json::Value {
    match crate::kv::parse(text) {
        Ok(pairs) if !pairs.is_empty() => {
            serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect())
        }
        _ => serde_json::Value::Null,
    }
}

/// PowerShell en-US `DateTime` text, as `Export-Csv` writes it: `10/1/2026 12:00:00 AM`.
fn powershell_date(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(String::new, |d| d.format("%-m/%-d/%Y %-I:%M:%S %p").to_string())
}

fn iso_date(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(String::new, |d| d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(rows: u64, seed: u64, format: GenerateFormat) -> String {
        let mut out = Vec::new();
        let options = GenerateOptions { rows, seed, format, ..Default::default() };
        assert_eq!(generate(&options, &mut out).unwrap(), rows);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = generated(500, 7, GenerateFormat::UsageSummaryCsv);
        assert_eq!(a, generated(500, 7, GenerateFormat::UsageSummaryCsv));
        assert_ne!(a, generated(500, 8, GenerateFormat::UsageSummaryCsv));
        assert_eq!(a.lines().count(), 501);
    }

    #[test]
    fn uses_only_catalog_meters_and_has_admin_usage() {
        let csv = generated(2000, 3, GenerateFormat::UsageSummaryCsv);
        let catalog = Catalog::builtin();
        for line in csv.lines().skip(1) {
            let meter = line.split("\",\"").nth(10).unwrap();
            assert!(catalog.local_meter(meter).is_some(), "{meter}");
        }
        assert!(csv.contains("\"system.local\""));
        assert!(csv.contains(WINDOWS_VM) && csv.contains(APP_SERVICE) && csv.contains(SQL_DB));
    }

    #[test]
    fn cost_management_view_of_the_month() {
        let csv = generated(400, 3, GenerateFormat::CostManagementCsv);
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap().split(',').count(), 55);
        assert!(csv.contains("\"{\"\"azureStack.EventDateTime\"\":"), "AdditionalInfo is quoted JSON");
        assert!(csv.contains(",10/31/2026,") || csv.contains(",10/01/2026,"));
        assert_eq!(lines.count(), 400);
    }

    #[test]
    fn powershell_dates() {
        assert_eq!(powershell_date(1_790_812_800), "10/1/2026 12:00:00 AM");
        assert_eq!(powershell_date(1_790_812_800 + 13 * 3600), "10/1/2026 1:00:00 PM");
    }

    #[test]
    fn api_pages_hold_at_most_a_thousand_rows() {
        let json = generated(2500, 1, GenerateFormat::AzsApiJson);
        let pages: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let sizes: Vec<usize> = pages.iter().map(|p| p["value"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        assert!(pages[2]["nextLink"].is_null() && pages[0]["nextLink"].is_string());
        let instance = pages[0]["value"][0]["properties"]["instanceData"].as_str().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(instance).unwrap();
        assert!(parsed["Microsoft.Resources"]["resourceUri"].as_str().unwrap().starts_with("/subscriptions/"));
    }
}

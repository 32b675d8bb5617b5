//! `meterlens`: the MeterLens engine on the command line (summaries, sample data, benchmarks).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use meterlens_engine::bill::{bill, Bill, BillOptions};
use meterlens_engine::generate::{generate, GenerateFormat, GenerateOptions};
use meterlens_engine::ingest::{ColumnMapping, FileReport, IngestOptions, Ingester};
use meterlens_engine::prices::PriceBook;
use meterlens_engine::summary::{Dimension, Summary, SummaryOptions};
use meterlens_engine::UsageTable;
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(name = "meterlens", version, about = "Azure Stack Hub and Azure usage, read and summarised")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Totals and group-bys of usage files (admin rows excluded unless --include-admin).
    Summary {
        /// Group by these dimensions, comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = parse_dimension)]
        by: Vec<Dimension>,
        /// Count zero-priced admin (infrastructure) rows too.
        #[arg(long)]
        include_admin: bool,
        /// Print JSON (the shape is documented in README.md and stable).
        #[arg(long)]
        json: bool,
        /// Your own column mapping for CSVs MeterLens does not recognise: FIELD=COLUMN,... (fields:
        /// usage_start, usage_end, meter_id, meter_name, quantity, unit, subscription, resource_uri, cost, ...).
        #[arg(long, value_parser = parse_mapping)]
        map: Option<ColumnMapping>,
        /// Usage files (CSV or JSON, optionally gzip-compressed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Prices local Azure Stack Hub usage: the tenant bill per subscription and meter.
    Bill {
        /// A price sheet or chargeback rates CSV (meter ID, unit price, currency, unit, effective date).
        #[arg(long)]
        prices: Option<PathBuf>,
        /// Only this subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Bill zero-priced admin (infrastructure) usage too.
        #[arg(long)]
        include_admin: bool,
        /// Print JSON (the shape is documented in README.md and stable).
        #[arg(long)]
        json: bool,
        /// Usage files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Benchmarks native ingest on generated files, side by side with a line-counting baseline.
    BenchIngest {
        /// Rows per generated file.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Seed of the generated files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Runs per measurement (the fastest counts).
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Writes a deterministic month of Azure Stack Hub usage.
    Generate {
        /// Number of usage rows.
        #[arg(long, default_value_t = 1000)]
        rows: u64,
        /// Seed; the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Layout: usagesummary-csv or azs-api-json.
        #[arg(long, default_value = "usagesummary-csv", value_parser = parse_generate_format)]
        format: GenerateFormat,
        /// Output file ("-" for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

fn parse_dimension(s: &str) -> Result<Dimension, String> {
    s.parse()
}

fn parse_mapping(s: &str) -> Result<ColumnMapping, String> {
    ColumnMapping::parse(s)
}

fn parse_generate_format(s: &str) -> Result<GenerateFormat, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary { by, include_admin, json, map, files } => {
            let ingest = IngestOptions { mapping: map.unwrap_or_default() };
            summary(&files, &ingest, SummaryOptions { by, include_admin }, json)
        }
        Command::Bill { prices, subscription, include_admin, json, files } => {
            bill_command(&files, prices.as_ref(), BillOptions { subscription, period: None, include_admin }, json)
        }
        Command::BenchIngest { rows, seed, runs } => bench_ingest(rows, seed, runs.max(1)).map(|_| true),
        Command::Generate { rows, seed, format, out } => {
            let options = GenerateOptions { rows, seed, format, ..Default::default() };
            write_generated(&options, &out).map(|_| true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("meterlens: {error}");
            ExitCode::from(2)
        }
    }
}

fn write_generated(options: &GenerateOptions, out: &PathBuf) -> io::Result<u64> {
    if out.as_os_str() == "-" {
        return generate(options, &mut BufWriter::new(io::stdout().lock()));
    }
    let file = File::create(out).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", out.display())))?;
    generate(options, &mut BufWriter::with_capacity(1 << 20, file))
}

/// Reads every file into one table; reports go to the caller.
fn ingest_files(files: &[PathBuf], ingest: &IngestOptions) -> io::Result<(UsageTable, Vec<FileReport>)> {
    let mut table = UsageTable::default();
    let mut reports = Vec::new();
    for path in files {
        let (next, report) = ingest_file(table, path, ingest)?;
        table = next;
        reports.push(report);
    }
    Ok((table, reports))
}

/// Prints the bill; returns false when some usage or price file could not be read.
fn bill_command(files: &[PathBuf], prices: Option<&PathBuf>, options: BillOptions, as_json: bool) -> io::Result<bool> {
    let (table, reports) = ingest_files(files, &IngestOptions::default())?;
    let mut book = PriceBook::default();
    let mut ok = reports.iter().all(|r| r.error.is_none());
    if let Some(path) = prices {
        let bytes = std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let report = book.import_csv(&path.display().to_string(), &bytes);
        if let Some(error) = &report.error {
            eprintln!("meterlens: {error}");
            ok = false;
        }
        for (line, why) in &report.skipped {
            eprintln!("meterlens: {}: line {line}: {why}", path.display());
        }
    }
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("meterlens: {}: {error}", report.file);
        }
    }
    let bill = bill(&table, &book, &options);
    let mut out = BufWriter::new(io::stdout().lock());
    if as_json {
        serde_json::to_writer_pretty(&mut out, &bill_json(&bill))?;
        writeln!(out)?;
    } else {
        write_bill(&mut out, &bill)?;
    }
    Ok(ok)
}

fn bill_json(bill: &Bill) -> Value {
    let subscriptions: Vec<Value> = bill
        .subscriptions
        .iter()
        .map(|s| {
            let lines: Vec<Value> = s
                .lines
                .iter()
                .map(|l| {
                    json!({
                        "meter_id": l.meter_id, "meter_name": l.meter_name, "quantity": l.quantity, "unit": l.unit,
                        "billed_quantity": l.billed_quantity, "billed_unit": l.billed_unit, "rate": l.rate,
                        "rate_source": l.rate_source, "cost": l.cost, "note": l.note,
                    })
                })
                .collect();
            json!({"subscription": s.subscription, "lines": lines, "total": s.total})
        })
        .collect();
    json!({
        "currency": bill.currency,
        "subscriptions": subscriptions,
        "total": bill.total,
        "rows": bill.rows,
        "admin_rows_excluded": bill.admin_rows_excluded,
        "azure_rows_skipped": bill.azure_rows_skipped,
        "unpriced_meters": bill.unpriced_meters,
        "assumptions": bill.assumptions,
    })
}

fn write_bill(out: &mut dyn Write, bill: &Bill) -> io::Result<()> {
    for s in &bill.subscriptions {
        writeln!(out, "Subscription {}", s.subscription)?;
        for l in &s.lines {
            let rate =
                l.rate.map_or_else(|| "no rate".to_string(), |r| format!("{r} {}/{}", bill.currency, l.billed_unit));
            writeln!(
                out,
                "  {:<36} {:>14.4} {:<24} {:>14.4} {:<10} {:>22} {:>12.2}",
                l.meter_name, l.quantity, l.unit, l.billed_quantity, l.billed_unit, rate, l.cost
            )?;
        }
        writeln!(
            out,
            "  {:>135.2} {}
",
            s.total, bill.currency
        )?;
    }
    writeln!(out, "Total {:.2} {}", bill.total, bill.currency)?;
    for a in &bill.assumptions {
        writeln!(out, "- {a}")?;
    }
    if !bill.unpriced_meters.is_empty() {
        writeln!(out, "Meters without a rate: {}", bill.unpriced_meters.join("; "))?;
    }
    Ok(())
}

/// Ingest throughput per format, against counting the lines of the same bytes (a memory-bandwidth floor).
fn bench_ingest(rows: u64, seed: u64, runs: u32) -> io::Result<()> {
    use std::time::Instant;
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>10} {:>12} {:>11} {:>9} {:>10}",
        "format", "MB", "rows", "ingest s", "MB/s", "rows/s", "baseline s", "ratio", "bytes/row"
    );
    for format in [GenerateFormat::UsageSummaryCsv, GenerateFormat::AzsApiJson, GenerateFormat::CostManagementCsv] {
        let mut bytes = Vec::new();
        generate(&GenerateOptions { rows, seed, format, ..Default::default() }, &mut bytes)?;
        let fastest = |f: &mut dyn FnMut()| {
            (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut lines = 0;
        let baseline = fastest(&mut || lines = bytes.iter().filter(|&&b| b == b'\n').count());
        let mut outcome = None;
        let ingest = fastest(&mut || {
            let mut ingester = Ingester::new(UsageTable::default(), "bench");
            for chunk in bytes.chunks(1 << 20) {
                ingester.feed(chunk);
            }
            let (mut table, report) = ingester.finish();
            table.shrink_to_fit();
            outcome = Some((table.heap_bytes(), report.rows, report.rejected));
        });
        let (heap, read, rejected) = outcome.unwrap_or_default();
        assert!(lines > 0 && read == rows && rejected == 0, "bench input must read back whole");
        let mb = bytes.len() as f64 / 1e6;
        println!(
            "{:<22} {:>9.1} {:>9} {:>9.3} {:>10.1} {:>12.0} {:>11.4} {:>9.1} {:>10.1}",
            GenerateFormat::NAMES[format as usize],
            mb,
            read,
            ingest,
            mb / ingest,
            read as f64 / ingest,
            baseline,
            ingest / baseline,
            heap as f64 / read as f64
        );
    }
    Ok(())
}

/// Reads `path` into `table` in 1 MiB chunks.
fn ingest_file(table: UsageTable, path: &PathBuf, options: &IngestOptions) -> io::Result<(UsageTable, FileReport)> {
    let mut file = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut ingester = Ingester::with_options(table, &path.display().to_string(), options.clone());
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        ingester.feed(&buffer[..n]);
    }
    Ok(ingester.finish())
}

/// Prints the summary; returns false when some file could not be read.
fn summary(files: &[PathBuf], ingest: &IngestOptions, options: SummaryOptions, as_json: bool) -> io::Result<bool> {
    let (table, reports) = ingest_files(files, ingest)?;
    let summary = Summary::of(&table, &options);
    let mut out = BufWriter::new(io::stdout().lock());
    if as_json {
        serde_json::to_writer_pretty(&mut out, &summary_json(&reports, &summary))?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &reports, &summary)?;
    }
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("meterlens: {}: {error}", report.file);
        }
    }
    Ok(reports.iter().all(|r| r.error.is_none()))
}

fn sums(map: &std::collections::BTreeMap<String, f64>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn summary_json(reports: &[FileReport], summary: &Summary) -> Value {
    let inputs: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "file": r.file,
                "format": r.format.as_str(),
                "rows": r.rows,
                "rejected": r.rejected,
                "issue_count": r.issue_count,
                "error": r.error.as_ref().map(|e| e.to_string()),
                "gzip": r.gzip,
                "preamble_lines": r.preamble_lines,
                "date_order": r.date_order.map(|o| o.as_str()),
                "issues": r.issues.iter().map(|i| json!({
                    "line": i.line, "column": i.column, "message": i.message, "excerpt": i.excerpt, "dropped": i.dropped,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let groups: Vec<Value> = summary
        .groups
        .iter()
        .map(|g| {
            let key: Map<String, Value> = g.key.iter().map(|(d, v)| (d.name(), json!(v))).collect();
            json!({
                "key": key,
                "rows": g.totals.rows,
                "quantity": sums(&g.totals.quantity),
                "cost": sums(&g.totals.cost),
                "effective_cost": sums(&g.totals.effective_cost),
            })
        })
        .collect();
    json!({
        "inputs": inputs,
        "rows": summary.rows,
        "subscriptions": summary.subscriptions,
        "admin_rows_excluded": summary.admin_rows_excluded,
        "admin_quantity": sums(&summary.admin_quantity),
        "admin_reasons": summary.admin_reasons,
        "quantity": sums(&summary.quantity),
        "cost": sums(&summary.cost),
        "effective_cost": sums(&summary.effective_cost),
        "groups": groups,
    })
}

fn write_text(out: &mut dyn Write, reports: &[FileReport], summary: &Summary) -> io::Result<()> {
    for report in reports {
        writeln!(out, "{report}")?;
        for issue in &report.issues {
            let column = issue.column.as_deref().map(|c| format!(", {c}")).unwrap_or_default();
            writeln!(out, "  line {}{column}: {}", issue.line, issue.message)?;
        }
        let unlisted = report.issue_count - report.issues.len() as u64;
        if unlisted > 0 {
            writeln!(out, "  … and {unlisted} more issues")?;
        }
    }
    writeln!(out, "\nrows {}  subscriptions {}", summary.rows, summary.subscriptions)?;
    if summary.admin_rows_excluded > 0 {
        writeln!(out, "admin rows excluded {} (use --include-admin to count them)", summary.admin_rows_excluded)?;
    }
    for (unit, quantity) in &summary.quantity {
        writeln!(out, "  {quantity:>18.4}  {unit}")?;
    }
    for (currency, cost) in &summary.cost {
        writeln!(out, "  {cost:>18.2}  {currency} cost")?;
    }
    for (currency, cost) in &summary.effective_cost {
        writeln!(out, "  {cost:>18.2}  {currency} effective cost")?;
    }
    if !summary.groups.is_empty() {
        writeln!(out)?;
    }
    for group in &summary.groups {
        let key: Vec<&str> = group.key.iter().map(|(_, v)| v.as_str()).collect();
        let quantity: Vec<String> = group.totals.quantity.iter().map(|(u, q)| format!("{q:.4} {u}")).collect();
        writeln!(out, "{}\t{} rows\t{}", key.join(" | "), group.totals.rows, quantity.join("; "))?;
    }
    Ok(())
}

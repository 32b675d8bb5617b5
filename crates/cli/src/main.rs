//! `meterlens`: the MeterLens engine on the command line (summaries, sample data, benchmarks).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use meterlens_engine::bill::{bill, Bill, BillOptions};
use meterlens_engine::focus::{FocusExport, FocusOptions};
use meterlens_engine::generate::{generate, GenerateFormat, GenerateOptions};
use meterlens_engine::ingest::{
    fingerprint, ColumnMapping, FileReport, IngestOptions, Ingester, FINGERPRINT_BYTES, PARQUET_MAGIC,
};
use meterlens_engine::licensing::Licensing;
use meterlens_engine::prices::PriceBook;
use meterlens_engine::query::{Filter, Matrix, Query, QueryEngine, SortBy, Totals};
use meterlens_engine::reconcile::{reconcile, Grain, ReconcileOptions, Registration, Side, Status};
use meterlens_engine::summary::{Dimension, Summary, SummaryOptions};
use meterlens_engine::UsageTable;
use serde_json::{json, Map, Value};

mod heap;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

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
        /// Only rows where DIM equals VALUE (repeatable; several values of one DIM are alternatives; DIM!=VALUE excludes).
        #[arg(long = "filter", value_parser = parse_filter)]
        filters: Vec<Filter>,
        /// Add a time dimension to the grouping.
        #[arg(long, value_parser = ["hour", "day", "week", "month"])]
        grain: Option<String>,
        /// Keep the N groups with the most rows; the rest are summed into "Others".
        #[arg(long)]
        top: Option<usize>,
        /// A matrix: ROW_DIMS:COLUMN_DIMS, e.g. meter_category,meter_name:month (subtotals and totals included).
        #[arg(long, value_parser = parse_matrix)]
        matrix: Option<(Vec<Dimension>, Vec<Dimension>)>,
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
        #[command(flatten)]
        pricing: Pricing,
        /// Only this subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Only this stamp (location as the usage rows give it, e.g. `local`): one bill per stamp.
        #[arg(long)]
        location: Option<String>,
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
    /// Writes the loaded data as FOCUS 1.2 (CSV or Parquet) or as MeterLens's own normalised Parquet.
    Export {
        /// focus-csv, focus-parquet (FOCUS 1.2: meters mapped, local usage priced, admin rows left out unless
        /// --include-admin) or parquet (every normalised row, admin rows marked).
        #[arg(long, value_parser = ["focus-csv", "focus-parquet", "parquet"])]
        format: String,
        /// Output file; with --partition-by-month a directory of `BillingPeriod=YYYY-MM/part-0.<ext>` files.
        #[arg(long)]
        out: PathBuf,
        /// Write one file per billing month (hive-style folders that DuckDB and Spark prune). On by itself for
        /// more than 1,000,000 rows.
        #[arg(long)]
        partition_by_month: bool,
        #[command(flatten)]
        pricing: Pricing,
        /// Keep zero-priced admin (infrastructure) rows (FOCUS formats), with their reason in x_MeterLensAdminReason.
        #[arg(long)]
        include_admin: bool,
        /// focus-csv for people who open it in a spreadsheet: text a spreadsheet would run as a formula gets a
        /// leading `'` (as the app's download does). Off by default: engines want the text as it is.
        #[arg(long)]
        spreadsheet_safe: bool,
        /// Usage files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compares Azure Stack Hub usage (--local) with Azure-side billing (--azure) and explains every difference.
    Reconcile {
        /// Azure Stack side: usage API JSON, Usagesummary or AppService CSV.
        #[arg(long, required = true, num_args = 1..)]
        local: Vec<PathBuf>,
        /// Azure side: Account Center, EA, Cost Management, FOCUS or Partner Center files.
        #[arg(long, required = true, num_args = 1..)]
        azure: Vec<PathBuf>,
        /// Usage in the last N hours before midnight UTC may be billed the next day.
        #[arg(long, default_value_t = 4.0)]
        shift_hours: f64,
        /// Relative difference still counted as a match.
        #[arg(long, default_value_t = 0.001)]
        tolerance: f64,
        #[command(flatten)]
        pricing: Pricing,
        /// The Azure subscription the stamp is registered to (said in the notes: usage of tenants not registered
        /// on their own is billed to it).
        #[arg(long)]
        registration: Option<String>,
        /// CSP: LOCAL_SUBSCRIPTION=AZURE_SUBSCRIPTION, a tenant registered to its customer's Azure subscription
        /// (repeatable); Azure rows without azureStack.SubscriptionId are attributed to the tenant through it.
        #[arg(long = "tenant", value_parser = parse_tenant)]
        tenants: Vec<(String, String)>,
        /// Print JSON (the shape is documented in README.md and stable).
        #[arg(long)]
        json: bool,
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
    /// Benchmarks the query engine on a usage file: the queries of scripts/bench-query, cold and warm.
    BenchQuery {
        /// Runs after the first (the median counts).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// Print JSON (for scripts/bench-query.py).
        #[arg(long)]
        json: bool,
        /// The usage file.
        file: PathBuf,
    },
    /// Measures heap bytes per row through the browser's phases on a usage file: the worker's ingest and packing,
    /// the page's decoding, query engine and Overview questions.
    BenchMemory {
        /// The usage file.
        file: PathBuf,
    },
    /// Writes a deterministic month of Azure Stack Hub usage.
    Generate {
        /// Number of usage rows.
        #[arg(long, default_value_t = 1000)]
        rows: u64,
        /// Seed; the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Layout: usagesummary-csv, azs-api-json or cost-management-csv.
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

fn parse_filter(s: &str) -> Result<Filter, String> {
    Filter::parse(s)
}

fn parse_matrix(s: &str) -> Result<(Vec<Dimension>, Vec<Dimension>), String> {
    let (rows, columns) = s.split_once(':').ok_or_else(|| format!("matrix {s:?} is not ROW_DIMS:COLUMN_DIMS"))?;
    let dims = |list: &str| {
        list.split(',').filter(|d| !d.trim().is_empty()).map(str::parse).collect::<Result<Vec<Dimension>, _>>()
    };
    let (rows, columns) = (dims(rows)?, dims(columns)?);
    if rows.is_empty() || columns.is_empty() {
        return Err(format!("matrix {s:?} needs row and column dimensions"));
    }
    Ok((rows, columns))
}

/// `--filter a=1 --filter a=2` means a in {1, 2}.
fn merge_filters(filters: Vec<Filter>) -> Vec<Filter> {
    let mut merged: Vec<Filter> = Vec::new();
    for filter in filters {
        match (filter, merged.last_mut()) {
            (Filter::In(d, values), _) => match merged.iter_mut().find(|f| matches!(f, Filter::In(e, _) if *e == d)) {
                Some(Filter::In(_, existing)) => existing.extend(values),
                _ => merged.push(Filter::In(d, values)),
            },
            (other, _) => merged.push(other),
        }
    }
    merged
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
        Command::Summary { mut by, include_admin, json, filters, grain, top, matrix, map, files } => {
            let ingest = IngestOptions { mapping: map.unwrap_or_default() };
            if let Some(grain) = grain {
                by.push(grain.parse().unwrap_or(Dimension::Day));
            }
            let options = SummaryOptions { by, include_admin, filters: merge_filters(filters), top };
            summary(&files, &ingest, options, matrix, json)
        }
        Command::Bill { pricing, subscription, location, include_admin, json, files } => {
            let options = BillOptions { subscription, period: None, include_admin, location };
            bill_command(&files, &pricing, options, json)
        }
        Command::Reconcile { local, azure, shift_hours, tolerance, pricing, registration, tenants, json } => {
            let registration = Registration { stamp_subscription: registration, tenants };
            reconcile_command(&local, &azure, &pricing, ReconcileOptions { shift_hours, tolerance, registration }, json)
        }
        Command::Export { format, out, partition_by_month, pricing, include_admin, spreadsheet_safe, files } => {
            let choices = ExportChoices { partition_by_month, include_admin, spreadsheet_safe };
            export_command(&files, &format, &out, &pricing, choices)
        }
        Command::BenchQuery { runs, json, file } => bench_query(&file, runs.max(1), json).map(|_| true),
        Command::BenchMemory { file } => bench_memory(&file).map(|_| true),
        Command::BenchIngest { rows, seed, runs } => bench_ingest(rows, seed, runs.max(1)).map(|_| true),
        Command::Generate { rows, seed, format, out } => {
            let options = GenerateOptions { rows, seed, format, ..Default::default() };
            write_generated(&options, &out).map(|_| true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
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
    let mut seen: Vec<(u64, &PathBuf)> = Vec::new();
    for path in files {
        // The same export given twice would count every row twice: read it once and say so.
        let print = file_fingerprint(path)?;
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == print) {
            eprintln!("meterlens: {}: the same file as {}; read once", path.display(), first.display());
            continue;
        }
        seen.push((print, path));
        let (next, report) = ingest_file(table, path, ingest)?;
        table = next;
        reports.push(report);
    }
    Ok((table, reports))
}

/// How local usage is priced: a price sheet and the stamp's licensing model.
#[derive(clap::Args)]
struct Pricing {
    /// A price sheet or chargeback rates CSV (meter ID, unit price, currency, unit, effective date); else list
    /// prices.
    #[arg(long)]
    prices: Option<PathBuf>,
    /// The stamp's licensing model: payg-included (Windows licences included), payg-byol (own Windows licences:
    /// no Windows meter charge), capacity (annual: usage costs 0) or asdk (development kit: nothing billed).
    #[arg(long, default_value = "payg-included", value_parser = parse_licensing)]
    licensing: Licensing,
}

/// `LOCAL=AZURE` → (Azure subscription, local subscription).
fn parse_tenant(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((local, azure)) if !local.trim().is_empty() && !azure.trim().is_empty() => {
            Ok((azure.trim().to_string(), local.trim().to_string()))
        }
        _ => Err(format!("{text:?} is not LOCAL_SUBSCRIPTION=AZURE_SUBSCRIPTION")),
    }
}

fn parse_licensing(text: &str) -> Result<Licensing, String> {
    Licensing::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Licensing::ALL.iter().map(|l| l.as_str()).collect();
        format!("unknown licensing model {text:?} (one of {})", names.join(", "))
    })
}

/// List prices, plus the price sheet if given, under the licensing model; problems go to stderr. False when the
/// sheet is unusable.
fn price_book(pricing: &Pricing) -> io::Result<(PriceBook, bool)> {
    let mut book = PriceBook::default();
    book.licensing = pricing.licensing;
    let Some(path) = pricing.prices.as_ref() else { return Ok((book, true)) };
    let bytes = std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let report = book.import_csv(&path.display().to_string(), &bytes);
    for (line, why) in &report.skipped {
        eprintln!("meterlens: {}: line {line}: {why}", path.display());
    }
    match report.error {
        Some(error) => {
            eprintln!("meterlens: {error}");
            Ok((book, false))
        }
        None => Ok((book, true)),
    }
}

/// Prints the bill; returns false when some usage or price file could not be read.
fn bill_command(files: &[PathBuf], prices: &Pricing, options: BillOptions, as_json: bool) -> io::Result<bool> {
    let (table, reports) = ingest_files(files, &IngestOptions::default())?;
    let (book, prices_ok) = price_book(prices)?;
    let ok = prices_ok && reports.iter().all(|r| r.error.is_none());
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

/// The yes/no choices of `meterlens export`.
struct ExportChoices {
    partition_by_month: bool,
    include_admin: bool,
    spreadsheet_safe: bool,
}

/// Rows above which `export` partitions by month even when not asked to.
const PARTITION_ROWS: usize = 1_000_000;

/// `meterlens export`: FOCUS CSV/Parquet or normalised Parquet, one file or one per billing month.
fn export_command(
    files: &[PathBuf],
    format: &str,
    out: &PathBuf,
    prices: &Pricing,
    choices: ExportChoices,
) -> io::Result<bool> {
    let ExportChoices { partition_by_month, include_admin, spreadsheet_safe } = choices;
    let (table, reports) = ingest_files(files, &IngestOptions::default())?;
    let (book, prices_ok) = price_book(prices)?;
    let mut ok = prices_ok;
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("meterlens: {}: {error}", report.file);
            ok = false;
        }
    }
    let create = |path: &PathBuf| -> io::Result<BufWriter<File>> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = File::create(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(BufWriter::with_capacity(1 << 20, file))
    };
    let parquet_error =
        |e: meterlens_engine::parquet_out::ParquetError| io::Error::other(format!("{}: {e}", out.display()));
    if format == "parquet" {
        meterlens_engine::parquet_out::write_table(&table, create(out)?).map_err(parquet_error)?;
        eprintln!("meterlens: wrote {} normalised rows to {}", table.len(), out.display());
        return Ok(ok);
    }
    let export = FocusExport::new(&table, &book, &FocusOptions { include_admin });
    let partition = partition_by_month || export.len() > PARTITION_ROWS;
    let parts: Vec<(PathBuf, Vec<u32>)> = if partition {
        let ext = if format == "focus-csv" { "csv" } else { "parquet" };
        export
            .by_month()
            .into_iter()
            .map(|(month, rows)| (out.join(format!("BillingPeriod={month}")).join(format!("part-0.{ext}")), rows))
            .collect()
    } else {
        vec![(out.clone(), (0..export.len() as u32).collect())]
    };
    for (path, rows) in &parts {
        if format == "focus-csv" {
            let mut writer = create(path)?;
            export.write_csv(Some(rows), spreadsheet_safe, &mut writer)?;
            writer.flush()?;
        } else {
            meterlens_engine::parquet_out::write_focus(&export, rows, create(path)?).map_err(parquet_error)?;
        }
    }
    let totals: Vec<String> = export.billed_by_currency().iter().map(|(c, t)| format!("{t:.2} {c}")).collect();
    eprintln!(
        "meterlens: wrote {} FOCUS 1.2 rows ({} admin rows left out; billed {}) to {}{}",
        export.len(),
        export.admin_rows_excluded,
        if totals.is_empty() { "nothing".to_string() } else { totals.join(", ") },
        out.display(),
        if partition { format!(", {} monthly partitions", parts.len()) } else { String::new() }
    );
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
        "licensing": bill.licensing.as_str(),
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
        writeln!(out, "  {:>135.2} {}", s.total, bill.currency)?;
        writeln!(out)?;
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
        "{:<22} {:>9} {:>9} {:>9} {:>10} {:>12} {:>11} {:>9} {:>10} {:>13}",
        "format", "MB", "rows", "ingest s", "MB/s", "rows/s", "baseline s", "ratio", "bytes/row", "snapshot B/row"
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
            ingester.expect_bytes(bytes.len() as u64);
            for chunk in bytes.chunks(1 << 20) {
                ingester.feed(chunk);
            }
            let (mut table, report) = ingester.finish();
            table.shrink_to_fit();
            outcome = Some((table, report.rows, report.rejected));
        });
        let (table, read, rejected) = outcome.unwrap_or_default();
        let (heap, snapshot) = (table.heap_bytes(), table.to_snapshot().len());
        assert!(lines > 0 && read == rows && rejected == 0, "bench input must read back whole");
        let mb = bytes.len() as f64 / 1e6;
        println!(
            "{:<22} {:>9.1} {:>9} {:>9.3} {:>10.1} {:>12.0} {:>11.4} {:>9.1} {:>10.1} {:>13.1}",
            GenerateFormat::NAMES[format as usize],
            mb,
            read,
            ingest,
            mb / ingest,
            read as f64 / ingest,
            baseline,
            ingest / baseline,
            heap as f64 / read as f64,
            snapshot as f64 / read as f64
        );
    }
    Ok(())
}

/// Heap bytes per row at each phase of a browser load, the worker's and the page's (each its own wasm memory,
/// which keeps its peak: the peak column is what a phase costs).
fn bench_memory(file: &PathBuf) -> io::Result<()> {
    heap::reset_peak();
    let start = heap::live();
    let (mut table, _) = ingest_file(UsageTable::default(), file, &IngestOptions::default())?;
    let rows = table.len().max(1) as f64;
    let per_row = |bytes: usize| bytes.saturating_sub(start) as f64 / rows;
    println!(
        "{} rows; heap bytes a row (wasm memory in the browser): live after each phase, and the peak of",
        table.len()
    );
    println!("its process so far (the worker's, then the page's; the packed hand-over not counted)");
    println!("{:<38} {:>10} {:>10}", "phase", "live", "peak");
    let line = |phase: &str| println!("{phase:<38} {:>10.1} {:>10.1}", per_row(heap::live()), per_row(heap::peak()));
    line("worker: ingest");
    table.shrink_to_fit();
    line("worker: shrink_to_fit");
    let parts: Vec<String> = table
        .heap_bytes_by_part()
        .into_iter()
        .filter(|&(_, bytes)| bytes as f64 / rows >= 0.05)
        .map(|(part, bytes)| format!("{part} {:.1}", bytes as f64 / rows))
        .collect();
    println!("  the table by part, bytes a row: {}", parts.join(", "));
    let mut chunks = Vec::new();
    table.write_snapshot(&mut |bytes| heap::uncounted(|| chunks.push(bytes.to_vec())));
    line("worker: packed");
    drop(table);
    let packed = chunks;
    let packed_bytes = meterlens_engine::table::ByteSource::len(&packed);
    // The worker's wasm memory goes with the worker; the page's starts from nothing.
    heap::reset_peak();
    let page = heap::live();
    let page_row = |bytes: usize| (bytes.saturating_sub(page) as f64) / rows;
    let line = |phase: &str| println!("{phase:<38} {:>10.1} {:>10.1}", page_row(heap::live()), page_row(heap::peak()));
    println!(
        "packed: {:.1} bytes a row (a file on disk in the browser, or JS buffers; not counted below)",
        packed_bytes as f64 / rows
    );
    let table = UsageTable::from_snapshot_source(&packed).map_err(|e| io::Error::other(e.to_string()))?;
    line("page: decoded");
    heap::uncounted(|| drop(packed));
    let engine = QueryEngine::new(&table);
    line("page: engine (admin pass)");
    let summary = Summary::with_engine(&engine, &SummaryOptions::default());
    line("page: summary");
    let all = Query::default();
    engine.run(&Query { distinct_resources: true, ..all.clone() });
    line("page: distinct resources");
    engine.run(&Query { group_by: vec![Dimension::Day], ..all.clone() });
    line("page: by day");
    for d in [Dimension::MeterCategory, Dimension::MeterName, Dimension::ResourceGroup, Dimension::Subscription] {
        engine.run(&Query {
            group_by: vec![d.clone()],
            sort: SortBy::Cost("USD".into()),
            top: Some(10),
            ..all.clone()
        });
        line(&format!("page: top by {d:?}"));
    }
    let subscription = engine
        .run(&Query { group_by: vec![Dimension::Subscription], sort: SortBy::Rows, top: Some(1), ..all.clone() })
        .groups
        .first()
        .map(|g| g.key[0].1.clone())
        .unwrap_or_default();
    let click = Query { filters: vec![Filter::In(Dimension::Subscription, vec![subscription])], ..all.clone() };
    // The Overview's visuals again under the filter, and the open slicers' counts.
    for d in [Dimension::Day, Dimension::MeterName, Dimension::ResourceGroup] {
        let top = (d != Dimension::Day).then_some(10);
        engine.run(&Query { group_by: vec![d.clone()], sort: SortBy::Cost("USD".into()), top, ..click.clone() });
        line(&format!("page: click, by {d:?}"));
    }
    for d in [Dimension::Subscription, Dimension::ResourceGroup, Dimension::MeterName] {
        engine.slicer(&click, &d);
        line(&format!("page: click, slicer of {d:?}"));
    }
    line("page: a slicer click");
    let by_resource = vec![Dimension::Resource];
    engine.run(&Query { group_by: by_resource, sort: SortBy::Cost("USD".into()), top: Some(10), ..all.clone() });
    line("page: top 10 resources by cost");
    println!("({} rows summarised)", summary.rows);
    Ok(())
}

/// Prints the reconciliation; returns false when some file could not be read.
fn reconcile_command(
    local: &[PathBuf],
    azure: &[PathBuf],
    prices: &Pricing,
    options: ReconcileOptions,
    as_json: bool,
) -> io::Result<bool> {
    let files: Vec<PathBuf> = local.iter().chain(azure).cloned().collect();
    let (table, reports) = ingest_files(&files, &IngestOptions::default())?;
    let mut ok = true;
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("meterlens: {}: {error}", report.file);
            ok = false;
        }
    }
    let (book, prices_ok) = price_book(prices)?;
    ok &= prices_ok;
    // Sources are numbered in the order the files were given: the local ones first.
    let side =
        |row: usize| Some(if (table.source[row] as usize) < local.len() { Side::AzureStack } else { Side::Azure });
    let r = reconcile(&table, &side, &book, &options);
    let mut out = BufWriter::new(io::stdout().lock());
    if as_json {
        let cells: Vec<Value> = r
            .cells
            .iter()
            .map(|c| {
                json!({
                    "stamp": c.stamp, "local_meter_id": c.local_meter_id, "meter_name": c.meter_name,
                    "subscription": c.subscription,
                    "day": c.day, "unit": c.unit, "local_quantity": c.local_quantity, "azure_quantity": c.azure_quantity,
                    "delta": c.delta, "status": c.status.as_str(), "cost_impact": c.cost_impact,
                })
            })
            .collect();
        let by_status: Map<String, Value> =
            r.by_status.iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect();
        let delta: Map<String, Value> =
            r.delta_by_status.iter().map(|(s, d)| (s.as_str().to_string(), sums(d))).collect();
        let json = json!({
            "summary": {
                "cells": r.cells.len(), "by_status": by_status, "local_quantity": sums(&r.local_quantity),
                "azure_quantity": sums(&r.azure_quantity), "unexplained_cost": sums(&r.unexplained_cost),
                "delta_by_status": delta, "licensing": book.licensing.as_str(), "grain": r.grain.as_str(),
                "per_subscription": r.per_subscription, "unattributed_rows": r.unattributed_rows, "notes": r.notes,
            },
            "cells": cells,
        });
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        let tenant = if r.per_subscription { "local subscription" } else { "all tenants" };
        let grain = if r.grain == Grain::Month { "month" } else { "UTC day" };
        writeln!(out, "{} cells compared (stamp × local meter × {tenant} × {grain})", r.cells.len())?;
        writeln!(out, "{}", book.licensing.describe())?;
        for note in &r.notes {
            writeln!(out, "{note}")?;
        }
        for status in Status::ALL {
            if let Some(n) = r.by_status.get(&status) {
                writeln!(out, "  {:<30} {n:>8}", status.label())?;
            }
        }
        for (currency, cost) in &r.unexplained_cost {
            writeln!(out, "cost of unexplained differences: {cost:.2} {currency}")?;
        }
        for c in r.cells.iter().filter(|c| c.status != Status::Match) {
            writeln!(
                out,
                "{} {} {:<28} {:<38} local {:>12.4} azure {:>12.4} delta {:>12.4} {}  {}",
                c.stamp,
                c.day,
                c.meter_name,
                c.subscription,
                c.local_quantity,
                c.azure_quantity,
                c.delta,
                c.unit,
                c.status.as_str()
            )?;
        }
    }
    Ok(ok)
}

/// One benchmark query: runs and returns the number of groups (so the work cannot be optimised away).
type BenchQuery<'a> = Box<dyn Fn(&QueryEngine<'_>) -> usize + 'a>;

/// Query timings on one file: the first run (builds the dimension codes it needs) and the median of the next.
fn bench_query(file: &PathBuf, runs: u32, as_json: bool) -> io::Result<()> {
    use std::time::Instant;
    let started = Instant::now();
    let (table, _) = ingest_files(std::slice::from_ref(file), &IngestOptions::default())?;
    let ingest_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let setup = QueryEngine::new(&table);
    let engine_s = started.elapsed().as_secs_f64();
    let all = Query { include_admin: true, ..Default::default() };
    // The busiest subscription and three of its resource groups, as a slicer click would pick them (found on a
    // separate engine, so that no timed query finds its codes or selection already cached).
    let busiest =
        setup.run(&Query { group_by: vec![Dimension::Subscription], sort: SortBy::Rows, top: Some(1), ..all.clone() });
    let subscription = busiest.groups.first().map(|g| g.key[0].1.clone()).unwrap_or_default();
    let in_subscription = Filter::In(Dimension::Subscription, vec![subscription.clone()]);
    let groups = setup.run(&Query {
        filters: vec![in_subscription.clone()],
        group_by: vec![Dimension::ResourceGroup],
        sort: SortBy::Rows,
        ..all.clone()
    });
    let resource_groups: Vec<String> = groups.groups.iter().take(3).map(|g| g.key[0].1.clone()).collect();
    let q = |group_by: Vec<Dimension>| Query { group_by, ..all.clone() };
    let queries: Vec<(&str, BenchQuery<'_>)> = vec![
        ("group_by_1", Box::new(|e| e.run(&q(vec![Dimension::MeterId])).groups.len())),
        ("group_by_2", Box::new(|e| e.run(&q(vec![Dimension::Subscription, Dimension::Day])).groups.len())),
        (
            "group_by_3",
            Box::new(|e| {
                e.run(&q(vec![Dimension::Subscription, Dimension::ResourceGroup, Dimension::MeterId])).groups.len()
            }),
        ),
        (
            "filter_group",
            Box::new(|e| {
                let filters =
                    vec![in_subscription.clone(), Filter::In(Dimension::ResourceGroup, resource_groups.clone())];
                e.run(&Query { filters, ..q(vec![Dimension::MeterId]) }).groups.len()
            }),
        ),
        (
            "top_10",
            Box::new(|e| {
                e.run(&Query { sort: SortBy::Rows, top: Some(10), ..q(vec![Dimension::Resource]) }).groups.len()
            }),
        ),
        ("matrix", Box::new(|e| e.matrix(&all, &[Dimension::MeterName], &[Dimension::Month]).rows.len())),
    ];
    let mut results = Vec::new();
    for (name, run) in &queries {
        // Cold: a new engine (its admin pass not timed), so the first run builds every code it needs.
        let engine = QueryEngine::new(&table);
        let time = |engine: &QueryEngine<'_>| {
            let start = Instant::now();
            let n = run(engine);
            (start.elapsed().as_secs_f64() * 1000.0, n)
        };
        let (cold, groups) = time(&engine);
        let mut warm: Vec<f64> = (0..runs).map(|_| time(&engine).0).collect();
        warm.sort_by(f64::total_cmp);
        // Re-aggregation, as a slicer click asks: dimension codes and row lists kept, answers forgotten.
        let mut again: Vec<f64> = (0..runs)
            .map(|_| {
                engine.clear_answers();
                time(&engine).0
            })
            .collect();
        again.sort_by(f64::total_cmp);
        results.push((*name, cold, warm[warm.len() / 2], again[again.len() / 2], groups));
    }
    if as_json {
        let queries: Map<String, Value> = results
            .iter()
            .map(|(n, cold, warm, again, groups)| {
                (n.to_string(), json!({"cold_ms": cold, "warm_ms": warm, "reaggregation_ms": again, "groups": groups}))
            })
            .collect();
        let out = json!({
            "rows": table.len(), "ingest_s": ingest_s, "engine_s": engine_s,
            "subscription": subscription, "resource_groups": resource_groups, "queries": queries,
        });
        println!("{out}");
    } else {
        println!("{} rows; ingest {ingest_s:.2} s; engine set-up {:.1} ms", table.len(), engine_s * 1000.0);
        println!("{:<14} {:>10} {:>10} {:>10} {:>8}", "query", "cold ms", "warm ms", "re-agg ms", "groups");
        for (name, cold, warm, again, groups) in results {
            println!("{name:<14} {cold:>10.2} {warm:>10.2} {again:>10.2} {groups:>8}");
        }
    }
    Ok(())
}

/// The file's [`fingerprint`]: its size and first MiB.
fn file_fingerprint(path: &PathBuf) -> io::Result<u64> {
    let file = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let size = file.metadata()?.len();
    let mut head = Vec::with_capacity(FINGERPRINT_BYTES);
    file.take(FINGERPRINT_BYTES as u64).read_to_end(&mut head)?;
    Ok(fingerprint(size, &head))
}

/// Reads `path` into `table` in 1 MiB chunks (a Parquet file footer first, then row group by row group).
fn ingest_file(table: UsageTable, path: &PathBuf, options: &IngestOptions) -> io::Result<(UsageTable, FileReport)> {
    let mut file = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut ingester = Ingester::with_options(table, &path.display().to_string(), options.clone());
    let mut magic = [0u8; 4];
    let is_parquet = file.read_exact(&mut magic).is_ok() && &magic == PARQUET_MAGIC;
    if is_parquet {
        ingester.read_parquet(file);
        return Ok(ingester.finish());
    }
    file.seek(io::SeekFrom::Start(0))?;
    ingester.expect_bytes(file.metadata()?.len());
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
fn summary(
    files: &[PathBuf],
    ingest: &IngestOptions,
    options: SummaryOptions,
    matrix: Option<(Vec<Dimension>, Vec<Dimension>)>,
    as_json: bool,
) -> io::Result<bool> {
    let (table, reports) = ingest_files(files, ingest)?;
    let engine = QueryEngine::new(&table);
    let summary = Summary::with_engine(&engine, &options);
    let matrix = matrix.map(|(rows, columns)| {
        let query =
            Query { filters: options.filters.clone(), include_admin: options.include_admin, ..Default::default() };
        engine.matrix(&query, &rows, &columns)
    });
    let mut out = BufWriter::new(io::stdout().lock());
    if as_json {
        let mut json = summary_json(&reports, &summary);
        if let Some(m) = &matrix {
            json["matrix"] = matrix_json(m);
        }
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &reports, &summary)?;
        if let Some(m) = &matrix {
            write_matrix(&mut out, m)?;
        }
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

fn totals_json(t: &Totals) -> Value {
    json!({"rows": t.rows, "quantity": sums(&t.quantity), "cost": sums(&t.cost), "effective_cost": sums(&t.effective_cost)})
}

fn matrix_json(m: &Matrix) -> Value {
    let rows: Vec<Value> = m
        .rows
        .iter()
        .map(|r| {
            json!({
                "key": r.key, "level": r.level, "subtotal": r.subtotal,
                "cells": r.cells.iter().map(totals_json).collect::<Vec<_>>(), "total": totals_json(&r.total),
            })
        })
        .collect();
    json!({
        "row_dimensions": m.row_dimensions.iter().map(Dimension::name).collect::<Vec<_>>(),
        "column_dimensions": m.column_dimensions.iter().map(Dimension::name).collect::<Vec<_>>(),
        "columns": m.columns,
        "rows": rows,
        "column_totals": m.column_totals.iter().map(totals_json).collect::<Vec<_>>(),
        "grand_total": totals_json(&m.grand_total),
    })
}

/// The matrix as text: row counts per cell (quantities and costs are in the JSON).
fn write_matrix(out: &mut dyn Write, m: &Matrix) -> io::Result<()> {
    let header: Vec<String> = m.columns.iter().map(|c| c.join("/")).collect();
    writeln!(
        out,
        "\n{:<48} {} {:>11}",
        "rows",
        header.iter().map(|h| format!("{h:>11}")).collect::<String>(),
        "total"
    )?;
    for r in &m.rows {
        let label = format!(
            "{}{}{}",
            "  ".repeat(r.level),
            r.key.last().map_or("", String::as_str),
            if r.subtotal { " (subtotal)" } else { "" }
        );
        let cells: String = r.cells.iter().map(|c| format!("{:>11}", c.rows)).collect();
        writeln!(out, "{label:<48} {cells} {:>11}", r.total.rows)?;
    }
    let cells: String = m.column_totals.iter().map(|c| format!("{:>11}", c.rows)).collect();
    writeln!(out, "{:<48} {cells} {:>11}", "Total", m.grand_total.rows)
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
                "parquet": r.parquet,
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

//! Parquet exports (Cost Management, FOCUS) read row group by row group into the same rows as their CSV twins.

use std::borrow::Cow;

use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::record::Field as Value;

use super::detect::{self, Closest, Layout};
use super::row::{self, FileRows, RawRow};
use super::{FileError, FileReport, IngestOptions};
use crate::table::UsageTable;

/// Reads every row of the Parquet file behind `source` into `table`. Rows are numbered from 1 in issues (Parquet
/// has no lines). A damaged row group stops the read with rows before it kept.
pub(super) fn read<R: ChunkReader + 'static>(
    source: R,
    options: &IngestOptions,
    table: &mut UsageTable,
    rows: &mut FileRows,
    report: &mut FileReport,
) -> Result<(), FileError> {
    let broken = |message: String| FileError::Parquet { message };
    let reader = SerializedFileReader::new(source).map_err(|e| broken(e.to_string()))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = schema.root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
    let mut closest = Closest::default();
    let Some(layout) = detect::detect(names, &options.mapping, &mut closest) else {
        return Err(closest.into_error());
    };
    report.format = layout.format;
    rows.format = layout.format;
    let mut line = 0u64;
    let mut cells: Vec<String> = vec![String::new(); layout.width()];
    for group in 0..reader.num_row_groups() {
        let row_group = reader.get_row_group(group).map_err(|e| broken(format!("row group {group}: {e}")))?;
        let iter = row_group.get_row_iter(None).map_err(|e| broken(format!("row group {group}: {e}")))?;
        for row in iter {
            line += 1;
            let row = match row {
                Ok(row) => row,
                Err(e) => return Err(broken(format!("row {line}: {e}"))),
            };
            for (cell, (_, value)) in cells.iter_mut().zip(row.get_column_iter()) {
                cell.clear();
                write_text(value, cell);
            }
            ingest_cells(line, &cells, &layout, table, rows, report);
        }
    }
    Ok(())
}

fn ingest_cells(
    line: u64,
    cells: &[String],
    layout: &Layout,
    table: &mut UsageTable,
    rows: &mut FileRows,
    report: &mut FileReport,
) {
    let mut raw = RawRow::csv(line, layout);
    for field in detect::Field::ALL {
        if let Some(index) = layout.column(field) {
            raw.set(field, Cow::Borrowed(cells[index].as_str()));
        }
    }
    row::ingest_row(&raw, rows, table, report);
}

/// A Parquet value as the CSV export writes it: ISO dates and times in UTC, numbers in their shortest form.
fn write_text(value: &Value, out: &mut String) {
    use std::fmt::Write;
    let _ = match value {
        Value::Null => Ok(()),
        Value::Str(s) => {
            out.push_str(s);
            Ok(())
        }
        Value::Bytes(b) => {
            out.push_str(&String::from_utf8_lossy(b.data()));
            Ok(())
        }
        Value::Bool(b) => write!(out, "{b}"),
        Value::Byte(n) => write!(out, "{n}"),
        Value::Short(n) => write!(out, "{n}"),
        Value::Int(n) => write!(out, "{n}"),
        Value::Long(n) => write!(out, "{n}"),
        Value::UByte(n) => write!(out, "{n}"),
        Value::UShort(n) => write!(out, "{n}"),
        Value::UInt(n) => write!(out, "{n}"),
        Value::ULong(n) => write!(out, "{n}"),
        Value::Float(n) => write!(out, "{n}"),
        Value::Double(n) => write!(out, "{n}"),
        Value::Decimal(d) => {
            out.push_str(&decimal_text(d));
            Ok(())
        }
        Value::Date(days) => match chrono::DateTime::from_timestamp(i64::from(*days) * 86_400, 0) {
            Some(t) => write!(out, "{}", t.format("%Y-%m-%d")),
            None => write!(out, "{days}"),
        },
        Value::TimestampMillis(ms) => timestamp(out, ms.div_euclid(1000), ms.rem_euclid(1000) as u32 * 1_000_000),
        Value::TimestampMicros(us) => timestamp(out, us.div_euclid(1_000_000), us.rem_euclid(1_000_000) as u32 * 1000),
        // Lists, maps and groups (rare in usage exports) keep the reader's JSON-like text.
        other => write!(out, "{other}"),
    };
}

fn timestamp(out: &mut String, seconds: i64, nanos: u32) -> std::fmt::Result {
    use std::fmt::Write;
    match chrono::DateTime::from_timestamp(seconds, nanos) {
        Some(t) if nanos == 0 => write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
        Some(t) => write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.fZ")),
        None => write!(out, "{seconds}"),
    }
}

/// The decimal's digits with its scale applied (values up to 38 digits, as Parquet decimals go).
fn decimal_text(d: &parquet::data_type::Decimal) -> String {
    let bytes = d.data();
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut value: i128 = if negative { -1 } else { 0 };
    for &b in bytes.iter().take(16) {
        value = (value << 8) | i128::from(b);
    }
    let digits = value.unsigned_abs().to_string();
    let scale = d.scale().max(0) as usize;
    let sign = if negative { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

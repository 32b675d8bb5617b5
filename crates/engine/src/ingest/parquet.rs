//! Parquet exports (Cost Management, FOCUS) read row group by row group into the same rows as their CSV twins.

use std::borrow::Cow;

use ::parquet::basic::{ConvertedType, LogicalType, TimeUnit};
use ::parquet::column::reader::ColumnReader;
use ::parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use ::parquet::errors::ParquetError;
use ::parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use ::parquet::schema::types::ColumnDescriptor;

use super::detect::{self, Closest};
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
    // Only the columns the layout reads are decoded (a FOCUS export has ~60, a usage row needs ~20), column by
    // column in batches, as the CSV twin's texts.
    let mut used: Vec<(usize, usize)> = Vec::new();
    for index in 0..layout.width() {
        if !detect::Field::ALL.iter().any(|&f| layout.column(f) == Some(index)) {
            continue;
        }
        let name = layout.column_name(index);
        match schema.columns().iter().position(|c| c.path().parts() == [name.to_string()]) {
            Some(leaf) => used.push((index, leaf)),
            None => report.push_issue(super::Issue {
                line: 0,
                column: Some(name.to_string()),
                message: "a nested Parquet column (list, map or group) is not read; its field is left empty".into(),
                excerpt: String::new(),
                dropped: false,
            }),
        }
    }
    let slots: Vec<(detect::Field, usize)> = detect::Field::ALL
        .iter()
        .filter_map(|&f| layout.column(f).and_then(|c| used.iter().position(|(index, _)| *index == c)).map(|k| (f, k)))
        .collect();
    let mut line = 0u64;
    let mut texts: Vec<Vec<String>> = vec![Vec::new(); used.len()];
    for group in 0..reader.num_row_groups() {
        let in_group = |e: ParquetError| broken(format!("row group {group}: {e}"));
        let row_group = reader.get_row_group(group).map_err(in_group)?;
        let rows_in_group = usize::try_from(row_group.metadata().num_rows()).unwrap_or(0);
        let mut columns = Vec::with_capacity(used.len());
        for &(_, leaf) in &used {
            columns.push((row_group.get_column_reader(leaf).map_err(in_group)?, schema.column(leaf)));
        }
        let mut done = 0;
        while done < rows_in_group {
            let batch = (rows_in_group - done).min(BATCH_ROWS);
            for ((column, descr), out) in columns.iter_mut().zip(texts.iter_mut()) {
                read_texts(column, descr, batch, out).map_err(in_group)?;
            }
            // `r` indexes every used column's batch, not one slice.
            #[allow(clippy::needless_range_loop)]
            for r in 0..batch {
                line += 1;
                let mut raw = RawRow::csv(line, &layout);
                for &(field, k) in &slots {
                    raw.set(field, Cow::Borrowed(texts[k][r].as_str()));
                }
                row::ingest_row(&raw, rows, table, report);
            }
            done += batch;
        }
    }
    Ok(())
}

/// Rows decoded per column at a time: bounds the texts held while a row group is read.
const BATCH_ROWS: usize = 8192;

/// Reads the next `batch` values of `column` into `out` as texts ("" for null).
fn read_texts(
    column: &mut ColumnReader,
    descr: &ColumnDescriptor,
    batch: usize,
    out: &mut Vec<String>,
) -> Result<(), ParquetError> {
    out.clear();
    let max_def = descr.max_def_level();
    let mut levels: Vec<i16> = Vec::with_capacity(batch);
    macro_rules! texts {
        ($reader:expr, $text:expr) => {{
            let mut values = Vec::with_capacity(batch);
            let mut total = 0;
            while total < batch {
                let (records, _, _) = $reader.read_records(batch - total, Some(&mut levels), None, &mut values)?;
                if records == 0 {
                    break;
                }
                total += records;
            }
            let mut next = values.iter();
            if max_def == 0 {
                out.extend(next.map($text));
            } else {
                for &level in &levels {
                    out.push(if level == max_def {
                        next.next().map_or_else(String::new, $text)
                    } else {
                        String::new()
                    });
                }
            }
        }};
    }
    match column {
        ColumnReader::BoolColumnReader(r) => texts!(r, |v: &bool| v.to_string()),
        ColumnReader::Int32ColumnReader(r) => texts!(r, |v: &i32| integer_text(i64::from(*v), descr)),
        ColumnReader::Int64ColumnReader(r) => texts!(r, |v: &i64| integer_text(*v, descr)),
        ColumnReader::Int96ColumnReader(r) => texts!(r, |v: &Int96| timestamp(v.to_seconds(), 0)),
        ColumnReader::FloatColumnReader(r) => texts!(r, |v: &f32| v.to_string()),
        ColumnReader::DoubleColumnReader(r) => texts!(r, |v: &f64| v.to_string()),
        ColumnReader::ByteArrayColumnReader(r) => texts!(r, |v: &ByteArray| bytes_text(v.data(), descr)),
        ColumnReader::FixedLenByteArrayColumnReader(r) => {
            texts!(r, |v: &FixedLenByteArray| bytes_text(v.data(), descr))
        }
    }
    out.resize(batch, String::new());
    Ok(())
}

/// An integer column's value: a date, a timestamp or a decimal when its type says so.
fn integer_text(value: i64, descr: &ColumnDescriptor) -> String {
    match descr.logical_type_ref() {
        Some(LogicalType::Date) => date(value),
        Some(LogicalType::Timestamp { unit, .. }) => match unit {
            TimeUnit::MILLIS => timestamp(value.div_euclid(1000), value.rem_euclid(1000) as u32 * 1_000_000),
            TimeUnit::MICROS => timestamp(value.div_euclid(1_000_000), value.rem_euclid(1_000_000) as u32 * 1000),
            TimeUnit::NANOS => timestamp(value.div_euclid(1_000_000_000), value.rem_euclid(1_000_000_000) as u32),
        },
        Some(LogicalType::Decimal { scale, .. }) => scaled(i128::from(value), *scale),
        _ => match descr.converted_type() {
            ConvertedType::DATE => date(value),
            ConvertedType::TIMESTAMP_MILLIS => timestamp(value.div_euclid(1000), 0),
            ConvertedType::TIMESTAMP_MICROS => timestamp(value.div_euclid(1_000_000), 0),
            ConvertedType::DECIMAL => scaled(i128::from(value), descr.type_scale()),
            _ => value.to_string(),
        },
    }
}

/// A byte-array value: text, or a decimal (big-endian two's complement) when its type says so.
fn bytes_text(bytes: &[u8], descr: &ColumnDescriptor) -> String {
    let decimal = matches!(descr.logical_type_ref(), Some(LogicalType::Decimal { .. }))
        || descr.converted_type() == ConvertedType::DECIMAL;
    if !decimal {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut value: i128 = if negative { -1 } else { 0 };
    for &b in bytes.iter().take(16) {
        value = (value << 8) | i128::from(b);
    }
    scaled(value, descr.type_scale())
}

/// `value` × 10^-`scale` in plain digits.
fn scaled(value: i128, scale: i32) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    let scale = scale.max(0) as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

fn date(days: i64) -> String {
    chrono::DateTime::from_timestamp(days * 86_400, 0)
        .map_or_else(|| days.to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn timestamp(seconds: i64, nanos: u32) -> String {
    match chrono::DateTime::from_timestamp(seconds, nanos) {
        Some(t) if nanos == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        None => seconds.to_string(),
    }
}

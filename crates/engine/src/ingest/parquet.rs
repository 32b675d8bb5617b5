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
        let flat =
            |c: &&std::sync::Arc<ColumnDescriptor>| c.path().parts() == [name.to_string()] && c.max_rep_level() == 0;
        match schema.columns().iter().position(|c| flat(&c)) {
            Some(leaf) => used.push((index, leaf)),
            None => report.push_issue(super::Issue {
                line: 0,
                column: Some(name.to_string()),
                message:
                    "a nested or repeated Parquet column (list, map or group) is not read; its field is left empty"
                        .into(),
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
    if out.len() != batch {
        return Err(ParquetError::General(format!(
            "column {} has {} values where its row group has {batch} more rows",
            descr.name(),
            out.len()
        )));
    }
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

/// A byte-array value: text, a decimal (big-endian two's complement) or a UUID when its type says so.
fn bytes_text(bytes: &[u8], descr: &ColumnDescriptor) -> String {
    let decimal = matches!(descr.logical_type_ref(), Some(LogicalType::Decimal { .. }))
        || descr.converted_type() == ConvertedType::DECIMAL;
    if matches!(descr.logical_type_ref(), Some(LogicalType::Uuid)) && bytes.len() == 16 {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        return format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
    }
    if !decimal {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if bytes.len() > 16 {
        // Beyond i128: a double keeps the magnitude (usage amounts never need 38 digits).
        let magnitude = bytes.iter().fold(0f64, |a, &b| a * 256.0 + f64::from(if negative { !b } else { b }));
        let value = if negative { -(magnitude + 1.0) } else { magnitude };
        return (value / 10f64.powi(descr.type_scale())).to_string();
    }
    let mut value: i128 = if negative { -1 } else { 0 };
    for &b in bytes {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ::parquet::schema::parser::parse_message_type;
    use ::parquet::schema::types::SchemaDescriptor;

    use super::*;

    fn column(declaration: &str) -> Arc<ColumnDescriptor> {
        let schema = parse_message_type(&format!("message m {{ {declaration}; }}")).unwrap();
        SchemaDescriptor::new(Arc::new(schema)).column(0)
    }

    #[test]
    fn integers_read_as_their_logical_types() {
        assert_eq!(integer_text(20_362, &column("REQUIRED INT32 d (DATE)")), "2025-10-01");
        let millis = column("REQUIRED INT64 t (TIMESTAMP(MILLIS,true))");
        assert_eq!(integer_text(1_790_812_800_000, &millis), "2026-10-01T00:00:00Z");
        assert_eq!(integer_text(1_790_812_800_250, &millis), "2026-10-01T00:00:00.250Z");
        assert_eq!(integer_text(-1, &millis), "1969-12-31T23:59:59.999Z");
        let micros = column("REQUIRED INT64 t (TIMESTAMP(MICROS,true))");
        assert_eq!(integer_text(1_790_812_800_000_000, &micros), "2026-10-01T00:00:00Z");
        let nanos = column("REQUIRED INT64 t (TIMESTAMP(NANOS,false))");
        assert_eq!(integer_text(1_790_812_800_000_000_000, &nanos), "2026-10-01T00:00:00Z");
        let decimal = column("REQUIRED INT64 c (DECIMAL(18,4))");
        assert_eq!(integer_text(12_345, &decimal), "1.2345");
        assert_eq!(integer_text(-5, &decimal), "-0.0005");
        assert_eq!(integer_text(42, &column("REQUIRED INT32 n")), "42");
    }

    #[test]
    fn byte_arrays_read_as_text_decimals_and_uuids() {
        let decimal = column("REQUIRED FIXED_LEN_BYTE_ARRAY(4) c (DECIMAL(9,2))");
        assert_eq!(bytes_text(&1234i32.to_be_bytes(), &decimal), "12.34");
        assert_eq!(bytes_text(&(-1234i32).to_be_bytes(), &decimal), "-12.34");
        assert_eq!(bytes_text(&7i32.to_be_bytes(), &decimal), "0.07");
        let wide = column("REQUIRED FIXED_LEN_BYTE_ARRAY(17) c (DECIMAL(38,2))");
        let mut seventeen = [0u8; 17];
        seventeen[16] = 150;
        assert_eq!(bytes_text(&seventeen, &wide), "1.5");
        let mut minus_one = [0xffu8; 17];
        minus_one[16] = 0x9c; // -100
        assert_eq!(bytes_text(&minus_one, &wide), "-1");
        let text = column("REQUIRED BYTE_ARRAY s (STRING)");
        assert_eq!(bytes_text("Västerås".as_bytes(), &text), "Västerås");
        let uuid = column("REQUIRED FIXED_LEN_BYTE_ARRAY(16) u (UUID)");
        let bytes: Vec<u8> = (0u8..16).collect();
        assert_eq!(bytes_text(&bytes, &uuid), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }

    #[test]
    fn scaled_pads_and_signs() {
        assert_eq!(scaled(5, 3), "0.005");
        assert_eq!(scaled(-123_456, 2), "-1234.56");
        assert_eq!(scaled(7, 0), "7");
        assert_eq!(scaled(i128::MAX, 38), format!("1.{}", &i128::MAX.to_string()[1..]));
    }
}

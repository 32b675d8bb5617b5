//! Parquet output (snappy, row groups of 128 Ki rows): FOCUS 1.2 rows and MeterLens's own normalised table.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
pub use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::admin::AdminClassifier;
use crate::focus::{Cell, FocusExport, FocusType, COLUMNS};
use crate::table::{Column, StrId, UsageTable};

const ROW_GROUP: usize = 128 * 1024;

/// Values of one column for one row group, with Parquet definition levels (1 = value, 0 = null; none for a
/// required column).
enum Batch {
    Double(Vec<f64>, Vec<i16>),
    Int64(Vec<i64>, Vec<i16>),
    Text(Vec<ByteArray>, Vec<i16>),
    Bool(Vec<bool>),
}

impl Batch {
    fn push_text(values: &mut Vec<ByteArray>, levels: &mut Vec<i16>, text: Option<&str>) {
        match text {
            Some(s) => {
                values.push(ByteArray::from(s));
                levels.push(1);
            }
            None => levels.push(0),
        }
    }
}

/// Writes `batches` (one per column, in schema order) as one row group.
fn write_group<W: Write + Send>(writer: &mut SerializedFileWriter<W>, batches: Vec<Batch>) -> Result<(), ParquetError> {
    let mut group = writer.next_row_group()?;
    for batch in batches {
        let Some(mut column) = group.next_column()? else { break };
        match batch {
            Batch::Double(values, levels) => {
                column.typed::<DoubleType>().write_batch(&values, levels_of(&levels), None)?;
            }
            Batch::Int64(values, levels) => {
                column.typed::<Int64Type>().write_batch(&values, levels_of(&levels), None)?;
            }
            Batch::Text(values, levels) => {
                column.typed::<ByteArrayType>().write_batch(&values, levels_of(&levels), None)?;
            }
            Batch::Bool(values) => {
                column.typed::<BoolType>().write_batch(&values, None, None)?;
            }
        }
        column.close()?;
    }
    group.close()?;
    Ok(())
}

fn levels_of(levels: &[i16]) -> Option<&[i16]> {
    (!levels.is_empty()).then_some(levels)
}

fn writer<W: Write + Send>(schema: &str, out: W) -> Result<SerializedFileWriter<W>, ParquetError> {
    let schema = Arc::new(parse_message_type(schema)?);
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("MeterLens {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    SerializedFileWriter::new(out, schema, properties)
}

/// The Parquet schema of the FOCUS columns: strings and JSON as UTF-8, decimals as doubles, date-times as UTC
/// millisecond timestamps; every column optional (FOCUS allows nulls in most, and null-free ones are never null).
pub fn focus_schema() -> String {
    let mut schema = String::from("message focus {\n");
    for column in &COLUMNS {
        let kind = match column.kind {
            FocusType::String | FocusType::Json => "BYTE_ARRAY",
            FocusType::Decimal => "DOUBLE",
            FocusType::DateTime => "INT64",
        };
        let logical = match column.kind {
            FocusType::String => " (STRING)",
            FocusType::Json => " (JSON)",
            FocusType::Decimal => "",
            FocusType::DateTime => " (TIMESTAMP(MILLIS,true))",
        };
        schema.push_str(&format!("  OPTIONAL {kind} {}{logical};\n", column.name));
    }
    schema.push('}');
    schema
}

/// The exported rows at `indices` as a FOCUS 1.2 Parquet file in memory (for the browser, which downloads it).
pub fn focus_parquet(export: &FocusExport<'_>, indices: &[u32]) -> Result<Vec<u8>, ParquetError> {
    let mut bytes = Vec::new();
    write_focus(export, indices, &mut bytes)?;
    Ok(bytes)
}

/// Writes the exported rows at `indices` as FOCUS 1.2 Parquet.
pub fn write_focus<W: Write + Send>(export: &FocusExport<'_>, indices: &[u32], out: W) -> Result<(), ParquetError> {
    let mut writer = writer(&focus_schema(), out)?;
    for chunk in indices.chunks(ROW_GROUP) {
        let mut batches = Vec::with_capacity(COLUMNS.len());
        for (c, column) in COLUMNS.iter().enumerate() {
            let mut levels = Vec::with_capacity(chunk.len());
            batches.push(match column.kind {
                FocusType::Decimal => {
                    let mut values = Vec::with_capacity(chunk.len());
                    for &i in chunk {
                        match export.cell(i as usize, c) {
                            Cell::Number(n) if n.is_finite() => {
                                values.push(n);
                                levels.push(1);
                            }
                            _ => levels.push(0),
                        }
                    }
                    Batch::Double(values, levels)
                }
                FocusType::DateTime => {
                    let mut values = Vec::with_capacity(chunk.len());
                    for &i in chunk {
                        match export.cell(i as usize, c) {
                            Cell::Time(t) => {
                                values.push(t * 1000);
                                levels.push(1);
                            }
                            _ => levels.push(0),
                        }
                    }
                    Batch::Int64(values, levels)
                }
                FocusType::String | FocusType::Json => {
                    let mut values = Vec::with_capacity(chunk.len());
                    for &i in chunk {
                        match export.cell(i as usize, c) {
                            Cell::Text(s) => Batch::push_text(&mut values, &mut levels, Some(&s)),
                            Cell::Number(n) => Batch::push_text(&mut values, &mut levels, Some(&n.to_string())),
                            Cell::Time(t) => Batch::push_text(&mut values, &mut levels, Some(&crate::focus::iso(t))),
                            Cell::Null => Batch::push_text(&mut values, &mut levels, None),
                        }
                    }
                    Batch::Text(values, levels)
                }
            });
        }
        write_group(&mut writer, batches)?;
    }
    writer.close()?;
    Ok(())
}

/// A string column's id in a row.
type StringOf = fn(&UsageTable, usize) -> StrId;

/// The string columns of the normalised table, by their column names in the Parquet output.
fn string_columns() -> [(&'static str, StringOf); 22] {
    [
        ("subscription", |t, r| t.subscription[r]),
        ("subscription_name", |t, r| t.subscription_name[r]),
        ("local_subscription", |t, r| t.local_subscription(r)),
        ("resource_group", |t, r| t.resource_group(r)),
        ("resource_uri", |t, r| t.resource_uri[r]),
        ("resource_type", |t, r| t.resource_type(r)),
        ("resource_name", |t, r| t.resource_name(r)),
        ("location", |t, r| t.location[r]),
        ("meter_id", |t, r| t.meter_id[r]),
        ("local_meter_id", |t, r| t.local_meter_id(r)),
        ("commerce_meter_id", |t, r| t.commerce_meter_id(r)),
        ("meter_name", |t, r| t.meter_name(r)),
        ("meter_category", |t, r| t.meter_category(r)),
        ("meter_subcategory", |t, r| t.meter_subcategory(r)),
        ("meter_region", |t, r| t.meter_region[r]),
        ("unit", |t, r| t.unit(r)),
        ("currency", |t, r| t.currency[r]),
        ("charge_type", |t, r| t.charge_type[r]),
        ("pricing_model", |t, r| t.pricing_model[r]),
        ("tags", |t, r| t.tags[r]),
        ("additional_info", |t, r| t.additional_info[r]),
        ("customer", |t, r| t.customer[r]),
    ]
}

/// Writes the normalised table (every row, admin ones marked in `admin_reason`) as Parquet: MeterLens's own
/// columns, for engines that want the data before FOCUS's choices.
pub fn write_table<W: Write + Send>(table: &UsageTable, out: W) -> Result<(), ParquetError> {
    let mut schema = String::from(
        "message meterlens {\n  REQUIRED INT64 usage_start (TIMESTAMP(MILLIS,true));\n  REQUIRED INT64 usage_end \
         (TIMESTAMP(MILLIS,true));\n  REQUIRED DOUBLE quantity;\n  OPTIONAL DOUBLE cost;\n  OPTIONAL DOUBLE \
         effective_cost;\n  OPTIONAL DOUBLE unit_price;\n  REQUIRED BOOLEAN azure_stack;\n  REQUIRED BOOLEAN local;\n",
    );
    for (name, _) in string_columns() {
        schema.push_str(&format!("  OPTIONAL BYTE_ARRAY {name} (STRING);\n"));
    }
    schema.push_str(
        "  OPTIONAL BYTE_ARRAY admin_reason (STRING);\n  REQUIRED BYTE_ARRAY source_file (STRING);\n  REQUIRED INT64 \
         source_line;\n}",
    );
    let mut writer = writer(&schema, out)?;
    let admin = AdminClassifier::new(table);
    let rows: Vec<usize> = (0..table.len()).collect();
    for chunk in rows.chunks(ROW_GROUP) {
        let times = |column: &Column<i64>| Batch::Int64(chunk.iter().map(|&r| column[r] * 1000).collect(), Vec::new());
        let numbers = |value: &dyn Fn(usize) -> f64| {
            let values: Vec<f64> = chunk.iter().map(|&r| value(r)).filter(|v| !v.is_nan()).collect();
            Batch::Double(values, chunk.iter().map(|&r| i16::from(!value(r).is_nan())).collect())
        };
        let texts = |text: &dyn Fn(usize) -> Option<String>| {
            let (mut values, mut levels) = (Vec::new(), Vec::with_capacity(chunk.len()));
            for &r in chunk {
                Batch::push_text(&mut values, &mut levels, text(r).as_deref());
            }
            Batch::Text(values, levels)
        };
        let mut batches = vec![
            times(&table.usage_start),
            times(&table.usage_end),
            Batch::Double(chunk.iter().map(|&r| table.quantity.get(r)).collect(), Vec::new()),
            numbers(&|r| table.cost.get(r)),
            numbers(&|r| table.effective_cost(r)),
            numbers(&|r| table.unit_price[r]),
            Batch::Bool(chunk.iter().map(|&r| table.azure_stack[r]).collect()),
            Batch::Bool(chunk.iter().map(|&r| table.local[r]).collect()),
        ];
        for (_, column) in string_columns() {
            batches.push(texts(&|r| Some(table.str(column(table, r))).filter(|s| !s.is_empty()).map(str::to_string)));
        }
        batches.push(texts(&|r| admin.classify(r).map(|reason| reason.as_str().to_string())));
        batches.push(texts(&|r| table.sources().get(table.source[r] as usize).map(|s| s.file.clone())));
        batches.push(Batch::Int64(chunk.iter().map(|&r| i64::from(table.line.get(r))).collect(), Vec::new()));
        write_group(&mut writer, batches)?;
    }
    writer.close()?;
    Ok(())
}

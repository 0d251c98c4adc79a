//! Column types: Glue (Hive) types to Arrow and back, and schema inference ([`infer`]).
//!
//! The Arrow types are chosen for what they become in Parquet, so that Athena, Spark, DuckDB and
//! pyarrow read the output the way Glue's own writer would have left it:
//! `timestamp` → `Timestamp(µs, "+00:00")` (INT64 micros, UTC-adjusted), `date` → `Date32`,
//! `decimal(p,s)` → `Decimal128(p,s)`, `array<T>` → `List`, `map<K,V>` → `Map`,
//! `struct<…>` → `Struct`; `char(n)`/`varchar(n)` are strings.

pub mod infer;
pub mod names;

use std::sync::Arc;

use anyhow::{Result, bail};
use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use gluepipe_spec::GlueType;
use gluepipe_spec::glue_type::StructField;

pub use infer::{InferOptions, infer_schema};

/// The timezone tag of timestamp columns: values are instants in UTC. Written as an offset
/// (not the name `UTC`) so no timezone database is needed to read or write it.
pub const UTC: &str = "+00:00";

/// The Arrow type a Glue type is read into and written from.
pub fn glue_to_arrow(ty: &GlueType) -> DataType {
    match ty {
        GlueType::String | GlueType::Char(_) | GlueType::Varchar(_) => DataType::Utf8,
        GlueType::Boolean => DataType::Boolean,
        GlueType::TinyInt => DataType::Int8,
        GlueType::SmallInt => DataType::Int16,
        GlueType::Int => DataType::Int32,
        GlueType::BigInt => DataType::Int64,
        GlueType::Float => DataType::Float32,
        GlueType::Double => DataType::Float64,
        GlueType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        GlueType::Date => DataType::Date32,
        GlueType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        GlueType::Binary => DataType::Binary,
        GlueType::Array(item) => {
            DataType::List(Arc::new(Field::new("element", glue_to_arrow(item), true)))
        }
        GlueType::Map(key, value) => {
            let entries = Fields::from(vec![
                Field::new("key", glue_to_arrow(key), false),
                Field::new("value", glue_to_arrow(value), true),
            ]);
            DataType::Map(
                Arc::new(Field::new("key_value", DataType::Struct(entries), false)),
                false,
            )
        }
        GlueType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(&f.name, glue_to_arrow(&f.data_type), true))
                .collect(),
        ),
    }
}

/// The Glue type of an Arrow type this crate produces; other Arrow types are an error.
pub fn arrow_to_glue(dt: &DataType) -> Result<GlueType> {
    Ok(match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => GlueType::String,
        DataType::Boolean => GlueType::Boolean,
        DataType::Int8 => GlueType::TinyInt,
        DataType::Int16 => GlueType::SmallInt,
        DataType::Int32 => GlueType::Int,
        DataType::Int64 => GlueType::BigInt,
        DataType::Float32 => GlueType::Float,
        DataType::Float64 => GlueType::Double,
        DataType::Decimal128(p, s) if *s >= 0 => GlueType::Decimal {
            precision: *p,
            scale: *s as u8,
        },
        DataType::Date32 => GlueType::Date,
        DataType::Timestamp(_, _) => GlueType::Timestamp,
        DataType::Binary | DataType::LargeBinary => GlueType::Binary,
        DataType::List(item) | DataType::LargeList(item) => {
            GlueType::Array(Box::new(arrow_to_glue(item.data_type())?))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => GlueType::Map(
                Box::new(arrow_to_glue(kv[0].data_type())?),
                Box::new(arrow_to_glue(kv[1].data_type())?),
            ),
            other => bail!("unexpected map entries type {other}"),
        },
        DataType::Struct(fields) => GlueType::Struct(
            fields
                .iter()
                .map(|f| {
                    Ok(StructField {
                        name: f.name().clone(),
                        data_type: arrow_to_glue(f.data_type())?,
                    })
                })
                .collect::<Result<_>>()?,
        ),
        other => bail!("Arrow type {other} has no Glue equivalent"),
    })
}

/// A schema of nullable columns from `(name, Glue type)` pairs.
pub fn schema_from_glue(columns: &[(String, GlueType)]) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|(name, ty)| Field::new(name, glue_to_arrow(ty), true))
            .collect::<Vec<_>>(),
    )
}

/// `(name, Glue type string)` per column, as the catalog stores them.
pub fn glue_columns(schema: &Schema) -> Result<Vec<(String, String)>> {
    schema
        .fields()
        .iter()
        .map(|f| Ok((f.name().clone(), arrow_to_glue(f.data_type())?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use gluepipe_spec::parse_glue_type;

    use super::*;

    #[test]
    fn glue_types_round_trip_through_arrow() {
        let cases = [
            ("string", DataType::Utf8),
            ("boolean", DataType::Boolean),
            ("tinyint", DataType::Int8),
            ("smallint", DataType::Int16),
            ("int", DataType::Int32),
            ("bigint", DataType::Int64),
            ("float", DataType::Float32),
            ("double", DataType::Float64),
            ("decimal(12,2)", DataType::Decimal128(12, 2)),
            ("date", DataType::Date32),
            (
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            ),
            ("binary", DataType::Binary),
            (
                "array<bigint>",
                DataType::List(Arc::new(Field::new("element", DataType::Int64, true))),
            ),
        ];
        for (glue, arrow) in cases {
            let ty = parse_glue_type(glue).unwrap();
            assert_eq!(glue_to_arrow(&ty), arrow, "{glue}");
            assert_eq!(arrow_to_glue(&arrow).unwrap(), ty, "{glue}");
        }
        for glue in [
            "map<string,double>",
            "struct<a:int,`b c`:array<string>>",
            "array<struct<x:map<int,date>>>",
        ] {
            let ty = parse_glue_type(glue).unwrap();
            assert_eq!(arrow_to_glue(&glue_to_arrow(&ty)).unwrap(), ty, "{glue}");
        }
    }

    #[test]
    fn varchar_and_char_are_strings() {
        for glue in ["varchar(10)", "char(3)"] {
            assert_eq!(
                glue_to_arrow(&parse_glue_type(glue).unwrap()),
                DataType::Utf8
            );
        }
    }

    #[test]
    fn unsupported_arrow_types_are_errors() {
        assert!(arrow_to_glue(&DataType::Float16).is_err());
        assert!(arrow_to_glue(&DataType::Decimal128(5, -1)).is_err());
    }
}

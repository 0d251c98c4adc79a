//! Schema inference from a sample of records, for inputs without a catalog schema or mapping.
//!
//! Every sampled value gets a kind; kinds of the same column merge by these widening rules:
//!
//! | seen                                   | inferred Glue type                          |
//! |----------------------------------------|---------------------------------------------|
//! | only `null` (or never a value)         | `string`                                    |
//! | `true`/`false`                         | `boolean`                                   |
//! | integers within i64                    | `bigint`                                    |
//! | integers beyond i64 (up to u64), alone or with integers within i64 | `decimal(38,0)`: every digit kept |
//! | integers and fractions                 | `double` (`-0` counts as an integer)        |
//! | integers beyond i64 and fractions      | `string`: a double would round the integers |
//! | strings `YYYY-MM-DD`                   | `date`                                      |
//! | ISO-8601 date-times (offset optional)  | `timestamp` (also when mixed with dates)    |
//! | any other string, or strings mixed with numbers/booleans | `string` (numbers and booleans are kept as their JSON text) |
//! | numbers and booleans mixed             | `string`                                    |
//! | objects                                | `struct<…>`: the union of their fields, in order of first appearance, each merged by these rules |
//! | objects that never have a field (`{}`) | `map<string,string>`                        |
//! | arrays                                 | `array<T>`, T merged over all elements; only empty arrays: `array<string>` |
//! | objects or arrays mixed with scalars, or objects with arrays | `string`: the objects/arrays are then rejected records, never silently emptied |
//!
//! Decimals are never inferred (a JSON fraction is a `double`); maps only from `{}`. Give a
//! mapping or a catalog table for exact types. Fields that first appear after the sample are not
//! in the schema, and so not in the output; the run reports them (`fields_not_in_schema`, see
//! `decode::unknown`): raise `--sample-rows` or give a schema.

use arrow::compute::kernels::cast_utils::string_to_datetime;
use arrow::datatypes::Schema;
use chrono::{NaiveDate, Utc};
use gluepipe_spec::GlueType;
use gluepipe_spec::glue_type::StructField;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::schema_from_glue;

/// How much to sample.
#[derive(Debug, Clone, Copy)]
pub struct InferOptions {
    pub sample_rows: usize,
}

/// What a sample says about one column.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Null,
    Bool,
    Int,
    /// An integer beyond i64 (serde_json reads up to u64 as integers).
    Wide,
    Float,
    Date,
    Timestamp,
    Str,
    Object(Vec<(String, Kind)>),
    Array(Box<Kind>),
}

/// A record's kind, read straight from the JSON text (object keys in the order they appear).
struct Sampled(Kind);

impl<'de> Deserialize<'de> for Sampled {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor).map(Sampled)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Int)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(if i64::try_from(v).is_ok() {
            Kind::Int
        } else {
            Kind::Wide
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        // serde_json reads `-0` as -0.0: an id column of integers stays one.
        Ok(if v == 0.0 && v.is_sign_negative() {
            Kind::Int
        } else {
            Kind::Float
        })
    }
    fn visit_str<E>(self, s: &str) -> Result<Kind, E> {
        Ok(string_kind(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut item = Kind::Null;
        while let Some(Sampled(k)) = seq.next_element()? {
            item = merge(item, k);
        }
        Ok(Kind::Array(Box::new(item)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut fields: Vec<(String, Kind)> = Vec::new();
        while let Some((name, Sampled(k))) = map.next_entry::<String, Sampled>()? {
            match fields.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => *existing = k, // a repeated key: the last one wins, as in the decoder
                None => fields.push((name, k)),
            }
        }
        Ok(Kind::Object(fields))
    }
}

/// `date` for `YYYY-MM-DD`, `timestamp` for what the decoder will parse as a date-time.
fn string_kind(s: &str) -> Kind {
    let bytes = s.as_bytes();
    if bytes.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Kind::Date;
    }
    if bytes.len() > 10
        && bytes[4] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && string_to_datetime(&Utc, s).is_ok()
    {
        return Kind::Timestamp;
    }
    Kind::Str
}

fn merge(a: Kind, b: Kind) -> Kind {
    use Kind::*;
    match (a, b) {
        (Null, x) | (x, Null) => x,
        (a, b) if a == b => a,
        (Int, Float) | (Float, Int) => Float,
        (Int, Wide) | (Wide, Int) => Wide,
        (Date, Timestamp) | (Timestamp, Date) => Timestamp,
        (Object(mut fields), Object(other)) => {
            for (name, kind) in other {
                match fields.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, existing)) => {
                        *existing = merge(std::mem::replace(existing, Null), kind)
                    }
                    None => fields.push((name, kind)),
                }
            }
            Object(fields)
        }
        (Array(x), Array(y)) => Array(Box::new(merge(*x, *y))),
        _ => Str,
    }
}

fn to_glue(kind: Kind) -> GlueType {
    match kind {
        Kind::Null | Kind::Str => GlueType::String,
        Kind::Bool => GlueType::Boolean,
        Kind::Int => GlueType::BigInt,
        Kind::Wide => GlueType::Decimal {
            precision: 38,
            scale: 0,
        },
        Kind::Float => GlueType::Double,
        Kind::Date => GlueType::Date,
        Kind::Timestamp => GlueType::Timestamp,
        Kind::Array(item) => GlueType::Array(Box::new(to_glue(*item))),
        Kind::Object(fields) if fields.is_empty() => {
            GlueType::Map(Box::new(GlueType::String), Box::new(GlueType::String))
        }
        Kind::Object(fields) => GlueType::Struct(
            fields
                .into_iter()
                .map(|(name, kind)| StructField {
                    name,
                    data_type: to_glue(kind),
                })
                .collect(),
        ),
    }
}

/// Infers `(column, Glue type)` pairs from JSON records; records that are not JSON objects are
/// skipped here (the run rejects them).
pub fn infer_columns<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    options: InferOptions,
) -> Vec<(String, GlueType)> {
    let mut top = Kind::Object(Vec::new());
    for raw in records.into_iter().take(options.sample_rows) {
        if let Ok(Sampled(kind @ Kind::Object(_))) = serde_json::from_slice::<Sampled>(raw) {
            top = merge(top, kind);
        }
    }
    match top {
        Kind::Object(fields) => fields
            .into_iter()
            .map(|(name, kind)| (name, to_glue(kind)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a raw record is a JSON object (its first non-blank byte opens one): only objects
/// make rows.
pub fn starts_object(raw: &[u8]) -> bool {
    raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// [`infer_columns`] as an Arrow schema of nullable columns.
pub fn infer_schema<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    options: InferOptions,
) -> Schema {
    schema_from_glue(&infer_columns(records, options))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn infer(lines: &[&str]) -> Vec<(String, String)> {
        infer_columns(
            lines.iter().map(|l| l.as_bytes()),
            InferOptions { sample_rows: 1000 },
        )
        .into_iter()
        .map(|(n, t)| (n, t.to_string()))
        .collect()
    }

    #[test]
    fn widening_rules() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("only null", &[r#"{"a": null}"#], "string"),
            (
                "booleans",
                &[r#"{"a": true}"#, r#"{"a": false}"#],
                "boolean",
            ),
            (
                "integers",
                &[r#"{"a": 1}"#, r#"{"a": -9223372036854775808}"#],
                "bigint",
            ),
            (
                "int then float",
                &[r#"{"a": 1}"#, r#"{"a": 2.5}"#],
                "double",
            ),
            (
                "beyond i64",
                &[r#"{"a": 1}"#, r#"{"a": 18446744073709551615}"#],
                "decimal(38,0)",
            ),
            (
                "beyond i64 and fractions",
                &[r#"{"a": 18446744073709551615}"#, r#"{"a": 0.5}"#],
                "string",
            ),
            ("minus zero", &[r#"{"a": 1}"#, r#"{"a": -0}"#], "bigint"),
            ("dates", &[r#"{"a": "2024-02-29"}"#], "date"),
            (
                "bad date is a string",
                &[r#"{"a": "2023-02-29"}"#],
                "string",
            ),
            (
                "timestamps",
                &[
                    r#"{"a": "2024-01-01T10:00:00Z"}"#,
                    r#"{"a": "2024-01-01 10:00:00.123"}"#,
                ],
                "timestamp",
            ),
            (
                "offset",
                &[r#"{"a": "2024-01-01T10:00:00+05:30"}"#],
                "timestamp",
            ),
            (
                "date and timestamp",
                &[r#"{"a": "2024-01-01"}"#, r#"{"a": "2024-01-01T10:00:00"}"#],
                "timestamp",
            ),
            (
                "timestamp and text",
                &[r#"{"a": "2024-01-01T10:00:00"}"#, r#"{"a": "soon"}"#],
                "string",
            ),
            (
                "number and string",
                &[r#"{"a": 1}"#, r#"{"a": "x"}"#],
                "string",
            ),
            (
                "number and bool",
                &[r#"{"a": 1}"#, r#"{"a": true}"#],
                "string",
            ),
            (
                "struct union",
                &[r#"{"a": {"x": 1}}"#, r#"{"a": {"y": "s", "x": 2.0}}"#],
                "struct<x:double,y:string>",
            ),
            ("empty object", &[r#"{"a": {}}"#], "map<string,string>"),
            (
                "array",
                &[r#"{"a": [1, 2]}"#, r#"{"a": []}"#],
                "array<bigint>",
            ),
            ("empty arrays", &[r#"{"a": []}"#], "array<string>"),
            (
                "array of structs",
                &[r#"{"a": [{"s": "x"}, {"n": 1}]}"#],
                "array<struct<s:string,n:bigint>>",
            ),
            (
                "object vs scalar",
                &[r#"{"a": {"x": 1}}"#, r#"{"a": 3}"#],
                "string",
            ),
            (
                "null then value",
                &[r#"{"a": null}"#, r#"{"a": 3}"#],
                "bigint",
            ),
        ];
        for (name, lines, want) in cases {
            assert_eq!(
                infer(lines),
                vec![("a".to_string(), want.to_string())],
                "{name}"
            );
        }
    }

    #[test]
    fn columns_keep_first_appearance_order_and_skip_non_objects() {
        let got = infer(&[
            r#"{"z": 1}"#,
            "not json",
            "[1,2]",
            r#"{"a": "x", "z": 2}"#,
            "",
        ]);
        assert_eq!(
            got,
            vec![("z".into(), "bigint".into()), ("a".into(), "string".into())]
        );
        assert!(infer(&[]).is_empty());
    }

    #[test]
    fn sample_size_is_respected() {
        let got = infer_columns(
            [r#"{"a": 1}"#, r#"{"b": 1}"#].iter().map(|l| l.as_bytes()),
            InferOptions { sample_rows: 1 },
        );
        assert_eq!(got.len(), 1);
    }
}

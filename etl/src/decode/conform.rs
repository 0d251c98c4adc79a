//! What the fallback decoder checks and fixes before arrow-json sees a record.
//!
//! arrow-json's tape is lenient (it takes some text RFC 8259 forbids) and reads a few values in
//! ways that change them silently: a fraction into an integer column is truncated, `"NaN"` and
//! `"Infinity"` become floats, a number in a timestamp column is taken as microseconds, an
//! object in a string column is refused. So each record first goes through here:
//!
//! - it must be JSON as serde_json reads it (the same rules the fast path keeps), or it is
//!   rejected with serde_json's words;
//! - a value that its column cannot carry unchanged is rejected with why: a fraction or an
//!   integer beyond 2^53 read through `f64` into an integer column, NaN/Infinity or an overflow
//!   into a float column, more decimal places than a decimal column's scale;
//! - a value arrow-json would misread is rewritten: an epoch number in a timestamp column is
//!   seconds (as Spark, Glue and DuckDB read it; fractions to the microsecond) and becomes an
//!   ISO-8601 string; an object or array in a string column becomes its JSON text.
//!
//! Only the values at the schema's paths are looked at; the rest of the record is kept byte
//! for byte (numbers are never reformatted).

use std::fmt;

use arrow::datatypes::{DataType, Fields};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What to do with one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Conformed {
    /// Decode it as it is.
    Keep,
    /// Decode this text instead (the reject file still gets the original).
    Rewritten(Vec<u8>),
    /// Set it aside for this reason.
    Reject(String),
}

/// Checks one record against `fields` (the schema's top level).
pub fn conform(raw: &[u8], fields: &Fields) -> Conformed {
    if let Err(e) = serde_json::from_slice::<Valid>(raw) {
        if e.to_string().starts_with("trailing characters")
            && serde_json::Deserializer::from_slice(raw)
                .into_iter::<Valid>()
                .next()
                .is_some_and(|first| first.is_ok())
        {
            return Conformed::Reject(
                "more than one JSON value in one record (one object per line in NDJSON)".into(),
            );
        }
        return Conformed::Reject(format!("invalid JSON: {e}"));
    }
    let kind = match raw.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(kind) = kind {
        return Conformed::Reject(format!(
            "a record must be a JSON object; this one is {kind}"
        ));
    }
    let Ok(object) = serde_json::from_slice::<Object>(raw) else {
        return Conformed::Keep;
    };
    match rewrite_object(&object, fields) {
        Ok(None) => Conformed::Keep,
        Ok(Some(text)) => Conformed::Rewritten(text.into_bytes()),
        Err(reason) => Conformed::Reject(reason),
    }
}

/// Accepts exactly the JSON that `serde_json::Value` accepts (UTF-8, escapes, nesting, number
/// range), without building anything.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValidVisitor)
    }
}

struct ValidVisitor;

impl<'de> Visitor<'de> for ValidVisitor {
    type Value = Valid;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_str<E>(self, _: &str) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_unit<E>(self) -> Result<Valid, E> {
        Ok(Valid)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Valid, A::Error> {
        while seq.next_element::<Valid>()?.is_some() {}
        Ok(Valid)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Valid, A::Error> {
        while map.next_entry::<Valid, Valid>()?.is_some() {}
        Ok(Valid)
    }
}

/// An object's entries in the order written, values as their raw text.
struct Object<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Object(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// `Some(text)` when a value inside had to be rewritten.
type Rewrite = Result<Option<String>, String>;

fn rewrite_object(object: &Object<'_>, fields: &Fields) -> Rewrite {
    let mut changed: Vec<Option<String>> = Vec::with_capacity(object.0.len());
    let mut any = false;
    for (key, value) in &object.0 {
        let new = match fields.iter().find(|f| f.name() == key) {
            Some(field) => rewrite_value(value, field.data_type())
                .map_err(|reason| format!("field '{key}': {reason}"))?,
            None => None,
        };
        any |= new.is_some();
        changed.push(new);
    }
    if !any {
        return Ok(None);
    }
    let mut out = String::from("{");
    for (i, ((key, value), new)) in object.0.iter().zip(&changed).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(key));
        out.push(':');
        out.push_str(new.as_deref().unwrap_or(value.get()));
    }
    out.push('}');
    Ok(Some(out))
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn rewrite_value(raw: &RawValue, dt: &DataType) -> Rewrite {
    let text = raw.get();
    let first = text.as_bytes().first().copied().unwrap_or(b'n');
    if first == b'n' {
        return Ok(None); // null
    }
    // The text of a scalar as a column would parse it: a number's literal, a string's content.
    let scalar = || -> Option<String> {
        match first {
            b'"' => serde_json::from_str::<String>(text).ok(),
            b'-' | b'0'..=b'9' => Some(text.to_string()),
            _ => None,
        }
    };
    match dt {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            if let Some(s) = scalar() {
                check_integer(s.trim(), dt)?;
            }
            Ok(None)
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            if let Some(s) = scalar() {
                check_float(s.trim(), dt)?;
            }
            Ok(None)
        }
        DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => {
            if let Some(s) = scalar() {
                check_scale(s.trim(), *scale)?;
            }
            Ok(None)
        }
        DataType::Timestamp(..) if matches!(first, b'-' | b'0'..=b'9') => {
            let micros = epoch_seconds_to_micros(text)?;
            let at = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| format!("{text} seconds since the epoch is out of range"))?;
            Ok(Some(json_string(
                &at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            )))
        }
        DataType::Utf8 | DataType::LargeUtf8 if matches!(first, b'{' | b'[') => {
            Ok(Some(json_string(text)))
        }
        DataType::Struct(fields) if first == b'{' => {
            let object: Object = serde_json::from_str(text).map_err(|e| e.to_string())?;
            rewrite_object(&object, fields)
        }
        DataType::List(item) | DataType::LargeList(item) if first == b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| e.to_string())?;
            rewrite_items(items.iter().copied(), item.data_type(), |parts| {
                format!("[{}]", parts.join(","))
            })
        }
        DataType::Map(entries, _) if first == b'{' => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Ok(None);
            };
            let Some(value_type) = kv.get(1).map(|f| f.data_type().clone()) else {
                return Ok(None);
            };
            let object: Object = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let keys: Vec<&String> = object.0.iter().map(|(k, _)| k).collect();
            rewrite_items(object.0.iter().map(|(_, v)| *v), &value_type, |parts| {
                let entries: Vec<String> = keys
                    .iter()
                    .zip(parts)
                    .map(|(k, v)| format!("{}:{v}", json_string(k)))
                    .collect();
                format!("{{{}}}", entries.join(","))
            })
        }
        _ => Ok(None),
    }
}

/// Rewrites each value; `join` puts the (possibly new) texts back together if any changed.
fn rewrite_items<'a>(
    values: impl Iterator<Item = &'a RawValue>,
    dt: &DataType,
    join: impl FnOnce(&[&str]) -> String,
) -> Rewrite {
    let values: Vec<&RawValue> = values.collect();
    let mut new = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        new.push(rewrite_value(v, dt).map_err(|reason| format!("item {i}: {reason}"))?);
    }
    if new.iter().all(Option::is_none) {
        return Ok(None);
    }
    let parts: Vec<&str> = values
        .iter()
        .zip(&new)
        .map(|(v, n)| n.as_deref().unwrap_or(v.get()))
        .collect();
    Ok(Some(join(&parts)))
}

fn is_integer_literal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// arrow-json reads an integer column's non-integer text through `f64` and truncates: only a
/// value that comes through whole may pass.
fn check_integer(s: &str, dt: &DataType) -> Result<(), String> {
    if is_integer_literal(s) {
        return Ok(()); // parsed exactly (or refused as out of range by the decoder)
    }
    let Ok(v) = s.parse::<f64>() else {
        return Ok(()); // not a number: the decoder refuses it in its own words
    };
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() != 0.0 || !v.is_finite() {
        return Err(format!(
            "{s} is not an integer; a {dt} column would cut it to {}",
            v.trunc()
        ));
    }
    if v.abs() > EXACT {
        return Err(format!(
            "{s} is beyond 2^53 written as a fraction or exponent; a {dt} column would round it"
        ));
    }
    Ok(())
}

/// NaN, infinities and overflow are not values JSON can carry: refused, never stored.
fn check_float(s: &str, dt: &DataType) -> Result<(), String> {
    let Ok(v) = s.parse::<f64>() else {
        return Ok(());
    };
    let finite = match dt {
        DataType::Float64 => v.is_finite(),
        _ => (v as f32).is_finite(),
    };
    if finite {
        Ok(())
    } else {
        Err(format!("{s} is not a finite number a {dt} column can hold"))
    }
}

/// A decimal column's scale is the most fractional digits it keeps; more (other than trailing
/// zeros) would be cut.
fn check_scale(s: &str, scale: i8) -> Result<(), String> {
    if s.bytes().any(|c| c == b'e' || c == b'E') {
        return Ok(());
    }
    let Some(dot) = s.find('.') else {
        return Ok(());
    };
    let fraction = s[dot + 1..].trim_end_matches('0');
    if fraction.len() > usize::try_from(scale).unwrap_or(0) {
        return Err(format!(
            "{s} has more than {scale} decimal places; the column would cut it"
        ));
    }
    Ok(())
}

/// An epoch number of seconds (`1700000000`, `1700000000.25`) as microseconds, exactly.
fn epoch_seconds_to_micros(text: &str) -> Result<i64, String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if unsigned.bytes().any(|c| c == b'e' || c == b'E') {
        return Err(format!(
            "{text}: write epoch seconds in a timestamp column without an exponent"
        ));
    }
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 6 {
        return Err(format!(
            "{text}: epoch seconds finer than a microsecond would be cut"
        ));
    }
    let out_of_range = || format!("{text} seconds since the epoch is out of range");
    let seconds: i64 = whole.parse().map_err(|_| out_of_range())?;
    let micros: i64 = format!("{fraction:0<6}")
        .parse()
        .map_err(|_| out_of_range())?;
    let total = seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(micros))
        .ok_or_else(out_of_range)?;
    Ok(if negative { -total } else { total })
}

/// Whether `raw` is JSON that serde_json accepts (what the differential tests compare with).
pub fn is_valid_json(raw: &[u8]) -> bool {
    serde_json::from_slice::<Valid>(raw).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::datatypes::{Field, TimeUnit};

    use super::*;

    fn fields(cols: &[(&str, DataType)]) -> Fields {
        cols.iter()
            .map(|(n, t)| Arc::new(Field::new(*n, t.clone(), true)))
            .collect()
    }

    fn check(cols: &[(&str, DataType)], raw: &str) -> Conformed {
        conform(raw.as_bytes(), &fields(cols))
    }

    fn rejected(c: Conformed, want: &str) {
        match c {
            Conformed::Reject(reason) => assert!(reason.contains(want), "{reason}"),
            other => panic!("expected a reject with {want:?}, got {other:?}"),
        }
    }

    #[test]
    fn values_that_would_change_are_rejected() {
        let int = [("a", DataType::Int64)];
        rejected(check(&int, r#"{"a": 19.99}"#), "not an integer");
        rejected(check(&int, r#"{"a": "19.99"}"#), "not an integer");
        rejected(check(&int, r#"{"a": 1.2e17}"#), "beyond 2^53");
        assert_eq!(check(&int, r#"{"a": 1.0}"#), Conformed::Keep);
        assert_eq!(check(&int, r#"{"a": -0}"#), Conformed::Keep);
        let float = [("f", DataType::Float64), ("g", DataType::Float32)];
        rejected(check(&float, r#"{"f": "NaN"}"#), "not a finite");
        rejected(check(&float, r#"{"f": "-Infinity"}"#), "not a finite");
        rejected(check(&float, r#"{"g": 1e39}"#), "not a finite");
        rejected(check(&float, r#"{"f": 1e400}"#), "invalid JSON");
        let dec = [("d", DataType::Decimal128(10, 2))];
        rejected(check(&dec, r#"{"d": 1.234}"#), "more than 2 decimal places");
        assert_eq!(check(&dec, r#"{"d": 1.230}"#), Conformed::Keep);
    }

    #[test]
    fn epoch_seconds_and_json_text_are_rewritten() {
        let cols = [
            (
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            ),
            ("s", DataType::Utf8),
            (
                "l",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            ),
        ];
        assert_eq!(
            check(
                &cols,
                r#"{"x": 12345678901234567890123, "t": 1700000000.25, "s": {"k": [1, 2]}, "l": ["a", {"b": 1}]}"#
            ),
            Conformed::Rewritten(
                br#"{"x":12345678901234567890123,"t":"2023-11-14T22:13:20.250000Z","s":"{\"k\": [1, 2]}","l":["a","{\"b\": 1}"]}"#
                    .to_vec()
            )
        );
        rejected(
            check(&cols, r#"{"t": 1.0000001}"#),
            "finer than a microsecond",
        );
        assert_eq!(epoch_seconds_to_micros("-1.5"), Ok(-1_500_000));
    }

    #[test]
    fn invalid_json_is_rejected_in_serde_json_words() {
        let cols = [("a", DataType::Int64)];
        for bad in [
            "{\"a\": 1,}",
            "{\"a\": 01}",
            "{\"a\": \"x\ty\"}",
            "{\"z\": \"\\q\"}",
            "{\"z\": \"\\ud800\"}",
        ] {
            rejected(check(&cols, bad), "invalid JSON");
        }
        let deep = format!("{{\"z\": {}{}}}", "[".repeat(200), "]".repeat(200));
        rejected(check(&cols, &deep), "recursion limit");
    }
}

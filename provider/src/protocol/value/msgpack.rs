//! The msgpack encoding of values (Terraform's `DynamicValue.msgpack`).
//!
//! Decoding is driven by the expected [`Type`]: any extension value is
//! unknown (ext 0 is plain unknown, ext 12 carries refinements, which we
//! accept and ignore); numbers may be integers, floats or decimal strings;
//! `dynamic` positions hold `[type JSON, value]`. Encoding writes unknown as
//! exactly `d4 00 00`, numbers as integers or floats when exact and as
//! strings otherwise, and every object attribute (null when absent).
//! Arbitrary input bytes give an error, never a panic.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::{CodecError, Number, Value, infer_type};
use crate::protocol::path::AttributePath;
use crate::protocol::types::Type;

/// Nesting limit for decoding; deeper input is rejected (types never nest
/// this deep, and the limit keeps recursion bounded on hostile input).
const MAX_DEPTH: usize = 256;

/// Decodes msgpack bytes as a value of `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let root = AttributePath::empty();
    let mut reader = bytes;
    let raw = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
        .map_err(|e| CodecError::new(&root, format!("invalid msgpack: {e}")))?;
    if !reader.is_empty() {
        return Err(CodecError::new(&root, "trailing bytes after msgpack value"));
    }
    from_mp(raw, ty, &root)
}

/// Encodes `value` as msgpack for `ty`, checking that it fits the type.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mp = to_mp(value, ty, &AttributePath::empty())?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp)
        .map_err(|e| CodecError::new(&AttributePath::empty(), format!("writing msgpack: {e}")))?;
    Ok(out)
}

fn from_mp(raw: Mp, ty: &Type, path: &AttributePath) -> Result<Value, CodecError> {
    let mismatch =
        |raw: &Mp| CodecError::new(path, format!("expected {ty}, found msgpack {}", kind(raw)));
    match (raw, ty) {
        (Mp::Ext(..), _) => Ok(Value::Unknown),
        (Mp::Nil, _) => Ok(Value::Null),
        (Mp::Boolean(b), Type::Bool) => Ok(Value::Bool(b)),
        (Mp::Integer(i), Type::Number) => Ok(Value::Number(match i.as_i64() {
            Some(i) => Number::from(i),
            None => Number::from(i.as_u64().unwrap_or_default()),
        })),
        (Mp::F32(f), Type::Number) => number_from_float(f64::from(f), path),
        (Mp::F64(f), Type::Number) => number_from_float(f, path),
        (Mp::String(s), Type::Number) => {
            let text = s
                .as_str()
                .ok_or_else(|| CodecError::new(path, "number text is not UTF-8"))?;
            Number::parse(text)
                .map(Value::Number)
                .map_err(|e| CodecError::new(path, e.to_string()))
        }
        (Mp::String(s), Type::String) => s
            .into_str()
            .map(Value::String)
            .ok_or_else(|| CodecError::new(path, "string is not UTF-8")),
        (Mp::Array(items), Type::List(elem)) => elements(items, elem, path).map(Value::List),
        (Mp::Array(items), Type::Set(elem)) => elements(items, elem, path).map(Value::Set),
        (Mp::Array(items), Type::Tuple(types)) => {
            if items.len() != types.len() {
                return Err(CodecError::new(
                    path,
                    format!(
                        "expected a tuple of {} elements, found {}",
                        types.len(),
                        items.len()
                    ),
                ));
            }
            items
                .into_iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| from_mp(v, t, &path.clone().index(i)))
                .collect::<Result<_, _>>()
                .map(Value::Tuple)
        }
        (Mp::Map(entries), Type::Map(elem)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path)?;
                let value = from_mp(v, elem, &path.clone().key(&key))?;
                out.insert(key, value);
            }
            Ok(Value::Map(out))
        }
        (Mp::Map(entries), Type::Object(attrs)) => {
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let name = map_key(k, path)?;
                let Some(attr_ty) = attrs.get(&name) else {
                    return Err(CodecError::new(
                        path,
                        format!("unsupported attribute {name:?}"),
                    ));
                };
                let value = from_mp(v, attr_ty, &path.clone().attr(&name))?;
                out.insert(name, value);
            }
            Ok(Value::Object(out))
        }
        (Mp::Array(pair), Type::Dynamic) => {
            let [ty_raw, inner]: [Mp; 2] = pair
                .try_into()
                .map_err(|_| CodecError::new(path, "dynamic value must be [type, value]"))?;
            let ty_bytes = match ty_raw {
                Mp::Binary(b) => b,
                Mp::String(s) => s.into_bytes(),
                other => {
                    return Err(CodecError::new(
                        path,
                        format!("dynamic type must be bytes, found {}", kind(&other)),
                    ));
                }
            };
            let concrete = Type::from_json_bytes(&ty_bytes)
                .map_err(|e| CodecError::new(path, e.to_string()))?;
            match from_mp(inner, &concrete, path)? {
                v @ (Value::Null | Value::Unknown) => Ok(v),
                v => Ok(Value::Dynamic(Box::new(concrete), Box::new(v))),
            }
        }
        (raw, _) => Err(mismatch(&raw)),
    }
}

fn elements(items: Vec<Mp>, elem: &Type, path: &AttributePath) -> Result<Vec<Value>, CodecError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| from_mp(v, elem, &path.clone().index(i)))
        .collect()
}

fn map_key(key: Mp, path: &AttributePath) -> Result<String, CodecError> {
    match key {
        Mp::String(s) => s
            .into_str()
            .ok_or_else(|| CodecError::new(path, "map key is not UTF-8")),
        other => Err(CodecError::new(
            path,
            format!("map key must be a string, found {}", kind(&other)),
        )),
    }
}

fn number_from_float(f: f64, path: &AttributePath) -> Result<Value, CodecError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| CodecError::new(path, format!("{f} is not a supported number")))
}

fn kind(raw: &Mp) -> &'static str {
    match raw {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "bool",
        Mp::Integer(_) => "integer",
        Mp::F32(_) | Mp::F64(_) => "float",
        Mp::String(_) => "string",
        Mp::Binary(_) => "binary",
        Mp::Array(_) => "array",
        Mp::Map(_) => "map",
        Mp::Ext(..) => "extension",
    }
}

/// The plain unknown marker: fixext1, type 0, one zero byte (`d4 00 00`).
fn unknown() -> Mp {
    Mp::Ext(0, vec![0])
}

fn to_mp(value: &Value, ty: &Type, path: &AttributePath) -> Result<Mp, CodecError> {
    let mismatch = || CodecError::new(path, format!("value {value} does not fit type {ty}"));
    Ok(match (value, ty) {
        (Value::Unknown, _) => unknown(),
        (Value::Null, _) => Mp::Nil,
        (Value::Dynamic(concrete, inner), Type::Dynamic) => Mp::Array(vec![
            Mp::Binary(concrete.to_json_bytes()),
            to_mp(inner, concrete, path)?,
        ]),
        (Value::Dynamic(concrete, inner), _) if **concrete == *ty => to_mp(inner, ty, path)?,
        (v, Type::Dynamic) => {
            let concrete = infer_type(v);
            Mp::Array(vec![
                Mp::Binary(concrete.to_json_bytes()),
                to_mp(v, &concrete, path)?,
            ])
        }
        (Value::Bool(b), Type::Bool) => Mp::Boolean(*b),
        (Value::Number(n), Type::Number) => number_to_mp(n),
        (Value::String(s), Type::String) => Mp::String(s.clone().into()),
        (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => Mp::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_mp(v, elem, &path.clone().index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => Mp::Array(
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| to_mp(v, t, &path.clone().index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(entries), Type::Map(elem)) => Mp::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    Ok((
                        Mp::String(k.clone().into()),
                        to_mp(v, elem, &path.clone().key(k))?,
                    ))
                })
                .collect::<Result<_, CodecError>>()?,
        ),
        (Value::Object(attrs), Type::Object(types)) => {
            if let Some(extra) = attrs.keys().find(|k| !types.contains_key(*k)) {
                return Err(CodecError::new(
                    path,
                    format!("attribute {extra:?} is not in the schema"),
                ));
            }
            Mp::Map(
                types
                    .iter()
                    .map(|(k, t)| {
                        let v = attrs.get(k).unwrap_or(&Value::Null);
                        Ok((
                            Mp::String(k.clone().into()),
                            to_mp(v, t, &path.clone().attr(k))?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        _ => return Err(mismatch()),
    })
}

/// Integers as msgpack integers, exact floats as float64, anything else as
/// decimal text (which cty reads back exactly).
fn number_to_mp(n: &Number) -> Mp {
    if let Some(i) = n.as_i64() {
        Mp::from(i)
    } else if let Some(u) = n.as_u64() {
        Mp::from(u)
    } else if let Some(f) = n.as_exact_f64() {
        Mp::F64(f)
    } else {
        Mp::String(n.to_string().into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn block_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("enabled", Type::Bool),
            ("size", Type::Number),
            ("tags", Type::map(Type::String)),
            ("ids", Type::set(Type::Number)),
            ("pair", Type::Tuple(vec![Type::String, Type::Number])),
            ("anything", Type::Dynamic),
            (
                "single",
                Type::object([("path", Type::String), ("format", Type::String)]),
            ),
            (
                "rules",
                Type::list(Type::object([
                    ("expr", Type::String),
                    ("weight", Type::Number),
                ])),
            ),
            ("labelled", Type::map(Type::object([("v", Type::String)]))),
        ])
    }

    #[test]
    fn round_trips() {
        let ty = block_type();
        let cases: Vec<(&str, Value)> = vec![
            ("null object", Value::Null),
            ("unknown object", Value::Unknown),
            ("all attributes null", Value::null_object(&ty)),
            (
                "everything known",
                Value::object([
                    ("name", Value::from("orders")),
                    ("enabled", Value::from(true)),
                    (
                        "size",
                        Value::Number(Number::parse("123456789012345678901234567890.5").unwrap()),
                    ),
                    ("tags", Value::map([("a", "1"), ("b", "")])),
                    ("ids", Value::set([Value::from(1), Value::from(-2)])),
                    (
                        "pair",
                        Value::Tuple(vec![Value::from("x"), Value::Number(num(0.5))]),
                    ),
                    (
                        "anything",
                        Value::Dynamic(
                            Box::new(Type::list(Type::String)),
                            Box::new(Value::list(Vec::<Value>::new())),
                        ),
                    ),
                    (
                        "single",
                        Value::object([("path", Value::from("s3://b/k")), ("format", Value::Null)]),
                    ),
                    (
                        "rules",
                        Value::list([
                            Value::object([
                                ("expr", Value::from("a > 1")),
                                ("weight", Value::from(2)),
                            ]),
                            Value::object([("expr", Value::Unknown), ("weight", Value::Null)]),
                        ]),
                    ),
                    (
                        "labelled",
                        Value::Map(BTreeMap::from([(
                            "first".to_owned(),
                            Value::object([("v", Value::from("1"))]),
                        )])),
                    ),
                ]),
            ),
            (
                "unknowns inside",
                Value::object([
                    ("name", Value::Unknown),
                    ("tags", Value::Unknown),
                    ("ids", Value::set([Value::Unknown])),
                    ("anything", Value::Unknown),
                    ("single", Value::Unknown),
                    ("rules", Value::list(Vec::<Value>::new())),
                    ("labelled", Value::map(Vec::<(String, Value)>::new())),
                ]),
            ),
        ];
        for (name, value) in cases {
            let bytes = encode(&value, &ty).unwrap();
            let back = decode(&bytes, &ty).unwrap();
            // Encoding fills absent attributes with null.
            let expected = match &value {
                Value::Object(m) => {
                    let mut full = Value::null_object(&ty);
                    for (k, v) in m {
                        full.set_attr(k, v.clone());
                    }
                    full
                }
                v => v.clone(),
            };
            assert_eq!(back, expected, "{name}");
        }
    }

    fn num(f: f64) -> Number {
        Number::from_f64(f).unwrap()
    }

    #[test]
    fn unknown_is_d40000() {
        assert_eq!(
            encode(&Value::Unknown, &Type::String).unwrap(),
            vec![0xd4, 0, 0]
        );
    }

    #[test]
    fn any_extension_is_unknown() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("fixext1 type 0", vec![0xd4, 0x00, 0x00]),
            ("ext8 empty payload", vec![0xc7, 0x00, 0x00]),
            ("fixext1 other type", vec![0xd4, 0x05, 0x01]),
            // ext 12 refinement: {1: false} (not null)
            ("refined not null", vec![0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2]),
            // ext 12 refinement: {2: "s3://"} (string prefix)
            (
                "refined prefix",
                vec![
                    0xc7, 0x08, 0x0c, 0x81, 0x02, 0xa5, b's', b'3', b':', b'/', b'/',
                ],
            ),
        ];
        for (name, bytes) in cases {
            assert_eq!(
                decode(&bytes, &Type::String).unwrap(),
                Value::Unknown,
                "{name}"
            );
        }
    }

    #[test]
    fn number_encodings() {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("positive fixint", vec![0x05], "5"),
            ("negative fixint", vec![0xff], "-1"),
            (
                "uint64 max",
                vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "18446744073709551615",
            ),
            (
                "float64 0.5",
                [vec![0xcb], 0.5f64.to_be_bytes().to_vec()].concat(),
                "0.5",
            ),
            (
                "float32 1.5",
                [vec![0xca], 1.5f32.to_be_bytes().to_vec()].concat(),
                "1.5",
            ),
            ("string", [vec![0xa4], b"1e30".to_vec()].concat(), "1e30"),
        ];
        for (name, bytes, text) in cases {
            let v = decode(&bytes, &Type::Number).unwrap();
            assert_eq!(v, Value::Number(Number::parse(text).unwrap()), "{name}");
        }
        // Big and imprecise numbers go out as strings, exact ones as numbers.
        let big = Number::parse("123456789012345678901234567890").unwrap();
        assert_eq!(
            encode(&Value::Number(big.clone()), &Type::Number).unwrap()[0],
            0xbe, // fixstr of 30 bytes
        );
        assert_eq!(encode(&Value::from(7), &Type::Number).unwrap(), vec![0x07]);
        assert_eq!(
            encode(&Value::Number(num(0.25)), &Type::Number).unwrap()[0],
            0xcb
        );
    }

    #[test]
    fn decode_errors() {
        let obj = Type::object([("a", Type::String)]);
        let cases: Vec<(&str, Vec<u8>, &Type, &str)> = vec![
            ("empty input", vec![], &Type::String, "invalid msgpack"),
            (
                "trailing bytes",
                vec![0xc0, 0xc0],
                &Type::String,
                "trailing",
            ),
            (
                "wrong type",
                vec![0x01],
                &Type::String,
                "expected \"string\"",
            ),
            (
                "unknown attribute",
                vec![0x81, 0xa1, b'b', 0xc0],
                &obj,
                "unsupported attribute \"b\"",
            ),
            (
                "bad number text",
                vec![0xa1, b'x'],
                &Type::Number,
                "not a number",
            ),
            (
                "NaN",
                [vec![0xcb], f64::NAN.to_be_bytes().to_vec()].concat(),
                &Type::Number,
                "not a supported",
            ),
            (
                "dynamic not a pair",
                vec![0x91, 0xc0],
                &Type::Dynamic,
                "[type, value]",
            ),
        ];
        for (name, bytes, ty, needle) in cases {
            let err = decode(&bytes, ty).unwrap_err();
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
        let nested = Type::object([("a", Type::list(Type::Number))]);
        let err = decode(&[0x81, 0xa1, b'a', 0x91, 0xa1, b'x'], &nested).unwrap_err();
        assert_eq!(err.path, AttributePath::root("a").index(0));
    }

    #[test]
    fn encode_rejects_values_that_do_not_fit() {
        let obj = Type::object([("a", Type::String)]);
        let err = encode(&Value::object([("b", Value::Null)]), &obj).unwrap_err();
        assert!(err.to_string().contains("not in the schema"));
        let err = encode(&Value::object([("a", Value::from(1))]), &obj).unwrap_err();
        assert_eq!(err.path, AttributePath::root("a"));
    }

    #[test]
    fn dynamic_values_infer_their_type() {
        let v = Value::object([("k", Value::from("v"))]);
        let bytes = encode(&v, &Type::Dynamic).unwrap();
        let back = decode(&bytes, &Type::Dynamic).unwrap();
        assert_eq!(
            back,
            Value::Dynamic(Box::new(Type::object([("k", Type::String)])), Box::new(v))
        );
    }

    fn arbitrary_type() -> impl Strategy<Value = Type> {
        let leaf = prop_oneof![
            Just(Type::Bool),
            Just(Type::Number),
            Just(Type::String),
            Just(Type::Dynamic)
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                proptest::collection::btree_map("[a-c]", inner.clone(), 0..3)
                    .prop_map(Type::Object),
                proptest::collection::vec(inner, 0..3).prop_map(Type::Tuple),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), ty in arbitrary_type()) {
            let _ = decode(&bytes, &ty);
        }

        #[test]
        fn decoded_values_re_encode_to_equal_values(bytes in proptest::collection::vec(any::<u8>(), 0..64), ty in arbitrary_type()) {
            if let Ok(v) = decode(&bytes, &ty) {
                let again = encode(&v, &ty).expect("a decoded value fits its type");
                prop_assert_eq!(decode(&again, &ty).expect("our encoding decodes"), v);
            }
        }
    }
}

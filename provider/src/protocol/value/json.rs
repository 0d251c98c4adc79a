//! The JSON encoding of values: the form Terraform stores state in (and
//! passes to `UpgradeResourceState`), and the fallback `DynamicValue.json`.
//! JSON cannot hold unknown values. `dynamic` positions are
//! `{"value": …, "type": …}` on the wire.
//!
//! Also the "plain" JSON of the serde bridge, where dynamic values are bare
//! and their type is inferred.
//!
//! Numbers pass through `serde_json`'s `f64`/`i64`/`u64`, so a stored number
//! beyond those ranges loses precision when read from JSON (msgpack keeps it).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{CodecError, Number, Value, infer_type};
use crate::protocol::path::AttributePath;
use crate::protocol::types::Type;

/// How to read object attributes the type does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    Reject,
    /// Stored state written by an older schema: drop removed attributes.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dynamic {
    /// `{"value": …, "type": …}`
    Wrapped,
    /// A bare value whose type is inferred.
    Plain,
}

/// Decodes wire JSON as a value of `ty`; unknown attributes are errors.
pub fn decode(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    from_json(
        json,
        ty,
        &AttributePath::empty(),
        Extra::Reject,
        Dynamic::Wrapped,
    )
}

/// Decodes stored state JSON with the *current* type, dropping attributes
/// the type no longer has (schema evolution without an upgrader).
pub fn decode_state(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    from_json(
        json,
        ty,
        &AttributePath::empty(),
        Extra::Ignore,
        Dynamic::Wrapped,
    )
}

/// Encodes a fully known value as wire JSON.
pub fn encode(value: &Value, ty: &Type) -> Result<Json, CodecError> {
    to_json(value, ty, &AttributePath::empty())
}

/// Plain JSON for the serde bridge: unknown is an error naming its path.
pub fn to_plain_json(value: &Value) -> Result<Json, CodecError> {
    // The inferred type names each `Value::Dynamic`'s concrete type, so
    // nothing is wrapped.
    to_json(value, &infer_type(value), &AttributePath::empty())
}

/// Reads plain JSON (from the serde bridge) as a value of `ty`.
pub fn from_plain_json(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    from_json(
        json,
        ty,
        &AttributePath::empty(),
        Extra::Reject,
        Dynamic::Plain,
    )
}

fn from_json(
    json: &Json,
    ty: &Type,
    path: &AttributePath,
    extra: Extra,
    dynamic: Dynamic,
) -> Result<Value, CodecError> {
    let mismatch = || CodecError::new(path, format!("expected {ty}, found JSON {}", kind(json)));
    match (json, ty) {
        (Json::Null, _) => Ok(Value::Null),
        (Json::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
        (Json::String(s), Type::Bool) => match s.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(mismatch()),
        },
        (Json::Number(n), Type::Number) => Number::parse(&n.to_string())
            .map(Value::Number)
            .map_err(|e| CodecError::new(path, e.to_string())),
        (Json::String(s), Type::Number) => Number::parse(s)
            .map(Value::Number)
            .map_err(|e| CodecError::new(path, e.to_string())),
        (Json::String(s), Type::String) => Ok(Value::String(s.clone())),
        (Json::Array(items), Type::List(elem)) => {
            elements(items, elem, path, extra, dynamic).map(Value::List)
        }
        (Json::Array(items), Type::Set(elem)) => {
            elements(items, elem, path, extra, dynamic).map(Value::Set)
        }
        (Json::Array(items), Type::Tuple(types)) if items.len() == types.len() => items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (v, t))| from_json(v, t, &path.clone().index(i), extra, dynamic))
            .collect::<Result<_, _>>()
            .map(Value::Tuple),
        (Json::Object(entries), Type::Map(elem)) => entries
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    from_json(v, elem, &path.clone().key(k), extra, dynamic)?,
                ))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Value::Map),
        (Json::Object(entries), Type::Object(attrs)) => {
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (name, v) in entries {
                match attrs.get(name) {
                    Some(t) => {
                        out.insert(
                            name.clone(),
                            from_json(v, t, &path.clone().attr(name), extra, dynamic)?,
                        );
                    }
                    None if extra == Extra::Ignore => {}
                    None => {
                        return Err(CodecError::new(
                            path,
                            format!("unsupported attribute {name:?}"),
                        ));
                    }
                }
            }
            Ok(Value::Object(out))
        }
        (json, Type::Dynamic) => match dynamic {
            Dynamic::Wrapped => {
                let (Some(value), Some(type_json)) = (json.get("value"), json.get("type")) else {
                    return Err(CodecError::new(
                        path,
                        "dynamic value must be {\"value\": …, \"type\": …}",
                    ));
                };
                let concrete =
                    Type::from_json(type_json).map_err(|e| CodecError::new(path, e.to_string()))?;
                match from_json(value, &concrete, path, extra, dynamic)? {
                    Value::Null => Ok(Value::Null),
                    v => Ok(Value::Dynamic(Box::new(concrete), Box::new(v))),
                }
            }
            Dynamic::Plain => {
                let concrete = plain_type(json);
                from_json(json, &concrete, path, extra, dynamic)
            }
        },
        _ => Err(mismatch()),
    }
}

fn elements(
    items: &[Json],
    elem: &Type,
    path: &AttributePath,
    extra: Extra,
    dynamic: Dynamic,
) -> Result<Vec<Value>, CodecError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| from_json(v, elem, &path.clone().index(i), extra, dynamic))
        .collect()
}

/// The type a bare JSON value stands for (arrays as tuples, objects as
/// objects, as Terraform's `jsondecode` does).
fn plain_type(json: &Json) -> Type {
    match json {
        Json::Null => Type::Dynamic,
        Json::Bool(_) => Type::Bool,
        Json::Number(_) => Type::Number,
        Json::String(_) => Type::String,
        Json::Array(items) => Type::Tuple(items.iter().map(plain_type).collect()),
        Json::Object(m) => {
            Type::Object(m.iter().map(|(k, v)| (k.clone(), plain_type(v))).collect())
        }
    }
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn number_to_json(n: &Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::from(i)
    } else if let Some(u) = n.as_u64() {
        Json::from(u)
    } else if let Some(f) = n.as_exact_f64() {
        Json::from(f)
    } else {
        // cty reads numbers from JSON strings too, exactly.
        Json::String(n.to_string())
    }
}

fn to_json(value: &Value, ty: &Type, path: &AttributePath) -> Result<Json, CodecError> {
    let mismatch = || CodecError::new(path, format!("value {value} does not fit type {ty}"));
    Ok(match (value, ty) {
        (Value::Unknown, _) => return Err(CodecError::new(path, "value is not known yet")),
        (Value::Null, _) => Json::Null,
        (Value::Dynamic(concrete, inner), Type::Dynamic) => serde_json::json!({
            "value": to_json(inner, concrete, path)?,
            "type": concrete.to_json(),
        }),
        (Value::Dynamic(concrete, inner), _) if **concrete == *ty => to_json(inner, ty, path)?,
        (v, Type::Dynamic) => {
            let concrete = infer_type(v);
            serde_json::json!({ "value": to_json(v, &concrete, path)?, "type": concrete.to_json() })
        }
        (Value::Bool(b), Type::Bool) => Json::Bool(*b),
        (Value::Number(n), Type::Number) => number_to_json(n),
        (Value::String(s), Type::String) => Json::String(s.clone()),
        (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => {
            Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| to_json(v, elem, &path.clone().index(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => Json::Array(
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| to_json(v, t, &path.clone().index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(entries), Type::Map(elem)) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v, elem, &path.clone().key(k))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Value::Object(attrs), Type::Object(types)) => {
            if let Some(extra) = attrs.keys().find(|k| !types.contains_key(*k)) {
                return Err(CodecError::new(
                    path,
                    format!("attribute {extra:?} is not in the schema"),
                ));
            }
            Json::Object(
                types
                    .iter()
                    .map(|(k, t)| {
                        Ok((
                            k.clone(),
                            to_json(
                                attrs.get(k).unwrap_or(&Value::Null),
                                t,
                                &path.clone().attr(k),
                            )?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn ty() -> Type {
        Type::object([
            ("name", Type::String),
            ("size", Type::Number),
            ("on", Type::Bool),
            ("tags", Type::map(Type::String)),
            ("rules", Type::list(Type::object([("expr", Type::String)]))),
            ("ids", Type::set(Type::Number)),
            ("any", Type::Dynamic),
        ])
    }

    #[test]
    fn round_trip() {
        let v = Value::object([
            ("name", Value::from("x")),
            (
                "size",
                Value::Number(Number::parse("123456789012345678901234567890").unwrap()),
            ),
            ("on", Value::from(false)),
            ("tags", Value::map([("k", "v")])),
            (
                "rules",
                Value::list([Value::object([("expr", Value::from("a"))])]),
            ),
            ("ids", Value::set([Value::from(1)])),
            (
                "any",
                Value::Dynamic(Box::new(Type::Number), Box::new(Value::from(2))),
            ),
        ]);
        let json = encode(&v, &ty()).unwrap();
        assert_eq!(json["size"], json!("123456789012345678901234567890"));
        assert_eq!(json["any"], json!({"value": 2, "type": "number"}));
        assert_eq!(decode(&json, &ty()).unwrap(), v);
        assert_eq!(encode(&Value::Null, &ty()).unwrap(), Json::Null);
    }

    #[test]
    fn unknown_cannot_be_json() {
        let err = encode(&Value::object([("name", Value::Unknown)]), &ty()).unwrap_err();
        assert_eq!(err.path, AttributePath::root("name"));
    }

    #[test]
    fn state_decoding_drops_removed_attributes() {
        let stored = json!({"name":"x","removed_later":"y","size":"5","on":"true"});
        let v = decode_state(&stored, &ty()).unwrap();
        assert_eq!(v.attr("name").as_str(), Some("x"));
        assert_eq!(v.attr("size").as_i64(), Some(5));
        assert_eq!(v.attr("on").as_bool(), Some(true));
        assert_eq!(v.attr("tags"), &Value::Null);
        let strict = decode(&stored, &ty()).unwrap_err();
        assert!(strict.to_string().contains("removed_later"));
        assert!(decode_state(&json!("not an object"), &ty()).is_err());
    }

    #[test]
    fn plain_json_infers_dynamic_types() {
        let v = from_plain_json(&json!({"any": {"a": [1, "b"]}}), &ty()).unwrap();
        assert_eq!(
            v.attr("any").attr("a"),
            &Value::Tuple(vec![Value::from(1), Value::from("b")])
        );
        assert_eq!(to_plain_json(&v).unwrap()["any"], json!({"a": [1, "b"]}));
    }
}

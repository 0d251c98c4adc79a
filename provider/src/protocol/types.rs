//! cty types: the type system of Terraform values, and their compact JSON form
//! (`"string"`, `["list","string"]`, `["object",{"a":"number"}]`) used in
//! schemas and inside `dynamic` values on the wire.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

/// A Terraform (cty) type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// Any type; values at such positions carry their concrete type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

/// A type JSON document that is not a cty type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid type constraint {json}: {reason}")]
pub struct TypeError {
    json: String,
    reason: &'static str,
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attributes.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The compact JSON form Terraform expects in `Schema.Attribute.type`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => Json::Array(vec![
                "object".into(),
                Json::Object(
                    attrs
                        .iter()
                        .map(|(k, t)| (k.clone(), t.to_json()))
                        .collect(),
                ),
            ]),
            Type::Tuple(elems) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// `to_json` as bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the compact JSON form. Optional-attribute markers on object types
    /// (a third array element) are accepted and ignored.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        let err = |reason| TypeError {
            json: json.to_string(),
            reason,
        };
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(err("unknown primitive type")),
            },
            Json::Array(parts) => {
                let (kind, arg) = match parts.as_slice() {
                    [Json::String(kind), arg] | [Json::String(kind), arg, _] => (kind, arg),
                    _ => return Err(err("expected [kind, argument]")),
                };
                match (kind.as_str(), arg) {
                    ("list", e) => Ok(Type::list(Type::from_json(e)?)),
                    ("set", e) => Ok(Type::set(Type::from_json(e)?)),
                    ("map", e) => Ok(Type::map(Type::from_json(e)?)),
                    ("object", Json::Object(attrs)) => attrs
                        .iter()
                        .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                        .collect::<Result<_, _>>()
                        .map(Type::Object),
                    ("tuple", Json::Array(elems)) => elems
                        .iter()
                        .map(Type::from_json)
                        .collect::<Result<_, _>>()
                        .map(Type::Tuple),
                    _ => Err(err("unknown collection or structural type")),
                }
            }
            _ => Err(err("expected a string or an array")),
        }
    }

    /// Parses the compact JSON form from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|_| TypeError {
            json: String::from_utf8_lossy(bytes).into_owned(),
            reason: "not JSON",
        })?;
        Type::from_json(&json)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn json_round_trip() {
        let cases = [
            (Type::Bool, r#""bool""#),
            (Type::Number, r#""number""#),
            (Type::String, r#""string""#),
            (Type::Dynamic, r#""dynamic""#),
            (Type::list(Type::String), r#"["list","string"]"#),
            (Type::set(Type::Number), r#"["set","number"]"#),
            (Type::map(Type::Bool), r#"["map","bool"]"#),
            (Type::object::<&str>([]), r#"["object",{}]"#),
            (
                Type::object([("a", Type::String), ("b", Type::list(Type::Dynamic))]),
                r#"["object",{"a":"string","b":["list","dynamic"]}]"#,
            ),
            (Type::Tuple(vec![]), r#"["tuple",[]]"#),
            (
                Type::Tuple(vec![Type::String, Type::Number]),
                r#"["tuple",["string","number"]]"#,
            ),
        ];
        for (ty, json) in cases {
            assert_eq!(String::from_utf8(ty.to_json_bytes()).unwrap(), json);
            assert_eq!(
                Type::from_json_bytes(json.as_bytes()).unwrap(),
                ty,
                "{json}"
            );
        }
    }

    #[test]
    fn optional_attribute_markers_are_ignored() {
        let ty = Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(ty, Type::object([("a", Type::String)]));
    }

    #[test]
    fn invalid_types_are_errors() {
        for bad in [
            "",
            "1",
            r#""text""#,
            r#"["list"]"#,
            r#"["object","string"]"#,
            r#"["tuple",{}]"#,
            r#"["frob","string"]"#,
            "null",
        ] {
            assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

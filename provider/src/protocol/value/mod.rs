//! Terraform values: [`Value`] is unknown, null, or a known value of a cty
//! [`Type`], with typed accessors and builders so resource code reads and
//! writes configuration, plan and state without seeing msgpack.
//!
//! Unknown is a state of its own, not an `Option`: a planned attribute may be
//! "known after apply". Accessors look through unknown and null: `attr` on an
//! unknown object is unknown, on a null object null, and `as_str` on either is
//! `None`; check [`Value::is_known`] / [`Value::is_fully_known`] where it
//! matters.
//!
//! Encodings: [`msgpack`] (what Terraform sends and expects back) and
//! [`json`] (stored state, and JSON `DynamicValue`s), plus a serde bridge
//! ([`Value::deserialize`], [`Value::from_serialize`]) for typed structs.

pub mod json;
pub mod msgpack;
mod number;

use std::collections::BTreeMap;
use std::fmt;

pub use number::{Number, NumberError};

use super::path::{AttributePath, PathStep};
use super::types::Type;

/// A Terraform value. The default is null.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    /// Not known until apply.
    Unknown,
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements of a set, in no particular order.
    Set(Vec<Value>),
    Tuple(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// An object or a nested block: every attribute of its type is present.
    Object(BTreeMap<String, Value>),
    /// A known value at a `dynamic` position, with its concrete type.
    Dynamic(Box<Type>, Box<Value>),
}

/// A value that does not fit its type, or bytes that are no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct CodecError {
    pub path: AttributePath,
    pub message: String,
}

impl CodecError {
    pub(crate) fn new(path: &AttributePath, message: impl Into<String>) -> Self {
        Self {
            path: path.clone(),
            message: message.into(),
        }
    }
}

static NULL: Value = Value::Null;
static UNKNOWN: Value = Value::Unknown;

impl Value {
    // ----- builders -----

    /// An object from `(name, value)` pairs.
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>, V: Into<Value>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn list<V: Into<Value>>(elements: impl IntoIterator<Item = V>) -> Value {
        Value::List(elements.into_iter().map(Into::into).collect())
    }

    pub fn set<V: Into<Value>>(elements: impl IntoIterator<Item = V>) -> Value {
        Value::Set(elements.into_iter().map(Into::into).collect())
    }

    /// A null object of `ty` with every attribute null (the shape Terraform
    /// expects for e.g. an empty single block is plain null; this is for
    /// building a state value attribute by attribute).
    pub fn null_object(ty: &Type) -> Value {
        match ty {
            Type::Object(attrs) => {
                Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect())
            }
            _ => Value::Null,
        }
    }

    // ----- state -----

    /// Not unknown (it may still contain unknowns inside).
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Known all the way down.
    pub fn is_fully_known(&self) -> bool {
        self.first_unknown().is_none()
    }

    /// The path of the first unknown part, if any.
    pub fn first_unknown(&self) -> Option<AttributePath> {
        self.find(&AttributePath::empty(), &|v| matches!(v, Value::Unknown))
    }

    fn find(&self, here: &AttributePath, pred: &dyn Fn(&Value) -> bool) -> Option<AttributePath> {
        if pred(self) {
            return Some(here.clone());
        }
        match self {
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| v.find(&here.clone().index(i), pred)),
            Value::Map(entries) => entries
                .iter()
                .find_map(|(k, v)| v.find(&here.clone().key(k), pred)),
            Value::Object(attrs) => attrs
                .iter()
                .find_map(|(k, v)| v.find(&here.clone().attr(k), pred)),
            Value::Dynamic(_, v) => v.find(here, pred),
            _ => None,
        }
    }

    /// The value itself, or the inner value of a `Dynamic`.
    fn inner(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.inner(),
            v => v,
        }
    }

    // ----- typed accessors -----

    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.inner() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// An integer number in `i64` range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple; `None` for anything else.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self.inner() {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Entries of a map or attributes of an object; `None` for anything else.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple; empty for null, unknown or other
    /// values (convenient for iterating nested blocks).
    pub fn elements(&self) -> &[Value] {
        self.as_elements().unwrap_or(&[])
    }

    /// A map of strings, skipping null and unknown entries. `None` unless
    /// this is a known map or object.
    pub fn as_string_map(&self) -> Option<BTreeMap<String, String>> {
        self.as_entries().map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
    }

    // ----- navigation -----

    /// An attribute of an object (or a map entry). Unknown if `self` is
    /// unknown, null if `self` is null or has no such attribute.
    pub fn attr(&self, name: &str) -> &Value {
        match self.inner() {
            Value::Unknown => &UNKNOWN,
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The part at `path`, with the same unknown/null rules as [`Value::attr`].
    pub fn get(&self, path: &AttributePath) -> &Value {
        path.steps()
            .iter()
            .fold(self, |v, step| match (v.inner(), step) {
                (Value::Unknown, _) => &UNKNOWN,
                (Value::Object(m) | Value::Map(m), PathStep::Attr(k) | PathStep::Key(k)) => {
                    m.get(k).unwrap_or(&NULL)
                }
                (
                    Value::List(items) | Value::Tuple(items) | Value::Set(items),
                    PathStep::Index(i),
                ) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&NULL),
                _ => &NULL,
            })
    }

    /// The part at `path` for changing it; `None` if the path does not exist.
    pub fn get_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        let mut v = self;
        for step in path.steps() {
            if let Value::Dynamic(_, inner) = v {
                v = inner;
            }
            v = match (v, step) {
                (Value::Object(m) | Value::Map(m), PathStep::Attr(k) | PathStep::Key(k)) => {
                    m.get_mut(k)?
                }
                (
                    Value::List(items) | Value::Tuple(items) | Value::Set(items),
                    PathStep::Index(i),
                ) => items.get_mut(usize::try_from(*i).ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// Replaces the part at `path`; returns false (and changes nothing) if
    /// the path does not exist.
    pub fn set_at(&mut self, path: &AttributePath, value: Value) -> bool {
        match self.get_mut(path) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Sets an attribute of an object (adding it if missing); returns false
    /// if `self` is not an object.
    pub fn set_attr(&mut self, name: &str, value: Value) -> bool {
        match self {
            Value::Object(m) => {
                m.insert(name.to_owned(), value);
                true
            }
            _ => false,
        }
    }

    // ----- serde bridge -----

    /// Converts a fully known value into a typed struct (through JSON).
    /// Unknown parts are an error naming their path; null is JSON null.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, CodecError> {
        let json = json::to_plain_json(self)?;
        serde_json::from_value(json)
            .map_err(|e| CodecError::new(&AttributePath::empty(), e.to_string()))
    }

    /// Builds a value of `ty` from a serializable struct (through JSON).
    /// Fields missing from the struct become null; extra fields are errors.
    pub fn from_serialize<T: serde::Serialize>(data: &T, ty: &Type) -> Result<Value, CodecError> {
        let json = serde_json::to_value(data)
            .map_err(|e| CodecError::new(&AttributePath::empty(), e.to_string()))?;
        json::from_plain_json(&json, ty)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::Number(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(v.into())
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Number(v.into())
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Number(v.into())
    }
}

/// `None` is null.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// A compact, HCL-like rendering for messages and test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unknown => write!(f, "(known after apply)"),
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "]")
            }
            Value::Map(m) | Value::Object(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    write!(f, "{}{k} = {v}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "}}")
            }
            Value::Dynamic(_, v) => write!(f, "{v}"),
        }
    }
}

/// Infers the type of a known value (for values put at `dynamic` positions
/// without a `Value::Dynamic` wrapper). Empty or all-null collections get
/// `dynamic` elements.
pub(crate) fn infer_type(value: &Value) -> Type {
    let common = |items: &[Value]| {
        items
            .iter()
            .find(|v| v.is_known() && !v.is_null())
            .map_or(Type::Dynamic, infer_type)
    };
    match value {
        Value::Unknown | Value::Null => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::list(common(items)),
        Value::Set(items) => Type::set(common(items)),
        Value::Tuple(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Map(m) => Type::map(common(&m.values().cloned().collect::<Vec<_>>())),
        Value::Object(m) => {
            Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect())
        }
        Value::Dynamic(t, _) => (**t).clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::object([
            ("name", Value::from("orders")),
            ("count", Value::from(3)),
            ("tags", Value::map([("env", "dev")])),
            (
                "mapping",
                Value::list([Value::object([
                    ("from", Value::from("id")),
                    ("to", Value::Unknown),
                ])]),
            ),
            ("target", Value::Null),
        ])
    }

    #[test]
    fn accessors() {
        let v = sample();
        assert_eq!(v.attr("name").as_str(), Some("orders"));
        assert_eq!(v.attr("count").as_i64(), Some(3));
        assert_eq!(v.attr("missing"), &Value::Null);
        assert_eq!(v.attr("target").attr("path"), &Value::Null);
        assert_eq!(v.attr("mapping").elements().len(), 1);
        assert_eq!(v.attr("target").elements().len(), 0);
        assert_eq!(
            v.attr("tags")
                .as_string_map()
                .unwrap_or_default()
                .get("env")
                .map(String::as_str),
            Some("dev")
        );
        let path = AttributePath::root("mapping").index(0).attr("from");
        assert_eq!(v.get(&path).as_str(), Some("id"));
        assert_eq!(
            v.get(&AttributePath::root("mapping").index(7)),
            &Value::Null
        );
        assert_eq!(Value::Unknown.attr("x"), &Value::Unknown);
        assert_eq!(Value::Unknown.get(&path), &Value::Unknown);
    }

    #[test]
    fn unknown_tracking() {
        let v = sample();
        assert!(v.is_known());
        assert!(!v.is_fully_known());
        assert_eq!(
            v.first_unknown(),
            Some(AttributePath::root("mapping").index(0).attr("to"))
        );
        assert!(Value::Null.is_fully_known());
        assert!(!Value::Unknown.is_known());
    }

    #[test]
    fn mutation() {
        let mut v = sample();
        let path = AttributePath::root("mapping").index(0).attr("to");
        assert!(v.set_at(&path, Value::from("order_id")));
        assert!(v.is_fully_known());
        assert!(!v.set_at(&AttributePath::root("mapping").index(3), Value::Null));
        assert!(v.set_attr("arn", Value::from("arn:x")));
        assert_eq!(v.attr("arn").as_str(), Some("arn:x"));
        assert!(!Value::Null.set_attr("x", Value::Null));
    }

    #[test]
    fn serde_bridge() {
        #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
        struct Col {
            name: String,
            comment: Option<String>,
        }
        let ty = Type::object([("name", Type::String), ("comment", Type::String)]);
        let v = Value::object([("name", Value::from("id")), ("comment", Value::Null)]);
        let col: Col = v.deserialize().expect("known value");
        assert_eq!(
            col,
            Col {
                name: "id".into(),
                comment: None
            }
        );
        assert_eq!(Value::from_serialize(&col, &ty).expect("fits"), v);
        let err = sample()
            .deserialize::<serde_json::Value>()
            .expect_err("has unknown");
        assert_eq!(err.path, AttributePath::root("mapping").index(0).attr("to"));
    }
}

//! Fields that records have and the schema does not. With an inferred schema, a field first seen
//! after the sample is not in the output; the decoders count such fields per path (`a`, `a.b`,
//! and `items.x` for a struct inside a list) so that the run reports them instead of dropping
//! them silently. With a declared schema (catalog table, mapping) leaving fields out is the
//! point, and nothing is counted.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, Fields};
use serde::{Deserialize, Serialize};

/// Distinct paths kept; fields beyond them are counted under [`OTHER`].
pub const MAX_PATHS: usize = 32;
/// Where fields beyond the first [`MAX_PATHS`] paths are counted.
pub const OTHER: &str = "(other fields)";

/// How many values each field path not in the schema had.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnknownFields(BTreeMap<String, u64>);

impl UnknownFields {
    /// Counts `n` values of `path`.
    pub fn add(&mut self, path: &str, n: u64) {
        let named = self.0.len() - usize::from(self.0.contains_key(OTHER));
        if let Some(count) = self.0.get_mut(path) {
            *count += n;
        } else if path == OTHER || named < MAX_PATHS {
            self.0.insert(path.to_string(), n);
        } else {
            *self.0.entry(OTHER.to_string()).or_default() += n;
        }
    }

    /// Adds another count (a worker's, a shard's).
    pub fn merge(&mut self, other: &UnknownFields) {
        for (path, n) in &other.0 {
            self.add(path, *n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Counts the fields of the JSON object `value` that `fields` lacks, looking into structs
    /// (and structs in lists) the schema has.
    pub fn scan(&mut self, value: &serde_json::Value, fields: &Fields, prefix: &str) {
        let serde_json::Value::Object(map) = value else {
            return;
        };
        for (name, v) in map {
            match fields.iter().find(|f| f.name() == name) {
                None => self.add(&format!("{prefix}{name}"), 1),
                Some(f) => self.scan_value(v, f.data_type(), &format!("{prefix}{name}.")),
            }
        }
    }

    fn scan_value(&mut self, value: &serde_json::Value, ty: &DataType, prefix: &str) {
        match (ty, value) {
            (DataType::Struct(fields), _) => self.scan(value, fields, prefix),
            (DataType::List(item), serde_json::Value::Array(items)) => {
                for v in items {
                    self.scan_value(v, item.data_type(), prefix);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::datatypes::Field;

    use super::*;

    /// `id`, a struct `p {x}` and a list `ps` of such structs (also used by the decoders' tests).
    pub(crate) fn point_fields() -> Fields {
        let point = Fields::from(vec![Field::new("x", DataType::Int64, true)]);
        Fields::from(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("p", DataType::Struct(point.clone()), true),
            Field::new(
                "ps",
                DataType::List(Arc::new(Field::new("item", DataType::Struct(point), true))),
                true,
            ),
        ])
    }

    #[test]
    fn scans_objects_structs_and_structs_in_lists() {
        let fields = point_fields();
        let mut u = UnknownFields::default();
        let record = serde_json::json!({
            "id": 1, "late": true, "p": {"x": 1, "y": 2},
            "ps": [{"x": 1, "z": 0}, {"z": 1}, null], "late2": null
        });
        u.scan(&record, &fields, "");
        u.scan(&serde_json::json!({"id": 2, "late": 1}), &fields, "");
        let got: Vec<(&str, u64)> = u.iter().collect();
        assert_eq!(got, [("late", 2), ("late2", 1), ("p.y", 1), ("ps.z", 2)]);
    }

    #[test]
    fn paths_beyond_the_limit_are_counted_together() {
        let mut u = UnknownFields::default();
        for i in 0..MAX_PATHS + 5 {
            u.add(&format!("f{i:02}"), 2);
        }
        u.add("f00", 1);
        let all: BTreeMap<&str, u64> = u.iter().collect();
        assert_eq!(all.len(), MAX_PATHS + 1);
        assert_eq!(all["f00"], 3);
        assert_eq!(all[OTHER], 10);
        let mut v = UnknownFields::default();
        v.merge(&u);
        assert_eq!(v, u);
    }
}

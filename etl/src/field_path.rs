//! Field paths in Arrow data: where a path (spelled as [`gluepipe_spec::field_path`] parses
//! it) is in a schema, and its values in a batch. The mapping's `from` and the data-quality
//! rules' columns both go through here, with Spark's semantics: a null parent struct makes the
//! child null.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, make_array, new_null_array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, FieldRef, Fields};

/// How names are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// Exactly (the mapping: it names JSON keys).
    Exact,
    /// Exactly, else the one name equal ignoring ASCII case (as Spark resolves columns).
    IgnoreCase,
}

/// A path found in a schema: the child index at each step, and the field it ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub indices: Vec<usize>,
    pub field: FieldRef,
}

fn find(fields: &Fields, name: &str, how: NameMatch) -> Option<usize> {
    if let Some(i) = fields.iter().position(|f| f.name() == name) {
        return Some(i);
    }
    if how == NameMatch::Exact {
        return None;
    }
    let mut matches = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name().eq_ignore_ascii_case(name));
    match (matches.next(), matches.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None, // absent, or ambiguous
    }
}

/// Where `path` is under `fields`, if every step exists (each step but the last a struct).
pub fn locate(fields: &Fields, path: &[String], how: NameMatch) -> Option<Located> {
    let (first, rest) = path.split_first()?;
    let i = find(fields, first, how)?;
    let mut field = fields[i].clone();
    let mut indices = vec![i];
    for name in rest {
        let DataType::Struct(children) = field.data_type() else {
            return None;
        };
        let i = find(children, name, how)?;
        let child = children[i].clone();
        indices.push(i);
        field = child;
    }
    Some(Located { indices, field })
}

/// The values at `indices` (from [`locate`] on the batch's schema), with the nulls of every
/// enclosing struct applied. A step that is not a struct (only possible with indices from
/// another schema) yields nulls of the field's type.
pub fn extract(batch: &RecordBatch, located: &Located) -> ArrayRef {
    let Some((&first, rest)) = located.indices.split_first() else {
        return new_null_array(located.field.data_type(), batch.num_rows());
    };
    let mut array = batch.column(first).clone();
    for &i in rest {
        let Some(parent) = array.as_struct_opt() else {
            return new_null_array(located.field.data_type(), batch.num_rows());
        };
        let child = parent.column(i).clone();
        array = match NullBuffer::union(parent.nulls(), child.nulls()) {
            Some(nulls) if Some(&nulls) != child.nulls() => {
                match child.to_data().into_builder().nulls(Some(nulls)).build() {
                    Ok(data) => make_array(data),
                    // Same length and type by construction; keep the child as it is.
                    Err(_) => child,
                }
            }
            _ => child,
        };
    }
    array
}

/// Every struct field nested under `fields` (not the top-level ones), depth first, with its
/// path: what a dotted column name can reach.
pub fn nested_fields(fields: &Fields) -> Vec<(Vec<String>, Located)> {
    fn walk(
        fields: &Fields,
        names: &mut Vec<String>,
        indices: &mut Vec<usize>,
        out: &mut Vec<(Vec<String>, Located)>,
    ) {
        for (i, f) in fields.iter().enumerate() {
            names.push(f.name().clone());
            indices.push(i);
            if names.len() > 1 {
                out.push((
                    names.clone(),
                    Located {
                        indices: indices.clone(),
                        field: f.clone(),
                    },
                ));
            }
            if let DataType::Struct(children) = f.data_type() {
                walk(children, names, indices, out);
            }
            names.pop();
            indices.pop();
        }
    }
    let mut out = Vec::new();
    walk(fields, &mut Vec::new(), &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{Int64Array, StructArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        // info: {x: 1}, null, {x: null}
        let x = Arc::new(Int64Array::from(vec![Some(1), Some(7), None])) as ArrayRef;
        let info = StructArray::new(
            Fields::from(vec![Field::new("x", DataType::Int64, true)]),
            vec![x],
            Some(NullBuffer::from(vec![true, false, true])),
        );
        let schema = Schema::new(vec![Field::new("info", info.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(info)]).unwrap()
    }

    #[test]
    fn a_null_parent_makes_the_child_null() {
        let b = batch();
        let path = ["info".to_string(), "X".to_string()];
        assert!(locate(b.schema().fields(), &path, NameMatch::Exact).is_none());
        let at = locate(b.schema().fields(), &path, NameMatch::IgnoreCase).unwrap();
        assert_eq!(at.indices, [0, 0]);
        let x = extract(&b, &at);
        let x = x.as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(x.iter().collect::<Vec<_>>(), [Some(1), None, None]);
        let nested = nested_fields(b.schema().fields());
        assert_eq!(nested.len(), 1);
        assert_eq!(nested[0].0, ["info", "x"]);
    }
}

//! The columns a rule may name: the batch's own, then every field nested in its structs,
//! reached by a dotted path (`ColumnDataType "info.x"`, `DataFreshness "state.at"`) as Glue's
//! engine (Spark) resolves them, with the mapping's path rules ([`crate::field_path`]).
//!
//! Precedence: a name that is a top-level column (exactly, else the one column equal ignoring
//! case) is that column, even when it holds dots; only otherwise is it read as a path, each
//! step matched the same way. To reach the struct path when a top-level column has the same
//! spelling, quote a step in backticks (`` `info`.x ``), which is never a top-level name.
//! Nested columns get indices after the top-level ones and are extracted from a batch only
//! when a rule reads them; a null parent makes the child null.

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use gluepipe_spec::field_path::{join, parse};

use crate::dq::sql::bind::resolve_column;
use crate::field_path::{Located, NameMatch, extract, locate, nested_fields};

/// The top-level columns of the batches, then their nested fields.
#[derive(Debug)]
pub struct Columns {
    base: SchemaRef,
    /// Top-level fields, then one field per nested path (named by its path).
    all: Schema,
    nested: Vec<Located>,
}

impl Columns {
    /// The columns of batches of `base`.
    pub fn new(base: &SchemaRef) -> Columns {
        let nested = nested_fields(base.fields());
        let fields = base.fields().iter().map(|f| f.as_ref().clone()).chain(
            nested
                .iter()
                .map(|(path, at)| Field::new(join(path), at.field.data_type().clone(), true)),
        );
        Columns {
            base: base.clone(),
            all: Schema::new(fields.collect::<Vec<_>>()),
            nested: nested.into_iter().map(|(_, at)| at).collect(),
        }
    }

    /// Every column by index: the top-level ones first.
    pub fn schema(&self) -> &Schema {
        &self.all
    }

    /// The index of column or path `name`.
    pub fn resolve(&self, name: &str) -> Result<usize, String> {
        let top = resolve_column(&self.base, name);
        if top.is_ok() {
            return top;
        }
        let Ok(path) = parse(name) else { return top };
        if path.len() < 2 {
            return top;
        }
        locate(self.base.fields(), &path, NameMatch::IgnoreCase)
            .and_then(|at| self.nested.iter().position(|n| n.indices == at.indices))
            .map(|k| self.base.fields().len() + k)
            .ok_or_else(|| format!("column {name} does not exist"))
    }

    /// Whether `i` is a nested column (extracted with [`Columns::nested`]).
    pub fn is_nested(&self, i: usize) -> bool {
        i >= self.base.fields().len()
    }

    /// The values of nested column `i` in `batch`.
    pub fn nested(&self, batch: &RecordBatch, i: usize) -> ArrayRef {
        extract(batch, &self.nested[i - self.base.fields().len()])
    }

    /// Number of nested columns.
    pub fn nested_len(&self) -> usize {
        self.nested.len()
    }
}

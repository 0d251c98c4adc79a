//! ApplyMapping, as Glue's: each entry reads a source column or a dotted path into nested
//! fields (`address.city`; quote names holding dots in backticks: `` `a.b`.c ``), names it, and
//! casts it to a Glue type. Columns not mapped are dropped; no mapping keeps every column.
//!
//! Without a catalog schema the decoder reads each mapped path straight into its target type
//! (a JSON string into a `timestamp`, a number into a `decimal`), so a value that does not fit is
//! rejected by the decoder with the record's file and line. With a catalog schema, or when two
//! entries read the same path as different scalar types (then the path is decoded as its JSON
//! text and each entry casts from that), the value is cast here; a value the cast cannot carry
//! unchanged (null, a fraction cut into an integer, a bigint rounded into a double) becomes a
//! rejected row too, never a silent change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use arrow::array::{Array, ArrayData, ArrayRef, BooleanArray, RecordBatch, make_array};
use arrow::compute::{CastOptions, can_cast_types, cast_with_options, filter_record_batch};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use gluepipe_spec::column_name::same_column;
use gluepipe_spec::field_path::{join, parse};
use gluepipe_spec::parse_glue_type;
use gluepipe_spec::pipeline::Mapping;

use crate::error::usage;
use crate::field_path::{NameMatch, locate};
use crate::schema::glue_to_arrow;

/// One output column.
#[derive(Debug, Clone)]
struct Step {
    index: usize,
    from: String,
    path: Vec<String>,
    to: String,
    glue: String,
    target: DataType,
}

/// A row the mapping could not carry, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejection {
    pub row: usize,
    pub reason: String,
}

/// The mapped batch and the rows that were set aside (not in `batch`).
#[derive(Debug)]
pub struct Mapped {
    pub batch: RecordBatch,
    pub rejected: Vec<RowRejection>,
    /// Per mapping entry, whether its path had a value (not absent, not null) in some row of
    /// the batch, rejected rows included; empty for the identity.
    pub has_values: Vec<bool>,
}

/// A mapping entry whose `from` matched no value in any record of a run: a typo or a field
/// the data does not have. Its column is written all null; the run warns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnmatchedPath {
    /// Index of the entry in the mapping.
    pub mapping: usize,
    pub from: String,
}

/// Which mapping entries have found a value so far, over every batch of a run (workers share
/// one).
#[derive(Debug, Default)]
pub struct PathsSeen {
    seen: Vec<AtomicBool>,
    rows: AtomicBool,
}

impl PathsSeen {
    /// Adds what one mapped batch saw.
    pub fn note(&self, mapped: &Mapped, rows: usize) {
        if rows > 0 {
            self.rows.store(true, Ordering::Relaxed);
        }
        for (seen, &has) in self.seen.iter().zip(&mapped.has_values) {
            if has {
                seen.store(true, Ordering::Relaxed);
            }
        }
    }

    /// The entries of `plan` that saw no value (none when the run read no row at all).
    pub fn unmatched(&self, plan: &MappingPlan) -> Vec<UnmatchedPath> {
        let (Some(steps), true) = (&plan.steps, self.rows.load(Ordering::Relaxed)) else {
            return Vec::new();
        };
        steps
            .iter()
            .zip(&self.seen)
            .filter(|(_, seen)| !seen.load(Ordering::Relaxed))
            .map(|(step, _)| UnmatchedPath {
                mapping: step.index,
                from: step.from.clone(),
            })
            .collect()
    }
}

/// A validated mapping, ready to apply to decoded batches.
#[derive(Debug, Clone)]
pub struct MappingPlan {
    /// What the mapping reads: the columns the decoder must produce.
    source: SchemaRef,
    output: SchemaRef,
    /// `None`: identity, or only a renaming when `output` differs from `source`.
    steps: Option<Vec<Step>>,
}

/// Decode-type tree built from mapping paths when there is no source schema.
enum Node {
    Leaf(DataType),
    Struct(Vec<(String, Node)>),
}

impl Node {
    fn insert(&mut self, path: &[String], ty: &DataType) {
        let Node::Struct(children) = self else {
            return; // inside an explicitly typed column: read from that type
        };
        let (head, rest) = (&path[0], &path[1..]);
        let pos = match children.iter().position(|(n, _)| n == head) {
            Some(pos) => pos,
            None => {
                let node = if rest.is_empty() {
                    Node::Leaf(ty.clone())
                } else {
                    Node::Struct(Vec::new())
                };
                children.push((head.clone(), node));
                children.len() - 1
            }
        };
        let child = &mut children[pos].1;
        match (rest.is_empty(), &*child) {
            (true, Node::Struct(_)) => *child = Node::Leaf(ty.clone()),
            // Two entries read one path as different scalar types: decode its JSON text, and
            // let each entry cast from that (never from a sibling's cast).
            (true, Node::Leaf(existing))
                if existing != ty && !existing.is_nested() && !ty.is_nested() =>
            {
                *child = Node::Leaf(DataType::Utf8)
            }
            (true, Node::Leaf(_)) => {}
            (false, _) => child.insert(rest, ty),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Node::Leaf(ty) => ty.clone(),
            Node::Struct(children) => DataType::Struct(
                children
                    .iter()
                    .map(|(name, node)| Field::new(name, node.data_type(), true))
                    .collect::<Fields>(),
            ),
        }
    }
}

/// The type at `path` inside `schema`, if every step exists.
fn type_at(schema: &Schema, path: &[String]) -> Option<DataType> {
    locate(schema.fields(), path, NameMatch::Exact).map(|at| at.field.data_type().clone())
}

impl MappingPlan {
    /// Every column of `schema`, unchanged.
    pub fn identity(schema: SchemaRef) -> MappingPlan {
        MappingPlan {
            source: schema.clone(),
            output: schema,
            steps: None,
        }
    }

    /// Every column of `source`, values unchanged, under the names of `output` (the same
    /// types, names changed at any level: see `schema::names`).
    pub fn renaming(source: SchemaRef, output: SchemaRef) -> MappingPlan {
        MappingPlan {
            source,
            output,
            steps: None,
        }
    }

    /// Validates `mappings` against `source` (the catalog's columns) or, without one, derives
    /// the columns to decode from the mapping itself. Problems are usage errors naming the entry.
    pub fn new(mappings: &[Mapping], source: Option<&Schema>) -> Result<MappingPlan> {
        if mappings.is_empty() {
            bail!("an empty mapping has no plan: use MappingPlan::identity");
        }
        let mut steps = Vec::with_capacity(mappings.len());
        for (index, m) in mappings.iter().enumerate() {
            let glue = parse_glue_type(&m.data_type)
                .map_err(|e| usage(format!("mapping[{index}].type: {e}")))?;
            let path = parse(&m.from).map_err(|e| usage(format!("mapping[{index}].from: {e}")))?;
            if steps.iter().any(|s: &Step| same_column(&s.to, &m.to)) {
                return Err(usage(format!(
                    "mapping[{index}].to: column '{}' is written twice",
                    m.to
                )));
            }
            steps.push(Step {
                index,
                from: m.from.clone(),
                path,
                to: m.to.clone(),
                glue: glue.to_string(),
                target: glue_to_arrow(&glue),
            });
        }
        let source: Schema = match source {
            Some(schema) => {
                let mut fields: Vec<Field> = Vec::new();
                for step in &steps {
                    let field = schema.field_with_name(&step.path[0]).map_err(|_| {
                        usage(format!(
                            "mapping[{}].from: the source has no column '{}'",
                            step.index, step.path[0]
                        ))
                    })?;
                    if !fields.iter().any(|f| f.name() == field.name()) {
                        fields.push(field.clone());
                    }
                }
                Schema::new(fields)
            }
            None => {
                let mut root = Node::Struct(Vec::new());
                for step in &steps {
                    root.insert(&step.path, &step.target);
                }
                match root.data_type() {
                    DataType::Struct(fields) => Schema::new(fields),
                    _ => unreachable!("the root is a struct"),
                }
            }
        };
        for step in &steps {
            let from = type_at(&source, &step.path).ok_or_else(|| {
                usage(format!(
                    "mapping[{}].from: '{}' is not a field of the source",
                    step.index, step.from
                ))
            })?;
            if from != step.target && !can_cast_types(&from, &step.target) {
                return Err(usage(format!(
                    "mapping[{}]: cannot cast '{}' from {from} to {}",
                    step.index, step.from, step.glue
                )));
            }
        }
        let output = Schema::new(
            steps
                .iter()
                .map(|s| Field::new(&s.to, s.target.clone(), true))
                .collect::<Vec<_>>(),
        );
        Ok(MappingPlan {
            source: Arc::new(source),
            output: Arc::new(output),
            steps: Some(steps),
        })
    }

    /// A tally of which entries found values, for [`PathsSeen::unmatched`].
    pub fn paths_seen(&self) -> PathsSeen {
        PathsSeen {
            seen: (0..self.steps.as_ref().map_or(0, Vec::len))
                .map(|_| AtomicBool::new(false))
                .collect(),
            rows: AtomicBool::new(false),
        }
    }

    /// The columns the mapping reads (what to decode).
    pub fn source_schema(&self) -> &SchemaRef {
        &self.source
    }

    pub fn output_schema(&self) -> &SchemaRef {
        &self.output
    }

    /// Maps one decoded batch; rows whose values cannot be cast are left out and listed.
    pub fn apply(&self, batch: &RecordBatch) -> Result<Mapped> {
        let Some(steps) = &self.steps else {
            let batch = if self.source == self.output {
                batch.clone()
            } else {
                let columns = batch
                    .columns()
                    .iter()
                    .zip(self.output.fields())
                    .map(|(c, f)| Ok(make_array(renamed(c.to_data(), f.data_type())?)))
                    .collect::<Result<Vec<_>>>()?;
                RecordBatch::try_new(self.output.clone(), columns)?
            };
            return Ok(Mapped {
                batch,
                rejected: Vec::new(),
                has_values: Vec::new(),
            });
        };
        let mut columns = Vec::with_capacity(steps.len());
        let mut has_values = Vec::with_capacity(steps.len());
        let mut bad: Vec<Option<String>> = Vec::new();
        for step in steps {
            let column = extract(batch, &step.path)?;
            has_values.push(column.null_count() < column.len());
            let column = if column.data_type() == &step.target {
                column
            } else {
                let cast = cast_with_options(
                    &column,
                    &step.target,
                    &CastOptions {
                        safe: true,
                        ..Default::default()
                    },
                )?;
                let changed = changed_by_cast(&column, &cast)?;
                if cast.null_count() > column.null_count() || changed.is_some() {
                    let formatter =
                        ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
                    for row in 0..column.len() {
                        let lost = cast.is_null(row)
                            || changed
                                .as_ref()
                                .is_some_and(|c| c.is_valid(row) && c.value(row));
                        if column.is_valid(row) && lost {
                            if bad.is_empty() {
                                bad.resize(batch.num_rows(), None);
                            }
                            bad[row].get_or_insert_with(|| {
                                format!(
                                    "mapping[{}]: cannot cast '{}' value {} to {}",
                                    step.index,
                                    step.from,
                                    formatter.value(row),
                                    step.glue
                                )
                            });
                        }
                    }
                }
                cast
            };
            columns.push(column);
        }
        let mapped = RecordBatch::try_new(self.output.clone(), columns)?;
        if bad.is_empty() {
            return Ok(Mapped {
                batch: mapped,
                rejected: Vec::new(),
                has_values,
            });
        }
        let keep = BooleanArray::from(bad.iter().map(|b| b.is_none()).collect::<Vec<_>>());
        let rejected = bad
            .into_iter()
            .enumerate()
            .filter_map(|(row, reason)| reason.map(|reason| RowRejection { row, reason }))
            .collect();
        Ok(Mapped {
            batch: filter_record_batch(&mapped, &keep)?,
            rejected,
            has_values,
        })
    }
}

/// For a cast between numeric types, the rows whose value the cast changed (a fraction cut into
/// an integer, a bigint rounded into a double): cast back, they differ from the original.
fn changed_by_cast(from: &ArrayRef, to: &ArrayRef) -> Result<Option<BooleanArray>> {
    if !(from.data_type().is_numeric() && to.data_type().is_numeric()) {
        return Ok(None);
    }
    let back = cast_with_options(to, from.data_type(), &CastOptions::default())?;
    let differs = arrow::compute::kernels::cmp::neq(from, &back)?;
    Ok((differs.true_count() > 0).then_some(differs))
}

/// `data` typed as `to`, which differs from its type only in field names at any depth.
fn renamed(data: ArrayData, to: &DataType) -> Result<ArrayData> {
    let children: Vec<(&ArrayData, &DataType)> = match to {
        DataType::Struct(fields) => data
            .child_data()
            .iter()
            .zip(fields.iter().map(|f| f.data_type()))
            .collect(),
        DataType::List(item) | DataType::LargeList(item) | DataType::Map(item, _) => data
            .child_data()
            .iter()
            .map(|c| (c, item.data_type()))
            .collect(),
        _ => return Ok(data),
    };
    let children = children
        .into_iter()
        .map(|(c, ty)| renamed(c.clone(), ty))
        .collect::<Result<Vec<_>>>()?;
    Ok(data
        .into_builder()
        .data_type(to.clone())
        .child_data(children)
        .build()?)
}

/// The column at `path`, with the nulls of every enclosing struct applied.
fn extract(batch: &RecordBatch, path: &[String]) -> Result<ArrayRef> {
    let at = locate(batch.schema_ref().fields(), path, NameMatch::Exact)
        .ok_or_else(|| anyhow::anyhow!("decoded batch has no field '{}'", join(path)))?;
    Ok(crate::field_path::extract(batch, &at))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::{Int64Array, StringArray};
    use arrow::json::ReaderBuilder;

    use super::*;

    fn m(from: &str, to: &str, ty: &str) -> Mapping {
        Mapping {
            from: from.into(),
            to: to.into(),
            data_type: ty.into(),
        }
    }

    fn decode(schema: &SchemaRef, lines: &str) -> RecordBatch {
        // As the run's decoder: numbers keep their JSON text in string columns.
        let mut d = ReaderBuilder::new(schema.clone())
            .with_coerce_primitive(true)
            .build_decoder()
            .unwrap();
        d.decode(lines.as_bytes()).unwrap();
        d.flush().unwrap().unwrap()
    }

    #[test]
    fn derives_decode_schema_from_paths() {
        let plan = MappingPlan::new(
            &[
                m("id", "order_id", "bigint"),
                m("address.city", "city", "string"),
                m("address.geo.lat", "lat", "double"),
                m("ts", "ts", "timestamp"),
            ],
            None,
        )
        .unwrap();
        let src = plan.source_schema();
        assert_eq!(src.fields().len(), 3);
        assert_eq!(src.field(0).data_type(), &DataType::Int64);
        let DataType::Struct(addr) = src.field(1).data_type() else {
            panic!("struct")
        };
        assert_eq!(addr.len(), 2);
        let names: Vec<&str> = plan
            .output_schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["order_id", "city", "lat", "ts"]);
    }

    #[test]
    fn selects_renames_and_reads_nested_fields_with_parent_nulls() {
        let plan = MappingPlan::new(
            &[m("address.city", "city", "string"), m("id", "id", "bigint")],
            None,
        )
        .unwrap();
        let batch = decode(
            plan.source_schema(),
            r#"{"id": 1, "address": {"city": "Oslo"}, "extra": 1}
               {"id": 2, "address": null}
               {"id": 3}
               {"id": 4, "address": {"city": null}}"#,
        );
        let out = plan.apply(&batch).unwrap();
        assert!(out.rejected.is_empty());
        let city = out
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(
            city.iter().collect::<Vec<_>>(),
            [Some("Oslo"), None, None, None]
        );
        let id = out
            .batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(id.values(), &[1, 2, 3, 4]);
    }

    #[test]
    fn each_entry_reads_the_source_value_and_lossy_casts_are_rejected() {
        // One path read as bigint and as double: the double keeps the fraction.
        let plan = MappingPlan::new(
            &[m("p", "whole", "bigint"), m("p", "exact", "double")],
            None,
        )
        .unwrap();
        let batch = decode(plan.source_schema(), r#"{"p": 19.99} {"p": 7}"#);
        let out = plan.apply(&batch).unwrap();
        assert_eq!(out.batch.num_rows(), 1, "19.99 does not fit a bigint");
        assert!(
            out.rejected[0].reason.contains("19.99"),
            "{:?}",
            out.rejected
        );
        // A catalog double cast to int, and a big bigint cast to double.
        let source = Schema::new(vec![
            Field::new("d", DataType::Float64, true),
            Field::new("i", DataType::Int64, true),
        ]);
        let plan =
            MappingPlan::new(&[m("d", "d", "int"), m("i", "i", "double")], Some(&source)).unwrap();
        let batch = decode(
            plan.source_schema(),
            r#"{"d": 19.99, "i": 1} {"d": 2.0, "i": 9007199254740993} {"d": 3.0, "i": 5}"#,
        );
        let out = plan.apply(&batch).unwrap();
        assert_eq!(
            out.rejected.iter().map(|r| r.row).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(out.batch.num_rows(), 1);
    }

    #[test]
    fn casts_against_a_source_schema_and_rejects_what_does_not_fit() {
        let source = Schema::new(vec![
            Field::new("n", DataType::Utf8, true),
            Field::new("unused", DataType::Utf8, true),
        ]);
        let plan = MappingPlan::new(
            &[m("n", "n", "int"), m("n", "text", "string")],
            Some(&source),
        )
        .unwrap();
        assert_eq!(
            plan.source_schema().fields().len(),
            1,
            "unused columns are not decoded"
        );
        let batch = decode(
            plan.source_schema(),
            r#"{"n": "1"} {"n": "x"} {"n": null} {"n": "99999999999"}"#,
        );
        let out = plan.apply(&batch).unwrap();
        assert_eq!(out.batch.num_rows(), 2);
        assert_eq!(
            out.rejected.iter().map(|r| r.row).collect::<Vec<_>>(),
            [1, 3]
        );
        assert!(
            out.rejected[0]
                .reason
                .contains("cannot cast 'n' value x to int"),
            "{}",
            out.rejected[0].reason
        );
    }

    #[test]
    fn invalid_mappings_are_usage_errors() {
        let source = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let cases: &[(&[Mapping], Option<&Schema>, &str)] = &[
            (&[m("b", "b", "int")], Some(&source), "no column 'b'"),
            (&[m("a.x", "x", "int")], Some(&source), "not a field"),
            (
                &[m("a", "x", "int"), m("a", "X", "int")],
                None,
                "written twice",
            ),
            (&[m("a", "x", "integr")], None, "mapping[0].type"),
            (
                &[m("a", "x", "map<string,int>")],
                Some(&source),
                "cannot cast",
            ),
        ];
        for (mappings, schema, want) in cases {
            let err = MappingPlan::new(mappings, *schema).unwrap_err();
            assert!(format!("{err:#}").contains(want), "{want}: {err:#}");
        }
    }

    #[test]
    fn identity_keeps_everything() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let plan = MappingPlan::identity(schema.clone());
        let batch = decode(&schema, r#"{"a": 1}"#);
        assert_eq!(plan.apply(&batch).unwrap().batch, batch);
    }
}

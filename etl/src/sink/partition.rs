//! Splits a batch into Hive partitions: rows grouped by the values of the partition columns,
//! each group without those columns (their values live in the `col=value/` folder names, as
//! Athena, Spark and Hive expect). Values are formatted as Hive does: dates `2024-01-31`,
//! numbers in decimal, strings as they are; null and empty are `__HIVE_DEFAULT_PARTITION__`.

use std::collections::HashMap;

use anyhow::{Result, bail};
use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::storage::hive;

/// Checks the partition columns exist and are of a type that makes a folder name.
pub fn check_partition_columns(schema: &Schema, columns: &[String]) -> Result<Vec<usize>> {
    columns
        .iter()
        .map(|name| {
            let (index, field) = schema.column_with_name(name).ok_or_else(|| {
                crate::error::usage(format!("partition column '{name}' is not an output column"))
            })?;
            if matches!(
                field.data_type(),
                DataType::List(_) | DataType::Struct(_) | DataType::Map(..) | DataType::Binary
            ) {
                bail!(crate::error::usage(format!(
                    "partition column '{name}' is of type {}, which cannot name a folder",
                    field.data_type()
                )));
            }
            Ok(index)
        })
        .collect()
}

/// The longest folder name (`name=value`, escaped) a partition may have, in bytes: what local
/// file systems allow (ext4, APFS, NTFS). S3 keys could be longer, but the limit holds there too
/// so that a pipeline tried on local files behaves the same on S3.
pub const MAX_FOLDER_BYTES: usize = 255;

/// Each row's partition folders, as Hive formats and escapes them.
struct Folders<'a> {
    names: Vec<&'a str>,
    formatters: Vec<ArrayFormatter<'a>>,
    values: Vec<String>,
}

impl<'a> Folders<'a> {
    fn new(batch: &'a RecordBatch, indices: &[usize], options: &'a FormatOptions) -> Result<Self> {
        let schema = batch.schema_ref();
        Ok(Folders {
            names: indices
                .iter()
                .map(|&i| schema.field(i).name().as_str())
                .collect(),
            formatters: indices
                .iter()
                .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), options))
                .collect::<Result<Vec<_>, _>>()?,
            values: vec![String::new(); indices.len()],
        })
    }

    /// `(name, value)` of each partition column at `row`; `None` is null or empty.
    fn row(&mut self, row: usize) -> Result<Vec<(&str, Option<&str>)>> {
        for (slot, f) in self.values.iter_mut().zip(&self.formatters) {
            slot.clear();
            use std::fmt::Write;
            write!(slot, "{}", f.value(row))?;
        }
        Ok(self
            .names
            .iter()
            .zip(&self.values)
            .map(|(n, v)| (*n, (!v.is_empty()).then_some(v.as_str())))
            .collect())
    }
}

/// The rows of `batch` whose partition folder would be longer than [`MAX_FOLDER_BYTES`], each
/// with the reason: such a record is rejected, the run goes on.
pub fn unnameable_rows(batch: &RecordBatch, indices: &[usize]) -> Result<Vec<(usize, String)>> {
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let options = FormatOptions::default().with_null("");
    let mut folders = Folders::new(batch, indices, &options)?;
    let mut out = Vec::new();
    for row in 0..batch.num_rows() {
        let long = folders.row(row)?.into_iter().find_map(|(name, value)| {
            let len = hive::partition_path(&[(name, value)]).len();
            (len > MAX_FOLDER_BYTES).then_some((name, len))
        });
        if let Some((name, len)) = long {
            out.push((
                row,
                format!(
                    "the partition value of '{name}' makes a folder name of {len} bytes \
                     ('{name}=' and the escaped value); at most {MAX_FOLDER_BYTES} are allowed"
                ),
            ));
        }
    }
    Ok(out)
}

/// `(partition folder, rows without the partition columns)` groups, in order of first row.
pub fn split_by_partition(
    batch: &RecordBatch,
    indices: &[usize],
) -> Result<Vec<(String, RecordBatch)>> {
    if indices.is_empty() {
        return Ok(vec![(String::new(), batch.clone())]);
    }
    let schema = batch.schema();
    let options = FormatOptions::default().with_null("");
    let mut folders = Folders::new(batch, indices, &options)?;
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    for row in 0..batch.num_rows() {
        let path = hive::partition_path(&folders.row(row)?);
        match by_path.get(&path) {
            Some(&g) => groups[g].1.push(row as u32),
            None => {
                by_path.insert(path.clone(), groups.len());
                groups.push((path, vec![row as u32]));
            }
        }
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| !indices.contains(i))
        .collect();
    let projected = batch.project(&keep)?;
    groups
        .into_iter()
        .map(|(path, rows)| {
            let rows = if rows.len() == batch.num_rows() {
                projected.clone()
            } else {
                take_record_batch(&projected, &UInt32Array::from(rows))?
            };
            Ok((path, rows))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
    use arrow::datatypes::Field;

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
            Field::new("country", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(Date32Array::from(vec![
                    Some(19723),
                    Some(19723),
                    Some(19724),
                    None,
                    Some(19723),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("NZ"),
                    Some("a/b"),
                    Some("NZ"),
                    Some("NZ"),
                    Some(""),
                ])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn groups_rows_by_partition_values() {
        let groups = split_by_partition(&batch(), &[1, 2]).unwrap();
        let got: Vec<(String, Vec<i64>)> = groups
            .iter()
            .map(|(p, b)| {
                assert_eq!(b.num_columns(), 1, "partition columns are dropped");
                let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (p.clone(), ids.values().to_vec())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("day=2024-01-01/country=NZ".to_string(), vec![1]),
                ("day=2024-01-01/country=a%2Fb".to_string(), vec![2]),
                ("day=2024-01-02/country=NZ".to_string(), vec![3]),
                (
                    "day=__HIVE_DEFAULT_PARTITION__/country=NZ".to_string(),
                    vec![4]
                ),
                (
                    "day=2024-01-01/country=__HIVE_DEFAULT_PARTITION__".to_string(),
                    vec![5]
                ),
            ]
        );
    }

    #[test]
    fn values_too_long_for_a_folder_name_are_found() {
        let long = "é".repeat(120); // 240 bytes: Hive keeps non-ASCII text as it is
        let batch = RecordBatch::try_from_iter(vec![
            (
                "k",
                Arc::new(StringArray::from(vec![
                    Some("short".to_string()),
                    Some("x".repeat(253)),
                    Some("x".repeat(254)),
                    Some(long),
                    Some("/".repeat(100)),
                    None,
                ])) as ArrayRef,
            ),
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6]))),
        ])
        .unwrap();
        let rows: Vec<usize> = unnameable_rows(&batch, &[0])
            .unwrap()
            .into_iter()
            .map(|(row, reason)| {
                assert!(
                    reason.contains("'k'") && reason.contains("at most 255"),
                    "{reason}"
                );
                row
            })
            .collect();
        // k= plus 253 bytes fits; 254 does not; 120 é are 240 bytes (+2) and fit; 100 '/' are
        // 300 bytes escaped.
        assert_eq!(rows, [2, 4]);
        assert!(unnameable_rows(&batch, &[]).unwrap().is_empty());
    }

    #[test]
    fn no_partitions_is_one_group() {
        let groups = split_by_partition(&batch(), &[]).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].0, "");
        assert_eq!(groups[0].1.num_columns(), 3);
        let empty = RecordBatch::new_empty(batch().schema());
        assert!(split_by_partition(&empty, &[1]).unwrap().is_empty());
    }

    #[test]
    fn checks_partition_columns() {
        let schema = batch().schema();
        assert_eq!(
            check_partition_columns(&schema, &["country".into(), "day".into()]).unwrap(),
            vec![2, 1]
        );
        assert!(
            check_partition_columns(&schema, &["nope".into()])
                .unwrap_err()
                .to_string()
                .contains("not an output column")
        );
    }
}

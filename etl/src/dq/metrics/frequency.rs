//! `Frequencies`: exact counts of each distinct value (or value tuple) of some columns — the one
//! state behind Uniqueness, IsUnique, IsPrimaryKey, DistinctValuesCount, UniqueValueRatio,
//! Entropy and DuplicateRowCount, shared by every rule over the same columns and `where`.
//!
//! As in deequ's frequency analyzers, a row whose key columns are *all* null is not a value: it
//! is counted in [`FrequencyStats::null_rows`] and kept out of the table. A tuple with some
//! nulls is a value (null equals null for grouping, as in SQL `GROUP BY`).
//!
//! Memory grows with the number of distinct keys, not rows: see [`KeyTable`] (about key bytes +
//! 25 bytes per distinct key) plus an 8-byte count per distinct key.

use arrow::array::{Array, ArrayRef};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};

use super::key_table::KeyTable;
use crate::dq::error::DqError;

/// Counts of every distinct key seen.
#[derive(Debug)]
pub struct Frequencies {
    converter: RowConverter,
    keys: KeyTable,
    counts: Vec<u64>,
    null_rows: u64,
}

/// What the frequency-based rules read at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrequencyStats {
    /// Distinct non-null keys.
    pub distinct: u64,
    /// Keys that occur exactly once.
    pub singletons: u64,
    /// Rows with a non-null key (the denominator of Uniqueness and Entropy).
    pub rows: u64,
    /// Rows whose key columns are all null.
    pub null_rows: u64,
    /// Rows whose key occurs more than once, counting every member of each group.
    pub duplicate_rows: u64,
    /// `-Σ p·ln p` over key frequencies, `p = count / rows` (natural log); 0 when `rows = 0`.
    pub entropy: f64,
}

impl Frequencies {
    /// A table over key columns of these types.
    pub fn new(types: &[DataType]) -> Result<Self, DqError> {
        let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
        Ok(Frequencies {
            converter: RowConverter::new(fields)?,
            keys: KeyTable::default(),
            counts: Vec::new(),
            null_rows: 0,
        })
    }

    /// Counts the rows of `columns` selected by `mask` (all rows when `None`).
    pub fn update(
        &mut self,
        columns: &[ArrayRef],
        mask: Option<&BooleanBuffer>,
    ) -> Result<(), DqError> {
        let Some(first) = columns.first() else {
            return Ok(());
        };
        let len = first.len();
        let has_value = any_valid(columns, len);
        let selected = match (mask, &has_value) {
            (Some(m), Some(v)) => Some(m & v),
            (Some(m), None) => Some(m.clone()),
            (None, Some(v)) => Some(v.clone()),
            (None, None) => None,
        };
        let masked_rows = mask.map_or(len, |m| m.count_set_bits());
        let counted = selected.as_ref().map_or(len, |s| s.count_set_bits());
        self.null_rows += (masked_rows - counted) as u64;
        if counted == 0 {
            return Ok(());
        }
        let rows = self.converter.convert_columns(columns)?;
        let mut record = |i: usize| -> Result<(), DqError> {
            let (index, new) = self.keys.insert(rows.row(i).as_ref())?;
            if new {
                self.counts.push(1);
            } else {
                self.counts[index] += 1;
            }
            Ok(())
        };
        match &selected {
            None => (0..len).try_for_each(&mut record)?,
            Some(sel) => sel.set_indices().try_for_each(&mut record)?,
        }
        Ok(())
    }

    /// The statistics all frequency rules derive from.
    pub fn stats(&self) -> FrequencyStats {
        let mut singletons = 0u64;
        let mut rows = 0u64;
        let mut duplicate_rows = 0u64;
        let mut sum_c_ln_c = 0.0f64;
        for &c in &self.counts {
            rows += c;
            if c == 1 {
                singletons += 1;
            } else {
                duplicate_rows += c;
                sum_c_ln_c += (c as f64) * (c as f64).ln();
            }
        }
        // -Σ (c/N) ln(c/N) = ln N − (Σ c ln c) / N
        let entropy = if rows == 0 {
            0.0
        } else {
            let n = rows as f64;
            (n.ln() - sum_c_ln_c / n).max(0.0)
        };
        FrequencyStats {
            distinct: self.counts.len() as u64,
            singletons,
            rows,
            null_rows: self.null_rows,
            duplicate_rows,
            entropy,
        }
    }

    /// Approximate heap bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        self.keys.heap_bytes() + self.counts.capacity() * std::mem::size_of::<u64>()
    }
}

/// Rows where at least one column is non-null; `None` when every row qualifies.
pub(crate) fn any_valid(columns: &[ArrayRef], len: usize) -> Option<BooleanBuffer> {
    let mut acc: Option<BooleanBuffer> = None;
    for column in columns {
        // A column without nulls makes every row qualify.
        let nulls = column.logical_nulls()?;
        let valid = nulls.inner().clone();
        acc = Some(match acc {
            None => valid,
            Some(a) => &a | &valid,
        });
    }
    acc.filter(|a| a.count_set_bits() < len)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};

    use super::*;

    fn ints(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn no_rows_gives_zero_stats() {
        let freq = Frequencies::new(&[DataType::Int64]).unwrap();
        let s = freq.stats();
        assert_eq!(
            (s.distinct, s.singletons, s.rows, s.null_rows),
            (0, 0, 0, 0)
        );
        assert_eq!(s.entropy, 0.0);
    }

    #[test]
    fn counts_values_across_batches_and_keeps_nulls_apart() {
        let mut freq = Frequencies::new(&[DataType::Int64]).unwrap();
        // values over two batches: 0 0 0 5 6 7, two nulls
        freq.update(&[ints(&[Some(0), Some(0), None, Some(5)])], None)
            .unwrap();
        freq.update(&[ints(&[Some(0), Some(6), Some(7), None])], None)
            .unwrap();
        let s = freq.stats();
        assert_eq!(s.distinct, 4); // 0, 5, 6, 7
        assert_eq!(s.singletons, 3); // 5, 6, 7
        assert_eq!(s.rows, 6);
        assert_eq!(s.null_rows, 2);
        assert_eq!(s.duplicate_rows, 3); // the three 0s
        // entropy: p = 3/6, 1/6, 1/6, 1/6 → -(0.5 ln 0.5 + 3 · (1/6) ln(1/6)) = 1.2425 (docs)
        assert!(
            (s.entropy - 1.242_453_324_894).abs() < 1e-9,
            "{}",
            s.entropy
        );
    }

    #[test]
    fn mask_excludes_rows_entirely() {
        let mut freq = Frequencies::new(&[DataType::Int64]).unwrap();
        let mask = BooleanBuffer::from(vec![true, false, true, true]);
        freq.update(&[ints(&[Some(1), Some(1), None, Some(2)])], Some(&mask))
            .unwrap();
        let s = freq.stats();
        assert_eq!(
            (s.distinct, s.singletons, s.rows, s.null_rows),
            (2, 2, 2, 1)
        );
    }

    #[test]
    fn tuples_group_with_partial_nulls_and_skip_all_null() {
        let mut freq = Frequencies::new(&[DataType::Int64, DataType::Utf8]).unwrap();
        let a = ints(&[Some(1), Some(1), None, None, Some(1)]);
        let b: ArrayRef = Arc::new(StringArray::from(vec![
            Some("x"),
            Some("x"),
            Some("y"),
            None,
            None,
        ]));
        freq.update(&[a, b], None).unwrap();
        let s = freq.stats();
        // (1,x)×2, (null,y)×1, (1,null)×1; (null,null) is not a value
        assert_eq!(
            (s.distinct, s.singletons, s.rows, s.null_rows),
            (3, 2, 4, 1)
        );
        assert_eq!(s.duplicate_rows, 2);
    }

    #[test]
    fn strings_are_compared_exactly_not_by_hash() {
        let mut freq = Frequencies::new(&[DataType::Utf8]).unwrap();
        let values: Vec<String> = (0..50_000).map(|i| format!("v{i}")).collect();
        let col: ArrayRef = Arc::new(StringArray::from_iter_values(values.iter()));
        freq.update(std::slice::from_ref(&col), None).unwrap();
        freq.update(&[col], None).unwrap();
        let s = freq.stats();
        assert_eq!((s.distinct, s.singletons, s.rows), (50_000, 0, 100_000));
        assert_eq!(s.duplicate_rows, 100_000);
    }
}

//! `Frequencies`: exact counts of each distinct value (or value tuple) of some columns — the one
//! state behind Uniqueness, IsUnique, IsPrimaryKey, DistinctValuesCount, UniqueValueRatio,
//! Entropy and DuplicateRowCount, shared by every rule over the same columns and `where`.
//!
//! As in deequ's frequency analyzers, a row whose key columns are *all* null is not a value: it
//! is counted in [`FrequencyStats::null_rows`] and kept out of the table. A tuple with some
//! nulls is a value (null equals null for grouping, as in SQL `GROUP BY`).
//!
//! Memory grows with the number of distinct keys, not rows. A key of at most 8 bytes (any
//! integer, float, date or timestamp column) lives in the hash table itself next to its count:
//! 16 bytes plus table overhead, about 20–37 bytes per distinct value depending on the table's
//! load. Other keys (strings, several columns) go to a [`KeyTable`] — the key bytes, an 8-byte
//! offset and a 4-byte slot — plus an 8-byte count.

use arrow::array::{Array, ArrayRef, AsArray, GenericStringArray};
use arrow::buffer::{BooleanBuffer, Buffer};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::key_table::KeyTable;
use crate::dq::error::DqError;

/// How a row's key becomes bytes.
#[derive(Debug)]
enum Encoding {
    /// One primitive column (integers, floats, dates, timestamps, decimals): the value's bytes,
    /// read straight from the column's buffer. Floats compare by bits.
    Primitive { width: usize },
    /// One string column: the text's UTF-8 bytes.
    Utf8,
    /// One large string column.
    LargeUtf8,
    /// Several columns, or other types: Arrow's row format.
    Rows(RowConverter),
}

/// Counts of every distinct key seen.
#[derive(Debug)]
pub struct Frequencies {
    encoding: Encoding,
    store: Store,
    null_rows: u64,
}

/// Where the counts live.
#[derive(Debug)]
enum Store {
    /// Keys of at most 8 bytes, held in the table next to their count (one memory access per row).
    Inline {
        hasher: ahash::RandomState,
        table: HashTable<(u64, u64)>,
    },
    /// Any other key: its index in a key table, and a count per index.
    Keyed { keys: KeyTable, counts: Vec<u64> },
}

impl Store {
    fn add(&mut self, key: &[u8]) -> Result<(), DqError> {
        match self {
            Store::Inline { .. } => {
                let mut bytes = [0u8; 8];
                bytes[..key.len()].copy_from_slice(key);
                self.add_inline(u64::from_le_bytes(bytes), 1)
            }
            Store::Keyed { .. } => self.add_keyed(key, 1),
        }
    }

    #[inline]
    /// Adds `count` occurrences of the key whose (zero-padded) value is `v` — inline only.
    fn add_inline(&mut self, v: u64, count: u64) -> Result<(), DqError> {
        let Store::Inline { hasher, table } = self else {
            return Err(DqError::Ruleset(
                "internal: inline key in a keyed frequency table".into(),
            ));
        };
        let entry = table.entry(hasher.hash_one(v), |e| e.0 == v, |e| hasher.hash_one(e.0));
        match entry {
            Entry::Occupied(mut e) => e.get_mut().1 += count,
            Entry::Vacant(e) => {
                e.insert((v, count));
            }
        }
        Ok(())
    }

    #[inline]
    /// Adds `count` occurrences of `key` — keyed only.
    fn add_keyed(&mut self, key: &[u8], count: u64) -> Result<(), DqError> {
        let Store::Keyed { keys, counts } = self else {
            return Err(DqError::Ruleset(
                "internal: variable key in an inline frequency table".into(),
            ));
        };
        let (index, new) = keys.insert(key)?;
        if new {
            counts.push(count);
        } else {
            counts[index] += count;
        }
        Ok(())
    }

    fn for_each_count(&self, mut f: impl FnMut(u64)) {
        match self {
            Store::Inline { table, .. } => table.iter().for_each(|e| f(e.1)),
            Store::Keyed { counts, .. } => counts.iter().for_each(|&c| f(c)),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Store::Inline { table, .. } => {
                table.capacity() * (std::mem::size_of::<(u64, u64)>() + 1)
            }
            Store::Keyed { keys, counts } => {
                keys.heap_bytes() + counts.capacity() * std::mem::size_of::<u64>()
            }
        }
    }
}

/// A frequency table saved by a shard ([`crate::dq::partial`]): every key with its count.
///
/// `entries` is, for an inline table, `(value: u64 LE, count: u64 LE)` pairs; for a keyed one,
/// `(length: u32 LE, key bytes, count: u64 LE)` records. Key bytes are the same encoding a
/// single run uses (value bytes, UTF-8, Arrow's row format), so equal values merge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrequencyState {
    inline: bool,
    null_rows: u64,
    #[serde(with = "crate::dq::partial::base64_bytes")]
    entries: Vec<u8>,
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
        let keyed = |keys| Store::Keyed {
            keys,
            counts: Vec::new(),
        };
        let (encoding, store) = match types {
            [t] if t.is_primitive() && t.primitive_width().is_some() => {
                let width = t.primitive_width().unwrap_or(1);
                let store = if width <= 8 {
                    Store::Inline {
                        hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
                        table: HashTable::new(),
                    }
                } else {
                    keyed(KeyTable::fixed(width))
                };
                (Encoding::Primitive { width }, store)
            }
            [DataType::Utf8] => (Encoding::Utf8, keyed(KeyTable::default())),
            [DataType::LargeUtf8] => (Encoding::LargeUtf8, keyed(KeyTable::default())),
            _ => {
                let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
                (
                    Encoding::Rows(RowConverter::new(fields)?),
                    keyed(KeyTable::default()),
                )
            }
        };
        Ok(Frequencies {
            encoding,
            store,
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
        let keys = KeySource::new(&self.encoding, columns)?;
        let store = &mut self.store;
        let mut record = |i: usize| store.add(keys.key(i));
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
        let mut distinct = 0u64;
        self.store.for_each_count(|c| {
            distinct += 1;
            rows += c;
            if c == 1 {
                singletons += 1;
            } else {
                duplicate_rows += c;
                sum_c_ln_c += (c as f64) * (c as f64).ln();
            }
        });
        // -Σ (c/N) ln(c/N) = ln N − (Σ c ln c) / N
        let entropy = if rows == 0 {
            0.0
        } else {
            let n = rows as f64;
            (n.ln() - sum_c_ln_c / n).max(0.0)
        };
        FrequencyStats {
            distinct,
            singletons,
            rows,
            null_rows: self.null_rows,
            duplicate_rows,
            entropy,
        }
    }

    /// Approximate heap bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        self.store.heap_bytes()
    }

    /// Every key and count, for a shard's saved state.
    pub fn save(&self) -> FrequencyState {
        let mut entries = Vec::new();
        let inline = match &self.store {
            Store::Inline { table, .. } => {
                entries.reserve(table.len() * 16);
                for (v, c) in table.iter() {
                    entries.extend_from_slice(&v.to_le_bytes());
                    entries.extend_from_slice(&c.to_le_bytes());
                }
                true
            }
            Store::Keyed { keys, counts } => {
                for (i, c) in counts.iter().enumerate() {
                    let key = keys.key(i);
                    // Keys come from one Arrow value (< 4 GiB); `u32` keeps the format compact.
                    entries.extend_from_slice(&(key.len() as u32).to_le_bytes());
                    entries.extend_from_slice(key);
                    entries.extend_from_slice(&c.to_le_bytes());
                }
                false
            }
        };
        FrequencyState {
            inline,
            null_rows: self.null_rows,
            entries,
        }
    }

    /// Adds a saved table's counts to this one (built for the same columns).
    pub fn merge(&mut self, state: &FrequencyState) -> Result<(), DqError> {
        if state.inline != matches!(self.store, Store::Inline { .. }) {
            return Err(corrupt_state());
        }
        let mut rest = state.entries.as_slice();
        while !rest.is_empty() {
            if state.inline {
                let v = u64::from_le_bytes(take(&mut rest)?);
                let count = u64::from_le_bytes(take(&mut rest)?);
                self.store.add_inline(v, count)?;
            } else {
                let len = u32::from_le_bytes(take(&mut rest)?) as usize;
                if rest.len() < len {
                    return Err(corrupt_state());
                }
                let (key, tail) = rest.split_at(len);
                rest = tail;
                let count = u64::from_le_bytes(take(&mut rest)?);
                self.store.add_keyed(key, count)?;
            }
        }
        self.null_rows += state.null_rows;
        Ok(())
    }
}

fn corrupt_state() -> DqError {
    DqError::Ruleset("corrupt frequency table in a shard state".into())
}

/// The next `N` bytes of a saved table.
fn take<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], DqError> {
    let Some((head, tail)) = rest.split_first_chunk::<N>() else {
        return Err(corrupt_state());
    };
    *rest = tail;
    Ok(*head)
}

/// The key bytes of each row of one batch.
enum KeySource<'a> {
    Primitive {
        values: Buffer,
        start: usize,
        width: usize,
    },
    Utf8(&'a GenericStringArray<i32>),
    LargeUtf8(&'a GenericStringArray<i64>),
    Rows(Rows),
}

impl<'a> KeySource<'a> {
    fn new(encoding: &Encoding, columns: &'a [ArrayRef]) -> Result<Self, DqError> {
        Ok(match (encoding, columns) {
            (Encoding::Primitive { width }, [c]) => {
                // The values buffer is shared, not copied.
                let data = c.to_data();
                let values = data.buffers().first().cloned().ok_or_else(|| {
                    DqError::Ruleset(format!("internal: {} column without values", c.data_type()))
                })?;
                KeySource::Primitive {
                    values,
                    start: data.offset() * width,
                    width: *width,
                }
            }
            (Encoding::Utf8, [c]) => KeySource::Utf8(c.as_string::<i32>()),
            (Encoding::LargeUtf8, [c]) => KeySource::LargeUtf8(c.as_string::<i64>()),
            (Encoding::Rows(converter), _) => KeySource::Rows(converter.convert_columns(columns)?),
            _ => {
                return Err(DqError::Ruleset(
                    "internal: key columns do not match their encoding".into(),
                ));
            }
        })
    }

    fn key(&self, i: usize) -> &[u8] {
        match self {
            KeySource::Primitive {
                values,
                start,
                width,
            } => &values.as_slice()[start + i * width..start + (i + 1) * width],
            KeySource::Utf8(s) => s.value(i).as_bytes(),
            KeySource::LargeUtf8(s) => s.value(i).as_bytes(),
            KeySource::Rows(rows) => rows.row(i).data(),
        }
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
    fn every_key_path_counts_the_same() {
        use arrow::array::{
            Date32Array, Decimal128Array, Float64Array, Int8Array, LargeStringArray,
        };
        // each column holds the values a a b c (and a null): distinct 3, singletons 2
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int8Array::from(vec![
                Some(1),
                Some(1),
                Some(2),
                None,
                Some(3),
            ])),
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                Some(0.5),
                Some(-1.0),
                None,
                Some(7.0),
            ])),
            Arc::new(Date32Array::from(vec![
                Some(10),
                Some(10),
                Some(11),
                None,
                Some(12),
            ])),
            Arc::new(
                Decimal128Array::from(vec![Some(100), Some(100), Some(-5), None, Some(7)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(LargeStringArray::from(vec![
                Some("a"),
                Some("a"),
                Some("b"),
                None,
                Some("c"),
            ])),
        ];
        for c in columns {
            let mut freq = Frequencies::new(&[c.data_type().clone()]).unwrap();
            freq.update(&[c.slice(0, 2)], None).unwrap();
            freq.update(&[c.slice(2, 3)], None).unwrap();
            let s = freq.stats();
            assert_eq!(
                (
                    s.distinct,
                    s.singletons,
                    s.rows,
                    s.null_rows,
                    s.duplicate_rows
                ),
                (3, 2, 4, 1, 2),
                "{}",
                c.data_type()
            );
        }
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

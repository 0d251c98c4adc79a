//! String lengths in characters, as Spark's `length`: a vectorised kernel ([`char_lengths`]) and
//! the constant-size minimum/maximum ColumnLength reads ([`LengthRange`]).
//!
//! Arrow's own `length` kernel counts bytes; DQDL lengths are characters. When a batch's string
//! data is all ASCII (checked once per batch over the whole value buffer) the lengths are just
//! the offset differences; otherwise each value's characters are counted.

use arrow::array::{Array, AsArray, GenericStringArray, Int64Array, OffsetSizeTrait};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// Character length of each value (null where the value is null). Non-string columns are cast
/// to text first, as Spark does for `length(col)`.
pub fn char_lengths(array: &dyn Array) -> Result<Int64Array, ArrowError> {
    match array.data_type() {
        DataType::Utf8 => Ok(lengths_of(array.as_string::<i32>())),
        DataType::LargeUtf8 => Ok(lengths_of(array.as_string::<i64>())),
        DataType::Utf8View => {
            let view = array.as_string_view();
            let values: Vec<i64> = view
                .iter()
                .map(|v| v.map_or(0, |s| s.chars().count() as i64))
                .collect();
            Ok(Int64Array::new(
                ScalarBuffer::from(values),
                view.nulls().cloned(),
            ))
        }
        _ => {
            let text = cast_with_options(array, &DataType::Utf8, &CastOptions::default())?;
            Ok(lengths_of(text.as_string::<i32>()))
        }
    }
}

fn lengths_of<O: OffsetSizeTrait>(array: &GenericStringArray<O>) -> Int64Array {
    let offsets = array.value_offsets();
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    let ascii = array.value_data()[first..last].is_ascii();
    let values: Vec<i64> = if ascii {
        offsets
            .windows(2)
            .map(|w| (w[1].as_usize() - w[0].as_usize()) as i64)
            .collect()
    } else {
        (0..array.len())
            .map(|i| array.value(i).chars().count() as i64)
            .collect()
    };
    Int64Array::new(ScalarBuffer::from(values), array.nulls().cloned())
}

/// Minimum and maximum character length, a null value counting as length 0 (the ColumnLength
/// docs: a null fails `> 4` and passes `< 6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct LengthRange {
    range: Option<(i64, i64)>,
}

impl LengthRange {
    /// Adds `lengths` (nulls as 0) of the rows `selected` (all when `None`).
    pub fn update(&mut self, lengths: &Int64Array, selected: Option<&NullBuffer>) {
        let values = lengths.values();
        let nulls = lengths.nulls();
        let len_at = |i: usize| {
            if nulls.is_some_and(|n| n.is_null(i)) {
                0
            } else {
                values[i]
            }
        };
        let mut fold = |i: usize| {
            let l = len_at(i);
            self.range = Some(match self.range {
                None => (l, l),
                Some((lo, hi)) => (lo.min(l), hi.max(l)),
            });
        };
        match selected {
            None => (0..lengths.len()).for_each(&mut fold),
            Some(sel) => sel.valid_indices().for_each(&mut fold),
        }
    }

    /// Folds in another range (a shard's).
    pub fn merge(&mut self, other: &LengthRange) {
        self.range = match (self.range, other.range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
    }

    /// Shortest length seen.
    pub fn min(&self) -> Option<i64> {
        self.range.map(|r| r.0)
    }

    /// Longest length seen.
    pub fn max(&self) -> Option<i64> {
        self.range.map(|r| r.1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::{Int32Array, LargeStringArray, StringArray, StringViewArray};
    use arrow::buffer::BooleanBuffer;

    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let a = StringArray::from(vec![
            Some("abc"),
            None,
            Some(""),
            Some("héllo"),
            Some("日本"),
        ]);
        let l = char_lengths(&a).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [Some(3), None, Some(0), Some(5), Some(2)]
        );
        let large = LargeStringArray::from(vec![Some("ab"), None]);
        assert_eq!(
            char_lengths(&large).unwrap().iter().collect::<Vec<_>>(),
            [Some(2), None]
        );
        let view = StringViewArray::from(vec![Some("ünï"), None]);
        assert_eq!(
            char_lengths(&view).unwrap().iter().collect::<Vec<_>>(),
            [Some(3), None]
        );
    }

    #[test]
    fn sliced_arrays_use_their_own_window() {
        let a = StringArray::from(vec!["ü", "abcd", "xy"]);
        let s = a.slice(1, 2);
        let l = char_lengths(&s).unwrap();
        assert_eq!(l.values().as_ref(), &[4, 2]);
    }

    #[test]
    fn numbers_are_measured_as_text() {
        let a = Int32Array::from(vec![Some(5), Some(-120), None]);
        let l = char_lengths(&a).unwrap();
        assert_eq!(l.iter().collect::<Vec<_>>(), [Some(1), Some(4), None]);
    }

    #[test]
    fn range_counts_null_as_zero_and_respects_selection() {
        let lengths = Int64Array::from(vec![Some(3), None, Some(7), Some(5)]);
        let mut all = LengthRange::default();
        all.update(&lengths, None);
        assert_eq!((all.min(), all.max()), (Some(0), Some(7)));

        let mut some = LengthRange::default();
        let sel = NullBuffer::new(BooleanBuffer::from(vec![true, false, false, true]));
        some.update(&lengths, Some(&sel));
        assert_eq!((some.min(), some.max()), (Some(3), Some(5)));

        assert_eq!(LengthRange::default().min(), None);
    }
}

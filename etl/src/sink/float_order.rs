//! Min/max statistics of FLOAT and DOUBLE columns that every reader uses.
//!
//! parquet-rs labels every floating-point column with the `IEEE_754_TOTAL_ORDER` column order
//! (PARQUET-2249) and has no writer property to choose another. Readers that predate that order
//! (parquet-cpp and so pyarrow 26, DuckDB, Trino/Athena, older Spark) see an unknown order and
//! ignore the column's min/max: `has_min_max` is false and no row group is pruned on a double.
//! The created-by string is not the cause: those readers trust other writers' float statistics.
//!
//! The two orders only disagree about NaN (a bound under the total order, never under the
//! type-defined one), and the writer counts NaNs per column chunk. So a float column with no NaN
//! in any row group is relabelled `TYPE_DEFINED_ORDER`, which every reader knows: in the footer's
//! `column_orders` list each entry is a one-field thrift union whose field id says the order, so
//! the relabelling changes one byte per column and moves no offset. A column with a NaN keeps
//! the total order (older readers then ignore its bounds, which is safe). If the footer does not
//! end as described (a parquet-rs upgrade changed it), the file is left as written; the tests
//! here pin the layout.

use std::io::{self, Write};

use anyhow::Result;
use parquet::arrow::ArrowWriter;
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::RowGroupMetaData;

/// A writer that, once told to [`hold`](Self::hold), keeps what is written in memory: the
/// file's tail (footer and page indexes), to be relabelled before it goes out.
pub struct HoldTail<W: Write> {
    inner: W,
    held: Option<Vec<u8>>,
}

impl<W: Write> HoldTail<W> {
    pub fn new(inner: W) -> Self {
        HoldTail { inner, held: None }
    }

    pub fn inner(&self) -> &W {
        &self.inner
    }

    fn hold(&mut self) {
        self.held.get_or_insert_with(Vec::new);
    }
}

impl<W: Write> Write for HoldTail<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.held {
            Some(held) => {
                held.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => self.inner.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.held {
            Some(_) => Ok(()),
            None => self.inner.flush(),
        }
    }
}

/// Writes the footer of `writer`'s file, with its NaN-free float columns relabelled
/// type-defined, and returns the destination.
pub fn close<W: Write + Send>(mut writer: ArrowWriter<HoldTail<W>>) -> Result<W> {
    writer.flush()?;
    let columns = nan_free_float_columns(writer.flushed_row_groups());
    writer.inner_mut().hold();
    let HoldTail { mut inner, held } = writer.into_inner()?;
    let mut tail = held.unwrap_or_default();
    if let Some((count, columns)) = columns {
        relabel_type_defined(&mut tail, count, &columns);
    }
    inner.write_all(&tail)?;
    inner.flush()?;
    Ok(inner)
}

/// The number of leaf columns and those of FLOAT or DOUBLE type whose every row group counted
/// zero NaNs (`None` without row groups).
fn nan_free_float_columns(row_groups: &[RowGroupMetaData]) -> Option<(usize, Vec<usize>)> {
    let first = row_groups.first()?;
    let columns = (0..first.num_columns())
        .filter(|&i| {
            matches!(
                first.column(i).column_descr().physical_type(),
                PhysicalType::FLOAT | PhysicalType::DOUBLE
            ) && row_groups
                .iter()
                .all(|rg| rg.column(i).statistics().and_then(|s| s.nan_count_opt()) == Some(0))
        })
        .collect();
    Some((first.num_columns(), columns))
}

/// Thrift compact encoding of a `ColumnOrder` union entry: a struct field header (field id
/// delta in the high nibble, type 12 = struct), the empty struct's stop, the union's stop.
const TYPE_DEFINED_ORDER: u8 = 0x1C;
const IEEE_754_TOTAL_ORDER: u8 = 0x2C;
const INT96_TIMESTAMP_ORDER: u8 = 0x3C;

/// In `tail` (the end of a Parquet file: … footer, its length, `PAR1`), relabels the listed
/// columns' order type-defined. `FileMetaData` ends with field 7 `column_orders` (after
/// field 6 `created_by`, which we always set): header `0x19`, a list header for `count`
/// structs, `count` three-byte entries, then the struct's stop byte. Returns whether the
/// layout was as expected (nothing is changed otherwise).
fn relabel_type_defined(tail: &mut [u8], count: usize, columns: &[usize]) -> bool {
    let Some(footer_end) = tail
        .len()
        .checked_sub(8)
        .filter(|&end| &tail[end + 4..] == b"PAR1")
    else {
        return false;
    };
    let footer_len = u32::from_le_bytes([
        tail[footer_end],
        tail[footer_end + 1],
        tail[footer_end + 2],
        tail[footer_end + 3],
    ]) as usize;
    let mut header = vec![0x19];
    if count < 15 {
        header.push(((count as u8) << 4) | 0x0C);
    } else {
        header.push(0xFC);
        let mut n = count;
        while n >= 0x80 {
            header.push((n as u8 & 0x7F) | 0x80);
            n >>= 7;
        }
        header.push(n as u8);
    }
    let Some(entries) = footer_end.checked_sub(1 + 3 * count) else {
        return false;
    };
    let Some(start) = entries.checked_sub(header.len()) else {
        return false;
    };
    let valid_entry = |e: &[u8]| {
        matches!(
            e[0],
            TYPE_DEFINED_ORDER | IEEE_754_TOTAL_ORDER | INT96_TIMESTAMP_ORDER
        ) && e[1] == 0
            && e[2] == 0
    };
    let expected = footer_len <= footer_end
        && start >= footer_end - footer_len
        && tail[footer_end - 1] == 0
        && tail[start..entries] == header[..]
        && tail[entries..footer_end - 1].chunks(3).all(valid_entry);
    if !expected {
        return false;
    }
    for &i in columns.iter().filter(|&&i| i < count) {
        let at = entries + 3 * i;
        if tail[at] == IEEE_754_TOTAL_ORDER {
            tail[at] = TYPE_DEFINED_ORDER;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch};
    use bytes::Bytes;
    use parquet::basic::ColumnOrder;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;

    fn write(columns: Vec<(&str, ArrayRef)>, row_group_rows: usize) -> Vec<u8> {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(row_group_rows))
            .build();
        let mut writer =
            ArrowWriter::try_new(HoldTail::new(Vec::new()), batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        close(writer).unwrap()
    }

    fn orders(file: Vec<u8>) -> Vec<ColumnOrder> {
        let reader = SerializedFileReader::new(Bytes::from(file)).unwrap();
        reader
            .metadata()
            .file_metadata()
            .column_orders()
            .unwrap()
            .clone()
    }

    #[test]
    fn nan_free_floats_are_labelled_type_defined() {
        let file = write(
            vec![
                (
                    "d",
                    Arc::new(Float64Array::from(vec![1.5, -2.25, 3.0])) as ArrayRef,
                ),
                ("n", Arc::new(Int64Array::from(vec![1, 2, 3]))),
                ("f", Arc::new(Float32Array::from(vec![0.5, f32::NAN, 1.0]))),
            ],
            2,
        );
        let got = orders(file.clone());
        assert!(
            matches!(got[0], ColumnOrder::TYPE_DEFINED_ORDER(_)),
            "{got:?}"
        );
        assert!(
            matches!(got[1], ColumnOrder::TYPE_DEFINED_ORDER(_)),
            "{got:?}"
        );
        // A NaN in one row group keeps the total order for that column.
        assert_eq!(got[2], ColumnOrder::IEEE_754_TOTAL_ORDER, "{got:?}");
        // The statistics themselves are untouched and still read back.
        let reader = SerializedFileReader::new(Bytes::from(file)).unwrap();
        let stats = reader
            .metadata()
            .row_group(0)
            .column(0)
            .statistics()
            .unwrap();
        assert_eq!(stats.min_bytes_opt().unwrap(), (-2.25f64).to_le_bytes());
    }

    #[test]
    fn wide_schemas_use_the_long_list_header() {
        let columns: Vec<(String, ArrayRef)> = (0..20)
            .map(|i| {
                (
                    format!("c{i}"),
                    Arc::new(Float64Array::from(vec![f64::from(i)])) as ArrayRef,
                )
            })
            .collect();
        let file = write(
            columns
                .iter()
                .map(|(n, a)| (n.as_str(), a.clone()))
                .collect(),
            10,
        );
        assert!(
            orders(file)
                .iter()
                .all(|o| matches!(o, ColumnOrder::TYPE_DEFINED_ORDER(_)))
        );
    }

    #[test]
    fn an_unexpected_footer_is_left_alone() {
        let mut tail = b"not a parquet tail PAR1".to_vec();
        let before = tail.clone();
        assert!(!relabel_type_defined(&mut tail, 3, &[0]));
        assert_eq!(tail, before);
        assert!(!relabel_type_defined(&mut [0u8; 3], 1, &[0]));
    }
}

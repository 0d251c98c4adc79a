//! One Parquet file: writer properties and row-group sizing.
//!
//! Row groups are cut by encoded size (default 16 MiB) rather than by row count: Athena and
//! Spark split work by row group, so groups of tens of MiB parallelise well, and a bound in bytes
//! is also what bounds our memory, since a row group is held encoded in memory until it is
//! flushed. Timestamps are written as INT64 microseconds with `isAdjustedToUTC = true`
//! (the Arrow type is `Timestamp(µs, "+00:00")`), which every engine reads as an instant.

use anyhow::{Context, Result};
use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::datatypes::{Schema, SchemaRef};
use gluepipe_spec::pipeline::Compression;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{
    Compression as Codec, GzipLevel, LogicalType, Type as PhysicalType, ZstdLevel,
};
use parquet::file::properties::{WriterProperties, WriterVersion};

use super::float_order::{self, HoldTail};
use crate::storage::{ObjectWriter, WrittenObject};

/// How files are written.
#[derive(Debug, Clone)]
pub struct FileOptions {
    pub compression: Compression,
    /// Flush a row group once this many encoded bytes are buffered.
    pub row_group_bytes: usize,
    /// And at most this many rows per row group.
    pub row_group_rows: usize,
    /// Start a new file past this size.
    pub file_bytes: u64,
}

impl FileOptions {
    /// The file name suffix, as Spark names its files (`.snappy.parquet`).
    pub fn suffix(&self) -> &'static str {
        match self.compression {
            Compression::Snappy => "snappy.parquet",
            Compression::Zstd => "zstd.parquet",
            Compression::Gzip => "gz.parquet",
            Compression::None => "parquet",
        }
    }

    /// Writer properties for files of `schema`. Dictionary encoding stays on (as Spark's default)
    /// except for floating-point, decimal and timestamp columns: their values rarely repeat, so
    /// the writer would hash up to a dictionary page of them in every row group only to fall back
    /// to plain encoding; on the benchmark orders that was a fifth of the run's CPU.
    ///
    /// With a `sample` (the file's first rows), dictionary encoding is also turned off for
    /// string and integer columns whose sampled values are mostly distinct (ids, street names,
    /// SKUs): the dictionary would not pay for itself there either.
    pub fn properties(&self, schema: &Schema, sample: Option<&RecordBatch>) -> WriterProperties {
        let codec = match self.compression {
            Compression::Snappy => Codec::SNAPPY,
            Compression::Zstd => {
                Codec::ZSTD(ZstdLevel::try_new(3).expect("3 is a valid zstd level"))
            }
            Compression::Gzip => Codec::GZIP(GzipLevel::default()),
            Compression::None => Codec::UNCOMPRESSED,
        };
        let mut builder = WriterProperties::builder();
        if let Ok(descr) = ArrowSchemaConverter::new().convert(schema) {
            let mut sampled = Vec::new();
            if let Some(batch) = sample {
                for column in batch.columns() {
                    leaves(column, &mut sampled);
                }
            }
            if sampled.len() != descr.num_columns() {
                sampled.clear();
            }
            for (i, column) in descr.columns().iter().enumerate() {
                let mut repetitive = match column.physical_type() {
                    PhysicalType::FLOAT | PhysicalType::DOUBLE => false,
                    _ => !matches!(
                        column.logical_type_ref(),
                        Some(LogicalType::Timestamp { .. } | LogicalType::Decimal { .. })
                    ),
                };
                if let Some(leaf) = sampled.get(i) {
                    repetitive &= distinct_share(leaf).is_none_or(|share| share <= 0.5);
                }
                if !repetitive {
                    builder = builder.set_column_dictionary_enabled(column.path().clone(), false);
                }
            }
        }
        builder
            // v1 data pages: readable by every engine Athena has shipped.
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(codec)
            // Half of parquet-rs's 1 MiB defaults: every leaf column of every open file buffers a
            // page (and a dictionary) in memory, so these bound memory; pages this size still
            // compress well.
            .set_data_page_size_limit(512 << 10)
            .set_dictionary_page_size_limit(512 << 10)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1)))
            .set_created_by(format!("gluepipe-etl {}", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

/// The leaf arrays of `array`, in Parquet's column order (depth first, as the schema converts).
fn leaves(array: &ArrayRef, out: &mut Vec<ArrayRef>) {
    match array.data_type() {
        DataType::Struct(_) => {
            for child in array.as_struct().columns() {
                leaves(child, out);
            }
        }
        DataType::List(_) => leaves(array.as_list::<i32>().values(), out),
        DataType::LargeList(_) => leaves(array.as_list::<i64>().values(), out),
        DataType::Map(..) => {
            let entries: ArrayRef = Arc::new(array.as_map().entries().clone());
            leaves(&entries, out);
        }
        _ => out.push(array.clone()),
    }
}

/// The share of distinct values among the non-null values of a string or integer leaf, if
/// there are enough of them to tell.
fn distinct_share(array: &ArrayRef) -> Option<f64> {
    fn share<T: std::hash::Hash + Eq>(values: impl Iterator<Item = T>) -> Option<f64> {
        let mut seen = HashSet::new();
        let mut n = 0usize;
        for v in values {
            seen.insert(v);
            n += 1;
        }
        (n >= 1000).then(|| seen.len() as f64 / n as f64)
    }
    match array.data_type() {
        DataType::Utf8 => share(array.as_string::<i32>().iter().flatten()),
        DataType::Int64 => share(array.as_primitive::<Int64Type>().iter().flatten()),
        DataType::Int32 => share(array.as_primitive::<Int32Type>().iter().flatten()),
        _ => None,
    }
}

/// An open Parquet file being written.
pub struct ParquetFile {
    writer: ArrowWriter<HoldTail<ObjectWriter>>,
    rows: u64,
}

/// A finished file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub object: WrittenObject,
    pub rows: u64,
}

impl ParquetFile {
    /// A file for `schema`; `sample` (its first rows) tunes the encodings.
    pub fn create(
        out: ObjectWriter,
        schema: SchemaRef,
        options: &FileOptions,
        sample: Option<&RecordBatch>,
    ) -> Result<ParquetFile> {
        let uri = out.uri().to_string();
        let properties = options.properties(&schema, sample);
        let writer = ArrowWriter::try_new(HoldTail::new(out), schema, Some(properties))
            .with_context(|| format!("starting Parquet file {uri}"))?;
        Ok(ParquetFile { writer, rows: 0 })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).context("encoding Parquet")?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Bytes written plus the row group in progress: the file's size so far, about.
    pub fn size(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer and completes the object (still staged until the run commits).
    pub fn finish(self) -> Result<Finished> {
        let uri = self.writer.inner().inner().uri().to_string();
        let out = float_order::close(self.writer)
            .with_context(|| format!("finishing Parquet file {uri}"))?;
        let object = out.finish()?;
        Ok(Finished {
            object,
            rows: self.rows,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
    use parquet::schema::types::ColumnPath;

    use super::*;

    #[test]
    fn dictionary_only_where_values_repeat() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("status", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new_list(
                "items",
                Field::new("element", DataType::Float32, true),
                true,
            ),
        ]);
        let options = FileOptions {
            compression: Compression::Snappy,
            row_group_bytes: 1 << 20,
            row_group_rows: 1000,
            file_bytes: 1 << 30,
        };
        let props = options.properties(&schema, None);
        let dict = |path: &[&str]| {
            props.dictionary_enabled(&ColumnPath::new(
                path.iter().map(|s| s.to_string()).collect(),
            ))
        };
        assert!(dict(&["id"]));
        assert!(dict(&["status"]));
        assert!(!dict(&["amount"]));
        assert!(!dict(&["ts"]));
        assert!(!dict(&["price"]));
        assert!(!dict(&["items", "list", "element"]));
        assert_eq!(props.max_row_group_row_count(), Some(1000));
    }

    #[test]
    fn dictionary_off_where_sampled_values_are_mostly_distinct() {
        use arrow::array::{Int64Array, ListArray, StringArray, StructArray};
        use arrow::buffer::OffsetBuffer;

        let n = 2000;
        let ids = Int64Array::from((0..n as i64).collect::<Vec<_>>());
        let status = StringArray::from((0..n).map(|i| ["new", "paid"][i % 2]).collect::<Vec<_>>());
        let sku = StringArray::from((0..n).map(|i| format!("SKU-{i}")).collect::<Vec<_>>());
        let item_fields = Fields::from(vec![Field::new("sku", DataType::Utf8, true)]);
        let items_struct =
            StructArray::new(item_fields.clone(), vec![Arc::new(sku) as ArrayRef], None);
        let element = Arc::new(Field::new("element", DataType::Struct(item_fields), true));
        let items = ListArray::new(
            element,
            OffsetBuffer::from_lengths(vec![1; n]),
            Arc::new(items_struct),
            None,
        );
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(ids) as ArrayRef),
            ("status", Arc::new(status) as ArrayRef),
            ("items", Arc::new(items) as ArrayRef),
        ])
        .unwrap();
        let options = FileOptions {
            compression: Compression::Snappy,
            row_group_bytes: 1 << 20,
            row_group_rows: 1000,
            file_bytes: 1 << 30,
        };
        let props = options.properties(&batch.schema(), Some(&batch));
        let dict = |path: &[&str]| {
            props.dictionary_enabled(&ColumnPath::new(
                path.iter().map(|s| s.to_string()).collect(),
            ))
        };
        assert!(!dict(&["id"]), "unique ids");
        assert!(dict(&["status"]), "two values");
        assert!(
            !dict(&["items", "list", "element", "sku"]),
            "nested unique strings"
        );
    }
}

//! One Parquet file: writer properties and row-group sizing.
//!
//! Row groups are cut by encoded size (default 16 MiB) rather than by row count: Athena and
//! Spark split work by row group, so groups of tens of MiB parallelise well, and a bound in bytes
//! is also what bounds our memory, since a row group is held encoded in memory until it is
//! flushed. Timestamps are written as INT64 microseconds with `isAdjustedToUTC = true`
//! (the Arrow type is `Timestamp(µs, "+00:00")`), which every engine reads as an instant.

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use gluepipe_spec::pipeline::Compression;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{
    Compression as Codec, GzipLevel, LogicalType, Type as PhysicalType, ZstdLevel,
};
use parquet::file::properties::{WriterProperties, WriterVersion};

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
    pub fn properties(&self, schema: &Schema) -> WriterProperties {
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
            for column in descr.columns() {
                let repetitive = match column.physical_type() {
                    PhysicalType::FLOAT | PhysicalType::DOUBLE => false,
                    _ => !matches!(
                        column.logical_type_ref(),
                        Some(LogicalType::Timestamp { .. } | LogicalType::Decimal { .. })
                    ),
                };
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

/// An open Parquet file being written.
pub struct ParquetFile {
    writer: ArrowWriter<ObjectWriter>,
    rows: u64,
}

/// A finished file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub object: WrittenObject,
    pub rows: u64,
}

impl ParquetFile {
    pub fn create(
        out: ObjectWriter,
        schema: SchemaRef,
        options: &FileOptions,
    ) -> Result<ParquetFile> {
        let uri = out.uri().to_string();
        let properties = options.properties(&schema);
        let writer = ArrowWriter::try_new(out, schema, Some(properties))
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
        let out = self
            .writer
            .into_inner()
            .context("finishing a Parquet file")?;
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
    use arrow::datatypes::{DataType, Field, TimeUnit};
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
        let props = options.properties(&schema);
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
}

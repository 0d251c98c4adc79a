//! One Parquet file: writer properties and row-group sizing.
//!
//! Row groups are cut by encoded size (default 32 MiB) rather than by row count: Athena and
//! Spark split work by row group, so groups of tens of MiB parallelise well, and a bound in bytes
//! is also what bounds our memory, since a row group is held encoded in memory until it is
//! flushed. Timestamps are written as INT64 microseconds with `isAdjustedToUTC = true`
//! (the Arrow type is `Timestamp(µs, "+00:00")`), which every engine reads as an instant.

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use gluepipe_spec::pipeline::Compression;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as Codec, GzipLevel, ZstdLevel};
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

    pub fn properties(&self) -> WriterProperties {
        let codec = match self.compression {
            Compression::Snappy => Codec::SNAPPY,
            Compression::Zstd => {
                Codec::ZSTD(ZstdLevel::try_new(3).expect("3 is a valid zstd level"))
            }
            Compression::Gzip => Codec::GZIP(GzipLevel::default()),
            Compression::None => Codec::UNCOMPRESSED,
        };
        WriterProperties::builder()
            // v1 data pages: readable by every engine Athena has shipped.
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(codec)
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
        let writer = ArrowWriter::try_new(out, schema, Some(options.properties()))
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

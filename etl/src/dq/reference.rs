//! Reference datasets for ReferentialIntegrity, DatasetMatch, RowCountMatch, SchemaMatch and
//! AggregateMatch: rules name them by alias (`"reference.{id}"`), and a [`ReferenceResolver`]
//! turns the alias into a schema and a stream of batches.
//!
//! [`LocalReferenceResolver`] maps aliases to local files or folders of newline-delimited JSON
//! (`.json`, `.jsonl`, `.ndjson`; schema inferred) or Parquet (`.parquet`). A catalog-table or
//! S3 resolver only has to implement the one method.
//!
//! The engine reads each reference once, when it is built, and keeps only what the rules need:
//! a row count, a schema, a sum, or the key set / key → value index of the joining rules (whose
//! memory grows with the reference's distinct keys).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::json::reader::{ReaderBuilder, infer_json_schema_from_seekable};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::dq::error::DqError;

/// Batches of a reference dataset.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, DqError>> + Send>;

/// A dataset as a schema and a stream of batches (an opened reference, or `dq check` input).
pub struct Dataset {
    /// Its columns.
    pub schema: SchemaRef,
    /// Its rows.
    pub batches: Batches,
}

/// Finds the dataset behind an alias used in a rule.
pub trait ReferenceResolver: Send + Sync {
    /// Opens the dataset known as `alias`. An unknown alias is an error saying how to name one.
    fn open(&self, alias: &str) -> Result<Dataset, DqError>;
}

/// Resolves aliases to local NDJSON or Parquet files (or folders of them).
#[derive(Debug, Clone, Default)]
pub struct LocalReferenceResolver {
    sources: HashMap<String, PathBuf>,
}

impl LocalReferenceResolver {
    /// A resolver without aliases.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names `path` as `alias`.
    pub fn with(mut self, alias: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.sources.insert(alias.into(), path.into());
        self
    }

    /// Parses `alias=PATH` (the CLI's `--reference` argument).
    pub fn with_spec(self, spec: &str) -> Result<Self, String> {
        let (alias, path) = spec
            .split_once('=')
            .filter(|(a, p)| !a.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("expected ALIAS=PATH, got {spec:?}"))?;
        Ok(self.with(alias, path))
    }
}

impl ReferenceResolver for LocalReferenceResolver {
    fn open(&self, alias: &str) -> Result<Dataset, DqError> {
        let path = self.sources.get(alias).ok_or_else(|| {
            DqError::store(
                alias,
                "no reference dataset has this alias; name one with --reference ALIAS=PATH",
            )
        })?;
        open_path(path)
    }
}

/// Opens a file, or every data file of a folder (sorted by name; all must share one format).
pub fn open_path(path: &Path) -> Result<Dataset, DqError> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| DqError::io(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && format_of(p).is_some())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let Some(first) = files.first() else {
        return Err(DqError::store(
            path.display().to_string(),
            "no .json, .jsonl, .ndjson or .parquet files here",
        ));
    };
    let format = format_of(first).ok_or_else(|| {
        DqError::store(
            first.display().to_string(),
            "unknown reference format: expected .json, .jsonl, .ndjson or .parquet",
        )
    })?;
    match format {
        Format::Parquet => open_parquet(files),
        Format::Json => open_json(files),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Parquet,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "json" | "jsonl" | "ndjson" => Some(Format::Json),
        "parquet" => Some(Format::Parquet),
        _ => None,
    }
}

fn open_parquet(files: Vec<PathBuf>) -> Result<Dataset, DqError> {
    let store_error = |p: &Path, e: &dyn std::fmt::Display| {
        DqError::store(p.display().to_string(), e.to_string())
    };
    let mut readers = Vec::new();
    let mut schema: Option<SchemaRef> = None;
    for path in &files {
        let file = File::open(path).map_err(|e| DqError::io(path, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| store_error(path, &e))?;
        let this = builder.schema().clone();
        if let Some(s) = &schema {
            if s.fields() != this.fields() {
                return Err(store_error(
                    path,
                    &"its columns differ from the first file's",
                ));
            }
        }
        schema = Some(this);
        let reader = builder.build().map_err(|e| store_error(path, &e))?;
        let path = path.clone();
        readers.push(reader.map(move |b| {
            b.map_err(|e| DqError::store(path.display().to_string(), e.to_string()))
        }));
    }
    let schema = schema.ok_or_else(|| DqError::Ruleset("no reference files".into()))?;
    Ok(Dataset {
        schema,
        batches: Box::new(readers.into_iter().flatten()),
    })
}

fn open_json(files: Vec<PathBuf>) -> Result<Dataset, DqError> {
    // One schema inferred over every file, so the batches of all files agree.
    let mut merged: Option<arrow::datatypes::Schema> = None;
    for path in &files {
        let file = File::open(path).map_err(|e| DqError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let (schema, _) = infer_json_schema_from_seekable(&mut reader, None)
            .map_err(|e| DqError::store(path.display().to_string(), e.to_string()))?;
        merged = Some(match merged {
            None => schema,
            Some(m) => arrow::datatypes::Schema::try_merge([m, schema])
                .map_err(|e| DqError::store(path.display().to_string(), e.to_string()))?,
        });
    }
    let schema: SchemaRef =
        std::sync::Arc::new(merged.unwrap_or_else(arrow::datatypes::Schema::empty));
    let batch_schema = schema.clone();
    let batches = files.into_iter().flat_map(move |path| {
        let opened = File::open(&path)
            .map_err(|e| DqError::io(&path, e))
            .and_then(|f| {
                let mut r = BufReader::new(f);
                r.rewind().map_err(|e| DqError::io(&path, e))?;
                ReaderBuilder::new(batch_schema.clone())
                    .build(r)
                    .map_err(|e| DqError::store(path.display().to_string(), e.to_string()))
            });
        let out: Box<dyn Iterator<Item = Result<RecordBatch, DqError>> + Send> = match opened {
            Err(e) => Box::new(std::iter::once(Err(e))),
            Ok(reader) => {
                let path = path.clone();
                Box::new(reader.map(move |b| {
                    b.map_err(|e| DqError::store(path.display().to_string(), e.to_string()))
                }))
            }
        };
        out
    });
    Ok(Dataset {
        schema,
        batches: Box::new(batches),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// Total rows of an opened reference.
    fn rows(data: Dataset) -> usize {
        data.batches.map(|b| b.unwrap().num_rows()).sum()
    }

    #[test]
    fn reads_ndjson_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            "{\"id\": 1, \"name\": \"x\"}\n{\"id\": 2}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.ndjson"),
            "{\"id\": 3, \"extra\": true}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let one = open_path(&dir.path().join("a.json")).unwrap();
        assert_eq!(one.schema.fields().len(), 2);
        assert_eq!(rows(one), 2);
        let all = open_path(dir.path()).unwrap();
        assert_eq!(all.schema.fields().len(), 3);
        assert_eq!(rows(all), 3);
    }

    #[test]
    fn reads_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
            ],
        )
        .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let data = LocalReferenceResolver::new()
            .with_spec(&format!("ref={}", path.display()))
            .unwrap()
            .open("ref")
            .unwrap();
        assert_eq!(data.schema.fields().len(), 2);
        assert_eq!(rows(data), 3);
    }

    #[test]
    fn unknown_aliases_and_formats_are_explained() {
        let e = LocalReferenceResolver::new().open("nope").err().unwrap();
        assert!(e.to_string().contains("--reference ALIAS=PATH"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("r.csv");
        std::fs::write(&csv, "a,b\n").unwrap();
        let e = open_path(&csv).err().unwrap();
        assert!(e.to_string().contains("unknown reference format"), "{e}");
        let e = open_path(dir.path()).err().unwrap();
        assert!(e.to_string().contains("no .json"), "{e}");
        assert!(
            LocalReferenceResolver::new()
                .with_spec("no-equals")
                .is_err()
        );
    }
}

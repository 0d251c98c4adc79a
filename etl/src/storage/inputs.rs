//! Which objects make up a run's input: explicit files, folders, globs (`*`, `?`, `[…]`, `**`
//! across folders), `s3://` prefixes or objects, or the files of a Glue catalog table and its
//! partitions.
//!
//! As in Hive, Spark and Athena, names starting with `_` or `.` (`_SUCCESS`, `_gluepipe/`,
//! editor droppings) are skipped when a folder or wildcard is expanded, unless the pattern
//! names them literally. An input that matches no file is an error naming it: silently reading
//! nothing is the failure users find last.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};
use gluepipe_spec::{Location, S3Uri};

use super::aws::AwsClients;
use super::hive::{self, PartitionValue};
use super::reader::ObjectReader;
use super::store::{ObjectMeta, Store};
use super::{Result, StorageError};
use crate::catalog::{CatalogPartition, CatalogTable};

/// One file to read.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub store: Store,
    pub object: ObjectMeta,
    /// For catalog-table inputs: the partition keys' values for this file, in key order.
    pub partition_values: Vec<PartitionValue>,
}

impl InputFile {
    /// The full location, for messages and rejects.
    pub fn uri(&self) -> String {
        self.store.uri(&self.object.key)
    }

    pub fn size(&self) -> u64 {
        self.object.size
    }

    /// Opens the file; on S3 the download starts at once, in the background.
    pub fn open(&self) -> Result<ObjectReader> {
        self.store.open_object(&self.object)
    }
}

/// Opens files `ahead` at a time, so the next files download while the current one is
/// decoded. Yields each file with its reader (or the error opening it), in order.
pub fn open_ahead(files: Vec<InputFile>, ahead: usize) -> impl Iterator<Item = (InputFile, Result<ObjectReader>)> {
    let mut pending = files.into_iter();
    let mut opened = std::collections::VecDeque::new();
    std::iter::from_fn(move || {
        while opened.len() < ahead.max(1) {
            let Some(file) = pending.next() else { break };
            let reader = file.open();
            opened.push_back((file, reader));
        }
        opened.pop_front()
    })
}

/// Expands input URIs into files, in the order given (each input's files sorted by key), each
/// file once.
pub async fn resolve_inputs(inputs: &[String], aws: &AwsClients) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        for file in resolve_one(input, aws).await? {
            if seen.insert(file.uri()) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

async fn resolve_one(input: &str, aws: &AwsClients) -> Result<Vec<InputFile>> {
    let location = Location::parse(input).map_err(|e| StorageError::Invalid(e.to_string()))?;
    let files = match &location {
        Location::Local(path) => resolve_local(input, path).await?,
        Location::S3(uri) => resolve_s3(uri, aws).await?,
    };
    if files.is_empty() {
        return Err(StorageError::Invalid(format!("no input files match {input}")));
    }
    Ok(files)
}

async fn resolve_local(input: &str, path: &Path) -> Result<Vec<InputFile>> {
    if has_wildcard(input) {
        let (base, pattern) = split_pattern(input);
        let base = if base.is_empty() { PathBuf::from(".") } else { PathBuf::from(base) };
        return matching(Store::local(base), &pattern).await;
    }
    let meta = std::fs::metadata(path).map_err(|e| StorageError::io("open", input, e))?;
    if meta.is_dir() {
        return folder(Store::local(path)).await;
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Err(StorageError::Invalid(format!("{input}: not a file name")));
    };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let store = Store::local(parent);
    let object = store.head(name).await?.ok_or_else(|| StorageError::NotFound { uri: input.to_string() })?;
    Ok(vec![InputFile { store, object, partition_values: Vec::new() }])
}

async fn resolve_s3(uri: &S3Uri, aws: &AwsClients) -> Result<Vec<InputFile>> {
    let client = aws.s3().await;
    let at = |key: &str| Store::s3(client.clone(), &S3Uri { bucket: uri.bucket.clone(), key: key.to_string() });
    if has_wildcard(&uri.key) {
        let (base, pattern) = split_pattern(&uri.key);
        return matching(at(&base)?, &pattern).await;
    }
    if uri.key.is_empty() || uri.key.ends_with('/') {
        return folder(at(&uri.key)?).await;
    }
    // `s3://b/x`: the object `x` if there is one, else everything under `x/`.
    let (parent, name) = uri.key.rsplit_once('/').unwrap_or(("", &uri.key));
    let store = at(parent)?;
    if let Some(object) = store.head(name).await? {
        return Ok(vec![InputFile { store, object, partition_values: Vec::new() }]);
    }
    folder(at(&uri.key)?).await
}

/// Every visible file below the store's root.
async fn folder(store: Store) -> Result<Vec<InputFile>> {
    let objects = store.list("").await?;
    Ok(objects
        .into_iter()
        .filter(|o| visible(&o.key, &[]))
        .map(|object| InputFile { store: store.clone(), object, partition_values: Vec::new() })
        .collect())
}

/// Every visible file below the store's root whose relative key matches `pattern`.
async fn matching(store: Store, pattern: &str) -> Result<Vec<InputFile>> {
    let compiled =
        Pattern::new(pattern).map_err(|e| StorageError::Invalid(format!("invalid glob {pattern:?}: {}", e.msg)))?;
    let options = MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };
    let literal: Vec<&str> = pattern.split('/').filter(|s| !has_wildcard(s)).collect();
    let objects = store.list("").await?;
    Ok(objects
        .into_iter()
        .filter(|o| compiled.matches_with(&o.key, options) && visible(&o.key, &literal))
        .map(|object| InputFile { store: store.clone(), object, partition_values: Vec::new() })
        .collect())
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Splits `a/b/*.json` into the literal folder `a/b` and the pattern `*.json` below it.
fn split_pattern(text: &str) -> (String, String) {
    let segments: Vec<&str> = text.split('/').collect();
    let first_wild = segments.iter().position(|s| has_wildcard(s)).unwrap_or(segments.len());
    let base = segments[..first_wild].join("/");
    let base = if base.is_empty() && text.starts_with('/') { "/".to_string() } else { base };
    (base, segments[first_wild..].join("/"))
}

/// False for keys with a hidden (`_…` or `.…`) folder or file name not named in `allowed`.
fn visible(key: &str, allowed: &[&str]) -> bool {
    key.split('/').all(|seg| !(seg.starts_with('_') || seg.starts_with('.')) || allowed.contains(&seg))
}

/// The files of a catalog table. Unpartitioned: everything under its location. Partitioned:
/// everything under each registered partition's location, with that partition's values; with
/// no partitions registered, the `key=value/` folders under the table's location give them.
pub async fn resolve_catalog_inputs(
    table: &CatalogTable,
    partitions: &[CatalogPartition],
    aws: &AwsClients,
) -> Result<Vec<InputFile>> {
    let name = table.qualified_name();
    let location = table
        .location
        .as_ref()
        .ok_or_else(|| StorageError::Invalid(format!("catalog table {name} has no location")))?;
    let keys = table.partition_key_names();
    let mut files = Vec::new();
    if keys.is_empty() || partitions.is_empty() {
        let root = Store::at(location, aws).await?;
        for mut file in folder(root).await? {
            if !keys.is_empty() {
                file.partition_values = hive::values_for(&file.object.key, &keys).ok_or_else(|| {
                    StorageError::Invalid(format!(
                        "catalog table {name} is partitioned by {keys:?}, but {} is not in a key=value folder for each",
                        file.uri()
                    ))
                })?;
            }
            files.push(file);
        }
    } else {
        for partition in partitions {
            let values: Vec<PartitionValue> = keys.iter().cloned().zip(partition.values.iter().cloned()).collect();
            let part_location = match &partition.location {
                Some(l) => l.clone(),
                None => default_partition_location(location, &values),
            };
            let root = Store::at(&part_location, aws).await?;
            for mut file in folder(root).await? {
                file.partition_values = values.clone();
                files.push(file);
            }
        }
    }
    if files.is_empty() {
        return Err(StorageError::Invalid(format!("catalog table {name} has no files under {location}")));
    }
    Ok(files)
}

/// `<table location>/k1=v1/k2=v2/`, for partitions registered without a location.
fn default_partition_location(table: &Location, values: &[PartitionValue]) -> Location {
    let pairs: Vec<(&str, Option<&str>)> = values.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
    let path = hive::partition_path(&pairs);
    match table {
        Location::S3(uri) => Location::S3(uri.join(&path)),
        Location::Local(dir) => Location::Local(dir.join(path)),
    }
}

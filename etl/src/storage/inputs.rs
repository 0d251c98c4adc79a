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
pub fn open_ahead(
    files: Vec<InputFile>,
    ahead: usize,
) -> impl Iterator<Item = (InputFile, Result<ObjectReader>)> {
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
/// file once. An input that names nothing (missing, no match, not a location) is the user's to
/// fix: a usage error (exit 2), like any other bad argument.
pub async fn resolve_inputs(inputs: &[String], aws: &AwsClients) -> anyhow::Result<Vec<InputFile>> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        let found = resolve_one(input, aws).await.map_err(|e| match e {
            StorageError::NotFound { .. } | StorageError::Invalid(_) => {
                crate::error::usage(e.to_string())
            }
            other => other.into(),
        })?;
        for file in found {
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
        return Err(StorageError::Invalid(format!(
            "no input files match {input}"
        )));
    }
    Ok(files)
}

async fn resolve_local(input: &str, path: &Path) -> Result<Vec<InputFile>> {
    if has_wildcard(input) {
        let (base, pattern) = split_pattern(input);
        let base = if base.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(base)
        };
        return matching(Store::local(base), &pattern).await;
    }
    let meta = std::fs::metadata(path).map_err(|e| StorageError::io("open", input, e))?;
    if meta.is_dir() {
        return folder(Store::local(path)).await;
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Err(StorageError::Invalid(format!("{input}: not a file name")));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let store = Store::local(parent);
    let object = store
        .head(name)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            uri: input.to_string(),
        })?;
    Ok(vec![InputFile {
        store,
        object,
        partition_values: Vec::new(),
    }])
}

async fn resolve_s3(uri: &S3Uri, aws: &AwsClients) -> Result<Vec<InputFile>> {
    let client = aws.s3().await;
    let at = |key: &str| {
        Store::s3(
            client.clone(),
            &S3Uri {
                bucket: uri.bucket.clone(),
                key: key.to_string(),
            },
        )
    };
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
        return Ok(vec![InputFile {
            store,
            object,
            partition_values: Vec::new(),
        }]);
    }
    folder(at(&uri.key)?).await
}

/// Every visible file below the store's root.
async fn folder(store: Store) -> Result<Vec<InputFile>> {
    let objects = store.list("").await?;
    Ok(objects
        .into_iter()
        .filter(|o| visible(&o.key, &[]))
        .map(|object| InputFile {
            store: store.clone(),
            object,
            partition_values: Vec::new(),
        })
        .collect())
}

/// Every visible file below the store's root whose relative key matches `pattern`.
async fn matching(store: Store, pattern: &str) -> Result<Vec<InputFile>> {
    let compiled = Pattern::new(pattern)
        .map_err(|e| StorageError::Invalid(format!("invalid glob {pattern:?}: {}", e.msg)))?;
    let options = MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let literal: Vec<&str> = pattern.split('/').filter(|s| !has_wildcard(s)).collect();
    let objects = store.list("").await?;
    Ok(objects
        .into_iter()
        .filter(|o| compiled.matches_with(&o.key, options) && visible(&o.key, &literal))
        .map(|object| InputFile {
            store: store.clone(),
            object,
            partition_values: Vec::new(),
        })
        .collect())
}

fn has_wildcard(text: &str) -> bool {
    gluepipe_spec::location::glob_start(text).is_some()
}

/// Splits `a/b/*.json` into the literal folder `a/b` and the pattern `*.json` below it.
fn split_pattern(text: &str) -> (String, String) {
    let segments: Vec<&str> = text.split('/').collect();
    let first_wild = segments
        .iter()
        .position(|s| has_wildcard(s))
        .unwrap_or(segments.len());
    let base = segments[..first_wild].join("/");
    let base = if base.is_empty() && text.starts_with('/') {
        "/".to_string()
    } else {
        base
    };
    (base, segments[first_wild..].join("/"))
}

/// False for keys with a hidden (`_…` or `.…`) folder or file name not named in `allowed`.
fn visible(key: &str, allowed: &[&str]) -> bool {
    key.split('/')
        .all(|seg| !(seg.starts_with('_') || seg.starts_with('.')) || allowed.contains(&seg))
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
            let values: Vec<PartitionValue> = keys
                .iter()
                .cloned()
                .zip(partition.values.iter().cloned())
                .collect();
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
        return Err(StorageError::Invalid(format!(
            "catalog table {name} has no files under {location}"
        )));
    }
    Ok(files)
}

/// `<table location>/k1=v1/k2=v2/`, for partitions registered without a location.
fn default_partition_location(table: &Location, values: &[PartitionValue]) -> Location {
    let pairs: Vec<(&str, Option<&str>)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    let path = hive::partition_path(&pairs);
    match table {
        Location::S3(uri) => Location::S3(uri.join(&path)),
        Location::Local(dir) => Location::Local(dir.join(path)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_wildcard_characters_are_the_ones_the_matcher_treats_as_such() {
        // `GLOB_CHARS` is what the provider cuts grants at; `glob` escapes exactly the
        // characters it does not take literally (and `]`, which only closes a `[`).
        for c in (' '..='~').filter(|c| !c.is_alphanumeric()) {
            let text = c.to_string();
            let special = glob::Pattern::escape(&text) != text && c != ']';
            assert_eq!(
                gluepipe_spec::location::GLOB_CHARS.contains(&c),
                special,
                "{c:?}"
            );
        }
        assert!(!has_wildcard("orders/{a,b}.json"));
    }
    use crate::catalog::{CatalogColumn, TableFormat};
    use crate::storage::AwsOptions;
    use crate::storage::store::tests::seed;
    use gluepipe_spec::GlueType;

    fn aws() -> AwsClients {
        AwsClients::new(AwsOptions::default())
    }

    async fn names(dir: &Path, inputs: &[&str]) -> anyhow::Result<Vec<String>> {
        let inputs: Vec<String> = inputs
            .iter()
            .map(|i| i.replace("ROOT", dir.to_str().unwrap()))
            .collect();
        let files = resolve_inputs(&inputs, &aws()).await?;
        let root = format!("{}/", dir.display());
        Ok(files
            .iter()
            .map(|f| f.uri().trim_start_matches(&root).to_string())
            .collect())
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("a.json", "{}"),
                ("b.json.gz", "x"),
                ("notes.txt", "x"),
                ("_SUCCESS", ""),
                (".a.json.swp", ""),
                ("sub/c.json", "{}"),
                ("sub/deep/d.json", "{}"),
                ("sub/_tmp/e.json", "{}"),
                ("_raw/f.json", "{}"),
            ],
        );
        dir
    }

    #[tokio::test]
    async fn expands_files_folders_and_globs() {
        let dir = tree();
        let d = dir.path();
        let cases: &[(&[&str], &[&str])] = &[
            (&["ROOT/a.json"], &["a.json"]),
            (&["ROOT/_SUCCESS"], &["_SUCCESS"]),
            (
                &["ROOT"],
                &[
                    "a.json",
                    "b.json.gz",
                    "notes.txt",
                    "sub/c.json",
                    "sub/deep/d.json",
                ],
            ),
            (
                &["ROOT/"],
                &[
                    "a.json",
                    "b.json.gz",
                    "notes.txt",
                    "sub/c.json",
                    "sub/deep/d.json",
                ],
            ),
            (&["ROOT/*.json"], &["a.json"]),
            (&["ROOT/*.json*"], &["a.json", "b.json.gz"]),
            (
                &["ROOT/**/*.json"],
                &["a.json", "sub/c.json", "sub/deep/d.json"],
            ),
            (&["ROOT/sub/**/*.json"], &["sub/c.json", "sub/deep/d.json"]),
            (&["ROOT/sub/*/*.json"], &["sub/deep/d.json"]),
            (&["ROOT/[ab].json*"], &["a.json", "b.json.gz"]),
            (&["ROOT/?.json"], &["a.json"]),
            (&["ROOT/_raw/*.json"], &["_raw/f.json"]),
            (&["ROOT/sub/_tmp/*"], &["sub/_tmp/e.json"]),
            // Each file once, in input order.
            (
                &["ROOT/sub", "ROOT/**/*.json"],
                &["sub/c.json", "sub/deep/d.json", "a.json"],
            ),
        ];
        for (inputs, want) in cases {
            assert_eq!(names(d, inputs).await.unwrap(), *want, "{inputs:?}");
        }
    }

    #[tokio::test]
    async fn inputs_that_match_nothing_are_errors_naming_them() {
        let dir = tree();
        let d = dir.path();
        let empty = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str)] = &[
            ("ROOT/*.csv", "no input files match"),
            ("ROOT/missing.json", "no such file"),
            ("ROOT/_raw/[", "invalid glob"),
            (empty.path().to_str().unwrap(), "no input files match"),
            ("gs://bucket/x", "unsupported scheme"),
        ];
        for (input, message) in cases {
            let err = names(d, &[input]).await.unwrap_err().to_string();
            assert!(err.contains(message), "{input}: {err}");
            assert!(
                err.contains(&input.replace("ROOT", d.to_str().unwrap())) || err.contains("glob"),
                "{err}"
            );
        }
    }

    #[test]
    fn splits_patterns_at_the_first_wildcard() {
        let cases = [
            ("/data/in/*.json", ("/data/in", "*.json")),
            ("data/**/x/*.json", ("data", "**/x/*.json")),
            ("*.json", ("", "*.json")),
            ("/*.json", ("/", "*.json")),
            ("prefix/day=[12]/f", ("prefix", "day=[12]/f")),
        ];
        for (text, (base, pattern)) in cases {
            assert_eq!(
                split_pattern(text),
                (base.to_string(), pattern.to_string()),
                "{text}"
            );
        }
    }

    fn column(name: &str, glue_type: GlueType) -> CatalogColumn {
        CatalogColumn {
            name: name.into(),
            glue_type,
            comment: None,
        }
    }

    fn table(dir: &Path, keys: &[&str]) -> CatalogTable {
        CatalogTable {
            database: "raw".into(),
            name: "orders".into(),
            location: Some(Location::Local(dir.to_path_buf())),
            columns: vec![column("id", GlueType::BigInt)],
            partition_keys: keys.iter().map(|k| column(k, GlueType::String)).collect(),
            format: TableFormat::default(),
            parameters: Default::default(),
        }
    }

    fn partition_values(files: &[InputFile]) -> Vec<(String, Vec<PartitionValue>)> {
        files
            .iter()
            .map(|f| (f.object.key.clone(), f.partition_values.clone()))
            .collect()
    }

    #[tokio::test]
    async fn catalog_tables_take_partition_values_from_paths_or_partitions() {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("day=2024-01-01/a.json", "{}"),
                ("day=2024-01-02/b.json", "{}"),
                ("day=__HIVE_DEFAULT_PARTITION__/c.json", "{}"),
                ("elsewhere/d.json", "{}"),
                ("_SUCCESS", ""),
            ],
        );
        let some = |v: &str| Some(v.to_string());
        // No partitions registered: values come from the key=value folders.
        let plain = tempfile::tempdir().unwrap();
        seed(
            plain.path(),
            &[("day=1/a.json", "{}"), ("day=2/b.json", "{}")],
        );
        let files = resolve_catalog_inputs(&table(plain.path(), &["day"]), &[], &aws())
            .await
            .unwrap();
        assert_eq!(
            partition_values(&files),
            [
                ("day=1/a.json".into(), vec![("day".into(), some("1"))]),
                ("day=2/b.json".into(), vec![("day".into(), some("2"))]),
            ]
        );
        // A file outside any partition folder cannot be given values.
        let err = resolve_catalog_inputs(&table(dir.path(), &["day"]), &[], &aws())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("elsewhere/d.json") && err.to_string().contains("raw.orders"),
            "{err}"
        );

        // Registered partitions: their locations (or the default path) and their values.
        let partitions = vec![
            CatalogPartition {
                values: vec![some("2024-01-01")],
                location: None,
            },
            CatalogPartition {
                values: vec![some("moved")],
                location: Some(Location::Local(dir.path().join("elsewhere"))),
            },
            CatalogPartition {
                values: vec![None],
                location: None,
            },
        ];
        let files = resolve_catalog_inputs(&table(dir.path(), &["day"]), &partitions, &aws())
            .await
            .unwrap();
        assert_eq!(
            partition_values(&files),
            [
                ("a.json".into(), vec![("day".into(), some("2024-01-01"))]),
                ("d.json".into(), vec![("day".into(), some("moved"))]),
                ("c.json".into(), vec![("day".into(), None)]),
            ]
        );

        // Unpartitioned: every visible file under the location, no values.
        let files = resolve_catalog_inputs(&table(plain.path(), &[]), &[], &aws())
            .await
            .unwrap();
        assert!(files.iter().all(|f| f.partition_values.is_empty()) && files.len() == 2);

        let mut no_location = table(dir.path(), &[]);
        no_location.location = None;
        let err = resolve_catalog_inputs(&no_location, &[], &aws())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("raw.orders has no location"),
            "{err}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = resolve_catalog_inputs(&table(empty.path(), &[]), &[], &aws())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("has no files"), "{err}");
    }

    #[tokio::test]
    async fn opens_ahead_in_order() {
        let dir = tree();
        let files = resolve_inputs(&[format!("{}/**/*.json", dir.path().display())], &aws())
            .await
            .unwrap();
        let order: Vec<String> = open_ahead(files.clone(), 2)
            .map(|(file, reader)| {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut reader.unwrap(), &mut text).unwrap();
                assert_eq!(text, "{}");
                file.object.key
            })
            .collect();
        assert_eq!(
            order,
            files
                .iter()
                .map(|f| f.object.key.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(open_ahead(Vec::new(), 3).count(), 0);
    }
}

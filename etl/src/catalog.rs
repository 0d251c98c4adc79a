//! The Glue Data Catalog: reading a source table (location, columns with their Glue types,
//! partition keys, format, partitions) and registering the output table and its partitions
//! after a successful publish.
//!
//! Column types are parsed with [`gluepipe_spec::parse_glue_type`], so a type the ETL cannot
//! handle fails here, naming the table and column, before any data is read.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_glue::Client;
use aws_sdk_glue::error::ProvideErrorMetadata;
use aws_sdk_glue::types::{Column, PartitionInput, SerDeInfo, StorageDescriptor, TableInput};
use gluepipe_spec::pipeline::Compression;
use gluepipe_spec::{GlueType, Location, parse_glue_type};

use crate::storage::AwsClients;
use crate::storage::hive::{self, DEFAULT_PARTITION, PartitionValue};

/// Hive's Parquet classes, as Athena and Glue crawlers register Parquet tables.
pub const PARQUET_INPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
pub const PARQUET_OUTPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// BatchCreatePartition takes at most this many partitions per request.
const PARTITION_BATCH: usize = 100;

/// Why a catalog operation failed; every variant names the database and table.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("Glue catalog table '{database}.{table}' not found: {reason}")]
    NotFound {
        database: String,
        table: String,
        reason: String,
    },
    #[error("Glue catalog table '{database}.{table}': {message}")]
    Invalid {
        database: String,
        table: String,
        message: String,
    },
    #[error("Glue {op} for table '{database}.{table}' failed: {message}")]
    Failed {
        op: &'static str,
        database: String,
        table: String,
        message: String,
    },
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A column with its parsed Glue type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    pub name: String,
    pub glue_type: GlueType,
    pub comment: Option<String>,
}

/// How a table's files are stored, as the catalog says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFormat {
    pub input_format: Option<String>,
    pub output_format: Option<String>,
    pub serde_library: Option<String>,
    pub serde_parameters: BTreeMap<String, String>,
    /// The table parameter `classification` (`json`, `parquet`, …), as crawlers set it.
    pub classification: Option<String>,
}

impl TableFormat {
    /// True when the table says its files are JSON (by classification or SerDe class).
    pub fn is_json(&self) -> bool {
        self.classification
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("json"))
            || self
                .serde_library
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().contains("json"))
    }
}

/// A catalog table, as read by [`Catalog::table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTable {
    pub database: String,
    pub name: String,
    /// Where the table's files are (`None` for views and tables without storage).
    pub location: Option<Location>,
    pub columns: Vec<CatalogColumn>,
    /// Partition columns: not in the files, their values come from the partition paths.
    pub partition_keys: Vec<CatalogColumn>,
    pub format: TableFormat,
    pub parameters: BTreeMap<String, String>,
}

impl CatalogTable {
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    pub fn partition_key_names(&self) -> Vec<String> {
        self.partition_keys.iter().map(|c| c.name.clone()).collect()
    }
}

/// A registered partition: its values (in partition-key order) and its own location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPartition {
    /// `None` for Hive's null partition (`__HIVE_DEFAULT_PARTITION__`).
    pub values: Vec<Option<String>>,
    pub location: Option<Location>,
}

/// The output table to register: the written schema as Glue types, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTable {
    pub database: String,
    pub name: String,
    /// The target folder; must be `s3://` (a catalog table on a local path is of no use to
    /// Athena or Glue).
    pub location: Location,
    /// The columns inside the Parquet files (partition columns excluded).
    pub columns: Vec<(String, GlueType)>,
    pub partition_keys: Vec<(String, GlueType)>,
    pub compression: Compression,
}

/// What [`Catalog::register_table`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Created,
    Updated,
}

/// What [`Catalog::add_partitions`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddedPartitions {
    pub created: usize,
    /// Partitions that were registered already (by an earlier run): not an error.
    pub existing: usize,
}

/// A Glue Data Catalog client.
#[derive(Debug, Clone)]
pub struct Catalog {
    client: Client,
}

impl Catalog {
    pub fn new(client: Client) -> Self {
        Catalog { client }
    }

    pub async fn connect(aws: &AwsClients) -> Self {
        Catalog::new(aws.glue().await)
    }

    /// Reads a table. A missing database or table is a [`CatalogError::NotFound`] saying which.
    pub async fn table(&self, database: &str, table: &str) -> Result<CatalogTable> {
        let out = match self
            .client
            .get_table()
            .database_name(database)
            .name(table)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                return Err(self.not_found(database, table).await);
            }
            Err(e) => return Err(failed("GetTable", database, table, e)),
        };
        let Some(t) = out.table() else {
            return Err(CatalogError::NotFound {
                database: database.into(),
                table: table.into(),
                reason: "GetTable returned no table".into(),
            });
        };
        let invalid = |message: String| CatalogError::Invalid {
            database: database.into(),
            table: table.into(),
            message,
        };
        let sd = t.storage_descriptor();
        let location = match sd
            .and_then(StorageDescriptor::location)
            .filter(|l| !l.is_empty())
        {
            Some(l) => Some(Location::parse(l).map_err(|e| invalid(format!("its location: {e}")))?),
            None => None,
        };
        let columns = parse_columns(sd.map(StorageDescriptor::columns).unwrap_or_default())
            .map_err(invalid)?;
        let partition_keys =
            parse_columns(t.partition_keys()).map_err(|m| invalid(format!("partition key {m}")))?;
        let parameters: BTreeMap<String, String> = t
            .parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let serde = sd.and_then(StorageDescriptor::serde_info);
        let format = TableFormat {
            input_format: sd
                .and_then(StorageDescriptor::input_format)
                .map(str::to_string),
            output_format: sd
                .and_then(StorageDescriptor::output_format)
                .map(str::to_string),
            serde_library: serde
                .and_then(SerDeInfo::serialization_library)
                .map(str::to_string),
            serde_parameters: serde
                .and_then(SerDeInfo::parameters)
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            classification: parameters.get("classification").cloned(),
        };
        Ok(CatalogTable {
            database: database.to_string(),
            name: table.to_string(),
            location,
            columns,
            partition_keys,
            format,
            parameters,
        })
    }

    /// Says whether the database or the table is the missing one.
    async fn not_found(&self, database: &str, table: &str) -> CatalogError {
        let db_missing = match self.client.get_database().name(database).send().await {
            Err(e) => e
                .as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()),
            Ok(_) => false,
        };
        let reason = if db_missing {
            format!("database '{database}' does not exist")
        } else {
            format!("database '{database}' has no table '{table}'")
        };
        CatalogError::NotFound {
            database: database.into(),
            table: table.into(),
            reason,
        }
    }

    /// Every registered partition of `table`, sorted by values.
    pub async fn partitions(&self, table: &CatalogTable) -> Result<Vec<CatalogPartition>> {
        let (db, name) = (&table.database, &table.name);
        let mut pages = self
            .client
            .get_partitions()
            .database_name(db)
            .table_name(name)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("GetPartitions", db, name, e))?;
            for p in page.partitions() {
                let values: Vec<Option<String>> = p
                    .values()
                    .iter()
                    .map(|v| (v != DEFAULT_PARTITION).then(|| v.clone()))
                    .collect();
                if values.len() != table.partition_keys.len() {
                    return Err(CatalogError::Invalid {
                        database: db.clone(),
                        table: name.clone(),
                        message: format!(
                            "partition {:?} has {} values for {} partition keys",
                            p.values(),
                            values.len(),
                            table.partition_keys.len()
                        ),
                    });
                }
                let location = match p
                    .storage_descriptor()
                    .and_then(StorageDescriptor::location)
                    .filter(|l| !l.is_empty())
                {
                    Some(l) => Some(Location::parse(l).map_err(|e| CatalogError::Invalid {
                        database: db.clone(),
                        table: name.clone(),
                        message: format!("partition {:?} location: {e}", p.values()),
                    })?),
                    None => None,
                };
                out.push(CatalogPartition { values, location });
            }
        }
        out.sort_by(|a, b| a.values.cmp(&b.values));
        Ok(out)
    }

    /// Creates the output table, or updates its columns, location and format if it exists.
    /// Changing an existing table's partition keys is refused: its partitions would no longer
    /// match.
    pub async fn register_table(&self, output: &OutputTable) -> Result<Registration> {
        let (db, name) = (&output.database, &output.name);
        let invalid = |message: String| CatalogError::Invalid {
            database: db.clone(),
            table: name.clone(),
            message,
        };
        let Location::S3(location) = &output.location else {
            return Err(invalid(format!(
                "cannot register {}: the catalog needs an s3:// location",
                output.location
            )));
        };
        let location = format!("s3://{}/{}", location.bucket, location.prefix());
        let existing = match self.table(db, name).await {
            Ok(table) => Some(table),
            Err(CatalogError::NotFound { reason, .. }) if reason.contains("has no table") => None,
            Err(e) => return Err(e),
        };
        if let Some(existing) = &existing {
            let theirs: Vec<(String, String)> = existing
                .partition_keys
                .iter()
                .map(|c| (c.name.to_ascii_lowercase(), c.glue_type.to_string()))
                .collect();
            let ours: Vec<(String, String)> = output
                .partition_keys
                .iter()
                .map(|(n, t)| (n.to_ascii_lowercase(), t.to_string()))
                .collect();
            if theirs != ours {
                return Err(invalid(format!(
                    "it exists with partition keys {theirs:?}, the output has {ours:?}; drop the table or keep its partitioning"
                )));
            }
        }
        let mut parameters: HashMap<String, String> = existing
            .as_ref()
            .map(|t| t.parameters.clone().into_iter().collect())
            .unwrap_or_default();
        parameters.insert("classification".into(), "parquet".into());
        parameters.insert("EXTERNAL".into(), "TRUE".into());
        parameters.insert(
            "parquet.compression".into(),
            parquet_compression_name(output.compression).into(),
        );
        let input = TableInput::builder()
            .name(name)
            .table_type("EXTERNAL_TABLE")
            .set_parameters(Some(parameters))
            .storage_descriptor(
                storage_descriptor(&location, &output.columns, output.compression)
                    .map_err(&invalid)?,
            )
            .set_partition_keys(Some(
                glue_columns(&output.partition_keys).map_err(&invalid)?,
            ))
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        match existing {
            None => {
                self.client
                    .create_table()
                    .database_name(db)
                    .table_input(input)
                    .send()
                    .await
                    .map_err(|e| failed("CreateTable", db, name, e))?;
                Ok(Registration::Created)
            }
            Some(_) => {
                self.client
                    .update_table()
                    .database_name(db)
                    .table_input(input)
                    .send()
                    .await
                    .map_err(|e| failed("UpdateTable", db, name, e))?;
                Ok(Registration::Updated)
            }
        }
    }

    /// Registers partitions of the output table (each a list of `(key, value)` in partition-key
    /// order, e.g. from [`hive::values_for`]); ones that exist already are counted, not errors.
    pub async fn add_partitions(
        &self,
        output: &OutputTable,
        partitions: &[Vec<PartitionValue>],
    ) -> Result<AddedPartitions> {
        let (db, name) = (&output.database, &output.name);
        let invalid = |message: String| CatalogError::Invalid {
            database: db.clone(),
            table: name.clone(),
            message,
        };
        let Location::S3(root) = &output.location else {
            return Err(invalid(format!(
                "cannot register partitions under {}: not an s3:// location",
                output.location
            )));
        };
        let mut inputs = Vec::with_capacity(partitions.len());
        for values in partitions {
            let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
            let expected: Vec<&str> = output
                .partition_keys
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            if !keys
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
                || keys.len() != expected.len()
            {
                return Err(invalid(format!(
                    "partition {values:?} does not match the partition keys {expected:?}"
                )));
            }
            let pairs: Vec<(&str, Option<&str>)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            let location = format!(
                "s3://{}/{}{}/",
                root.bucket,
                root.prefix(),
                hive::partition_path(&pairs)
            );
            let glue_values: Vec<String> = values
                .iter()
                .map(|(_, v)| {
                    v.clone()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| DEFAULT_PARTITION.into())
                })
                .collect();
            inputs.push(
                PartitionInput::builder()
                    .set_values(Some(glue_values))
                    .storage_descriptor(
                        storage_descriptor(&location, &output.columns, output.compression)
                            .map_err(&invalid)?,
                    )
                    .build(),
            );
        }
        let mut added = AddedPartitions::default();
        for batch in inputs.chunks(PARTITION_BATCH) {
            let out = self
                .client
                .batch_create_partition()
                .database_name(db)
                .table_name(name)
                .set_partition_input_list(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| failed("BatchCreatePartition", db, name, e))?;
            let mut existing = 0;
            for err in out.errors() {
                let detail = err.error_detail();
                let code = detail.and_then(|d| d.error_code()).unwrap_or("error");
                if code == "AlreadyExistsException" {
                    existing += 1;
                } else {
                    return Err(CatalogError::Failed {
                        op: "BatchCreatePartition",
                        database: db.clone(),
                        table: name.clone(),
                        message: format!(
                            "partition {:?}: {code}: {}",
                            err.partition_values(),
                            detail.and_then(|d| d.error_message()).unwrap_or_default()
                        ),
                    });
                }
            }
            added.existing += existing;
            added.created += batch.len() - existing;
        }
        Ok(added)
    }
}

fn parse_columns(columns: &[Column]) -> std::result::Result<Vec<CatalogColumn>, String> {
    columns
        .iter()
        .map(|c| {
            let text = c
                .r#type()
                .ok_or_else(|| format!("column '{}' has no type", c.name()))?;
            let glue_type =
                parse_glue_type(text).map_err(|e| format!("column '{}': {e}", c.name()))?;
            Ok(CatalogColumn {
                name: c.name().to_string(),
                glue_type,
                comment: c.comment().map(str::to_string),
            })
        })
        .collect()
}

fn glue_columns(columns: &[(String, GlueType)]) -> std::result::Result<Vec<Column>, String> {
    columns
        .iter()
        .map(|(name, ty)| {
            Column::builder()
                .name(name)
                .r#type(ty.to_string())
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn storage_descriptor(
    location: &str,
    columns: &[(String, GlueType)],
    compression: Compression,
) -> std::result::Result<StorageDescriptor, String> {
    Ok(StorageDescriptor::builder()
        .location(location)
        .set_columns(Some(glue_columns(columns)?))
        .input_format(PARQUET_INPUT_FORMAT)
        .output_format(PARQUET_OUTPUT_FORMAT)
        .compressed(compression != Compression::None)
        .serde_info(
            SerDeInfo::builder()
                .serialization_library(PARQUET_SERDE)
                .parameters("serialization.format", "1")
                .build(),
        )
        .build())
}

/// The `parquet.compression` table property's spelling of a codec.
fn parquet_compression_name(compression: Compression) -> &'static str {
    match compression {
        Compression::Snappy => "SNAPPY",
        Compression::Zstd => "ZSTD",
        Compression::Gzip => "GZIP",
        Compression::None => "UNCOMPRESSED",
    }
}

fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    database: &str,
    table: &str,
    err: E,
) -> CatalogError {
    CatalogError::Failed {
        op,
        database: database.to_string(),
        table: table.to_string(),
        message: gluepipe_spec::aws_error::describe(&err),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_catalog_columns_and_names_the_bad_one() {
        let cols = vec![
            Column::builder()
                .name("id")
                .r#type("bigint")
                .build()
                .unwrap(),
            Column::builder()
                .name("items")
                .r#type("array<struct<sku:string,qty:int>>")
                .build()
                .unwrap(),
        ];
        let parsed = parse_columns(&cols).unwrap();
        assert_eq!(parsed[0].glue_type, GlueType::BigInt);
        assert_eq!(
            parsed[1].glue_type.to_string(),
            "array<struct<sku:string,qty:int>>"
        );
        let bad = vec![
            Column::builder()
                .name("amount")
                .r#type("decmal(10,2)")
                .build()
                .unwrap(),
        ];
        let err = parse_columns(&bad).unwrap_err();
        assert!(err.contains("column 'amount'"), "{err}");
        let untyped = vec![Column::builder().name("x").build().unwrap()];
        assert!(parse_columns(&untyped).unwrap_err().contains("has no type"));
        assert!(parse_columns(&[]).unwrap().is_empty());
    }

    #[test]
    fn parquet_storage_descriptor() {
        let sd = storage_descriptor(
            "s3://b/t/",
            &[("id".into(), GlueType::BigInt)],
            Compression::Snappy,
        )
        .unwrap();
        assert_eq!(sd.location(), Some("s3://b/t/"));
        assert_eq!(sd.input_format(), Some(PARQUET_INPUT_FORMAT));
        assert_eq!(
            sd.serde_info().and_then(SerDeInfo::serialization_library),
            Some(PARQUET_SERDE)
        );
        assert!(sd.compressed());
        assert_eq!(sd.columns()[0].r#type(), Some("bigint"));
        assert!(
            !storage_descriptor("s3://b/t/", &[], Compression::None)
                .unwrap()
                .compressed()
        );
    }

    #[test]
    fn recognises_json_tables() {
        let by_class = TableFormat {
            classification: Some("JSON".into()),
            ..TableFormat::default()
        };
        let by_serde = TableFormat {
            serde_library: Some("org.openx.data.jsonserde.JsonSerDe".into()),
            ..TableFormat::default()
        };
        assert!(by_class.is_json() && by_serde.is_json());
        assert!(!TableFormat::default().is_json());
    }
}

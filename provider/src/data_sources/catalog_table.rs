//! `data "gluepipe_catalog_table"`: a Glue Data Catalog table's location,
//! formats, columns, partition keys and parameters — what a pipeline's
//! `source { catalog_database … catalog_table … }` reads.

use async_trait::async_trait;
use aws_sdk_glue::types::{Column, Table};

use crate::framework::{
    Attribute, AttributePath, DataSource, Diagnostic, Diagnostics, ReadDataResponse, Schema, Type,
    Value,
};
use crate::provider::{AwsContext, Ctx};

/// The `gluepipe_catalog_table` data source.
pub struct CatalogTable;

/// Glue's limit for database and table names.
const MAX_NAME_LEN: usize = 255;

fn column_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("type", Type::String),
        ("comment", Type::String),
    ])
}

#[async_trait]
impl DataSource<AwsContext> for CatalogTable {
    fn type_name(&self) -> &'static str {
        "gluepipe_catalog_table"
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Reads a table of the AWS Glue Data Catalog: where its data lives, how it is \
                 stored, and its columns and partition keys.",
            )
            .attribute(Attribute::string("database").required().description("Name of the Glue database."))
            .attribute(Attribute::string("name").required().description("Name of the table in `database`."))
            .attribute(Attribute::string("location").computed().description(
                "Where the table's data lives, e.g. `s3://bucket/prefix/`. Empty if the table has \
                 no storage descriptor.",
            ))
            .attribute(Attribute::string("input_format").computed().description(
                "Hadoop input format class, e.g. `org.apache.hadoop.mapred.TextInputFormat`.",
            ))
            .attribute(Attribute::string("serde_library").computed().description(
                "Serialization library, e.g. `org.openx.data.jsonserde.JsonSerDe`.",
            ))
            .attribute(Attribute::list("columns", column_type()).computed().description(
                "Data columns in table order: `name`, `type` (a Glue/Hive type such as `bigint` or \
                 `struct<a:string>`) and `comment` (empty when none).",
            ))
            .attribute(Attribute::list("partition_keys", column_type()).computed().description(
                "Partition columns, in order, with the same fields as `columns`.",
            ))
            .attribute(Attribute::map("parameters", Type::String).computed().description(
                "The table's parameters (e.g. `classification`).",
            ))
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for attr in ["database", "name"] {
            if let Some(name) = config.attr(attr).as_str() {
                if let Err(why) = check_name(name) {
                    diags.attr_error(AttributePath::root(attr), format!("Invalid {attr}"), why);
                }
            }
        }
        diags
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> ReadDataResponse {
        let mut resp = ReadDataResponse::default();
        let aws = match ctx.get() {
            Ok(aws) => aws,
            Err(d) => {
                resp.diagnostics.push(d);
                return resp;
            }
        };
        let database = config.attr("database").as_str().unwrap_or_default();
        let name = config.attr("name").as_str().unwrap_or_default();
        match find_table(&aws.glue(), database, name).await {
            Ok(table) => resp.state = flatten_table(database, name, &table),
            Err(e) => resp.diagnostics.push(e.into_diagnostic(database, name)),
        }
        resp
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Must not be empty.".to_owned());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "Glue names have at most {MAX_NAME_LEN} characters."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("Must not contain control characters.".to_owned());
    }
    Ok(())
}

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The database or the table does not exist (Glue's message says which).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Aws(String),
}

impl FindError {
    fn into_diagnostic(self, database: &str, name: &str) -> Diagnostic {
        match self {
            FindError::NotFound(message) => {
                // Glue says which of the two is missing; point at that one.
                let missing = if message.to_ascii_lowercase().starts_with("database") {
                    "database"
                } else {
                    "name"
                };
                Diagnostic::error(
                    "Glue table not found",
                    format!(
                        "There is no table {name:?} in Glue database {database:?} (Glue: {}). \
                         Check both names, and that the provider's region is the catalog's \
                         region.",
                        message.trim_end_matches('.')
                    ),
                )
                .at(AttributePath::root(missing))
            }
            FindError::Aws(message) => Diagnostic::error(
                "Reading Glue table failed",
                format!("reading Glue table ({database}.{name}): {message}"),
            ),
        }
    }
}

/// `GetTable`, with "no such database or table" as [`FindError::NotFound`].
pub async fn find_table(
    glue: &aws_sdk_glue::Client,
    database: &str,
    name: &str,
) -> Result<Table, FindError> {
    let out = glue
        .get_table()
        .database_name(database)
        .name(name)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(se) if se.is_entity_not_found_exception() => {
                FindError::NotFound(se.meta().message().unwrap_or("entity not found").to_owned())
            }
            _ => FindError::Aws(gluepipe_spec::aws_error::describe(&e)),
        })?;
    out.table
        .ok_or_else(|| FindError::NotFound("GetTable returned no table".to_owned()))
}

/// The data source's state for `table` (pure).
pub fn flatten_table(database: &str, name: &str, table: &Table) -> Value {
    let sd = table.storage_descriptor();
    let text = |s: Option<&str>| Value::from(s.unwrap_or_default());
    let columns = |cols: &[Column]| {
        Value::list(cols.iter().map(|c| {
            Value::object([
                ("name", Value::from(c.name())),
                ("type", text(c.r#type())),
                ("comment", text(c.comment())),
            ])
        }))
    };
    Value::object([
        ("database", Value::from(database)),
        ("name", Value::from(name)),
        ("location", text(sd.and_then(|s| s.location()))),
        ("input_format", text(sd.and_then(|s| s.input_format()))),
        (
            "serde_library",
            text(
                sd.and_then(|s| s.serde_info())
                    .and_then(|s| s.serialization_library()),
            ),
        ),
        (
            "columns",
            columns(sd.map(|s| s.columns()).unwrap_or_default()),
        ),
        ("partition_keys", columns(table.partition_keys())),
        (
            "parameters",
            Value::map(
                table
                    .parameters()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone())),
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::value::msgpack;
    use aws_sdk_glue::types::{SerDeInfo, StorageDescriptor};

    fn col(name: &str, ty: &str, comment: Option<&str>) -> Column {
        Column::builder()
            .name(name)
            .r#type(ty)
            .set_comment(comment.map(str::to_owned))
            .build()
            .unwrap()
    }

    #[test]
    fn flattens_a_full_table() {
        let table = Table::builder()
            .name("orders")
            .storage_descriptor(
                StorageDescriptor::builder()
                    .location("s3://raw/orders/")
                    .input_format("org.apache.hadoop.mapred.TextInputFormat")
                    .serde_info(
                        SerDeInfo::builder()
                            .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                            .build(),
                    )
                    .columns(col("id", "bigint", Some("key")))
                    .columns(col("items", "array<struct<sku:string>>", None))
                    .build(),
            )
            .partition_keys(col("dt", "string", None))
            .parameters("classification", "json")
            .build()
            .unwrap();
        let v = flatten_table("raw", "orders", &table);
        assert_eq!(v.attr("location").as_str(), Some("s3://raw/orders/"));
        assert_eq!(
            v.attr("serde_library").as_str(),
            Some("org.openx.data.jsonserde.JsonSerDe")
        );
        let cols = v.attr("columns").elements();
        assert_eq!(cols.len(), 2);
        assert_eq!(cols[0].attr("comment").as_str(), Some("key"));
        assert_eq!(
            cols[1].attr("type").as_str(),
            Some("array<struct<sku:string>>")
        );
        assert_eq!(cols[1].attr("comment").as_str(), Some(""));
        assert_eq!(
            v.attr("partition_keys").elements()[0].attr("name").as_str(),
            Some("dt")
        );
        assert_eq!(
            v.attr("parameters").attr("classification").as_str(),
            Some("json")
        );
        // The state fits the schema, fully known.
        assert!(v.is_fully_known());
        msgpack::encode(&v, &CatalogTable.schema().value_type()).unwrap();
    }

    #[test]
    fn flattens_a_bare_table() {
        let table = Table::builder().name("t").build().unwrap();
        let v = flatten_table("db", "t", &table);
        assert_eq!(v.attr("location").as_str(), Some(""));
        assert_eq!(v.attr("columns").elements().len(), 0);
        assert_eq!(v.attr("parameters").as_entries().map(|m| m.len()), Some(0));
        msgpack::encode(&v, &CatalogTable.schema().value_type()).unwrap();
    }

    #[tokio::test]
    async fn validation() {
        let cases: Vec<(&str, Value, Vec<AttributePath>)> = vec![
            (
                "good",
                Value::object([
                    ("database", Value::from("raw")),
                    ("name", Value::from("orders")),
                ]),
                vec![],
            ),
            (
                "unknown",
                Value::object([("database", Value::Unknown), ("name", Value::Unknown)]),
                vec![],
            ),
            (
                "empty name",
                Value::object([("database", Value::from("raw")), ("name", Value::from(""))]),
                vec![AttributePath::root("name")],
            ),
            (
                "long database",
                Value::object([
                    ("database", Value::from("d".repeat(256))),
                    ("name", Value::from("t")),
                ]),
                vec![AttributePath::root("database")],
            ),
        ];
        for (name, config, paths) in cases {
            let diags = CatalogTable.validate(&config).await;
            let got: Vec<_> = diags.iter().filter_map(|d| d.attribute.clone()).collect();
            assert_eq!(got, paths, "{name}");
        }
    }

    #[test]
    fn not_found_points_at_the_missing_name() {
        let cases = [
            ("Table orders not found.", "name"),
            ("Database raw not found.", "database"),
        ];
        for (message, attr) in cases {
            let d = FindError::NotFound(message.to_owned()).into_diagnostic("raw", "orders");
            assert_eq!(d.attribute, Some(AttributePath::root(attr)), "{message}");
            assert!(
                d.detail
                    .contains(r#"no table "orders" in Glue database "raw""#)
            );
            assert!(!d.detail.contains(".)"), "{}", d.detail);
        }
    }

    #[tokio::test]
    async fn unconfigured_provider_is_a_clear_error() {
        let ctx = Ctx::Unknown(AttributePath::root("region"));
        let config = Value::object([
            ("database", Value::from("raw")),
            ("name", Value::from("orders")),
        ]);
        let resp = CatalogTable.read(&ctx, &config).await;
        assert!(resp.diagnostics.has_error());
        assert!(resp.diagnostics.to_string().contains("`region`"));
    }
}

//! The provider under the real Terraform CLI (v1.0.3) against the emulator:
//! `data "gluepipe_catalog_table"` plans and applies and its outputs equal a
//! table created with the SDK; a bad provider block and a missing table give
//! diagnostics that say what and where.

use anyhow::{Context, Result};
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use gluepipe_tests::{Emulator, Terraform};
use serde_json::{Value, json};

const HEADER: &str = r#"
terraform {
  required_providers {
    gluepipe = { source = "gluepipe/gluepipe" }
  }
}
"#;

fn column(name: &str, ty: &str, comment: Option<&str>) -> Result<Column> {
    Ok(Column::builder()
        .name(name)
        .r#type(ty)
        .set_comment(comment.map(str::to_owned))
        .build()?)
}

/// Creates `raw.orders` (three columns, one partition key) in the emulator.
async fn create_orders_table(emu: &Emulator) -> Result<()> {
    let glue = aws_sdk_glue::Client::new(&emu.sdk_config().await);
    glue.create_database()
        .database_input(DatabaseInput::builder().name("raw").build()?)
        .send()
        .await?;
    let storage = StorageDescriptor::builder()
        .location("s3://landing/orders/")
        .input_format("org.apache.hadoop.mapred.TextInputFormat")
        .serde_info(
            SerDeInfo::builder()
                .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                .build(),
        )
        .columns(column("id", "bigint", Some("order key"))?)
        .columns(column("amount", "decimal(10,2)", None)?)
        .columns(column("items", "array<struct<sku:string,qty:int>>", None)?)
        .build();
    glue.create_table()
        .database_name("raw")
        .table_input(
            TableInput::builder()
                .name("orders")
                .storage_descriptor(storage)
                .partition_keys(column("order_date", "string", Some("yyyy-mm-dd"))?)
                .parameters("classification", "json")
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn data_source_outputs_equal_the_glue_table() -> Result<()> {
    let emu = Emulator::start()?;
    create_orders_table(&emu).await?;
    let tf = Terraform::new(&emu)?;
    tf.write(
        "main.tf",
        &format!(
            r#"{HEADER}
provider "gluepipe" {{
  region       = "us-east-1"
  endpoint_url = "{}"
  max_retries  = 1
  default_tags = {{ team = "data" }}
}}

data "gluepipe_catalog_table" "orders" {{
  database = "raw"
  name     = "orders"
}}

output "table" {{
  value = data.gluepipe_catalog_table.orders
}}
"#,
            emu.endpoint()
        ),
    )?;
    let plan = tf.run(&["plan", "-no-color"])?;
    plan.ok()?;
    assert!(
        plan.stdout.contains("Changes to Outputs"),
        "{}",
        plan.stdout
    );
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;

    let out = tf.run(&["output", "-json", "table"])?;
    out.ok()?;
    let table: Value = serde_json::from_str(&out.stdout).context("output -json")?;
    let expected = json!({
        "database": "raw",
        "name": "orders",
        "location": "s3://landing/orders/",
        "input_format": "org.apache.hadoop.mapred.TextInputFormat",
        "serde_library": "org.openx.data.jsonserde.JsonSerDe",
        "columns": [
            { "name": "id", "type": "bigint", "comment": "order key" },
            { "name": "amount", "type": "decimal(10,2)", "comment": "" },
            { "name": "items", "type": "array<struct<sku:string,qty:int>>", "comment": "" },
        ],
        "partition_keys": [{ "name": "order_date", "type": "string", "comment": "yyyy-mm-dd" }],
        "parameters": { "classification": "json" },
    });
    assert_eq!(table, expected);
    Ok(())
}

#[test]
fn bad_provider_block_names_the_attribute() -> Result<()> {
    // Validation happens before any AWS call: no emulator needed.
    let tf = Terraform::with_env(vec![("AWS_EC2_METADATA_DISABLED".into(), "true".into())])?;
    tf.write(
        "main.tf",
        &format!(
            r#"{HEADER}
provider "gluepipe" {{
  region       = "us-east-1"
  endpoint_url = "localhost:5000"
}}

data "gluepipe_catalog_table" "t" {{
  database = "raw"
  name     = "orders"
}}
"#
        ),
    )?;
    let plan = tf.run(&["plan", "-no-color"])?;
    assert_ne!(plan.code, 0, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Invalid endpoint URL"),
        "{}",
        plan.stderr
    );
    // Terraform points at the attribute's line in the configuration.
    assert!(
        plan.stderr.contains(r#"endpoint_url = "localhost:5000""#),
        "{}",
        plan.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_table_is_a_clear_error() -> Result<()> {
    let emu = Emulator::start()?;
    create_orders_table(&emu).await?;
    // The endpoint comes from AWS_ENDPOINT_URL in the emulator's environment.
    let tf = Terraform::new(&emu)?;
    tf.write(
        "main.tf",
        &format!(
            r#"{HEADER}
provider "gluepipe" {{}}

data "gluepipe_catalog_table" "t" {{
  database = "raw"
  name     = "no_such_table"
}}
"#
        ),
    )?;
    let plan = tf.run(&["plan", "-no-color"])?;
    assert_ne!(plan.code, 0, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Glue table not found"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains(r#"no table "no_such_table" in Glue database "raw""#),
        "{}",
        plan.stderr
    );
    Ok(())
}

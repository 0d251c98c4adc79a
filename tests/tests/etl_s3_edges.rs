//! The ETL binary at the edges of its outputs, against the emulator (moto): a catalog table
//! whose location Hadoop spelled `s3a://` is read as the provider reads it, quarantined rows land
//! beside the table's prefix rather than under it, and float statistics survive the S3 writer.

#![allow(clippy::unwrap_used)]

use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use gluepipe_tests::{Emulator, readback};

const BUCKET: &str = "gluepipe-edges";

async fn emulator() -> Emulator {
    let emu = Emulator::start().unwrap();
    emu.s3()
        .await
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    emu
}

async fn put(emu: &Emulator, key: &str, body: &str) {
    emu.s3()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
}

fn etl(emu: &Emulator, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(args)
        .arg("--no-progress")
        .envs(emu.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_table_at_an_s3a_location_is_read() {
    let emu = emulator().await;
    let glue = aws_sdk_glue::Client::new(&emu.sdk_config().await);
    glue.create_database()
        .database_input(DatabaseInput::builder().name("raw").build().unwrap())
        .send()
        .await
        .unwrap();
    let column = |n: &str, t: &str| Column::builder().name(n).r#type(t).build().unwrap();
    let sd = StorageDescriptor::builder()
        // As Spark on EMR registers it; the provider's plan reads it the same way.
        .location(format!("s3a://{BUCKET}/raw/prices/"))
        .columns(column("id", "bigint"))
        .columns(column("price", "double"))
        .serde_info(
            SerDeInfo::builder()
                .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                .build(),
        )
        .build();
    glue.create_table()
        .database_name("raw")
        .table_input(
            TableInput::builder()
                .name("prices")
                .parameters("classification", "json")
                .storage_descriptor(sd)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    put(
        &emu,
        "raw/prices/part-0.json",
        "{\"id\": 1, \"price\": 2.5}\n{\"id\": 2, \"price\": -1.25}\n",
    )
    .await;
    etl(
        &emu,
        &[
            "run",
            "--catalog-database",
            "raw",
            "--catalog-table",
            "prices",
            "--output",
            &format!("s3://{BUCKET}/curated/prices/"),
        ],
    );
    let read = readback::parquet_in_s3(&emu, BUCKET, "curated/prices/").unwrap();
    assert_eq!(read["rows"], 2, "{read}");
    assert_eq!(
        read["records"],
        serde_json::json!([{"id": 1, "price": 2.5}, {"id": 2, "price": -1.25}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_rows_on_s3_land_beside_the_table_prefix() {
    let emu = emulator().await;
    put(
        &emu,
        "raw/orders.json",
        "{\"id\": 1, \"qty\": 4}\n{\"id\": 2, \"qty\": 0}\n{\"id\": 3, \"qty\": 8}\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.dqdl");
    std::fs::write(&rules, "Rules = [ ColumnValues \"qty\" > 0 ]").unwrap();
    etl(
        &emu,
        &[
            "run",
            "--input",
            &format!("s3://{BUCKET}/raw/orders.json"),
            "--output",
            &format!("s3://{BUCKET}/curated/orders/"),
            "--rules",
            rules.to_str().unwrap(),
            "--on-dq-failure",
            "quarantine",
        ],
    );
    // Every Parquet object under the table's prefix, `_gluepipe/` included, is table data.
    let keys: Vec<String> = emu
        .s3()
        .await
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("curated/orders/")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let table = readback::parquet_in_s3(&emu, BUCKET, "curated/orders/").unwrap();
    assert_eq!(table["rows"], 2, "{table}");
    let quarantined = readback::parquet_in_s3(&emu, BUCKET, "curated/orders_quarantine/").unwrap();
    assert_eq!(quarantined["rows"], 1, "{quarantined}");
    assert_eq!(quarantined["records"][0]["id"], 2);
    assert_eq!(
        quarantined["records"][0]["DataQualityEvaluationResult"],
        "Failed"
    );
}

//! The examples as a user runs them, end to end on the emulator: `terraform apply` → start the
//! state machine → Step Functions runs the Glue job → the job's launcher (from S3) downloads and
//! runs the real `gluepipe-etl` → Parquet in S3, read back with pyarrow → `terraform destroy`
//! leaves nothing behind.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_glue::types::{Column, SerDeInfo, StorageDescriptor, TableInput};
use gluepipe_tests::tf_helpers::run_execution;
use gluepipe_tests::{Emulator, Terraform, bins, cloudwatch, readback};
use serde_json::{Value, json};

const RAW: &str = "gluepipe-demo-raw";
const CURATED: &str = "gluepipe-demo-curated";
const ARTIFACTS: &str = "gluepipe-demo-artifacts";

/// The quickstart's world: buckets, its raw orders in S3 and the raw catalog table over them
/// (read from `examples/quickstart/raw_table.json`, the file the demo uses too).
async fn seed(emu: &Emulator, tables: &[&str]) -> Result<usize> {
    let s3 = emu.s3().await;
    for bucket in [RAW, CURATED, ARTIFACTS] {
        s3.create_bucket().bucket(bucket).send().await?;
    }
    let data = bins::repo_root().join("examples/quickstart/data");
    let orders = std::fs::read(data.join("orders-2026-11-24.jsonl"))?;
    let rows = orders
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    s3.put_object()
        .bucket(RAW)
        .key("orders/orders-2026-11-24.jsonl")
        .body(orders.into())
        .send()
        .await?;
    let table: Value = serde_json::from_slice(&std::fs::read(data.join("../raw_table.json"))?)?;
    let sd = &table["StorageDescriptor"];
    let columns = sd["Columns"]
        .as_array()
        .context("columns")?
        .iter()
        .map(|c| {
            Column::builder()
                .name(c["Name"].as_str().unwrap())
                .r#type(c["Type"].as_str().unwrap())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let glue = aws_sdk_glue::Client::new(&emu.sdk_config().await);
    glue.create_database()
        .database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name("raw")
                .build()?,
        )
        .send()
        .await?;
    for name in tables {
        // The orders table sits over the quickstart's data; any other one over a folder of its own.
        let location = match *name {
            "orders_json" => sd["Location"].as_str().unwrap().to_string(),
            other => format!("s3://{RAW}/{other}/"),
        };
        glue.create_table()
            .database_name("raw")
            .table_input(
                TableInput::builder()
                    .name(*name)
                    .parameters("classification", "json")
                    .storage_descriptor(
                        StorageDescriptor::builder()
                            .set_columns(Some(columns.clone()))
                            .location(location)
                            .serde_info(
                                SerDeInfo::builder()
                                    .serialization_library(
                                        sd["SerdeInfo"]["SerializationLibrary"].as_str().unwrap(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()?,
            )
            .send()
            .await?;
    }
    // Each Glue job run executes the job's own script (our launcher) from S3, as Glue does.
    emu.set_job_runner_script(&bins::python()?, &[])?;
    Ok(rows)
}

fn output(tf: &Terraform, name: &str) -> Result<Value> {
    let out = tf.run(&["output", "-json", name])?;
    out.ok()?;
    Ok(serde_json::from_str(&out.stdout)?)
}

/// Starts an execution and waits for its end; returns (status, cause).
async fn run(emu: &Emulator, state_machine: &str, input: Value) -> Result<(String, String)> {
    let sfn = aws_sdk_sfn::Client::new(&emu.sdk_config().await);
    let d = run_execution(
        emu,
        &sfn,
        state_machine,
        None,
        &input,
        Duration::from_secs(180),
    )
    .await?;
    Ok((d.status.as_str().to_string(), d.cause.unwrap_or_default()))
}

async fn run_record(emu: &Emulator) -> Result<Value> {
    let s3 = emu.s3().await;
    let listed = s3
        .list_objects_v2()
        .bucket(CURATED)
        .prefix("orders/_gluepipe/runs/")
        .send()
        .await?;
    let key = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .max()
        .context("no run record")?
        .to_string();
    let body = s3
        .get_object()
        .bucket(CURATED)
        .key(&key)
        .send()
        .await?
        .body
        .collect()
        .await?;
    Ok(serde_json::from_slice(&body.into_bytes())?)
}

/// Nothing of a pipeline is left: job, roles, state machine.
async fn assert_gone(emu: &Emulator, name: &str) -> Result<()> {
    let cfg = emu.sdk_config().await;
    let glue = aws_sdk_glue::Client::new(&cfg);
    assert!(
        glue.get_job().job_name(name).send().await.is_err(),
        "job {name} still exists"
    );
    let iam = aws_sdk_iam::Client::new(&cfg);
    let roles = iam.list_roles().send().await?;
    let left: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|n| n.starts_with(name))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
    let sfn = aws_sdk_sfn::Client::new(&cfg);
    let machines = sfn.list_state_machines().send().await?;
    assert!(
        machines.state_machines().iter().all(|m| m.name() != name),
        "state machine {name} left"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn quickstart_runs_end_to_end_and_destroys_cleanly() -> Result<()> {
    let emu = Emulator::start()?;
    let rows = seed(&emu, &["orders_json"]).await?;
    let tf = Terraform::from_repo(emu.env(), "examples/quickstart")?;
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;
    let plan = tf.run(&["plan", "-detailed-exitcode", "-no-color"])?;
    assert_eq!(plan.code, 0, "a second plan must be empty: {}", plan.stdout);

    let state_machine = output(&tf, "state_machine_arn")?;
    let (status, cause) = run(&emu, state_machine.as_str().unwrap(), json!({})).await?;
    assert_eq!(status, "SUCCEEDED", "{cause}\n{}", emu.job_runs()?);

    // The Parquet, read back by pyarrow: every row, the mapped types, one partition.
    let parquet = readback::parquet_in_s3(&emu, CURATED, "orders/")?;
    assert_eq!(parquet["rows"], rows);
    let schema = &parquet["schema"];
    assert_eq!(schema["order_id"], "int64");
    assert_eq!(schema["amount"], "decimal128(10, 2)");
    assert!(
        schema["ordered_at"]
            .as_str()
            .unwrap()
            .starts_with("timestamp[us, tz="),
        "{schema}"
    );
    assert_eq!(
        schema["items"],
        "list<element: struct<sku: string, qty: int32, price: double>>"
    );
    for file in parquet["files"].as_array().unwrap() {
        assert!(
            file["key"]
                .as_str()
                .unwrap()
                .starts_with("orders/order_date=2026-11-24/"),
            "{file}"
        );
    }
    let records = parquet["records"].as_array().unwrap();
    let first = records
        .iter()
        .find(|r| r["order_id"] == 1001)
        .context("order 1001")?;
    assert_eq!(first["country"], "JP");
    // 2026-11-24T11:37:03+01:00 is 10:37:03 UTC.
    assert!(
        first["ordered_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-24 10:37:03"),
        "{first}"
    );

    // The run record, kept beside the manifests: counts balance, every rule passed.
    let record = run_record(&emu).await?;
    assert_eq!(record["rows_in"], rows);
    assert_eq!(record["rows_written"], rows);
    assert_eq!(record["rows_rejected"], 0);
    assert_eq!(record["data_quality"]["outcome"], "Passed", "{record}");
    let rules = record["data_quality"]["ruleOutcomes"].as_array().unwrap();
    assert_eq!(rules.len(), 6);
    assert!(rules.iter().all(|r| r["Outcome"] == "Passed"), "{rules:?}");

    // `metrics {}`: the run's metrics are in CloudWatch, under Glue's names for the rules.
    let cw = aws_sdk_cloudwatch::Client::new(&emu.sdk_config().await);
    let name = "orders-json-to-parquet";
    let dq = ("EvaluationContext", name);
    let pipeline = ("Pipeline", name);
    let metric = |ns, metric, dim| cloudwatch::sum(&cw, ns, metric, dim);
    let glue_dq = "Glue Data Quality";
    assert_eq!(
        metric(glue_dq, "glue.data.quality.rules.passed", dq).await?,
        Some(6.0)
    );
    assert_eq!(
        metric(glue_dq, "glue.data.quality.rules.failed", dq).await?,
        Some(0.0)
    );
    assert_eq!(
        metric("gluepipe", "RunSucceeded", pipeline).await?,
        Some(1.0)
    );
    assert_eq!(
        metric("gluepipe", "RowsWritten", pipeline).await?,
        Some(rows as f64)
    );

    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_gone(&emu, "orders-json-to-parquet").await
}

#[tokio::test(flavor = "multi_thread")]
async fn quarantine_sets_failing_rows_aside_and_publishes_the_rest() -> Result<()> {
    let emu = Emulator::start()?;
    let rows = seed(&emu, &["orders_json"]).await?;
    let tf = Terraform::from_repo(emu.env(), "examples/quickstart")?;
    // Same pipeline, but returned orders fail a row-level rule and are quarantined.
    let main = std::fs::read_to_string(tf.path().join("main.tf"))?
        .replace("on_failure = \"fail\"", "on_failure = \"quarantine\"");
    tf.write("main.tf", &main)?;
    tf.write(
        "orders.dqdl",
        "Rules = [\n  IsComplete \"order_id\",\n  ColumnValues \"status\" in [ \"placed\", \"shipped\", \"delivered\" ]\n]\n",
    )?;
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;
    let state_machine = output(&tf, "state_machine_arn")?;
    let (status, cause) = run(&emu, state_machine.as_str().unwrap(), json!({})).await?;
    assert_eq!(status, "SUCCEEDED", "{cause}\n{}", emu.job_runs()?);

    let published = readback::parquet_in_s3(&emu, CURATED, "orders/order_date=")?;
    // Beside the table, not under it: a reader of orders/ never sees them.
    let quarantined = readback::parquet_in_s3(&emu, CURATED, "orders_quarantine/")?;
    let record = run_record(&emu).await?;
    let status_of = |v: &Value| -> Vec<String> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        !status_of(&published).iter().any(|s| s == "returned"),
        "returned orders must not be published"
    );
    let q = status_of(&quarantined);
    assert!(
        !q.is_empty() && q.iter().all(|s| s == "returned"),
        "quarantine holds exactly the returned orders: {q:?}"
    );
    let n_published = published["rows"].as_u64().unwrap();
    let n_quarantined = quarantined["rows"].as_u64().unwrap();
    assert_eq!(n_published + n_quarantined, rows as u64, "{record}");
    assert_eq!(record["rows_in"], rows);
    assert_eq!(record["rows_written"], n_published);
    assert_eq!(record["rows_quarantined"], n_quarantined);
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_gone(&emu, "orders-json-to-parquet").await
}

#[tokio::test(flavor = "multi_thread")]
async fn many_tables_applies_a_pipeline_per_table_and_destroys_them() -> Result<()> {
    let emu = Emulator::start()?;
    seed(&emu, &["orders_json", "customers_json"]).await?;
    let tf = Terraform::from_repo(emu.env(), "examples/many-tables")?;
    tf.run(&["get", "-no-color"])?.ok()?;
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;
    let arns = output(&tf, "state_machine_arns")?;
    assert_eq!(arns.as_object().unwrap().len(), 2, "{arns}");
    let glue = aws_sdk_glue::Client::new(&emu.sdk_config().await);
    for name in ["curated-orders", "curated-customers"] {
        let job = glue
            .get_job()
            .job_name(name)
            .send()
            .await?
            .job
            .context("job")?;
        assert_eq!(job.command.unwrap().name.as_deref(), Some("pythonshell"));
    }
    let plan = tf.run(&["plan", "-detailed-exitcode", "-no-color"])?;
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    for name in ["curated-orders", "curated-customers"] {
        assert_gone(&emu, name).await?;
    }
    Ok(())
}

#[test]
fn the_local_example_runs_on_a_laptop_without_aws() -> Result<()> {
    let out = tempfile::tempdir()?;
    let run = std::process::Command::new(bins::etl()?)
        .args([
            "run",
            "examples/local/pipeline.json",
            "--no-progress",
            "--output",
        ])
        .arg(out.path())
        .current_dir(bins::repo_root())
        .env_remove("AWS_ENDPOINT_URL")
        .output()?;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let parquet = readback::parquet_in_dir(out.path())?;
    assert_eq!(parquet["rows"], 40);
    assert_eq!(parquet["schema"]["amount"], "decimal128(10, 2)");
    assert!(
        parquet["files"][0]["key"]
            .as_str()
            .unwrap()
            .starts_with("order_date=2026-11-24/"),
        "{parquet}"
    );
    Ok(())
}

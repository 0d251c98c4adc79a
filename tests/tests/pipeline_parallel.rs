//! A scaled-out `gluepipe_pipeline` (`runtime { parallelism = 3, files_per_shard = 2 }`) end to
//! end on the emulator: `terraform apply` → a state machine with a Distributed Map over the
//! source prefix → each batch of objects converted by its own Glue run (the launcher from S3
//! running the real `gluepipe-etl` in shard mode) → one merge run that checks the shards,
//! evaluates the ruleset over all of them and publishes → Parquet read back with pyarrow and
//! compared row by row with the input. A second execution over data with a duplicate id spread
//! across two shards fails the merge's `IsUnique` (only the merged state can see it) and
//! publishes nothing; a third, with an unreadable file, fails that file's shard and so the map,
//! before any merge. `terraform destroy` leaves nothing behind.
//!
//! The emulator's moto lacks `ItemBatcher` and enforces no failure threshold; the bench mends
//! both (`tests/bench/emulator.py`), so what runs here is the definition the provider writes.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gluepipe_tests::tf_helpers::{SdkClients, apply, assert_no_changes, run_execution, timed};
use gluepipe_tests::{Emulator, Terraform, bins, readback};
use serde_json::{Value, json};

const NAME: &str = "orders-parallel";
/// Source objects: seven files of three orders each, and a marker the shards must skip.
const FILES: usize = 7;
const ROWS_PER_FILE: usize = 3;

fn main_tf(etl: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

provider "gluepipe" {{}}

resource "gluepipe_pipeline" "orders" {{
  name = "{NAME}"
  source {{
    path = "s3://raw-bucket/orders/"
  }}
  mapping {{
    from = "id"
    to   = "order_id"
    type = "bigint"
  }}
  mapping {{
    from = "customer.name"
    to   = "customer_name"
    type = "string"
  }}
  mapping {{
    from = "amount"
    to   = "amount"
    type = "double"
  }}
  data_quality {{
    ruleset = "Rules = [ RowCount = {rows}, IsComplete \"order_id\", IsUnique \"order_id\" ]"
  }}
  target {{
    path = "s3://curated-bucket/orders/"
  }}
  runtime {{
    artifact_bucket     = "artifact-bucket"
    etl_binary          = "{etl}"
    parallelism         = 3
    files_per_shard     = 2
    max_concurrent_runs = 3
  }}
}}

output "state_machine_arn" {{
  value = gluepipe_pipeline.orders.state_machine_arn
}}
"#,
        rows = FILES * ROWS_PER_FILE,
    )
}

/// Order `i` as the source holds it, and as the Parquet must hold it.
fn order(i: usize) -> (Value, Value) {
    let name = format!("customer-{}", i % 4);
    let amount = (i as f64) * 1.25;
    (
        json!({"id": i, "customer": {"name": name}, "amount": amount}),
        json!({"order_id": i, "customer_name": name, "amount": amount}),
    )
}

/// Writes the source files; returns the rows the Parquet must hold.
async fn seed(aws: &SdkClients) -> Result<Vec<Value>> {
    aws.buckets().await?;
    let mut expected = Vec::new();
    for f in 0..FILES {
        let mut body = String::new();
        for r in 0..ROWS_PER_FILE {
            let (source, output) = order(f * ROWS_PER_FILE + r);
            body.push_str(&source.to_string());
            body.push('\n');
            expected.push(output);
        }
        put(aws, &format!("orders/part-{f:02}.json"), body).await?;
    }
    put(aws, "orders/_SUCCESS", String::new()).await?;
    Ok(expected)
}

async fn put(aws: &SdkClients, key: &str, body: String) -> Result<()> {
    aws.s3
        .put_object()
        .bucket("raw-bucket")
        .key(key)
        .body(body.into_bytes().into())
        .send()
        .await?;
    Ok(())
}

/// Starts an execution and waits for its end; returns (status, error, cause).
async fn execute(emu: &Emulator, aws: &SdkClients, arn: &str) -> Result<(String, String, String)> {
    let d = run_execution(
        emu,
        &aws.sfn,
        arn,
        None,
        &json!({}),
        Duration::from_secs(300),
    )
    .await?;
    Ok((
        d.status.as_str().to_string(),
        d.error.unwrap_or_default(),
        d.cause.unwrap_or_default(),
    ))
}

/// The value of `--flag` in a job run's command line.
fn flag<'a>(run: &'a Value, flag: &str) -> Option<&'a str> {
    let command = run["command"].as_array()?;
    let i = command.iter().position(|a| a == flag)?;
    command.get(i + 1)?.as_str()
}

/// The job runs started since `skip`, split into (shards, merges).
fn runs_by_mode(emu: &Emulator, skip: usize) -> Result<(Vec<Value>, Vec<Value>)> {
    let runs = emu.job_runs()?;
    let runs = runs.as_array().context("job runs")?;
    let (mut shards, mut merges) = (Vec::new(), Vec::new());
    for run in runs.iter().skip(skip) {
        match flag(run, "--gluepipe_mode") {
            Some("shard") => shards.push(run.clone()),
            Some("merge") => merges.push(run.clone()),
            other => bail!("a job run in mode {other:?}: {run}"),
        }
    }
    Ok((shards, merges))
}

fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(|r| r.to_string());
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn sharded_run_converts_every_file_once_and_merges() -> Result<()> {
    let emu = Emulator::start()?;
    let aws = SdkClients::new(&emu).await;
    let expected = seed(&aws).await?;
    // Each Glue job run executes the job's own script (our launcher) from S3, as Glue does.
    emu.set_job_runner_script(&bins::python()?, &[])?;

    let tf = Terraform::new(&emu)?;
    tf.write("main.tf", &main_tf(&bins::etl()?.display().to_string()))?;
    timed("apply", || apply(&tf))?;
    assert_no_changes(&tf, "apply")?;

    // What AWS holds: a distributed map over the source prefix, then the merge.
    let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{NAME}");
    let described = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await?;
    let asl: Value = serde_json::from_str(described.definition())?;
    let map = &asl["States"]["Shards"];
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        map["ItemReader"]["Parameters"],
        json!({"Bucket": "raw-bucket", "Prefix": "orders/"})
    );
    assert_eq!(map["ItemBatcher"]["MaxItemsPerBatch"], 2);
    assert_eq!(map["MaxConcurrency"], 3);
    assert_eq!(asl["States"]["Merge"]["Type"], "Task");
    let policy = aws
        .role_policy(&format!("{NAME}-sfn"), "gluepipe-run-job")
        .await?;
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .context("statements")?
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    for sid in [
        "ListSourceObjects",
        "StartShardExecutions",
        "WatchShardExecutions",
    ] {
        assert!(sids.contains(&sid), "{sid} missing from {policy}");
    }

    let start = Instant::now();
    let (status, error, cause) = execute(&emu, &aws, &arn).await?;
    eprintln!(
        "timing: sharded execution took {:.2} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        status,
        "SUCCEEDED",
        "{error}: {cause}\njob runs: {:#}",
        emu.job_runs()?
    );

    // Eight listed objects in batches of two: four shard runs of one run id, then one merge.
    let (shards, merges) = runs_by_mode(&emu, 0)?;
    assert_eq!(
        (shards.len(), merges.len()),
        (4, 1),
        "{shards:#?} {merges:#?}"
    );
    let run_id = flag(&merges[0], "--gluepipe_run_id").context("merge run id")?;
    let mut listed = Vec::new();
    for shard in &shards {
        assert_eq!(shard["state"], "SUCCEEDED", "{shard:#}");
        assert_eq!(flag(shard, "--gluepipe_run_id"), Some(run_id));
        assert_eq!(
            flag(shard, "--gluepipe_evaluated_at"),
            flag(&merges[0], "--gluepipe_evaluated_at")
        );
        let items: Vec<Value> =
            serde_json::from_str(flag(shard, "--gluepipe_shard_inputs").context("items")?)?;
        assert!(items.len() <= 2, "{items:?}");
        listed.extend(
            items
                .iter()
                .filter_map(|i| i["Key"].as_str().map(str::to_owned)),
        );
    }
    listed.sort();
    let mut want: Vec<String> = (0..FILES)
        .map(|f| format!("orders/part-{f:02}.json"))
        .collect();
    want.push("orders/_SUCCESS".into());
    want.sort();
    assert_eq!(listed, want, "every listed object in exactly one batch");

    // The Parquet holds every input row once, as pyarrow reads it.
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(parquet["rows"], FILES * ROWS_PER_FILE);
    assert_eq!(parquet["schema"]["order_id"], "int64");
    assert_eq!(parquet["schema"]["amount"], "double");
    let records = parquet["records"].as_array().context("records")?.clone();
    assert_eq!(sorted(records), sorted(expected.clone()));
    // The merge kept its run record and removed the shards' states.
    let curated = aws.keys("curated-bucket", "orders/_gluepipe/").await?;
    assert!(
        curated
            .iter()
            .any(|k| k.starts_with("orders/_gluepipe/runs/")),
        "{curated:?}"
    );
    assert!(
        !curated
            .iter()
            .any(|k| k.starts_with(&format!("orders/_gluepipe/shards/{run_id}/"))),
        "{curated:?}"
    );

    // An order id in two files of two different batches: no shard sees the duplicate, the
    // merged state does. The merge fails the execution naming the rule; nothing is published.
    let (duplicate, _) = order(0);
    put(&aws, "orders/part-99.json", format!("{duplicate}\n")).await?;
    let before = emu.job_runs()?.as_array().map_or(0, Vec::len);
    let (status, error, cause) = execute(&emu, &aws, &arn).await?;
    assert_eq!(status, "FAILED", "{error}: {cause}");
    assert_eq!(error, "gluepipe.JobFailed", "{cause}");
    assert!(cause.contains("IsUnique"), "{cause}");
    let (shards, merges) = runs_by_mode(&emu, before)?;
    assert_eq!((shards.len(), merges.len()), (5, 1));
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(
        parquet["rows"],
        FILES * ROWS_PER_FILE,
        "a failed merge publishes nothing"
    );

    // A file no shard can read: its shard run fails, so its child execution and the map do;
    // the execution ends in ShardFailed before any merge, and nothing is published.
    put(&aws, "orders/part-98.json", "{not json\n".to_string()).await?;
    let before = emu.job_runs()?.as_array().map_or(0, Vec::len);
    let (status, error, cause) = execute(&emu, &aws, &arn).await?;
    assert_eq!(status, "FAILED", "{error}: {cause}");
    assert_eq!(error, "gluepipe.ShardFailed", "{cause}");
    assert!(
        cause.contains("States.ExceedToleratedFailureThreshold"),
        "{cause}"
    );
    let (shards, merges) = runs_by_mode(&emu, before)?;
    assert_eq!(merges.len(), 0, "no merge after a failed shard");
    let failed: Vec<&Value> = shards.iter().filter(|r| r["state"] == "FAILED").collect();
    assert_eq!(failed.len(), 1, "{shards:#?}");
    assert!(
        flag(failed[0], "--gluepipe_shard_inputs").is_some_and(|i| i.contains("part-98.json")),
        "{:#}",
        failed[0]
    );
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(parquet["rows"], FILES * ROWS_PER_FILE);

    timed("destroy", || {
        tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
        Ok(())
    })?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

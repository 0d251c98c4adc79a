//! A scaled-out `gluepipe_pipeline` (`runtime { parallelism = 3, files_per_shard = 2 }`) end to
//! end on the emulator: `terraform apply` → a state machine with a Distributed Map over the
//! source prefix → each batch of objects converted by its own Glue run (the launcher from S3
//! running the real `gluepipe-etl` in shard mode) → one merge run that checks the shards,
//! evaluates the ruleset over all of them and publishes → Parquet read back with pyarrow and
//! compared row by row with the input. A second execution over data with a duplicate id spread
//! across two shards fails the merge's `IsUnique` (only the merged state can see it) and
//! publishes nothing; a third, with an unreadable file, fails that file's shard and so the map,
//! before any merge, and a discard run removes what the other shards staged. The first and third
//! executions have names the binary does not take as run ids, so the launcher derives one, the
//! same in every run of the execution. `terraform destroy` leaves nothing behind.
//!
//! The emulator's moto lacks `ItemBatcher` and enforces no failure threshold; the bench mends
//! both (`tests/bench/emulator.py`), so what runs here is the definition the provider writes. A
//! second test checks the mended batching itself: the map's `ItemSelector` applied to every
//! item first, batches cut by `MaxItemsPerBatch` and by `MaxInputBytesPerBatch`.

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

/// Execution names Step Functions takes but a gluepipe-etl run id may not hold (`+`, `@`).
const FIRST_EXECUTION: &str = "nightly+run@1";
const FAILING_EXECUTION: &str = "nightly+run@3";

/// Starts an execution (named `name`, if given) with `input` and waits for its end; returns
/// (status, error, cause).
async fn execute(
    emu: &Emulator,
    aws: &SdkClients,
    arn: &str,
    name: Option<&str>,
    input: Value,
) -> Result<(String, String, String)> {
    let d = run_execution(emu, &aws.sfn, arn, name, &input, Duration::from_secs(300)).await?;
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

/// The job runs started since `skip`, by mode.
#[derive(Default)]
struct Runs {
    shards: Vec<Value>,
    merges: Vec<Value>,
    discards: Vec<Value>,
}

fn runs_by_mode(emu: &Emulator, skip: usize) -> Result<Runs> {
    let runs = emu.job_runs()?;
    let runs = runs.as_array().context("job runs")?;
    let mut by_mode = Runs::default();
    for run in runs.iter().skip(skip) {
        let list = match flag(run, "--gluepipe_mode") {
            Some("shard") => &mut by_mode.shards,
            Some("merge") => &mut by_mode.merges,
            Some("discard") => &mut by_mode.discards,
            other => bail!("a job run in mode {other:?}: {run}"),
        };
        list.push(run.clone());
    }
    Ok(by_mode)
}

/// The run id the launcher gave gluepipe-etl, from its first log line
/// `gluepipe: job … run … (<mode> of run <id>[, execution '<name>'])`.
fn logged_run_id(run: &Value) -> Option<&str> {
    let stdout = run["stdout"].as_str()?;
    let rest = &stdout[stdout.find(" of run ")? + " of run ".len()..];
    rest.split([',', ')']).next()
}

/// What the binary takes as a run id: 1 to 128 of `[A-Za-z0-9._-]`, not starting with `.`.
fn is_valid_run_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Every run's `--gluepipe_run_id` is `execution` and every launcher derived the same valid
/// run id from it; returns that run id.
fn shared_run_id(runs: &[&Value], execution: &str) -> Result<String> {
    let first = runs.first().context("no runs")?;
    let run_id = logged_run_id(first).with_context(|| format!("no run id logged: {first:#}"))?;
    for run in runs {
        assert_eq!(flag(run, "--gluepipe_run_id"), Some(execution), "{run:#}");
        assert_eq!(logged_run_id(run), Some(run_id), "{run:#}");
    }
    assert!(is_valid_run_id(run_id), "{run_id}");
    assert_ne!(run_id, execution, "the name is not a valid run id");
    Ok(run_id.to_string())
}

/// What is left of sharded runs under the target: shard states and pending uploads.
async fn shard_leftovers(aws: &SdkClients) -> Result<Vec<String>> {
    let mut left = aws
        .keys("curated-bucket", "orders/_gluepipe/shards/")
        .await?;
    let uploads = aws
        .s3
        .list_multipart_uploads()
        .bucket("curated-bucket")
        .prefix("orders/")
        .send()
        .await?;
    left.extend(
        uploads
            .uploads()
            .iter()
            .map(|u| format!("upload of {}", u.key().unwrap_or("?"))),
    );
    Ok(left)
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
    assert_eq!(
        map["ItemSelector"],
        json!({"Key.$": "$$.Map.Item.Value.Key"})
    );
    assert_eq!(map["ItemBatcher"]["MaxItemsPerBatch"], 2);
    assert_eq!(map["ItemBatcher"]["MaxInputBytesPerBatch"], 65536);
    assert_eq!(map["MaxConcurrency"], 3);
    assert_eq!(asl["States"]["Merge"]["Type"], "Task");
    assert_eq!(asl["States"]["Discard"]["Type"], "Task");
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
    let (status, error, cause) =
        execute(&emu, &aws, &arn, Some(FIRST_EXECUTION), json!({})).await?;
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
    let Runs {
        shards,
        merges,
        discards,
    } = runs_by_mode(&emu, 0)?;
    assert_eq!(
        (shards.len(), merges.len(), discards.len()),
        (4, 1, 0),
        "{shards:#?} {merges:#?}"
    );
    let run_id = shared_run_id(
        &shards.iter().chain(&merges).collect::<Vec<_>>(),
        FIRST_EXECUTION,
    )?;
    let mut listed = Vec::new();
    for shard in &shards {
        assert_eq!(shard["state"], "SUCCEEDED", "{shard:#}");
        assert_eq!(
            flag(shard, "--gluepipe_evaluated_at"),
            flag(&merges[0], "--gluepipe_evaluated_at")
        );
        let items: Vec<Value> =
            serde_json::from_str(flag(shard, "--gluepipe_shard_inputs").context("items")?)?;
        assert!(items.len() <= 2, "{items:?}");
        for item in &items {
            // The map's ItemSelector keeps only the key of each listed object.
            let key = item["Key"].as_str().with_context(|| format!("{item}"))?;
            assert_eq!(item, &json!({"Key": key}));
            listed.push(key.to_string());
        }
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
    assert_eq!(
        shard_leftovers(&aws).await?,
        Vec::<String>::new(),
        "run {run_id}"
    );

    // An order id in two files of two different batches: no shard sees the duplicate, the
    // merged state does. The merge fails the execution naming the rule; nothing is published.
    let (duplicate, _) = order(0);
    put(&aws, "orders/part-99.json", format!("{duplicate}\n")).await?;
    let before = emu.job_runs()?.as_array().map_or(0, Vec::len);
    let (status, error, cause) = execute(&emu, &aws, &arn, None, json!({})).await?;
    assert_eq!(status, "FAILED", "{error}: {cause}");
    assert_eq!(error, "gluepipe.JobFailed", "{cause}");
    assert!(cause.contains("IsUnique"), "{cause}");
    let runs = runs_by_mode(&emu, before)?;
    // A failed merge discards the shards itself: no discard run.
    assert_eq!(
        (runs.shards.len(), runs.merges.len(), runs.discards.len()),
        (5, 1, 0)
    );
    assert_eq!(shard_leftovers(&aws).await?, Vec::<String>::new());
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(
        parquet["rows"],
        FILES * ROWS_PER_FILE,
        "a failed merge publishes nothing"
    );

    // A file no shard can read: its shard run fails, so its child execution and the map do;
    // a discard run of the same run id removes what the other shards staged, and the execution
    // ends in ShardFailed with the map's error, before any merge; nothing is published.
    put(&aws, "orders/part-98.json", "{not json\n".to_string()).await?;
    let before = emu.job_runs()?.as_array().map_or(0, Vec::len);
    let (status, error, cause) =
        execute(&emu, &aws, &arn, Some(FAILING_EXECUTION), json!({})).await?;
    assert_eq!(status, "FAILED", "{error}: {cause}");
    assert_eq!(error, "gluepipe.ShardFailed", "{cause}");
    assert!(
        cause.contains("States.ExceedToleratedFailureThreshold"),
        "{cause}"
    );
    let Runs {
        shards,
        merges,
        discards,
    } = runs_by_mode(&emu, before)?;
    assert_eq!(merges.len(), 0, "no merge after a failed shard");
    assert_eq!(discards.len(), 1, "{discards:#?}");
    assert_eq!(discards[0]["state"], "SUCCEEDED", "{:#}", discards[0]);
    let run_id = shared_run_id(
        &shards.iter().chain(&discards).collect::<Vec<_>>(),
        FAILING_EXECUTION,
    )?;
    // The discard found the state of every shard that succeeded, and removed what they staged.
    let staged = shards.iter().filter(|r| r["state"] == "SUCCEEDED").count();
    assert!(staged >= 1, "no shard staged anything: {shards:#?}");
    let log = format!("{}{}", discards[0]["stdout"], discards[0]["stderr"]);
    assert!(
        log.contains(&format!("run {run_id} discarding {staged} shard(s)")),
        "{log}"
    );
    assert_eq!(
        shard_leftovers(&aws).await?,
        Vec::<String>::new(),
        "run {run_id}"
    );
    let failed: Vec<&Value> = shards.iter().filter(|r| r["state"] == "FAILED").collect();
    assert_eq!(failed.len(), 1, "{shards:#?}");
    assert!(
        flag(failed[0], "--gluepipe_shard_inputs").is_some_and(|i| i.contains("part-98.json")),
        "{:#}",
        failed[0]
    );
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(parquet["rows"], FILES * ROWS_PER_FILE);

    // An output no run can reach: every shard fails, and so does the discard (it cannot list
    // the bucket either). The execution still ends with the map's error, not the discard's.
    let before = emu.job_runs()?.as_array().map_or(0, Vec::len);
    let unreachable = json!({"arguments": {"--output": "s3://no-such-bucket/orders/"}});
    let (status, error, cause) = execute(&emu, &aws, &arn, None, unreachable).await?;
    assert_eq!(status, "FAILED", "{error}: {cause}");
    assert_eq!(error, "gluepipe.ShardFailed", "{cause}");
    assert!(
        cause.starts_with("States.ExceedToleratedFailureThreshold: "),
        "{cause}"
    );
    let runs = runs_by_mode(&emu, before)?;
    assert_eq!(runs.discards.len(), 1, "{:#?}", runs.discards);
    assert_eq!(
        runs.discards[0]["state"], "FAILED",
        "{:#}",
        runs.discards[0]
    );
    assert_eq!(
        flag(&runs.discards[0], "--output"),
        Some("s3://no-such-bucket/orders/"),
        "the discard gets the execution's arguments"
    );

    timed("destroy", || {
        tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
        Ok(())
    })?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

/// The bench's `ItemBatcher` as Step Functions documents it: every listed object through the
/// map's `ItemSelector` first (`$` the map's input, `$$.Map.Item` the object), then the selected
/// items in order, in batches of at most `MaxItemsPerBatch` items and `MaxInputBytesPerBatch`
/// bytes of JSON array, each batch full before the next starts, with `BatchInput` beside it.
#[tokio::test(flavor = "multi_thread")]
async fn the_bench_batches_selected_items_by_count_and_bytes() -> Result<()> {
    const MAX_ITEMS: usize = 4;
    const MAX_BYTES: usize = 300;
    let emu = Emulator::start()?;
    let aws = SdkClients::new(&emu).await;
    aws.buckets().await?;
    // Keys of growing length, so that later batches are cut by bytes before they hold four.
    let keys: Vec<String> = (0..12)
        .map(|i| format!("listed/k{i:02}-{}", "x".repeat(10 * i)))
        .collect();
    for key in &keys {
        put(&aws, key, "{}\n".to_string()).await?;
    }
    let asl = json!({
        "StartAt": "Batches",
        "States": {"Batches": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "raw-bucket", "Prefix": "listed/"}
            },
            "ItemSelector": {
                "Key.$": "$$.Map.Item.Value.Key",
                "index.$": "$$.Map.Item.Index",
                "tag.$": "$.tag"
            },
            "ItemBatcher": {
                "MaxItemsPerBatch": MAX_ITEMS,
                "MaxInputBytesPerBatch": MAX_BYTES,
                "BatchInput": {"tag.$": "$.tag"}
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "End": true}}
            },
            "End": true
        }}
    });
    let arn = aws
        .sfn
        .create_state_machine()
        .name("batches")
        .definition(asl.to_string())
        .role_arn("arn:aws:iam::123456789012:role/batches")
        .send()
        .await?
        .state_machine_arn;
    let done = run_execution(
        &emu,
        &aws.sfn,
        &arn,
        None,
        &json!({"tag": "T"}),
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(done.status.as_str(), "SUCCEEDED", "{:?}", done.cause);
    let batches: Vec<Value> = serde_json::from_str(done.output().context("output")?)?;

    let array_bytes = |items: &[Value]| serde_json::to_vec(items).map(|b| b.len());
    let mut seen = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        assert_eq!(batch["BatchInput"], json!({"tag": "T"}), "{batch}");
        let items = batch["Items"].as_array().context("Items")?;
        assert!(!items.is_empty() && items.len() <= MAX_ITEMS, "{batch}");
        assert!(array_bytes(items)? <= MAX_BYTES, "{batch}");
        // Full: the next batch's first item would have broken a limit.
        if let Some(next) = batches.get(i + 1) {
            let mut grown = items.clone();
            grown.push(next["Items"][0].clone());
            assert!(
                grown.len() > MAX_ITEMS || array_bytes(&grown)? > MAX_BYTES,
                "batch {i} could have held the next item"
            );
        }
        seen.extend(items.iter().cloned());
    }
    let want: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| json!({"Key": key, "index": i, "tag": "T"}))
        .collect();
    assert_eq!(seen, want, "every selected item once, in listing order");
    assert!(
        batches
            .iter()
            .any(|b| b["Items"].as_array().map_or(0, Vec::len) < MAX_ITEMS)
            && batches.len() > keys.len().div_ceil(MAX_ITEMS),
        "some batches are cut by bytes: {batches:#?}"
    );
    Ok(())
}

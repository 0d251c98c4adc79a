//! Least privilege, proven sufficient and necessary on the emulator with IAM enforcement on
//! ([`Emulator::start_with_iam`]): Terraform applies as an admin user, every Glue job run acts
//! with a session of its job role (the script download, the launcher and `gluepipe-etl`, the
//! run's CloudWatch Logs streams) and every Step Functions execution with its state machine's
//! role. What moto evaluates, and what it does not, is in `tests/bench/iam_enforcement.py` and
//! `docs/testing.md`.
//!
//! - [`every_shape_runs_with_the_generated_policies`]: a path source (with CloudWatch metrics
//!   and SNS notifications, which must arrive), a catalog source, a
//!   catalog target, a quarantine (with results in a bucket of their own) and a sharded
//!   (scale-out) pipeline each run end to end with exactly the policies the provider wrote.
//! - [`removing_any_statement_fails_the_run`]: for each of those pipelines, each statement of
//!   its job role and state machine role is removed in turn (through the SDK, on the applied
//!   pipeline), the pipeline is run again, and the run must fail with IAM having denied one of
//!   that statement's actions to that role; the statement is put back before the next one.
//!   Statements moto cannot evaluate are listed in [`UNEVALUATED`] with the reason.
//!
//! Not covered: the ECS runtime. moto runs no containers and its `ecs:runTask.sync`
//! integration is broken (see `tests/tests/pipeline_ecs.rs`), so no ECS run exists to enforce
//! IAM on; the ECS roles' policies are checked statement by statement in
//! `pipeline_ecs.rs` and the provider's unit tests only.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use gluepipe_tests::cloudwatch::sum;
use gluepipe_tests::sns::Inbox;
use gluepipe_tests::tf_helpers::{SdkClients, apply, run_execution, timed};
use gluepipe_tests::{Emulator, Terraform, bins};
use serde_json::{Value, json};

/// The pipelines, one per shape; each name is also its job, state machine and role stem.
const SHAPES: [&str; 5] = [
    "iam-path",
    "iam-catalog-source",
    "iam-catalog-target",
    "iam-quarantine",
    "iam-sharded",
];

/// (role suffix, statement Sid, why moto cannot prove it necessary).
const UNEVALUATED: [(&str, &str, &str); 2] = [
    (
        "-sfn",
        "StartShardExecutions",
        "moto's Distributed Map starts its child executions inside the interpreter, not \
         through states:StartExecution, so no request is authorized",
    ),
    (
        "-sfn",
        "WatchShardExecutions",
        "moto's Distributed Map watches (and stops) its child executions inside the \
         interpreter, not through states:DescribeExecution/StopExecution",
    ),
];

/// (statement Sid, why a run without it may still succeed): the calls it allows are
/// best-effort, so only IAM's denial shows it is needed.
const BEST_EFFORT: [(&str, &str); 3] = [
    (
        "ListStagedUploads",
        "a single run's commit sweeps abandoned uploads best-effort: a denied listing leaves \
         them and the run goes on",
    ),
    (
        "PutRunMetrics",
        "a refused PutMetricData is a warning: the run keeps its outcome",
    ),
    (
        "PublishRunNotifications",
        "a refused Publish is a warning: the run keeps its outcome",
    ),
];

/// The topic the `iam-path` pipeline notifies (created by [`seed`]).
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:iam-runs";

const MAPPINGS: &str = r#"
  mapping {
    from = "id"
    to   = "order_id"
    type = "bigint"
  }
  mapping {
    from = "customer.name"
    to   = "customer_name"
    type = "string"
  }"#;

fn pipeline(
    name: &str,
    source: &str,
    extra: &str,
    target: &str,
    runtime: &str,
    etl: &str,
) -> String {
    format!(
        r#"
resource "gluepipe_pipeline" "{name}" {{
  name = "{name}"
  source {{
    {source}
  }}
{MAPPINGS}
{extra}
  target {{
    {target}
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
    etl_binary      = "{etl}"
    {runtime}
  }}
}}
"#
    )
}

fn main_tf(etl: &str) -> String {
    let path = r#"path = "s3://raw-bucket/orders/""#;
    let complete = r#"
  data_quality {
    ruleset = "Rules = [ IsComplete \"order_id\" ]"
  }"#;
    let alerting = format!(
        r#"{complete}
  metrics {{}}
  notifications {{
    sns_topic_arn = "{TOPIC}"
    on            = ["succeeded", "failed", "data_quality_failed"]
  }}"#
    );
    let quarantine = r#"
  data_quality {
    ruleset      = "Rules = [ IsComplete \"customer_name\" ]"
    on_failure   = "quarantine"
    results_path = "s3://dq-bucket/results/"
  }"#;
    [
        "terraform {\n  required_providers {\n    gluepipe = { source = \"gluepipe/gluepipe\" }\n  }\n}\n\nprovider \"gluepipe\" {}\n".to_string(),
        pipeline(
            "iam-path",
            path,
            &alerting,
            r#"path = "s3://curated-bucket/path/""#,
            "",
            etl,
        ),
        pipeline(
            "iam-catalog-source",
            "catalog_database = \"raw\"\n    catalog_table    = \"orders_json\"",
            "",
            r#"path = "s3://curated-bucket/catalog-source/""#,
            "",
            etl,
        ),
        pipeline(
            "iam-catalog-target",
            path,
            "",
            "path             = \"s3://curated-bucket/catalog-target/\"\n    catalog_database = \"curated\"\n    catalog_table    = \"orders\"",
            "",
            etl,
        ),
        pipeline(
            "iam-quarantine",
            path,
            quarantine,
            r#"path = "s3://curated-bucket/quarantine/""#,
            "",
            etl,
        ),
        pipeline(
            "iam-sharded",
            r#"path = "s3://raw-bucket/sharded/""#,
            complete,
            r#"path = "s3://curated-bucket/sharded/""#,
            "parallelism         = 2\n    files_per_shard     = 1\n    max_concurrent_runs = 2",
            etl,
        ),
    ]
    .concat()
}

/// Three orders, the last without a customer (the quarantine pipeline's failing row).
const ORDERS: &str = "{\"id\": 1, \"customer\": {\"name\": \"ann\"}}\n\
                      {\"id\": 2, \"customer\": {\"name\": \"bob\"}}\n\
                      {\"id\": 3}\n";

async fn put(aws: &SdkClients, bucket: &str, key: &str, body: &str) -> Result<()> {
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await?;
    Ok(())
}

/// The buckets, the source data and the catalog the pipelines name, created as the admin.
async fn seed(aws: &SdkClients) -> Result<()> {
    aws.buckets().await?;
    aws.s3.create_bucket().bucket("dq-bucket").send().await?;
    put(aws, "raw-bucket", "orders/part-1.json", ORDERS).await?;
    put(aws, "raw-bucket", "tables/orders_json/part-1.json", ORDERS).await?;
    put(aws, "raw-bucket", "sharded/part-1.json", ORDERS).await?;
    put(aws, "raw-bucket", "sharded/part-2.json", ORDERS).await?;
    for db in ["raw", "curated"] {
        aws.glue
            .create_database()
            .database_input(DatabaseInput::builder().name(db).build()?)
            .send()
            .await?;
    }
    aws.glue
        .create_table()
        .database_name("raw")
        .table_input(
            TableInput::builder()
                .name("orders_json")
                .storage_descriptor(
                    StorageDescriptor::builder()
                        .location("s3://raw-bucket/tables/orders_json/")
                        .columns(Column::builder().name("id").r#type("bigint").build()?)
                        .columns(
                            Column::builder()
                                .name("customer")
                                .r#type("struct<name:string>")
                                .build()?,
                        )
                        .input_format("org.apache.hadoop.mapred.TextInputFormat")
                        .serde_info(
                            SerDeInfo::builder()
                                .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                                .build(),
                        )
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

/// An IAM-enforcing emulator with every shape applied; job runs execute the launcher from S3.
async fn setup() -> Result<(Emulator, Terraform, SdkClients, Inbox)> {
    let emu = Emulator::start_with_iam()?;
    let aws = SdkClients::new(&emu).await;
    seed(&aws).await?;
    let inbox = Inbox::new(&emu.sdk_config().await, "iam-runs", None).await?;
    anyhow::ensure!(
        inbox.topic_arn == TOPIC,
        "{} is not {TOPIC}",
        inbox.topic_arn
    );
    emu.set_job_runner_script(&bins::python()?, &[])?;
    let tf = Terraform::new(&emu)?;
    tf.write("main.tf", &main_tf(&bins::etl()?.display().to_string()))?;
    if let Err(e) = timed("apply of every shape as the admin", || apply(&tf)) {
        bail!("{e:#}\n---- emulator log\n{}", emu.log());
    }
    Ok((emu, tf, aws, inbox))
}

fn state_machine(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}")
}

/// Runs pipeline `name` once; returns (status, error and cause).
async fn run(emu: &Emulator, aws: &SdkClients, name: &str) -> Result<(String, String)> {
    let done = run_execution(
        emu,
        &aws.sfn,
        &state_machine(name),
        None,
        &json!({}),
        Duration::from_secs(180),
    )
    .await?;
    Ok((
        done.status().as_str().to_string(),
        format!(
            "{}: {}",
            done.error().unwrap_or_default(),
            done.cause().unwrap_or_default()
        ),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_shape_runs_with_the_generated_policies() -> Result<()> {
    let (emu, _tf, aws, inbox) = setup().await?;
    for name in SHAPES {
        let start = std::time::Instant::now();
        let (status, why) = run(&emu, &aws, name).await?;
        eprintln!(
            "timing: run of {name} took {:.2} s",
            start.elapsed().as_secs_f64()
        );
        assert_eq!(
            status,
            "SUCCEEDED",
            "{name}: {why}\ndenied: {:#?}\njob runs: {:#}",
            emu.denials()?,
            emu.job_runs()?
        );
    }
    // What each shape wrote, read back as the admin.
    for (bucket, prefix) in [
        ("curated-bucket", "path/"),
        ("curated-bucket", "catalog-source/"),
        ("curated-bucket", "catalog-target/"),
        ("curated-bucket", "quarantine/"),
        ("curated-bucket", "quarantine_quarantine/"),
        ("curated-bucket", "sharded/"),
        ("dq-bucket", "results/"),
    ] {
        let keys = aws.keys(bucket, prefix).await?;
        assert!(
            !keys.is_empty(),
            "nothing written under s3://{bucket}/{prefix}"
        );
    }
    let table = aws
        .glue
        .get_table()
        .database_name("curated")
        .name("orders")
        .send()
        .await?;
    assert!(table.table().is_some());
    // The job role put the run's metrics and published its notification.
    let cw = aws_sdk_cloudwatch::Client::new(&emu.sdk_config().await);
    let succeeded = sum(&cw, "gluepipe", "RunSucceeded", ("Pipeline", "iam-path")).await?;
    assert_eq!(succeeded, Some(1.0));
    let notified = inbox.take().await?;
    assert_eq!(notified.len(), 1, "{notified:#?}");
    assert_eq!(notified[0]["Subject"], "gluepipe iam-path: succeeded");
    let denied = emu.denials()?;
    assert!(
        denied.is_empty(),
        "denied with the generated policies: {denied:#?}"
    );
    Ok(())
}

/// The statements of `role`'s one inline policy, and that policy's name.
async fn statements(aws: &SdkClients, role: &str) -> Result<(String, Value)> {
    let names = aws.iam.list_role_policies().role_name(role).send().await?;
    let [policy] = names.policy_names() else {
        bail!("{role} has policies {:?}", names.policy_names());
    };
    Ok((policy.clone(), aws.role_policy(role, policy).await?))
}

async fn put_policy(aws: &SdkClients, role: &str, policy: &str, document: &Value) -> Result<()> {
    aws.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(policy)
        .policy_document(document.to_string())
        .send()
        .await?;
    Ok(())
}

/// Whether IAM action pattern `pattern` (`s3:Get*`) covers `action`.
fn covers(pattern: &str, action: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => action.starts_with(head) && action.ends_with(tail),
        None => pattern == action,
    }
}

/// Deletes the log groups Glue writes to, so a run must create them again (as the admin,
/// through the venv's boto3: the tests have no CloudWatch Logs client).
fn delete_log_groups(emu: &Emulator) -> Result<()> {
    let script = "import boto3\nlogs = boto3.client('logs')\n\
                  for g in ('/aws-glue/python-jobs/output', '/aws-glue/python-jobs/error'):\n    \
                  try:\n        logs.delete_log_group(logGroupName=g)\n    \
                  except logs.exceptions.ResourceNotFoundException:\n        pass\n";
    let out = std::process::Command::new(bins::python()?)
        .args(["-c", script])
        .envs(emu.env())
        .output()?;
    if !out.status.success() {
        bail!(
            "deleting the log groups: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_any_statement_fails_the_run() -> Result<()> {
    let (emu, _tf, aws, _inbox) = setup().await?;
    let mut proven = Vec::new();
    let mut skipped = Vec::new();
    for name in SHAPES {
        // With every statement, the run succeeds (so a failure below is the missing one's).
        let (status, why) = run(&emu, &aws, name).await?;
        assert_eq!(status, "SUCCEEDED", "{name} before any mutation: {why}");
        for suffix in ["-glue", "-sfn"] {
            let role = format!("{name}{suffix}");
            let (policy, document) = statements(&aws, &role).await?;
            let all = document["Statement"]
                .as_array()
                .context("statements")?
                .clone();
            for (i, statement) in all.iter().enumerate() {
                let sid = statement["Sid"].as_str().unwrap_or("?").to_string();
                if let Some((_, _, reason)) = UNEVALUATED
                    .iter()
                    .find(|(s, id, _)| *s == suffix && *id == sid)
                {
                    skipped.push(format!("{role} {sid}: {reason}"));
                    continue;
                }
                let mut rest = all.clone();
                rest.remove(i);
                if rest.is_empty() {
                    // IAM takes no policy without statements: the policy goes instead.
                    aws.iam
                        .delete_role_policy()
                        .role_name(&role)
                        .policy_name(&policy)
                        .send()
                        .await?;
                } else {
                    let mut without = document.clone();
                    without["Statement"] = Value::Array(rest);
                    put_policy(&aws, &role, &policy, &without).await?;
                }
                if sid == "CreateLogGroups" {
                    delete_log_groups(&emu)?;
                }
                let seen = emu.denials()?.len();
                let outcome = run(&emu, &aws, name).await;
                put_policy(&aws, &role, &policy, &document).await?;
                let (status, why) = outcome?;
                let actions: Vec<&str> = statement["Action"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let denied: Vec<Value> = emu.denials()?.into_iter().skip(seen).collect();
                let named = denied.iter().find(|d| {
                    d["principal"]
                        .as_str()
                        .is_some_and(|p| p.contains(&format!("assumed-role/{role}/")))
                        && actions
                            .iter()
                            .any(|a| d["action"].as_str().is_some_and(|x| covers(a, x)))
                });
                let best_effort = BEST_EFFORT.iter().find(|(id, _)| *id == sid);
                if best_effort.is_none() {
                    assert_ne!(
                        status, "SUCCEEDED",
                        "{role} without {sid} ({actions:?}) still runs: the statement is not \
                         needed (denied: {denied:#?})"
                    );
                }
                let named = named.with_context(|| {
                    format!(
                        "{role} without {sid}: the run failed ({why}) but IAM denied none of \
                         {actions:?} to it: {denied:#?}"
                    )
                })?;
                eprintln!(
                    "{role} without {sid}: run {status}, IAM denied {} on {}",
                    named["action"], named["resource"]
                );
                proven.push(format!("{role} {sid}"));
            }
        }
    }
    eprintln!(
        "{} statements proven necessary; not evaluable by moto: {skipped:#?}",
        proven.len()
    );
    assert!(
        skipped.len() == UNEVALUATED.len(),
        "the unevaluated list names statements no pipeline has: {skipped:?}"
    );
    Ok(())
}

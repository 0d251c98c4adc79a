//! `gluepipe_pipeline` under the real Terraform CLI (v1.0.3) on the emulator: create, verify
//! every child through the SDK, no-op plan, drift (job argument, role policy, state machine
//! definition, a deleted role) shown and repaired, update in place, replacement on rename,
//! destroy leaving nothing, import round trip, a create that fails midway and converges on
//! re-apply, and the state machine running the launcher through the Glue job runner.
//!
//! The ETL binary is a stand-in shell script here (the launcher only needs something that
//! exits 0 or 3); `tests/etl_*.rs` cover the real binary.

use std::time::Duration;

use anyhow::{Context, Result};
use gluepipe_tests::tf_helpers::{
    SdkClients, apply, assert_no_changes, decode_policy, plan_code, timed,
};
use gluepipe_tests::{Emulator, Terraform, bins, tf_helpers};
use serde_json::{Value, json};

const NAME: &str = "orders-json-to-parquet";
const SM_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-json-to-parquet";

/// Knobs of the test configuration.
#[derive(Clone)]
struct Config {
    name: &'static str,
    id_type: &'static str,
    tags: &'static str,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: NAME,
            id_type: "bigint",
            tags: r#"{ team = "data" }"#,
        }
    }
}

fn main_tf(c: &Config) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

provider "gluepipe" {{
  default_tags = {{ env = "test" }}
}}

resource "gluepipe_pipeline" "orders" {{
  name        = "{name}"
  description = "Orders from JSON to Parquet"
  source {{
    path = "s3://raw-bucket/orders/"
  }}
  mapping {{
    from = "id"
    to   = "order_id"
    type = "{id_type}"
  }}
  mapping {{
    from = "customer.name"
    to   = "customer_name"
    type = "string"
  }}
  data_quality {{
    ruleset = "Rules = [ ColumnCount > 0, IsComplete \"order_id\" ]"
  }}
  target {{
    path         = "s3://curated-bucket/orders/"
    partition_by = ["customer_name"]
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
    etl_binary      = "etl-standin"
  }}
  tags = {tags}
}}
"#,
        name = c.name,
        id_type = c.id_type,
        tags = c.tags,
    )
}

/// A stand-in for `gluepipe-etl`: prints its arguments, then runs `body`.
fn write_standin(tf: &Terraform, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = tf.path().join("etl-standin");
    std::fs::write(
        &path,
        bins::standin_script(&format!("echo \"stand-in etl: $*\"\n{body}")),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// The shared clients (reached through `Deref`) plus this test's own look-ups.
struct Aws(SdkClients);

impl std::ops::Deref for Aws {
    type Target = SdkClients;
    fn deref(&self) -> &SdkClients {
        &self.0
    }
}

impl Aws {
    async fn new(emu: &Emulator) -> Aws {
        Aws(SdkClients::new(emu).await)
    }

    async fn object_text(&self, bucket: &str, key: &str) -> Result<String> {
        let out = self.s3.get_object().bucket(bucket).key(key).send().await?;
        Ok(String::from_utf8(
            out.body.collect().await?.into_bytes().to_vec(),
        )?)
    }

    async fn role_exists(&self, role: &str) -> bool {
        self.iam.get_role().role_name(role).send().await.is_ok()
    }

    /// The pipeline's Glue job.
    async fn job(&self) -> Result<aws_sdk_glue::types::Job> {
        let out = self.glue.get_job().job_name(NAME).send().await?;
        out.job.context("job")
    }

    async fn definition(&self) -> Result<Value> {
        let out = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(SM_ARN)
            .send()
            .await?;
        Ok(serde_json::from_str(out.definition())?)
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

async fn setup() -> Result<(Emulator, Terraform, Aws)> {
    let emu = Emulator::start()?;
    let aws = Aws::new(&emu).await;
    aws.buckets().await?;
    let tf = Terraform::new(&emu)?;
    write_standin(&tf, "exit 0")?;
    tf.write("main.tf", &main_tf(&Config::default()))?;
    Ok((emu, tf, aws))
}

/// Every child exists and says what the plan said.
async fn verify_children(aws: &Aws, tf: &Terraform) -> Result<()> {
    let job = aws.job().await?;
    let command = job.command().context("command")?;
    assert_eq!(command.name(), Some("pythonshell"));
    assert_eq!(command.python_version(), Some("3.9"));
    assert_eq!(job.glue_version(), Some("3.0"));
    assert_eq!(job.max_capacity(), Some(0.0625));
    assert_eq!(job.timeout(), Some(60));
    assert_eq!(job.max_retries(), 0);
    assert_eq!(
        job.execution_property().map(|p| p.max_concurrent_runs()),
        Some(1)
    );
    assert_eq!(
        job.role(),
        Some("arn:aws:iam::123456789012:role/gluepipe/orders-json-to-parquet-glue")
    );
    let args = job
        .non_overridable_arguments()
        .context("non-overridable arguments")?;
    let spec_uri = args.get("--gluepipe_spec_uri").context("spec uri")?;
    assert_eq!(
        spec_uri,
        "s3://artifact-bucket/gluepipe/orders-json-to-parquet/spec.json"
    );
    let sha = args.get("--gluepipe_etl_sha256").context("sha")?;
    let local = std::fs::read(tf.path().join("etl-standin"))?;
    assert_eq!(sha, &sha256_of(&tf.path().join("etl-standin"))?);
    assert_eq!(
        args.get("--gluepipe_etl_uri").map(String::as_str),
        Some(format!("s3://artifact-bucket/gluepipe/{NAME}/gluepipe-etl-{sha}").as_str())
    );

    // Artifacts: the spec the ETL runs, the launcher, the binary byte for byte.
    let spec: Value = serde_json::from_str(
        &aws.object_text("artifact-bucket", &format!("gluepipe/{NAME}/spec.json"))
            .await?,
    )?;
    assert_eq!(spec["name"], NAME);
    assert_eq!(spec["source"]["paths"], json!(["s3://raw-bucket/orders/"]));
    assert_eq!(
        spec["mapping"][0],
        json!({"from": "id", "to": "order_id", "type": "bigint"})
    );
    assert_eq!(spec["target"]["partition_by"], json!(["customer_name"]));
    let script = command.script_location().context("script")?;
    let launcher_key = script
        .strip_prefix("s3://artifact-bucket/")
        .context("launcher in the artifact bucket")?;
    let launcher = aws.object_text("artifact-bucket", launcher_key).await?;
    assert_eq!(
        launcher,
        std::fs::read_to_string(bins::repo_root().join("provider/launcher/launcher.py"))?
    );
    let binary = aws
        .object_text(
            "artifact-bucket",
            &format!("gluepipe/{NAME}/gluepipe-etl-{sha}"),
        )
        .await?;
    assert_eq!(binary.as_bytes(), local.as_slice());

    // Roles: trust and least-privilege policies as generated.
    let glue_role = aws
        .iam
        .get_role()
        .role_name("orders-json-to-parquet-glue")
        .send()
        .await?
        .role
        .context("role")?;
    assert_eq!(glue_role.path(), "/gluepipe/");
    let trust = decode_policy(glue_role.assume_role_policy_document().unwrap_or_default())?;
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "glue.amazonaws.com"
    );
    let policy = aws
        .role_policy("orders-json-to-parquet-glue", "gluepipe-job")
        .await?;
    for statement in policy["Statement"].as_array().context("statements")? {
        for action in strings(&statement["Action"]) {
            assert!(!action.contains('*'), "wildcard action {action}");
        }
        for resource in strings(&statement["Resource"]) {
            assert_ne!(resource, "*");
        }
    }
    let writes: Vec<&Value> = policy["Statement"]
        .as_array()
        .context("statements")?
        .iter()
        .filter(|s| strings(&s["Action"]).contains(&"s3:PutObject"))
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(
        strings(&writes[0]["Resource"]),
        ["arn:aws:s3:::curated-bucket/orders/*"]
    );
    let sfn_policy = aws
        .role_policy("orders-json-to-parquet-sfn", "gluepipe-run-job")
        .await?;
    assert_eq!(
        strings(&sfn_policy["Statement"][0]["Resource"]),
        ["arn:aws:glue:us-east-1:123456789012:job/orders-json-to-parquet"]
    );

    // State machine: runs this job synchronously with the pipeline's role.
    let sm = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(SM_ARN)
        .send()
        .await?;
    assert_eq!(
        sm.role_arn(),
        "arn:aws:iam::123456789012:role/gluepipe/orders-json-to-parquet-sfn"
    );
    let definition: Value = serde_json::from_str(sm.definition())?;
    assert_eq!(
        definition["States"]["RunJob"]["Resource"],
        "arn:aws:states:::glue:startJobRun.sync"
    );
    assert_eq!(
        definition["States"]["RunJob"]["Parameters"]["JobName"],
        NAME
    );

    // Tags: default_tags + tags on every child.
    let want = [("env", "test"), ("team", "data")];
    let job_tags = aws
        .glue
        .get_tags()
        .resource_arn(format!("arn:aws:glue:us-east-1:123456789012:job/{NAME}"))
        .send()
        .await?;
    let role_tags: Vec<(String, String)> = glue_role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let sm_tags = aws
        .sfn
        .list_tags_for_resource()
        .resource_arn(SM_ARN)
        .send()
        .await?;
    for (k, v) in want {
        assert_eq!(
            job_tags.tags().and_then(|t| t.get(k)).map(String::as_str),
            Some(v),
            "job tag {k}"
        );
        assert!(
            role_tags.contains(&(k.to_owned(), v.to_owned())),
            "role tag {k}: {role_tags:?}"
        );
        assert!(
            sm_tags
                .tags()
                .iter()
                .any(|t| t.key() == Some(k) && t.value() == Some(v)),
            "state machine tag {k}"
        );
    }
    Ok(())
}

/// SHA-256 of a file, by coreutils' `sha256sum` (the test crate has no hashing dependency).
fn sha256_of(path: &std::path::Path) -> Result<String> {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .context("running sha256sum")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .map(str::to_owned)
        .context("sha256sum printed nothing")
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_create_drift_update_replace_destroy() -> Result<()> {
    let (_emu, tf, aws) = setup().await?;

    timed("apply (create)", || apply(&tf))?;
    verify_children(&aws, &tf).await?;
    timed("no-op plan", || assert_no_changes(&tf, "create"))?;

    // Out-of-band edits to four children at once.
    let job = aws.job().await?;
    let mut default_args = job.default_arguments().cloned().unwrap_or_default();
    default_args.insert("--extra_arg".into(), "sneaky".into());
    aws.glue
        .update_job()
        .job_name(NAME)
        .job_update(
            aws_sdk_glue::types::JobUpdate::builder()
                .set_description(job.description().map(str::to_owned))
                .set_role(job.role().map(str::to_owned))
                .set_command(job.command().cloned())
                .set_default_arguments(Some(default_args))
                .set_non_overridable_arguments(job.non_overridable_arguments().cloned())
                .set_max_capacity(job.max_capacity())
                .set_timeout(job.timeout())
                .max_retries(job.max_retries())
                .set_execution_property(job.execution_property().cloned())
                .set_glue_version(job.glue_version().map(str::to_owned))
                .build(),
        )
        .send()
        .await?;
    let broad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    aws.iam
        .put_role_policy()
        .role_name("orders-json-to-parquet-glue")
        .policy_name("gluepipe-job")
        .policy_document(broad.to_string())
        .send()
        .await?;
    let mut definition = aws.definition().await?;
    definition["Comment"] = json!("edited by hand");
    aws.sfn
        .update_state_machine()
        .state_machine_arn(SM_ARN)
        .definition(definition.to_string())
        .send()
        .await?;
    let sfn_role = "orders-json-to-parquet-sfn";
    aws.iam
        .delete_role_policy()
        .role_name(sfn_role)
        .policy_name("gluepipe-run-job")
        .send()
        .await?;
    aws.iam.delete_role().role_name(sfn_role).send().await?;

    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "drift must show:\n{}", out.stdout);
    for attr in [
        "glue_job_default_arguments",
        "glue_job_role_policy",
        "state_machine_definition",
        "state_machine_role_arn",
    ] {
        assert!(
            out.stdout.contains(&format!("~ {attr}")) || out.stdout.contains(&format!("+ {attr}")),
            "{attr} not in plan:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("1 to change"), "{}", out.stdout);
    apply(&tf)?;
    let job = aws.job().await?;
    assert!(
        !job.default_arguments()
            .is_some_and(|a| a.contains_key("--extra_arg")),
        "job argument repaired"
    );
    let policy = aws
        .role_policy("orders-json-to-parquet-glue", "gluepipe-job")
        .await?;
    assert!(
        !policy.to_string().contains("s3:*"),
        "policy repaired: {policy}"
    );
    assert_ne!(aws.definition().await?["Comment"], "edited by hand");
    assert!(aws.role_exists(sfn_role).await, "deleted role re-created");
    verify_children(&aws, &tf).await?;
    assert_no_changes(&tf, "repairing drift")?;

    // A mapping change updates the spec in place; nothing is replaced.
    tf.write(
        "main.tf",
        &main_tf(&Config {
            id_type: "string",
            ..Config::default()
        }),
    )?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        out.stdout.contains("update in-place") && out.stdout.contains("1 to change, 0 to destroy"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"~ type = "bigint" -> "string""#),
        "{}",
        out.stdout
    );
    apply(&tf)?;
    let spec: Value = serde_json::from_str(
        &aws.object_text("artifact-bucket", &format!("gluepipe/{NAME}/spec.json"))
            .await?,
    )?;
    assert_eq!(spec["mapping"][0]["type"], "string");
    assert_no_changes(&tf, "a mapping change")?;

    // A rebuilt binary is a planned change; the old one is removed after the job switches.
    let old_sha = sha256_of(&tf.path().join("etl-standin"))?;
    write_standin(&tf, "echo rebuilt; exit 0")?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(out.stdout.contains("~ etl_binary_sha256"), "{}", out.stdout);
    apply(&tf)?;
    let keys = aws
        .keys("artifact-bucket", &format!("gluepipe/{NAME}/"))
        .await?;
    let new_sha = sha256_of(&tf.path().join("etl-standin"))?;
    assert!(
        keys.contains(&format!("gluepipe/{NAME}/gluepipe-etl-{new_sha}")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with(&old_sha)),
        "old binary removed: {keys:?}"
    );
    assert_no_changes(&tf, "a binary change")?;

    // Tags: a changed tag reaches every child.
    tf.write(
        "main.tf",
        &main_tf(&Config {
            id_type: "string",
            tags: r#"{ team = "platform" }"#,
            ..Config::default()
        }),
    )?;
    apply(&tf)?;
    let sm_tags = aws
        .sfn
        .list_tags_for_resource()
        .resource_arn(SM_ARN)
        .send()
        .await?;
    assert!(
        sm_tags
            .tags()
            .iter()
            .any(|t| t.key() == Some("team") && t.value() == Some("platform"))
    );
    let role = aws
        .iam
        .get_role()
        .role_name("orders-json-to-parquet-glue")
        .send()
        .await?
        .role
        .context("role")?;
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == "team" && t.value() == "platform")
    );
    assert_no_changes(&tf, "a tag change")?;

    // A new name replaces the pipeline: nothing of the old one is left.
    tf.write(
        "main.tf",
        &main_tf(&Config {
            name: "orders-v2",
            id_type: "string",
            tags: r#"{ team = "platform" }"#,
        }),
    )?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        out.stdout.contains("must be replaced")
            && out.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        out.stdout
    );
    apply(&tf)?;
    assert!(
        aws.glue.get_job().job_name(NAME).send().await.is_err(),
        "old job deleted"
    );
    assert!(
        aws.glue
            .get_job()
            .job_name("orders-v2")
            .send()
            .await
            .is_ok(),
        "new job created"
    );
    assert!(
        !aws.role_exists("orders-json-to-parquet-glue").await
            && !aws.role_exists("orders-json-to-parquet-sfn").await
    );
    assert!(
        aws.keys("artifact-bucket", &format!("gluepipe/{NAME}/"))
            .await?
            .is_empty()
    );
    assert_no_changes(&tf, "a rename")?;

    timed("destroy", || {
        tf.run(&["destroy", "-auto-approve", "-no-color"])?
            .ok()
            .map(drop)
    })?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn import_by_name_round_trips_to_an_empty_plan() -> Result<()> {
    let (_emu, tf, aws) = setup().await?;
    apply(&tf)?;
    tf.run(&["state", "rm", "gluepipe_pipeline.orders"])?.ok()?;
    let out = tf.run(&["import", "-no-color", "gluepipe_pipeline.orders", NAME])?;
    out.ok()?;
    assert_no_changes(&tf, "import")?;
    let state = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.orders"])?;
    assert!(
        state
            .stdout
            .contains(r#"etl_binary          = "etl-standin""#),
        "{}",
        state.stdout
    );
    assert!(
        state.stdout.contains(r#"type = "bigint""#),
        "{}",
        state.stdout
    );

    // Importing a pipeline that does not exist says so.
    tf.run(&["state", "rm", "gluepipe_pipeline.orders"])?.ok()?;
    tf.write(
        "main.tf",
        &main_tf(&Config {
            name: "no-such-pipeline",
            ..Config::default()
        }),
    )?;
    let out = tf.run(&[
        "import",
        "-no-color",
        "gluepipe_pipeline.orders",
        "no-such-pipeline",
    ])?;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("non-existent"), "{}", out.stderr);
    let out = tf.run(&[
        "import",
        "-no-color",
        "gluepipe_pipeline.orders",
        "bad name!",
    ])?;
    assert!(out.stderr.contains("Invalid import ID"), "{}", out.stderr);

    // The pipeline that was imported is still whole; destroying it through a fresh import works.
    tf.write("main.tf", &main_tf(&Config::default()))?;
    tf.run(&["import", "-no-color", "gluepipe_pipeline.orders", NAME])?
        .ok()?;
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_failing_midway_converges_on_reapply() -> Result<()> {
    let (emu, tf, aws) = setup().await?;

    // 1. The last child fails: the state records what exists (tainted), a re-apply converges.
    emu.inject_fault("CreateStateMachine", "InjectedFault", 1)?;
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("Cannot create the pipeline") && out.stderr.contains("InjectedFault"),
        "{}",
        out.stderr
    );
    let state = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.orders"])?;
    assert!(state.stdout.contains("tainted"), "{}", state.stdout);
    assert!(
        state.stdout.contains("glue_job_role_arn"),
        "{}",
        state.stdout
    );
    assert!(aws.glue.get_job().job_name(NAME).send().await.is_ok());
    let out = apply(&tf)?;
    assert!(!out.stdout.contains("AlreadyExists") && !out.stderr.contains("AlreadyExists"));
    verify_children(&aws, &tf).await?;
    assert_no_changes(&tf, "recovering from a failed create")?;
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());

    // 2. The job itself fails: the roles and artifacts already exist and the state (tainted)
    //    lists them, so the re-apply replaces them instead of failing with EntityAlreadyExists.
    emu.inject_fault("CreateJob", "InjectedFault", 1)?;
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("InjectedFault"), "{}", out.stderr);
    assert!(
        aws.role_exists("orders-json-to-parquet-glue").await,
        "created before the failure"
    );
    let out = apply(&tf)?;
    assert!(!out.stderr.contains("AlreadyExists"), "{}", out.stderr);
    verify_children(&aws, &tf).await?;
    assert_no_changes(&tf, "adopting children of a failed create")?;
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

#[test]
fn invalid_configuration_fails_at_plan_with_attribute_paths() -> Result<()> {
    // No AWS call is needed to reject these: no emulator.
    let tf = Terraform::offline(vec![])?;
    let config = main_tf(&Config {
        id_type: "bigitn",
        ..Config::default()
    })
    .replace(
        r#"name        = "orders-json-to-parquet""#,
        r#"name        = "orders json""#,
    )
    .replace("ColumnCount > 0,", "ColumnCount >,")
    .replace(
        r#"path = "s3://raw-bucket/orders/""#,
        "path = \"s3://raw-bucket/orders/\"\n    records_path = \"features[*]\"",
    )
    .replace(
        r#"etl_binary      = "etl-standin""#,
        "etl_binary      = \"etl-standin\"\n    max_capacity    = 2",
    );
    tf.write("main.tf", &config)?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0);
    for (summary, line) in [
        ("Invalid pipeline name", r#"name        = "orders json""#),
        ("Invalid Glue type", r#"type = "bigitn""#),
        ("Invalid DQDL ruleset", "ruleset = "),
        ("Invalid records path", r#"records_path = "features[*]""#),
        (
            "Invalid capacity for a Python shell job",
            "max_capacity    = 2",
        ),
    ] {
        assert!(out.stderr.contains(summary), "{summary}:\n{}", out.stderr);
        assert!(out.stderr.contains(line), "{line}:\n{}", out.stderr);
    }
    Ok(())
}

/// Starts an execution and waits for it to end; returns the description.
async fn run_execution(
    emu: &Emulator,
    aws: &Aws,
    input: Value,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    tf_helpers::run_execution(emu, &aws.sfn, SM_ARN, None, &input, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_machine_runs_the_launcher() -> Result<()> {
    let (emu, tf, aws) = setup().await?;
    apply(&tf)?;
    // As Glue Python shell does: fetch the job's script (our launcher) and run it.
    emu.set_job_runner_script(&bins::python()?, &[])?;

    let done = run_execution(
        &emu,
        &aws,
        json!({"arguments": {"--output": "s3://curated-bucket/orders/run-1/"}}),
    )
    .await?;
    assert_eq!(
        done.status().as_str(),
        "SUCCEEDED",
        "{done:?}\n{}",
        emu.log()
    );
    let output: Value = serde_json::from_str(done.output().unwrap_or("{}"))?;
    assert_eq!(output["JobRunState"], "SUCCEEDED");
    let runs = emu.job_runs()?;
    let stdout = runs[0]["stdout"].as_str().unwrap_or_default();
    // The launcher verified and ran the binary with the spec and the run's override.
    assert!(stdout.contains("stand-in etl: run "), "{stdout}");
    assert!(stdout.contains("pipeline.json --results "), "{stdout}");
    assert!(
        stdout.contains("--output s3://curated-bucket/orders/run-1/"),
        "{stdout}"
    );
    assert!(stdout.contains("gluepipe: run succeeded"), "{stdout}");

    // A data-quality failure (exit 3) fails the execution, naming the rule.
    write_standin(
        &tf,
        r#"cat > "$4" <<'EOF'
{"data_quality": [{"Rule": "IsComplete \"order_id\"", "Outcome": "Failed", "FailureReason": "2 of 5 rows are null"}]}
EOF
exit 3"#,
    )?;
    apply(&tf)?;
    let done = run_execution(&emu, &aws, json!({})).await?;
    assert_eq!(done.status().as_str(), "FAILED");
    let cause = done.cause().unwrap_or_default();
    assert!(cause.contains(r#"data quality failed: 1 rule(s) failed: IsComplete \"order_id\" (2 of 5 rows are null)"#), "{cause}");
    assert_eq!(done.error(), Some("gluepipe.JobFailed"));

    // A binary whose SHA-256 does not match is refused before it runs.
    let key = format!("gluepipe/{NAME}/");
    let binary_key = aws
        .keys("artifact-bucket", &key)
        .await?
        .into_iter()
        .find(|k| k.contains("gluepipe-etl-"))
        .context("binary")?;
    aws.s3
        .put_object()
        .bucket("artifact-bucket")
        .key(&binary_key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"#!/bin/sh\necho tampered\n",
        ))
        .send()
        .await?;
    let done = run_execution(&emu, &aws, json!({})).await?;
    assert_eq!(done.status().as_str(), "FAILED");
    assert!(
        done.cause().unwrap_or_default().contains("refusing to run"),
        "{:?}",
        done.cause()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_etl_binary_runs_through_the_state_machine() -> Result<()> {
    let (emu, tf, aws) = setup().await?;
    let etl = bins::etl()?;
    let rows = [
        r#"{"id": 1, "customer": {"name": "ann"}}"#,
        r#"{"id": 2, "customer": {"name": "bob"}}"#,
        r#"{"id": 3, "customer": {"name": "ann"}}"#,
    ];
    aws.s3
        .put_object()
        .bucket("raw-bucket")
        .key("orders/part-1.json")
        .body(aws_sdk_s3::primitives::ByteStream::from(
            rows.join("\n").into_bytes(),
        ))
        .send()
        .await?;
    let config = main_tf(&Config::default()).replace("etl-standin", &etl.display().to_string());
    tf.write("main.tf", &config)?;
    apply(&tf)?;
    emu.set_job_runner_script(&bins::python()?, &[])?;

    let done = run_execution(&emu, &aws, json!({})).await?;
    assert_eq!(
        done.status().as_str(),
        "SUCCEEDED",
        "{done:?}\n{}",
        emu.job_runs()?
    );
    let keys = aws.keys("curated-bucket", "orders/").await?;
    let parquet: Vec<&String> = keys.iter().filter(|k| k.ends_with(".parquet")).collect();
    assert!(
        parquet
            .iter()
            .any(|k| k.starts_with("orders/customer_name=ann/")),
        "{keys:?}"
    );
    assert!(
        parquet
            .iter()
            .any(|k| k.starts_with("orders/customer_name=bob/")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("orders/_gluepipe/manifests/")),
        "{keys:?}"
    );

    // A rule that fails: the execution fails naming it, and nothing new is published.
    tf.write(
        "main.tf",
        &config.replace(
            r#"IsComplete \"order_id\""#,
            r#"IsUnique \"customer_name\""#,
        ),
    )?;
    apply(&tf)?;
    let done = run_execution(&emu, &aws, json!({})).await?;
    assert_eq!(done.status().as_str(), "FAILED");
    let run: Value = serde_json::from_str(done.cause().unwrap_or("{}"))?;
    let message = run["ErrorMessage"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            r#"gluepipe: data quality failed: 1 rule(s) failed: IsUnique "customer_name""#
        ),
        "{message}"
    );
    assert_eq!(
        aws.keys("curated-bucket", "orders/")
            .await?
            .iter()
            .filter(|k| k.ends_with(".parquet"))
            .count(),
        parquet.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catalog_source_scopes_the_role_to_the_table_location() -> Result<()> {
    use aws_sdk_glue::types::{DatabaseInput, StorageDescriptor, TableInput};
    let (_emu, tf, aws) = setup().await?;
    let config = main_tf(&Config::default()).replace(
        r#"path = "s3://raw-bucket/orders/""#,
        "catalog_database = \"raw\"\n    catalog_table    = \"orders_json\"",
    );
    tf.write("main.tf", &config)?;

    // The table does not exist yet: the plan cannot know the data location, and apply says why.
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        out.stdout
            .contains("glue_job_role_policy                  = (known after apply)"),
        "{}",
        out.stdout
    );
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("Source table not found"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("raw.orders_json"), "{}", out.stderr);

    aws.glue
        .create_database()
        .database_input(DatabaseInput::builder().name("raw").build()?)
        .send()
        .await?;
    aws.glue
        .create_table()
        .database_name("raw")
        .table_input(
            TableInput::builder()
                .name("orders_json")
                .storage_descriptor(
                    StorageDescriptor::builder()
                        .location("s3://raw-bucket/tables/orders_json/")
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;
    apply(&tf)?;
    let policy = aws
        .role_policy("orders-json-to-parquet-glue", "gluepipe-job")
        .await?;
    let statement = |sid: &str| -> Result<Value> {
        policy["Statement"]
            .as_array()
            .context("statements")?
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .context(sid.to_owned())
    };
    assert_eq!(
        strings(&statement("ReadSourceData")?["Resource"]),
        ["arn:aws:s3:::raw-bucket/tables/orders_json/*"]
    );
    assert_eq!(
        strings(&statement("ReadSourceTable")?["Resource"]),
        [
            "arn:aws:glue:us-east-1:123456789012:catalog",
            "arn:aws:glue:us-east-1:123456789012:database/raw",
            "arn:aws:glue:us-east-1:123456789012:table/raw/orders_json",
        ]
    );
    assert_no_changes(&tf, "create with a catalog source")?;
    Ok(())
}

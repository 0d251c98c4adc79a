//! The provider's lifetime and its failures, under the real Terraform CLI (v1.0.3) on the
//! emulator: an unknown `default_tags` value plans (and refreshes); `TF_LOG=debug`
//! shows each AWS call and retry; an AWS error reads as its code and message, never an SDK
//! `Debug` dump; a sensitive ruleset never appears in a diagnostic.

use anyhow::Result;
use gluepipe_tests::tf_helpers::{SdkClients, apply, plan_code};
use gluepipe_tests::{Emulator, Terraform, bins};

const NAME: &str = "lifetime-orders";

/// Glue's answer while a new role is not assumable yet: retried for up to two minutes.
const PROPAGATION_CODE: &str = "InvalidInputException";
const PROPAGATION_MESSAGE: &str =
    "Service is unable to assume provided role. Please verify role's TrustPolicy";

fn main_tf(provider_block: &str, ruleset: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

provider "gluepipe" {{
{provider_block}
}}

resource "gluepipe_pipeline" "orders" {{
  name = "{NAME}"
  source {{
    path = "s3://raw-bucket/orders/"
  }}
  data_quality {{
    ruleset = {ruleset}
  }}
  target {{
    path = "s3://curated-bucket/orders/"
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
    etl_binary      = "etl-standin"
  }}
}}
"#
    )
}

const RULESET: &str = r#""Rules = [ ColumnCount > 0 ]""#;

fn write_standin(tf: &Terraform) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = tf.path().join("etl-standin");
    std::fs::write(&path, bins::standin_script("exit 0"))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

async fn setup(provider_block: &str) -> Result<(Emulator, Terraform)> {
    let emu = Emulator::start()?;
    SdkClients::new(&emu).await.buckets().await?;
    let tf = Terraform::new(&emu)?;
    write_standin(&tf)?;
    tf.write("main.tf", &main_tf(provider_block, RULESET))?;
    Ok((emu, tf))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_default_tags_value_plans_and_refreshes() -> Result<()> {
    // timestamp() is unknown during plan and known at apply.
    let (_emu, tf) = setup("  default_tags = { env = \"test\", stamp = timestamp() }").await?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}", out.stdout);
    apply(&tf)?;
    let state = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.orders"])?;
    assert!(state.stdout.contains("\"stamp\""), "{}", state.stdout);
    // The refresh reads the pipeline without the unknown tag; only tags_all waits for apply.
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("tags_all") && out.stdout.contains("(known after apply)"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("Error"), "{}", out.stderr);
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tf_log_debug_shows_aws_calls_and_retries() -> Result<()> {
    let (emu, tf) = setup("").await?;
    emu.inject_fault_with_message("CreateJob", PROPAGATION_CODE, PROPAGATION_MESSAGE, 2)?;
    let out = tf
        .command(&["apply", "-auto-approve", "-no-color"])?
        .env("TF_LOG", "debug")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for needle in [
        // Each call: service, operation, target, status.
        &format!("AWS Glue.CreateJob {NAME}: HTTP 400") as &str,
        &format!("AWS Glue.CreateJob {NAME}: HTTP 200"),
        &format!("AWS IAM.CreateRole {NAME}-glue: HTTP 200"),
        "AWS S3.PutObject /artifact-bucket/",
        // The retry says what it waits for.
        "waiting for IAM to propagate the role",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in the debug log");
    }
    Ok(())
}

#[test]
fn an_aws_error_reads_as_code_and_message() -> Result<()> {
    // A port nothing listens on: the request gets no answer at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let tf = Terraform::with_env(vec![
        (
            "AWS_ENDPOINT_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ])?;
    write_standin(&tf)?;
    tf.write("main.tf", &main_tf("  max_retries = 0", RULESET))?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("Cannot reach AWS") && out.stderr.contains("dispatch failure"),
        "{}",
        out.stderr
    );
    for dump in ["DispatchFailure", "ConnectorError", "{ ", "source:"] {
        assert!(!out.stderr.contains(dump), "{dump:?} in:\n{}", out.stderr);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_answer_reads_as_operation_code_and_message() -> Result<()> {
    let (emu, tf) = setup("").await?;
    emu.inject_fault_with_message(
        "CreateJob",
        "AccessDeniedException",
        "User is not authorized to perform: glue:CreateJob",
        1,
    )?;
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0);
    let want = format!(
        "creating Glue Job ({NAME}): AccessDeniedException: User is not authorized to perform: glue:CreateJob"
    );
    // Terraform wraps diagnostics at the terminal width: compare with whitespace collapsed.
    let stderr = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(stderr.contains(&want), "{want:?} not in:\n{}", out.stderr);
    Ok(())
}

#[test]
fn a_sensitive_ruleset_is_not_quoted_in_diagnostics() -> Result<()> {
    let tf = Terraform::with_env(vec![
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ])?;
    write_standin(&tf)?;
    let config = main_tf("", "var.rules")
        + r#"
variable "rules" {
  type      = string
  sensitive = true
  default   = "Rules = [ ColumnCount > \"s3cr3t-4111111111111111\" ]"
}
"#;
    tf.write("main.tf", &config)?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("Invalid DQDL ruleset") && out.stderr.contains("line 1, column"),
        "{}",
        out.stderr
    );
    for leak in ["s3cr3t", "4111111111111111"] {
        assert!(
            !out.stderr.contains(leak) && !out.stdout.contains(leak),
            "{leak:?} shown:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

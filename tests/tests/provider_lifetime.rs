//! The provider's lifetime and its failures, under the real Terraform CLI (v1.0.3) on the
//! emulator: an unknown `default_tags` value plans (and refreshes); `TF_LOG=debug`
//! shows each AWS call and retry; an AWS error reads as its code and message, never an SDK
//! `Debug` dump; a sensitive ruleset never appears in a diagnostic; Ctrl-C during a long retry
//! ends the apply within seconds; a killed Terraform takes its provider with it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gluepipe_tests::process::{self, Running};
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
    let tf = Terraform::offline(vec![(
        "AWS_ENDPOINT_URL".into(),
        format!("http://127.0.0.1:{port}"),
    )])?;
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
    let tf = Terraform::offline(vec![])?;
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

/// Waits until the emulator has answered `action` with an injected fault.
fn wait_for_fault(emu: &Emulator, action: &str, limit: Duration) -> Result<()> {
    let start = Instant::now();
    let needle = format!("injecting fault into {action}");
    while start.elapsed() < limit {
        if emu.log().contains(&needle) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{action} was not called within {limit:?}:\n{}", emu.log())
}

/// An apply held in CreateJob's IAM-propagation retries (two minutes of them, if nothing
/// stops it), in the background.
async fn apply_held_in_retries() -> Result<(Emulator, Terraform, Running)> {
    let (emu, tf) = setup("").await?;
    emu.inject_fault_with_message("CreateJob", PROPAGATION_CODE, PROPAGATION_MESSAGE, 10_000)?;
    let run = Running::start(tf.command(&["apply", "-auto-approve", "-no-color"])?)?;
    wait_for_fault(&emu, "CreateJob", Duration::from_secs(90))?;
    Ok((emu, tf, run))
}

fn provider_under(pid: u32) -> Option<u32> {
    process::descendants(pid)
        .into_iter()
        .find(|(_, cmdline)| cmdline.contains("terraform-provider-gluepipe"))
        .map(|(pid, _)| pid)
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_long_retry_ends_within_seconds() -> Result<()> {
    let (emu, tf, mut run) = apply_held_in_retries().await?;
    let provider = provider_under(run.pid()).context("no provider process under terraform")?;
    std::thread::sleep(Duration::from_secs(2)); // well into the retries
    let interrupted = Instant::now();
    run.interrupt();
    let status = run.wait_for(Duration::from_secs(30))?;
    let took = interrupted.elapsed();
    let Some(status) = status else {
        bail!("terraform still running {took:?} after Ctrl-C");
    };
    let (stdout, stderr) = run.output()?;
    eprintln!(
        "timing: apply ended {:.2} s after Ctrl-C",
        took.as_secs_f64()
    );
    assert!(!status.success(), "{stdout}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}\n{stdout}\n{stderr}"
    );
    // Terraform stopped the provider, which answered with why: it was not killed by the
    // Ctrl-C that reached its process group too. (Diagnostics wrap at the terminal width.)
    let stderr = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stderr.contains("stopped: Terraform interrupted the operation")
            && stderr.contains(PROPAGATION_CODE),
        "the error says it was stopped, and what AWS last said:\n{stderr}"
    );
    assert!(
        !stderr.contains("plugin exited") && !stderr.contains("connection is shut down"),
        "{stderr}"
    );
    assert!(!process::alive(provider), "the provider outlived Terraform");
    // What the interrupted create made is in state (tainted), and destroy removes it.
    let listed = tf.run(&["state", "list"])?;
    assert!(
        listed.stdout.contains("gluepipe_pipeline.orders"),
        "{listed:?}"
    );
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    let roles = SdkClients::new(&emu).await.iam.list_roles().send().await?;
    assert!(roles.roles().is_empty(), "{roles:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_exits_when_terraform_is_killed() -> Result<()> {
    let (emu, _tf, mut run) = apply_held_in_retries().await?;
    let provider = provider_under(run.pid()).context("no provider process under terraform")?;
    // Every Terraform process (the panic guard and its worker), not the provider.
    let terraform = process::parent_of(provider).context("the provider's parent")?;
    process::signal(&terraform.to_string(), "KILL");
    process::signal(&run.pid().to_string(), "KILL");
    run.wait_for(Duration::from_secs(10))?
        .context("terraform survived SIGKILL")?;
    let killed = Instant::now();
    while process::alive(provider) && killed.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !process::alive(provider),
        "the provider (pid {provider}) still runs {:?} after Terraform was killed",
        killed.elapsed()
    );
    eprintln!(
        "timing: provider exited {:.2} s after Terraform was killed",
        killed.elapsed().as_secs_f64()
    );
    // And it stopped calling AWS: no CreateJob after it went.
    let calls = |log: &str| log.matches("injecting fault into CreateJob").count();
    let before = calls(&emu.log());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        calls(&emu.log()),
        before,
        "CreateJob called after the provider exited"
    );
    Ok(())
}

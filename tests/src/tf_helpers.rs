//! Steps and checks the `gluepipe_pipeline` end-to-end tests share, whatever the runtime:
//! Terraform runs ([`plan_code`], [`apply`], [`assert_no_changes`]), [`timed`] steps,
//! executions run to their end ([`run_execution`]), IAM
//! documents read back ([`decode_policy`]), and [`SdkClients`], one SDK client per service the
//! pipelines use, on the emulator.
//!
//! What is specific to one runtime (its configuration, the children it verifies, what counts as
//! left over after destroy) stays in that runtime's test file.

use std::time::Instant;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::{Emulator, Terraform, TfOutput};

/// `plan -detailed-exitcode`: 0 no changes, 2 changes; anything else is an error.
pub fn plan_code(tf: &Terraform) -> Result<(i32, TfOutput)> {
    let out = tf.run(&["plan", "-detailed-exitcode", "-no-color"])?;
    if out.code != 0 && out.code != 2 {
        out.ok()?;
    }
    Ok((out.code, out))
}

/// `apply -auto-approve`, failing with both streams unless it succeeds.
pub fn apply(tf: &Terraform) -> Result<TfOutput> {
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    out.ok()?;
    Ok(out)
}

/// Fails with the plan unless it shows no changes; `after` names the step it follows.
pub fn assert_no_changes(tf: &Terraform, after: &str) -> Result<()> {
    let (code, out) = plan_code(tf)?;
    if code != 0 {
        bail!("plan after {after} is not empty:\n{}", out.stdout);
    }
    Ok(())
}

/// Runs `f`, printing how long `what` took (the tests' timing lines).
pub fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f()?;
    eprintln!("timing: {what} took {:.2} s", start.elapsed().as_secs_f64());
    Ok(out)
}

/// An IAM policy document as JSON: IAM hands documents back percent-encoded.
pub fn decode_policy(text: &str) -> Result<Value> {
    let mut bytes = Vec::new();
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3])?, 16) {
                bytes.push(b);
                i += 3;
                continue;
            }
        }
        bytes.push(raw[i]);
        i += 1;
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// Starts an execution of `state_machine` (named `name`, if given) with `input`, and waits
/// until it ends or `timeout` passes (then the error lists the emulator's job runs).
pub async fn run_execution(
    emu: &Emulator,
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
    name: Option<&str>,
    input: &Value,
    timeout: std::time::Duration,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    let arn = sfn
        .start_execution()
        .state_machine_arn(state_machine)
        .set_name(name.map(str::to_owned))
        .input(input.to_string())
        .send()
        .await?
        .execution_arn;
    let deadline = Instant::now() + timeout;
    loop {
        let out = sfn.describe_execution().execution_arn(&arn).send().await?;
        if out.status().as_str() != "RUNNING" {
            return Ok(out);
        }
        if Instant::now() > deadline {
            bail!(
                "execution still running after {} s; job runs: {}",
                timeout.as_secs(),
                emu.job_runs()?
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// One client per service a pipeline's children live in, all on the emulator.
pub struct SdkClients {
    pub s3: aws_sdk_s3::Client,
    pub glue: aws_sdk_glue::Client,
    pub iam: aws_sdk_iam::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl SdkClients {
    pub async fn new(emu: &Emulator) -> SdkClients {
        let cfg = emu.sdk_config().await;
        SdkClients {
            s3: emu.s3().await,
            glue: aws_sdk_glue::Client::new(&cfg),
            iam: aws_sdk_iam::Client::new(&cfg),
            sfn: aws_sdk_sfn::Client::new(&cfg),
        }
    }

    /// Creates the buckets the tests' configurations name: source, target and artifacts.
    pub async fn buckets(&self) -> Result<()> {
        for bucket in ["raw-bucket", "curated-bucket", "artifact-bucket"] {
            self.s3.create_bucket().bucket(bucket).send().await?;
        }
        Ok(())
    }

    /// The keys under `prefix` in `bucket` (the first page, enough for a test's objects).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        crate::s3::keys(&self.s3, bucket, prefix).await
    }

    /// The inline policy `policy` of `role`, decoded.
    pub async fn role_policy(&self, role: &str, policy: &str) -> Result<Value> {
        let out = self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await?;
        decode_policy(out.policy_document())
    }

    /// What is left of any pipeline that every runtime has or may leave: Glue jobs, roles under
    /// /gluepipe/, state machines and objects under the artifact bucket's `gluepipe/`.
    pub async fn leftovers(&self) -> Result<Vec<String>> {
        let mut left = Vec::new();
        let jobs = self.glue.get_jobs().send().await?;
        left.extend(
            jobs.jobs()
                .iter()
                .filter_map(|j| j.name().map(|n| format!("job {n}"))),
        );
        let roles = self
            .iam
            .list_roles()
            .path_prefix("/gluepipe/")
            .send()
            .await?;
        left.extend(
            roles
                .roles()
                .iter()
                .map(|r| format!("role {}", r.role_name())),
        );
        let machines = self.sfn.list_state_machines().send().await?;
        left.extend(
            machines
                .state_machines()
                .iter()
                .map(|m| format!("state machine {}", m.name())),
        );
        left.extend(
            self.keys("artifact-bucket", "gluepipe/")
                .await?
                .into_iter()
                .map(|k| format!("object {k}")),
        );
        Ok(left)
    }
}

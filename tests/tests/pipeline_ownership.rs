//! Ownership of a pipeline's children under the real Terraform CLI on the emulator: a
//! pipeline never takes, deletes or orphans what is not its own.
//!
//! - two configurations (and names differing only in case) claiming one name: the second is
//!   refused with `AlreadyExists`, the first is left intact, and destroying the second deletes
//!   nothing of the first;
//! - within one configuration (`count = 2`, `Orders` beside `orders`, nested artifact folders)
//!   the same collisions are refused at plan, before anything is written;
//! - `create_before_destroy` with a fixed name: the new instance is refused, the old survives;
//! - a create failing at any step (CreateJob denied, the endpoint gone midway) leaves tainted
//!   state naming what exists, and destroy removes all of it;
//! - a Glue job deleted out of band is drift, and destroy removes the rest;
//! - nested artifact folders of two pipelines: destroying one leaves the other's objects;
//! - a deleted artifact bucket is drift, not a failed refresh.

use anyhow::Result;
use gluepipe_tests::tf_helpers::{SdkClients, apply, assert_no_changes, plan_code};
use gluepipe_tests::{Emulator, Terraform, TfOutput, bins};

/// A `gluepipe_pipeline` block: `label`, `name` and anything `extra` adds inside it.
fn pipeline(label: &str, name: &str, prefix: &str, extra: &str) -> String {
    format!(
        r#"
resource "gluepipe_pipeline" "{label}" {{
  name = "{name}"
  source {{
    path = "s3://raw-bucket/{label}/"
  }}
  target {{
    path = "s3://curated-bucket/{label}/"
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
    artifact_prefix = "{prefix}"
    etl_binary      = "etl-standin"
  }}
  tags = {{ team = "data" }}
  {extra}
}}
"#
    )
}

/// A whole configuration holding `resources`.
fn config(resources: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

provider "gluepipe" {{}}
{resources}
"#
    )
}

/// A working directory with the stand-in ETL binary and `main.tf` = `tf`.
fn workspace(emu: &Emulator, tf_text: &str) -> Result<Terraform> {
    use std::os::unix::fs::PermissionsExt;
    let tf = Terraform::new(emu)?;
    let path = tf.path().join("etl-standin");
    std::fs::write(&path, bins::standin_script("exit 0"))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    tf.write("main.tf", tf_text)?;
    Ok(tf)
}

async fn setup() -> Result<(Emulator, SdkClients)> {
    let emu = Emulator::start()?;
    let aws = SdkClients::new(&emu).await;
    aws.buckets().await?;
    Ok((emu, aws))
}

fn destroy(tf: &Terraform) -> Result<TfOutput> {
    let out = tf.run(&["destroy", "-auto-approve", "-no-color"])?;
    out.ok()?;
    Ok(out)
}

/// Everything of any pipeline in the emulator: jobs, roles, state machines, and the artifact
/// objects anywhere in the bucket (none if the bucket is gone).
async fn everything(aws: &SdkClients) -> Result<Vec<String>> {
    let mut all = Vec::new();
    let jobs = aws.glue.get_jobs().send().await?;
    all.extend(
        jobs.jobs()
            .iter()
            .filter_map(|j| j.name().map(|n| format!("job {n}"))),
    );
    let roles = aws.iam.list_roles().send().await?;
    all.extend(
        roles
            .roles()
            .iter()
            .filter(|r| r.path() == "/gluepipe/")
            .map(|r| format!("role {}", r.role_name())),
    );
    let machines = aws.sfn.list_state_machines().send().await?;
    all.extend(
        machines
            .state_machines()
            .iter()
            .map(|m| format!("state machine {}", m.name())),
    );
    if aws
        .s3
        .head_bucket()
        .bucket("artifact-bucket")
        .send()
        .await
        .is_ok()
    {
        all.extend(
            aws.keys("artifact-bucket", "")
                .await?
                .into_iter()
                .map(|k| format!("object {k}")),
        );
    }
    all.sort();
    Ok(all)
}

/// The value of `gluepipe:instance` on the Glue job `name`.
async fn job_marker(aws: &SdkClients, name: &str) -> Result<Option<String>> {
    let arn = format!("arn:aws:glue:us-east-1:123456789012:job/{name}");
    let tags = aws.glue.get_tags().resource_arn(arn).send().await?;
    Ok(tags
        .tags()
        .and_then(|t| t.get("gluepipe:instance"))
        .cloned())
}

fn assert_refused(out: &TfOutput, child: &str) {
    assert_ne!(out.code, 0, "the second claim was applied:\n{}", out.stdout);
    assert!(
        out.stderr.contains("AlreadyExists") && out.stderr.contains(child),
        "no AlreadyExists naming {child}:\n{}",
        out.stderr
    );
}

fn state_list(tf: &Terraform) -> Result<Vec<String>> {
    let out = tf.run(&["state", "list"])?;
    out.ok()?;
    Ok(out.stdout.lines().map(str::to_owned).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_configuration_claiming_the_name_is_refused() -> Result<()> {
    let (emu, aws) = setup().await?;
    let first = workspace(
        &emu,
        &config(&pipeline("orders", "orders", "gluepipe/", "")),
    )?;
    apply(&first)?;
    let before = everything(&aws).await?;
    let marker = job_marker(&aws, "orders").await?;
    assert!(marker.is_some(), "the job carries no ownership marker");

    // Another configuration, same name, another target: refused, nothing of the first changed.
    let second = workspace(&emu, &config(&pipeline("other", "orders", "gluepipe/", "")))?;
    let out = second.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_refused(&out, "orders");
    assert_eq!(state_list(&second)?, Vec::<String>::new());
    assert_eq!(everything(&aws).await?, before);
    assert_eq!(job_marker(&aws, "orders").await?, marker);
    assert_no_changes(&first, "a refused second claim")?;

    // Destroying the second deletes nothing of the first.
    destroy(&second)?;
    assert_eq!(everything(&aws).await?, before);
    assert_no_changes(&first, "destroying the second configuration")?;
    destroy(&first)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

/// A configuration of `resources` whose plan fails with `summary`, at `at` (the detail or the
/// configuration line Terraform quotes), and whose apply writes nothing.
async fn assert_refused_at_plan(resources: &str, summary: &str, at: &str) -> Result<()> {
    let (emu, aws) = setup().await?;
    let tf = workspace(&emu, &config(resources))?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0, "planned:\n{}", out.stdout);
    let stderr = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stderr.contains(summary) && stderr.contains(at),
        "no \"{summary}\" at {at}:\n{}",
        out.stderr
    );
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0, "applied:\n{}", out.stdout);
    assert!(out.stderr.contains(summary), "{}", out.stderr);
    assert_eq!(
        everything(&aws).await?,
        Vec::<String>::new(),
        "nothing written"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn count_two_with_one_name_is_refused_at_plan() -> Result<()> {
    assert_refused_at_plan(
        &pipeline("orders", "orders", "gluepipe/", "count = 2"),
        "Two pipelines claim one name",
        "another gluepipe_pipeline of this configuration is named \"orders\"",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn names_differing_only_in_case_in_one_configuration_are_refused_at_plan() -> Result<()> {
    assert_refused_at_plan(
        &(pipeline("orders", "orders", "gluepipe/", "")
            + &pipeline("upper", "Orders", "gluepipe/", "")),
        "Two pipelines claim one name",
        "IAM role names are case-insensitive",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_artifact_folders_in_one_configuration_are_refused_at_plan() -> Result<()> {
    assert_refused_at_plan(
        &(pipeline("a1", "a1", "gp/", "") + &pipeline("b2", "b2", "gp/a1/", "")),
        "Artifact folders nest",
        "s3://artifact-bucket/gp/a1/",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn names_differing_only_in_case_collide_cleanly() -> Result<()> {
    let (emu, aws) = setup().await?;
    let first = workspace(
        &emu,
        &config(&pipeline("orders", "orders", "gluepipe/", "")),
    )?;
    apply(&first)?;
    let before = everything(&aws).await?;

    // IAM role names are case-insensitive on AWS: `Orders-glue` is `orders-glue`.
    let second = workspace(&emu, &config(&pipeline("upper", "Orders", "gluepipe/", "")))?;
    let out = second.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_refused(&out, "Orders-glue");
    assert_eq!(
        everything(&aws).await?,
        before,
        "nothing written, nothing changed"
    );
    assert_no_changes(&first, "a case-only collision")?;
    destroy(&second)?;
    assert_eq!(everything(&aws).await?, before);
    destroy(&first)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_before_destroy_with_a_fixed_name_keeps_the_old_pipeline() -> Result<()> {
    let (emu, aws) = setup().await?;
    let tf = workspace(
        &emu,
        &config(&pipeline(
            "orders",
            "orders",
            "gluepipe/",
            "lifecycle {\n    create_before_destroy = true\n  }",
        )),
    )?;
    apply(&tf)?;
    let before = everything(&aws).await?;
    let marker = job_marker(&aws, "orders").await?;

    let out = tf.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-replace=gluepipe_pipeline.orders",
    ])?;
    assert_refused(&out, "orders");
    assert_eq!(
        everything(&aws).await?,
        before,
        "the old pipeline survives whole"
    );
    assert_eq!(job_marker(&aws, "orders").await?, marker);
    assert_eq!(
        state_list(&tf)?,
        vec!["gluepipe_pipeline.orders".to_owned()]
    );
    assert_no_changes(&tf, "a refused replacement")?;
    destroy(&tf)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_job_denied_leaves_tainted_partial_state_that_destroy_removes() -> Result<()> {
    let (emu, aws) = setup().await?;
    let tf = workspace(
        &emu,
        &config(&pipeline("orders", "orders", "gluepipe/", "")),
    )?;
    emu.inject_fault("CreateJob", "AccessDeniedException", 1)?;
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("AccessDeniedException"),
        "{}",
        out.stderr
    );
    let left = everything(&aws).await?;
    assert!(
        left.contains(&"role orders-glue".to_owned())
            && left.iter().any(|l| l.starts_with("object ")),
        "the roles and artifacts exist before the job: {left:?}"
    );

    let state = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.orders"])?;
    state.ok()?;
    assert!(state.stdout.contains("tainted"), "{}", state.stdout);
    for attr in [
        "glue_job_role_arn",
        "state_machine_role_arn",
        "spec_uri",
        "etl_binary_uri",
    ] {
        assert!(
            state.stdout.contains(attr),
            "{attr} missing:\n{}",
            state.stdout
        );
    }
    destroy(&tf)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoint_going_away_mid_create_orphans_nothing() -> Result<()> {
    let (emu, aws) = setup().await?;
    // No SDK retries: each call the outage fails is one call.
    let text = config(&pipeline("orders", "orders", "gluepipe/", "")).replace(
        "provider \"gluepipe\" {}",
        "provider \"gluepipe\" {\n  max_retries = 0\n}",
    );
    let tf = workspace(&emu, &text)?;
    // Enough calls for the plan, the claim check and the roles, then nothing answers.
    emu.outage_after(15)?;
    let out = tf.run(&["apply", "-auto-approve", "-no-color"]);
    emu.end_outage()?;
    let out = out?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    let left = everything(&aws).await?;
    assert!(
        !left.is_empty(),
        "the outage came before anything was created"
    );
    let state = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.orders"])?;
    state.ok()?;
    assert!(state.stdout.contains("tainted"), "{}", state.stdout);
    destroy(&tf)?;
    assert_eq!(
        everything(&aws).await?,
        Vec::<String>::new(),
        "left: {left:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_deleted_out_of_band_is_drift_and_destroy_removes_the_rest() -> Result<()> {
    let (emu, aws) = setup().await?;
    let tf = workspace(
        &emu,
        &config(&pipeline("orders", "orders", "gluepipe/", "")),
    )?;
    apply(&tf)?;
    aws.glue.delete_job().job_name("orders").send().await?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "the missing job is no change:\n{}", out.stdout);
    assert!(out.stdout.contains("glue_job_name"), "{}", out.stdout);
    assert_eq!(
        state_list(&tf)?,
        vec!["gluepipe_pipeline.orders".to_owned()]
    );
    destroy(&tf)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_artifact_folders_keep_each_others_objects() -> Result<()> {
    let (emu, aws) = setup().await?;
    // `gp/a1/` is pipeline a1's folder and holds pipeline b2's (`gp/a1/b2/`); two
    // configurations, which plan apart, so nothing refuses the nesting before apply.
    let outer = workspace(&emu, &config(&pipeline("a1", "a1", "gp/", "")))?;
    let inner = workspace(&emu, &config(&pipeline("b2", "b2", "gp/a1/", "")))?;
    apply(&outer)?;
    apply(&inner)?;
    let b2_objects = aws.keys("artifact-bucket", "gp/a1/b2/").await?;
    assert_eq!(b2_objects.len(), 3, "{b2_objects:?}");

    destroy(&outer)?;
    assert_eq!(aws.keys("artifact-bucket", "gp/a1/b2/").await?, b2_objects);
    let mut all = aws.keys("artifact-bucket", "gp/").await?;
    all.sort();
    let mut want = b2_objects.clone();
    want.sort();
    assert_eq!(all, want, "a1's objects are gone, b2's are all there");
    assert_no_changes(&inner, "destroying the outer pipeline")?;
    destroy(&inner)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_artifact_bucket_is_drift() -> Result<()> {
    let (emu, aws) = setup().await?;
    let tf = workspace(
        &emu,
        &config(&pipeline("orders", "orders", "gluepipe/", "")),
    )?;
    apply(&tf)?;
    for key in aws.keys("artifact-bucket", "").await? {
        aws.s3
            .delete_object()
            .bucket("artifact-bucket")
            .key(key)
            .send()
            .await?;
    }
    aws.s3
        .delete_bucket()
        .bucket("artifact-bucket")
        .send()
        .await?;

    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("spec_uri"), "{}", out.stdout);
    destroy(&tf)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    // The bucket back: the pipeline recreates its artifacts.
    aws.s3
        .create_bucket()
        .bucket("artifact-bucket")
        .send()
        .await?;
    apply(&tf)?;
    assert_no_changes(&tf, "recreating after the bucket came back")?;
    destroy(&tf)?;
    assert_eq!(everything(&aws).await?, Vec::<String>::new());
    Ok(())
}

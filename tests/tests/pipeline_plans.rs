//! Plans that keep workflows working, under the real Terraform CLI (v1.0.3) on the emulator:
//! every optional block and attribute added and then removed plans and applies cleanly; a
//! binary rebuilt between `plan -out` and `apply` gets gluepipe's message, not Terraform's
//! "inconsistent final plan"; an unknown tag leaves every value that does not depend on it
//! known (a downstream `for_each` plans, the plan stays short); and what AWS would reject later
//! is a plan-time diagnostic pointing at its attribute.
//!
//! The ETL binary is a stand-in shell script (see `bins::standin_script`).

use anyhow::{Result, bail};
use gluepipe_tests::tf_helpers::{SdkClients, assert_no_changes, plan_code};
use gluepipe_tests::{Emulator, Terraform, TfOutput, bins};

const NAME: &str = "plans-pipeline";

/// Optional pieces of the configuration, each placed in its block.
#[derive(Clone, Default)]
struct Extra {
    top: &'static str,
    source: &'static str,
    blocks: &'static str,
    target: &'static str,
    runtime: &'static str,
}

fn main_tf(extra: &Extra) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

resource "gluepipe_pipeline" "p" {{
  name = "{NAME}"
  {top}
  source {{
    path = "s3://raw-bucket/orders/"
    {source}
  }}
  {blocks}
  target {{
    path = "s3://curated-bucket/orders/"
    {target}
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
    etl_binary      = "etl-standin"
    {runtime}
  }}
}}
"#,
        top = extra.top,
        source = extra.source,
        blocks = extra.blocks,
        target = extra.target,
        runtime = extra.runtime,
    )
}

fn write_standin(tf: &Terraform, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = tf.path().join("etl-standin");
    std::fs::write(&path, bins::standin_script(body))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

async fn setup() -> Result<(Emulator, Terraform, SdkClients)> {
    let emu = Emulator::start()?;
    let aws = SdkClients::new(&emu).await;
    aws.buckets().await?;
    let tf = Terraform::new(&emu)?;
    write_standin(&tf, "exit 0")?;
    tf.write("main.tf", &main_tf(&Extra::default()))?;
    Ok((emu, tf, aws))
}

/// Fails unless the CLI output carries none of Terraform's own complaints about the provider.
fn no_provider_bug(out: &TfOutput, step: &str) -> Result<()> {
    for bad in [
        "Provider produced invalid plan",
        "Provider produced inconsistent final plan",
        "Provider produced inconsistent result after apply",
    ] {
        if out.stderr.contains(bad) || out.stdout.contains(bad) {
            bail!("{step}: {bad}\n{}\n{}", out.stdout, out.stderr);
        }
    }
    Ok(())
}

/// Applies, checking that Terraform found nothing wrong with the plan, and that the next plan
/// is empty.
fn apply_clean(tf: &Terraform, step: &str) -> Result<()> {
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    no_provider_bug(&out, step)?;
    if out.code != 0 {
        bail!("{step}: apply failed\n{}\n{}", out.stdout, out.stderr);
    }
    assert_no_changes(tf, step)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_optional_block_and_attribute_can_be_added_and_removed() -> Result<()> {
    let (_emu, tf, aws) = setup().await?;
    apply_clean(&tf, "create with required attributes only")?;
    let none = Extra::default();
    let cases: [(&str, Extra); 25] = [
        (
            "notifications (default outcomes)",
            Extra {
                blocks: r#"notifications {
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
  }"#,
                ..none.clone()
            },
        ),
        (
            "notifications",
            Extra {
                blocks: r#"notifications {
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
    on            = ["succeeded", "failed"]
  }"#,
                ..none.clone()
            },
        ),
        (
            "metrics (empty)",
            Extra {
                blocks: "metrics {}",
                ..none.clone()
            },
        ),
        (
            "metrics",
            Extra {
                blocks: r#"metrics {
    evaluation_context = "orders_ctx"
  }"#,
                ..none.clone()
            },
        ),
        (
            "description",
            Extra {
                top: r#"description = "d""#,
                ..none.clone()
            },
        ),
        (
            "max_bad_records",
            Extra {
                top: "max_bad_records = 5",
                ..none.clone()
            },
        ),
        (
            "tags",
            Extra {
                top: r#"tags = { team = "data" }"#,
                ..none.clone()
            },
        ),
        (
            "source.format",
            Extra {
                source: r#"format = "json""#,
                ..none.clone()
            },
        ),
        (
            "source.records_path",
            Extra {
                source: r#"records_path = "data.items""#,
                ..none.clone()
            },
        ),
        (
            "source.incremental",
            Extra {
                source: "incremental = true",
                ..none.clone()
            },
        ),
        (
            "mapping",
            Extra {
                blocks: r#"mapping {
    from = "id"
    to   = "order_id"
    type = "bigint"
  }"#,
                ..none.clone()
            },
        ),
        (
            "data_quality (empty)",
            Extra {
                blocks: "data_quality {}",
                ..none.clone()
            },
        ),
        (
            "data_quality",
            Extra {
                blocks: r#"data_quality {
    ruleset    = "Rules = [ ColumnCount > 0 ]"
    on_failure = "warn"
  }"#,
                ..none.clone()
            },
        ),
        (
            "data_quality with paths",
            Extra {
                blocks: r#"data_quality {
    ruleset         = "Rules = [ IsComplete \"id\" ]"
    on_failure      = "quarantine"
    results_path    = "s3://curated-bucket/dq/"
    quarantine_path = "s3://curated-bucket/quarantine/"
  }"#,
                ..none.clone()
            },
        ),
        (
            "target.compression",
            Extra {
                target: r#"compression = "zstd""#,
                ..none.clone()
            },
        ),
        (
            "target.partition_by",
            Extra {
                target: r#"partition_by = ["id"]"#,
                ..none.clone()
            },
        ),
        (
            "target.write_mode",
            Extra {
                target: r#"write_mode = "overwrite""#,
                ..none.clone()
            },
        ),
        (
            "target catalog",
            Extra {
                target: "catalog_database = \"curated\"\n    catalog_table = \"orders\"",
                ..none.clone()
            },
        ),
        (
            "runtime.artifact_prefix",
            Extra {
                runtime: r#"artifact_prefix = "other/""#,
                ..none.clone()
            },
        ),
        (
            "runtime.max_capacity",
            Extra {
                runtime: "max_capacity = 1",
                ..none.clone()
            },
        ),
        (
            "runtime.timeout_minutes",
            Extra {
                runtime: "timeout_minutes = 30",
                ..none.clone()
            },
        ),
        (
            "runtime.max_retries",
            Extra {
                runtime: "max_retries = 2",
                ..none.clone()
            },
        ),
        (
            "runtime.max_concurrent_runs",
            Extra {
                runtime: "max_concurrent_runs = 4",
                ..none.clone()
            },
        ),
        (
            "runtime scale-out",
            Extra {
                runtime: "parallelism = 2\n    files_per_shard = 3\n    max_concurrent_runs = 3",
                ..none.clone()
            },
        ),
        (
            "runtime.kind",
            Extra {
                runtime: r#"kind = "python-shell""#,
                ..none.clone()
            },
        ),
    ];
    for (what, extra) in cases {
        tf.write("main.tf", &main_tf(&extra))?;
        apply_clean(&tf, &format!("adding {what}"))?;
        tf.write("main.tf", &main_tf(&none))?;
        apply_clean(&tf, &format!("removing {what}"))?;
    }
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    let left: Vec<String> = aws
        .leftovers()
        .await?
        .into_iter()
        .filter(|l| !l.starts_with("object other/"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    Ok(())
}

fn sha256_of(path: &std::path::Path) -> Result<String> {
    let out = std::process::Command::new("sha256sum").arg(path).output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match text.split_whitespace().next() {
        Some(sha) => Ok(sha.to_owned()),
        None => bail!("sha256sum printed nothing"),
    }
}

fn state_attr(tf: &Terraform, attr: &str) -> Result<String> {
    let out = tf.run(&["state", "show", "-no-color", "gluepipe_pipeline.p"])?;
    out.ok()?;
    let line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{attr} ")));
    match line.and_then(|l| l.split('"').nth(1)) {
        Some(v) => Ok(v.to_owned()),
        None => bail!("{attr} not in state:\n{}", out.stdout),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_binary_rebuilt_between_plan_and_apply() -> Result<()> {
    let (_emu, tf, aws) = setup().await?;
    let binary = tf.path().join("etl-standin");

    // Create: the hash is only known at apply, so the rebuilt binary is the one uploaded.
    tf.run(&["plan", "-no-color", "-out=create.tfplan"])?.ok()?;
    write_standin(&tf, "echo rebuilt; exit 0")?;
    let out = tf.run(&["apply", "-no-color", "create.tfplan"])?;
    no_provider_bug(&out, "create from a saved plan")?;
    out.ok()?;
    assert_eq!(state_attr(&tf, "etl_binary_sha256")?, sha256_of(&binary)?);
    assert_no_changes(&tf, "create from a saved plan")?;

    // Update, binary unchanged at plan time, rebuilt before apply: gluepipe's message.
    tf.write(
        "main.tf",
        &main_tf(&Extra {
            top: r#"description = "second""#,
            ..Extra::default()
        }),
    )?;
    tf.run(&["plan", "-no-color", "-out=update.tfplan"])?.ok()?;
    write_standin(&tf, "echo rebuilt again; exit 0")?;
    let out = tf.run(&["apply", "-no-color", "update.tfplan"])?;
    no_provider_bug(&out, "update from a saved plan")?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("ETL binary changed since the plan")
            && out.stderr.contains("terraform plan again")
            && out.stderr.contains(r#"etl_binary      = "etl-standin""#),
        "{}",
        out.stderr
    );

    // Update, binary changed at plan time and again before apply: the same message.
    tf.run(&["plan", "-no-color", "-out=changed.tfplan"])?
        .ok()?;
    write_standin(&tf, "echo third build; exit 0")?;
    let out = tf.run(&["apply", "-no-color", "changed.tfplan"])?;
    no_provider_bug(&out, "changed binary from a saved plan")?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("ETL binary changed since the plan"),
        "{}",
        out.stderr
    );

    // A fresh plan shows the new binary, and applying it converges.
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("etl_binary_sha256"), "{}", out.stdout);
    apply_clean(&tf, "re-planned binary")?;
    assert_eq!(state_attr(&tf, "etl_binary_sha256")?, sha256_of(&binary)?);
    let keys = aws
        .keys("artifact-bucket", &format!("gluepipe/{NAME}/"))
        .await?;
    let sha = sha256_of(&binary)?;
    assert!(
        keys.iter()
            .any(|k| k.ends_with(&format!("gluepipe-etl-{sha}"))),
        "{keys:?}"
    );
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    Ok(())
}

/// A module that takes a set of names and does nothing with them, to `for_each` over.
const FOR_EACH_MODULE: &str = r#"
variable "arn" { type = string }
output "arn" { value = var.arn }
"#;

const DOWNSTREAM: &str = r#"
module "per_arn" {
  source   = "./per_arn"
  for_each = toset([
    gluepipe_pipeline.p.id,
    gluepipe_pipeline.p.glue_job_name,
    gluepipe_pipeline.p.glue_job_role_arn,
    gluepipe_pipeline.p.state_machine_arn,
    gluepipe_pipeline.p.state_machine_role_arn,
    gluepipe_pipeline.p.glue_version,
    gluepipe_pipeline.p.python_version,
    gluepipe_pipeline.p.spec_uri,
    gluepipe_pipeline.p.launcher_uri,
  ])
  arn = each.value
}
"#;

fn known_after_apply(out: &TfOutput) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| l.contains("(known after apply)"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tag_keeps_the_other_values_known() -> Result<()> {
    let (_emu, tf, _aws) = setup().await?;
    tf.write("per_arn/main.tf", FOR_EACH_MODULE)?;
    let with_tag = |tags: &'static str| {
        format!(
            "{}{DOWNSTREAM}",
            main_tf(&Extra {
                top: tags,
                blocks: r#"data_quality {
    ruleset = "Rules = [ ColumnCount > 0 ]"
  }"#,
                ..Extra::default()
            })
        )
    };
    tf.write("main.tf", &with_tag("tags = { t = timestamp() }"))?;
    tf.run(&["get", "-no-color"])?.ok()?;

    // Create: a downstream for_each over name-derived values plans.
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}\n{}", out.stdout, out.stderr);
    for known in [
        "arn:aws:iam::123456789012:role/gluepipe/plans-pipeline-glue",
        "arn:aws:states:us-east-1:123456789012:stateMachine:plans-pipeline",
        "arn:aws:iam::123456789012:role/gluepipe/plans-pipeline-sfn",
        "s3://artifact-bucket/gluepipe/plans-pipeline/spec.json",
    ] {
        assert!(out.stdout.contains(known), "{known}:\n{}", out.stdout);
    }
    let unknown = known_after_apply(&out);
    // The tag and tags_all; on create the binary's hash, its URI and the arguments that name
    // them, and the new instance's lineage id, are only known at apply.
    assert!(
        unknown.len() <= 6,
        "{} unknown:\n{}",
        unknown.len(),
        unknown.join("\n")
    );
    apply_clean_with_unknown_tag(&tf)?;

    // Update: only the tags change.
    tf.write("main.tf", &with_tag(r#"tags = { t = "fixed" }"#))?;
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;
    tf.write("main.tf", &with_tag("tags = { t = timestamp() }"))?;
    let (code, out) = plan_code(&tf)?;
    assert_eq!(code, 2, "{}", out.stdout);
    let unknown = known_after_apply(&out);
    assert!(
        unknown.len() <= 2,
        "{} unknown:\n{}",
        unknown.len(),
        unknown.join("\n")
    );
    let changed = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('~') && !l.contains("update in-place"))
        .count();
    // The resource, `tags`, its `t` and `tags_all`.
    assert!(changed <= 4, "{changed} changes:\n{}", out.stdout);
    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    Ok(())
}

/// A `timestamp()` tag changes on every plan, so only the apply itself is checked.
fn apply_clean_with_unknown_tag(tf: &Terraform) -> Result<()> {
    let out = tf.run(&["apply", "-auto-approve", "-no-color"])?;
    no_provider_bug(&out, "apply with an unknown tag")?;
    out.ok()?;
    Ok(())
}

#[test]
fn what_aws_would_reject_fails_at_plan_with_its_attribute() -> Result<()> {
    // No AWS call is needed to reject these: no emulator.
    let tf = Terraform::offline(vec![])?;
    write_standin(&tf, "exit 0")?;
    let config = main_tf(&Extra {
        top: r#"tags = { "aws:team" = "data", Env = "a", env = "b" }
  description = "line one\u0007"
"#,
        blocks: r#"mapping {
    from = "id"
    to   = "order_id"
    type = "bigint"
  }
  mapping {
    from = "customer"
    to   = "customer"
    type = "struct<name:string>"
  }
  data_quality {
    ruleset = "Rules = [ IsComplete \"id\" ]"
  }
  notifications {
    sns_topic_arn = "arn:aws:sqs:us-east-1:123456789012:alerts"
    on = ["failure"]
  }"#,
        target: "partition_by = [\"customer\"]\n    catalog_database = \"Curated DB\"\n    catalog_table = \"orders\"",
        ..Extra::default()
    })
    .replace("s3://curated-bucket/orders/", "s3://raw-bucket/orders/curated/");
    tf.write("main.tf", &config)?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0);
    no_provider_bug(&out, "plan")?;
    for (summary, line) in [
        ("Invalid tag", r#"tags = { "aws:team""#),
        ("Invalid description", "description = "),
        ("Cannot partition by this column", "partition_by = "),
        (
            "Input and target overlap",
            r#"path = "s3://raw-bucket/orders/""#,
        ),
        ("Invalid catalog name", "catalog_database = "),
        (
            "Rule on a column the mapping does not produce",
            "ruleset = ",
        ),
        ("Invalid SNS topic ARN", "sns_topic_arn = "),
        ("'failure' is not a run outcome", "on = [\"failure\"]"),
    ] {
        assert!(out.stderr.contains(summary), "{summary}:\n{}", out.stderr);
        assert!(out.stderr.contains(line), "{line}:\n{}", out.stderr);
    }
    assert!(
        out.stderr.contains("Env") && out.stderr.contains("env"),
        "{}",
        out.stderr
    );

    // A target whose name holds `*` is not a glob: never an unasked wildcard grant.
    let config = main_tf(&Extra::default())
        .replace("s3://curated-bucket/orders/", "s3://curated-bucket/x-*/");
    tf.write("main.tf", &config)?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("Wildcard in a written location"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(r#"path = "s3://curated-bucket/x-*/""#),
        "{}",
        out.stderr
    );
    Ok(())
}

//! Installing gluepipe as users do: the debug build packaged by `scripts/package_release.py`
//! (the release's own packaging step, in `--dev` mode) into a mirror, installed by the real
//! `terraform init` with nothing else configured — from the packed filesystem layout (then the
//! lock file verified, a tampered zip refused, an upgrade to the next version, and an apply on
//! the emulator whose configuration names no ETL binary, run through the state machine to
//! Parquet read back with pyarrow) and from a network mirror served over
//! HTTPS on 127.0.0.1.

use std::process::Command;

use anyhow::{Context, Result};
use gluepipe_tests::install::{ADDRESS, HttpsServer, package};
use gluepipe_tests::readback::parquet_in_s3;
use gluepipe_tests::tf_helpers::{SdkClients, run_execution};
use gluepipe_tests::{Emulator, Terraform, bins};
use sha2::{Digest, Sha256};

fn main_tf(constraint: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{
      source  = "gluepipe/gluepipe"
      version = "{constraint}"
    }}
  }}
}}

provider "gluepipe" {{}}

resource "gluepipe_pipeline" "orders" {{
  name = "orders"
  source {{
    path = "s3://raw-bucket/orders/"
  }}
  target {{
    path = "s3://curated-bucket/orders/"
  }}
  runtime {{
    artifact_bucket = "artifact-bucket"
  }}
}}

output "state_machine_arn" {{
  value = gluepipe_pipeline.orders.state_machine_arn
}}
"#
    )
}

fn locked_version(tf: &Terraform) -> Result<String> {
    let lock = std::fs::read_to_string(tf.path().join(".terraform.lock.hcl"))?;
    let line = lock
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .context("no version in the lock file")?;
    Ok(line.split('"').nth(1).unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_init_installs_from_a_mirror_and_the_pipeline_names_no_binary() -> Result<()> {
    let work = tempfile::tempdir()?;
    let mirror_dir = work.path().join("mirror");
    let zip_v1 = package("0.1.0", &work.path().join("dist-0.1.0"), &mirror_dir)?;

    let emu = Emulator::start()?;
    let aws = SdkClients::new(&emu).await;
    aws.buckets().await?;
    let tf = Terraform::new(&emu)?;
    tf.set_cli_config(&format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{ADDRESS}\"]\n  }}\n}}\n",
        mirror_dir.display()
    ))?;
    tf.write("main.tf", &main_tf(">= 0.1.0"))?;

    // First init: installs 0.1.0 and records it in the lock file.
    tf.run(&["init", "-no-color"])?.ok()?;
    assert_eq!(locked_version(&tf)?, "0.1.0");
    let installed = tf
        .path()
        .join(".terraform/providers")
        .join(ADDRESS)
        .join("0.1.0/linux_amd64");
    assert!(
        installed
            .join("terraform-provider-gluepipe_v0.1.0")
            .is_file()
            && installed.join("gluepipe-etl_linux_amd64").is_file(),
        "the zip's provider and ETL binary unpacked side by side"
    );

    // Apply with no etl_binary: the provider uploads the ETL binary from its own zip.
    tf.run(&["apply", "-auto-approve", "-no-color"])?.ok()?;
    let etl = std::fs::read(installed.join("gluepipe-etl_linux_amd64"))?;
    let sha = hex::encode(Sha256::digest(&etl));
    let keys = aws.keys("artifact-bucket", "gluepipe/orders/").await?;
    assert!(
        keys.contains(&format!("gluepipe/orders/gluepipe-etl-{sha}")),
        "the binary from the zip was uploaded: {keys:?}"
    );
    // The state machine runs the job, whose launcher runs that binary: Parquet comes out.
    emu.set_job_runner_script(&bins::python()?, &[])?;
    aws.s3
        .put_object()
        .bucket("raw-bucket")
        .key("orders/part-1.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"{\"id\": 1, \"status\": \"placed\"}\n{\"id\": 2, \"status\": \"shipped\"}\n",
        ))
        .send()
        .await?;
    let arn = tf.run(&["output", "-raw", "state_machine_arn"])?;
    let done = run_execution(
        &emu,
        &aws.sfn,
        arn.ok()?.stdout.trim(),
        None,
        &serde_json::json!({}),
        std::time::Duration::from_secs(90),
    )
    .await?;
    assert_eq!(
        done.status().as_str(),
        "SUCCEEDED",
        "{:?}\n{}",
        done.cause(),
        emu.job_runs()?
    );
    let parquet = parquet_in_s3(&emu, "curated-bucket", "orders/")?;
    assert_eq!(parquet["rows"], 2, "{parquet}");

    let plan = tf.run(&["plan", "-detailed-exitcode", "-no-color"])?;
    assert_eq!(plan.code, 0, "a second plan is empty: {}", plan.stdout);

    // A second init against the lock file verifies the package and passes.
    std::fs::remove_dir_all(tf.path().join(".terraform"))?;
    tf.run(&["init", "-no-color"])?.ok()?;

    // A tampered zip no longer matches the lock file's checksum: refused.
    let good = std::fs::read(&zip_v1)?;
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0xff;
    std::fs::write(&zip_v1, &bad)?;
    std::fs::remove_dir_all(tf.path().join(".terraform"))?;
    let refused = tf.run(&["init", "-no-color"])?;
    assert_ne!(refused.code, 0, "a tampered package must be refused");
    assert!(
        refused.stderr.contains("checksum") || refused.stderr.contains("match"),
        "{}",
        refused.stderr
    );
    std::fs::write(&zip_v1, &good)?;

    // The next version in the mirror: init -upgrade moves the lock to it.
    package("0.1.1", &work.path().join("dist-0.1.1"), &mirror_dir)?;
    tf.run(&["init", "-no-color"])?.ok()?;
    assert_eq!(
        locked_version(&tf)?,
        "0.1.0",
        "init keeps the locked version"
    );
    tf.run(&["init", "-upgrade", "-no-color"])?.ok()?;
    assert_eq!(locked_version(&tf)?, "0.1.1");

    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    let left = aws.keys("artifact-bucket", "gluepipe/orders/").await?;
    assert!(left.is_empty(), "destroy removes the artifacts: {left:?}");
    Ok(())
}

#[test]
fn packaging_is_reproducible_and_refuses_what_does_not_fit() -> Result<()> {
    let work = tempfile::tempdir()?;
    package("0.1.0", &work.path().join("a"), &work.path().join("ma"))?;
    package("0.1.0", &work.path().join("b"), &work.path().join("mb"))?;
    let sums = |dist: &str| -> Result<String> {
        Ok(std::fs::read_to_string(
            work.path()
                .join(dist)
                .join("terraform-provider-gluepipe_0.1.0_SHA256SUMS"),
        )?)
    };
    assert_eq!(
        sums("a")?,
        sums("b")?,
        "two packagings give the same SHA256SUMS"
    );
    assert!(sums("a")?.contains("terraform-provider-gluepipe_0.1.0_manifest.json"));
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        work.path()
            .join("a/terraform-provider-gluepipe_0.1.0_manifest.json"),
    )?)?;
    assert_eq!(manifest["metadata"]["protocol_versions"][0], "6.0");

    // Without --dev: the host's glibc is too new for Glue, the arm64 ETL is missing, and an
    // x86-64 binary given as arm64 is refused by its ELF machine. Nothing is written.
    let strict = |extra: &[String]| -> Result<String> {
        let out = Command::new(bins::python()?)
            .arg(bins::repo_root().join("scripts/package_release.py"))
            .args(["--version", "0.1.0", "--out"])
            .arg(work.path().join("strict"))
            .arg(format!(
                "--provider=linux_amd64={}",
                bins::provider()?.display()
            ))
            .args(extra)
            .output()?;
        assert_eq!(out.status.code(), Some(2));
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let etl = bins::etl()?.display().to_string();
    let err = strict(&[format!("--etl=linux_amd64={etl}")])?;
    assert!(err.contains("missing --etl for linux_arm64"), "{err}");
    let err = strict(&[
        format!("--etl=linux_amd64={etl}"),
        format!("--etl=linux_arm64={etl}"),
    ])?;
    assert!(
        err.contains("newer than the 2.17") || err.contains("ELF machine 62"),
        "{err}"
    );
    assert!(!work.path().join("strict").exists(), "nothing written");
    Ok(())
}

#[test]
fn terraform_init_installs_from_a_network_mirror_over_https() -> Result<()> {
    let work = tempfile::tempdir()?;
    let mirror_dir = work.path().join("mirror");
    let zip = package("0.1.0", &work.path().join("dist"), &mirror_dir)?;
    let server = HttpsServer::start(&mirror_dir, &work.path().join("tls"))?;
    // Go's TLS stack (Terraform) trusts the test CA through SSL_CERT_FILE.
    let tf = Terraform::with_env(vec![(
        "SSL_CERT_FILE".into(),
        server.ca.display().to_string(),
    )])?;
    tf.set_cli_config(&format!(
        "provider_installation {{\n  network_mirror {{\n    url     = \"https://127.0.0.1:{}/\"\n    include = [\"{ADDRESS}\"]\n  }}\n}}\n",
        server.port
    ))?;
    tf.write(
        "main.tf",
        "terraform {\n  required_providers {\n    gluepipe = { source = \"gluepipe/gluepipe\", version = \"~> 0.1\" }\n  }\n}\n",
    )?;
    tf.run(&["init", "-no-color"])?.ok()?;
    assert_eq!(locked_version(&tf)?, "0.1.0");
    let lock = std::fs::read_to_string(tf.path().join(".terraform.lock.hcl"))?;
    assert!(
        lock.contains("h1:"),
        "the installed package is locked: {lock}"
    );
    let installed = tf
        .path()
        .join(".terraform/providers")
        .join(ADDRESS)
        .join("0.1.0/linux_amd64/gluepipe-etl_linux_amd64");
    assert!(installed.is_file(), "the ETL binary came with the provider");

    // A zip that no longer matches the mirror's zh: hash is refused, even with no lock file.
    let mut bytes = std::fs::read(&zip)?;
    let at = bytes.len() / 3;
    bytes[at] ^= 0xff;
    std::fs::write(&zip, &bytes)?;
    std::fs::remove_dir_all(tf.path().join(".terraform"))?;
    std::fs::remove_file(tf.path().join(".terraform.lock.hcl"))?;
    let refused = tf.run(&["init", "-no-color"])?;
    assert_ne!(
        refused.code, 0,
        "a package that does not match its zh: hash is refused"
    );
    assert!(
        refused.stderr.contains("checksum") || refused.stderr.contains("match"),
        "{}",
        refused.stderr
    );
    Ok(())
}

//! CloudWatch metrics after each run, on the emulator's CloudWatch: Glue Data Quality's rule
//! counts under Glue's names (namespace `Glue Data Quality`, dimension `EvaluationContext`) and
//! the run's counts and outcome (namespace `gluepipe`, dimension `Pipeline`); none without
//! `--cloudwatch-metrics`; a CloudWatch that refuses leaves the run's outcome as it was.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use gluepipe_tests::Emulator;
use gluepipe_tests::cloudwatch::sum;

const RULES: &str = r#"Rules = [ IsComplete "id", ColumnValues "amount" > 0, RowCount > 0 ]"#;

fn etl(dir: &Path, name: &str, body: &str, extra: &[&str], env: &[(String, String)]) -> Output {
    let input = dir.join(name);
    std::fs::write(&input, body).unwrap();
    let rules = dir.join("rules.dqdl");
    std::fs::write(&rules, RULES).unwrap();
    let target = dir.join("out");
    Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(["run", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&target)
        .arg("--rules")
        .arg(&rules)
        .args(["--on-dq-failure", "fail", "--no-progress"])
        .args(extra)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_publishes_glues_dq_metrics_and_its_own() {
    let emu = Emulator::start().unwrap();
    let env = emu.env();
    let cw = aws_sdk_cloudwatch::Client::new(&emu.sdk_config().await);
    let dir = tempfile::tempdir().unwrap();

    // Without the flag: nothing is published (and so the checks below mean something).
    let quiet = etl(dir.path(), "0.json", "{\"id\":1,\"amount\":5}\n", &[], &env);
    assert!(quiet.status.success(), "{quiet:?}");
    let listed = cw.list_metrics().send().await.unwrap();
    assert!(listed.metrics().is_empty(), "{listed:?}");

    let with = ["--cloudwatch-metrics", "--evaluation-context", "orders_ctx"];
    // A clean run: three rules passed, three rows written.
    let clean = "{\"id\":1,\"amount\":5}\n{\"id\":2,\"amount\":7}\n{\"id\":3,\"amount\":1}\n";
    let out = etl(dir.path(), "1.json", clean, &with, &env);
    assert!(out.status.success(), "{out:?}");
    // A run that fails its gate: one rule failed, nothing written.
    let out = etl(
        dir.path(),
        "2.json",
        "{\"id\":4,\"amount\":-1}\n",
        &with,
        &env,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    let dq = ("EvaluationContext", "orders_ctx");
    let ns = "Glue Data Quality";
    assert_eq!(
        sum(&cw, ns, "glue.data.quality.rules.passed", dq)
            .await
            .unwrap(),
        Some(5.0)
    );
    assert_eq!(
        sum(&cw, ns, "glue.data.quality.rules.failed", dq)
            .await
            .unwrap(),
        Some(1.0)
    );
    let pipeline = ("Pipeline", "gluepipe-etl");
    assert_eq!(
        sum(&cw, "gluepipe", "RowsIn", pipeline).await.unwrap(),
        Some(4.0)
    );
    assert_eq!(
        sum(&cw, "gluepipe", "RowsWritten", pipeline).await.unwrap(),
        Some(3.0)
    );
    assert_eq!(
        sum(&cw, "gluepipe", "RowsDiscarded", pipeline)
            .await
            .unwrap(),
        Some(1.0)
    );
    assert_eq!(
        sum(&cw, "gluepipe", "RunSucceeded", pipeline)
            .await
            .unwrap(),
        Some(1.0)
    );
    assert_eq!(
        sum(&cw, "gluepipe", "RunDataQualityFailed", pipeline)
            .await
            .unwrap(),
        Some(1.0)
    );
    assert_eq!(
        sum(&cw, "gluepipe", "RunFailed", pipeline).await.unwrap(),
        Some(0.0)
    );
    assert!(
        sum(&cw, "gluepipe", "Duration", pipeline)
            .await
            .unwrap()
            .unwrap()
            > 0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_publish_is_a_warning_and_the_run_keeps_its_outcome() {
    let emu = Emulator::start().unwrap();
    emu.inject_fault("PutMetricData", "AccessDenied", 10)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = etl(
        dir.path(),
        "1.json",
        "{\"id\":1,\"amount\":5}\n",
        &["--cloudwatch-metrics"],
        &emu.env(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("CloudWatch metrics were not published")
            && stderr.contains("PutMetricData")
            && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert!(emu.log().contains("injecting fault into PutMetricData"));
}

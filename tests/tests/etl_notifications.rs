//! SNS notifications after a run, on the emulator's SNS with an SQS queue subscribed as a
//! consumer would: one message per run whose outcome is in `--notify-on`, carrying the summary
//! people act on; attributes a subscription can filter on; FIFO topics; the failed run a
//! discard cleans up; and a refused publish that leaves the run's outcome as it was.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use gluepipe_tests::Emulator;
use gluepipe_tests::sns::Inbox;
use serde_json::Value;

const RULES: &str = r#"Rules = [ IsComplete "id", ColumnValues "amount" > 0 ]"#;
const CLEAN: &str = "{\"id\":1,\"amount\":5}\n{\"id\":2,\"amount\":7}\n";
/// Malformed JSON on line 2, and no bad record allowed: the run fails.
const BAD_LINE_2: &str = "{\"id\":3,\"amount\":1}\n{\"id\":\n";

fn etl(dir: &Path, name: &str, body: &str, extra: &[&str], env: &[(String, String)]) -> Output {
    let input = dir.join(name);
    std::fs::write(&input, body).unwrap();
    let rules = dir.join("rules.dqdl");
    std::fs::write(&rules, RULES).unwrap();
    Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(["run", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(dir.join("out"))
        .arg("--rules")
        .arg(&rules)
        .args(["--on-dq-failure", "fail", "--no-progress"])
        .args(extra)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

/// The JSON summary an SQS subscriber gets, and the envelope's attribute `name`.
fn summary(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
}

fn attribute<'a>(envelope: &'a Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listed_outcome_sends_the_runs_summary() {
    let emu = Emulator::start().unwrap();
    let env = emu.env();
    let config = emu.sdk_config().await;
    let all = Inbox::new(&config, "runs", None).await.unwrap();
    let dq_only = Inbox::new(
        &config,
        "runs-dq",
        Some(r#"{"status": ["data_quality_failed"]}"#),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Without the flag nothing is sent, so what arrives below was sent by the flag.
    let quiet = etl(dir.path(), "0.json", CLEAN, &[], &env);
    assert!(quiet.status.success(), "{quiet:?}");
    assert!(all.take().await.unwrap().is_empty());

    for inbox in [&all, &dq_only] {
        let on = [
            "--sns-topic-arn",
            &inbox.topic_arn,
            "--notify-on",
            "succeeded,data_quality_failed",
        ];
        let ok = etl(dir.path(), "1.json", CLEAN, &on, &env);
        assert!(ok.status.success(), "{ok:?}");
        let gate = etl(
            dir.path(),
            "2.json",
            "{\"id\":3,\"amount\":-1}\n",
            &on,
            &env,
        );
        assert_eq!(gate.status.code(), Some(3), "{gate:?}");
        // Failed (malformed JSON, no bad records allowed), and not in `on`: no message.
        let failed = etl(dir.path(), "3.json", BAD_LINE_2, &on, &env);
        assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    }

    let got = all.take().await.unwrap();
    let statuses: Vec<&str> = got.iter().map(|m| attribute(m, "status")).collect();
    assert_eq!(statuses, ["succeeded", "data_quality_failed"], "{got:#?}");
    let ok = summary(&got[0]);
    assert_eq!(got[0]["Subject"], "gluepipe gluepipe-etl: succeeded");
    assert_eq!(ok["rows"]["written"], 2, "{ok:#}");
    assert_eq!(ok["data_quality"]["failed_rules_total"], 0, "{ok:#}");
    let record = ok["run_record"].as_str().unwrap();
    let record: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    assert_eq!(
        record["run_id"], ok["run_id"],
        "the summary points at its run's record"
    );
    assert_eq!(attribute(&got[0], "run_id"), ok["run_id"].as_str().unwrap());
    assert_eq!(attribute(&got[0], "pipeline"), "gluepipe-etl");

    let gate = summary(&got[1]);
    assert_eq!(gate["status"], "data_quality_failed", "{gate:#}");
    assert_eq!(gate["rows"]["discarded"], 1, "{gate:#}");
    let rules = &gate["data_quality"]["failed_rules"];
    assert_eq!(rules.as_array().unwrap().len(), 1, "{gate:#}");
    assert_eq!(rules[0]["rule"], r#"ColumnValues "amount" > 0"#, "{gate:#}");
    assert!(
        rules[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Value: -1.0 does not meet"),
        "{gate:#}"
    );

    // The filter policy on `status` passes only the failed gate.
    let filtered = dq_only.take().await.unwrap();
    let statuses: Vec<&str> = filtered.iter().map(|m| attribute(m, "status")).collect();
    assert_eq!(statuses, ["data_quality_failed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_topics_get_a_group_and_the_default_is_failures_only() {
    let emu = Emulator::start().unwrap();
    let env = emu.env();
    let inbox = Inbox::new(&emu.sdk_config().await, "runs.fifo", None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on = ["--sns-topic-arn", inbox.topic_arn.as_str()];
    let ok = etl(dir.path(), "1.json", CLEAN, &on, &env);
    assert!(ok.status.success(), "{ok:?}");
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(!stderr.contains("not sent"), "{stderr}");
    let failed = etl(dir.path(), "2.json", BAD_LINE_2, &on, &env);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!stderr.contains("not sent"), "{stderr}");

    let got = inbox.take().await.unwrap();
    assert_eq!(
        got.len(),
        1,
        "succeeded is not in the default `on`: {got:#?}"
    );
    let failed = summary(&got[0]);
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("2.json") && error.contains("line 2"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_sharded_run_is_notified_as_failed() {
    let emu = Emulator::start().unwrap();
    let env = emu.env();
    let inbox = Inbox::new(&emu.sdk_config().await, "runs", None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("1.json");
    std::fs::write(&input, CLEAN).unwrap();
    let base = |cmd: &str| {
        let mut c = Command::new(gluepipe_tests::bins::etl().unwrap());
        c.args([cmd, "--input"])
            .arg(&input)
            .arg("--output")
            .arg(dir.path().join("out"))
            .args(["--run-id", "r7", "--no-progress"])
            .args(["--sns-topic-arn", inbox.topic_arn.as_str()])
            .envs(env.iter().cloned());
        c
    };
    let items = serde_json::to_string(&[input.to_str().unwrap()]).unwrap();
    let shard = base("run")
        .args([
            "--shard-inputs",
            &items,
            "--evaluated-at",
            "2026-12-08T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(shard.status.success(), "{shard:?}");
    assert!(
        inbox.take().await.unwrap().is_empty(),
        "a shard tells nothing: its run's outcome is the merge's"
    );
    let discard = base("merge").arg("--discard").output().unwrap();
    assert!(discard.status.success(), "{discard:?}");
    let got = inbox.take().await.unwrap();
    assert_eq!(got.len(), 1, "{got:#?}");
    let failed = summary(&got[0]);
    assert_eq!(failed["status"], "failed", "{failed:#}");
    assert_eq!(failed["run_id"], "r7");
    assert_eq!(failed["rows"]["written"], 0, "{failed:#}");
    assert_eq!(failed["rows"]["discarded"], 2, "{failed:#}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("a shard of run r7 failed"),
        "{failed:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_publish_is_a_warning_and_the_run_keeps_its_outcome() {
    let emu = Emulator::start().unwrap();
    let inbox = Inbox::new(&emu.sdk_config().await, "runs", None)
        .await
        .unwrap();
    emu.inject_fault("Publish", "AuthorizationError", 10)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on = [
        "--sns-topic-arn",
        inbox.topic_arn.as_str(),
        "--notify-on",
        "succeeded",
    ];
    let out = etl(dir.path(), "1.json", CLEAN, &on, &emu.env());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("notification to arn:aws:sns:us-east-1:")
            && stderr.contains("was not sent")
            && stderr.contains("Publish")
            && stderr.contains("AuthorizationError"),
        "{stderr}"
    );
    assert!(emu.log().contains("injecting fault into Publish"));
    assert!(inbox.take().await.unwrap().is_empty());

    let bad = etl(
        dir.path(),
        "2.json",
        CLEAN,
        &["--sns-topic-arn", "arn:aws:sns:us-east-1:1:t"],
        &emu.env(),
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("notifications.sns_topic_arn") && stderr.contains("account id"),
        "{stderr}"
    );
}

//! `gluepipe-etl run s3://…/spec.json`: the ECS task's entry point reads the spec the provider
//! uploaded, straight from S3.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use gluepipe_tests::{Emulator, bins, readback};

#[tokio::test(flavor = "multi_thread")]
async fn run_reads_its_spec_from_s3() {
    let emu = Emulator::start().unwrap();
    let s3 = emu.s3().await;
    for bucket in ["raw-bucket", "curated-bucket", "artifact-bucket"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let rows = "{\"id\": 1, \"name\": \"ann\"}\n{\"id\": 2, \"name\": \"bob\"}\n";
    s3.put_object()
        .bucket("raw-bucket")
        .key("in/a.json")
        .body(rows.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let spec = serde_json::json!({
        "name": "from-s3",
        "source": {"paths": ["s3://raw-bucket/in/"]},
        "mapping": [{"from": "id", "to": "id", "type": "bigint"}, {"from": "name", "to": "name", "type": "string"}],
        "target": {"path": "s3://curated-bucket/out/"}
    });
    s3.put_object()
        .bucket("artifact-bucket")
        .key("gluepipe/from-s3/spec.json")
        .body(spec.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();

    let run = |spec: &str| {
        Command::new(bins::etl().unwrap())
            .args(["run", spec, "--no-progress"])
            .envs(emu.env())
            .output()
            .unwrap()
    };
    let ok = run("s3://artifact-bucket/gluepipe/from-s3/spec.json");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let parquet = readback::parquet_in_s3(&emu, "curated-bucket", "out/").unwrap();
    assert_eq!(parquet["rows"], 2);
    assert_eq!(parquet["schema"]["id"], "int64");

    // A spec object that is not there: a clear error naming it, and nothing written.
    let missing = run("s3://artifact-bucket/gluepipe/nope/spec.json");
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot read pipeline spec s3://artifact-bucket/gluepipe/nope/spec.json"),
        "{stderr}"
    );
}

/// Dynamic rules read the metric history that every run appends, on S3 as locally:
/// `<target>/_gluepipe/dq/<pipeline>/metric-history.jsonl`.
#[tokio::test(flavor = "multi_thread")]
async fn dynamic_rules_read_the_metric_history_kept_in_s3() {
    let emu = Emulator::start().unwrap();
    let s3 = emu.s3().await;
    for bucket in ["raw-bucket", "curated-bucket"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.dqdl");
    let put_rows = |rows: usize| {
        let body: String = (0..rows).map(|i| format!("{{\"id\": {i}}}\n")).collect();
        s3.put_object()
            .bucket("raw-bucket")
            .key(format!("in-{rows}/a.json"))
            .body(body.into_bytes().into())
            .send()
    };
    let etl = |rows: usize, ruleset: &str| {
        std::fs::write(&rules, ruleset).unwrap();
        Command::new(bins::etl().unwrap())
            .args([
                "run",
                "--no-progress",
                "--output",
                "s3://curated-bucket/out/",
                "--rules",
            ])
            .arg(&rules)
            .args(["--input", &format!("s3://raw-bucket/in-{rows}/a.json")])
            .envs(emu.env())
            .output()
            .unwrap()
    };
    for rows in [5, 3, 2, 4] {
        put_rows(rows).await.unwrap();
    }

    // Two runs of 5 and 3 rows build the history; a run of 2 rows is then below the minimum of
    // the last two runs, which only the history can tell.
    for rows in [5, 3] {
        let out = etl(rows, "Rules = [ RowCount > 0 ]");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let history = s3
        .get_object()
        .bucket("curated-bucket")
        .key("out/_gluepipe/dq/gluepipe-etl/metric-history.jsonl")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(
        history
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        2
    );
    let below = etl(2, "Rules = [ RowCount >= min(last(2)) ]");
    assert_eq!(
        below.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&below.stderr)
    );
    let above = etl(4, "Rules = [ RowCount >= min(last(2)) ]");
    assert!(
        above.status.success(),
        "{}",
        String::from_utf8_lossy(&above.stderr)
    );
}

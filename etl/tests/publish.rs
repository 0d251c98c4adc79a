//! What the target looks like after a run: atomic publish (a killed or failed run leaves it as it
//! was), append and overwrite, Hive partitions, manifests; plus the CLI's spec file, flag
//! overrides, exit codes and JSON logs.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn orders(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let day = format!("2024-01-{:02}", 1 + i % 3);
        writeln!(
            f,
            "{}",
            json!({"id": i, "day": day, "amount": (i % 1000) as f64 / 10.0, "pad": "x".repeat(200)})
        )
        .unwrap();
    }
}

#[test]
fn partitions_append_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    orders(&input, 300);
    let out = dir.path().join("out");
    let first = dir.path().join("first.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--partition-by",
            "day",
            "--results",
            p(&first),
        ],
        0,
    );
    let files = visible_files(&out);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("day=2024-01-0") && f.ends_with(".snappy.parquet")),
        "{files:?}"
    );
    let data = read_parquet(&out);
    assert_eq!(data["rows"].as_array().unwrap().len(), 300);
    let record = run_record(&first);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(record["manifest_path"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        manifest.to_string().contains("day=2024-01-01"),
        "{manifest}"
    );
    let outputs = record["outputs"].as_array().unwrap();
    assert_eq!(
        outputs
            .iter()
            .map(|o| o["rows"].as_u64().unwrap())
            .sum::<u64>(),
        300
    );
    for o in outputs {
        assert_eq!(
            std::fs::metadata(o["path"].as_str().unwrap())
                .unwrap()
                .len(),
            o["bytes"].as_u64().unwrap()
        );
    }

    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--partition-by",
            "day",
        ],
        0,
    );
    assert_eq!(
        visible_files(&out).len(),
        6,
        "append keeps the earlier files, names are unique per run"
    );
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 600);

    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--partition-by",
            "day",
            "--write-mode",
            "overwrite",
        ],
        0,
    );
    assert_eq!(
        visible_files(&out).len(),
        3,
        "overwrite removes the earlier files"
    );
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 300);
}

#[test]
fn an_input_inside_the_output_or_containing_it_is_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let input = out.join("in.json");
    orders(&input, 10);
    std::fs::write(out.join("README.md"), "owned by another team").unwrap();
    let before = visible_files(&out);
    for (input, output) in [(&input, &out), (&dir.path().to_path_buf(), &out.join("t"))] {
        let run = etl_expect(
            &[
                "run",
                "--input",
                p(input),
                "--output",
                p(output),
                "--write-mode",
                "overwrite",
            ],
            2,
        );
        assert!(
            stderr(&run).contains("Input and target overlap"),
            "{}",
            stderr(&run)
        );
        assert_eq!(visible_files(&out), before, "nothing removed or added");
    }
    assert!(input.exists() && out.join("README.md").exists());
}

#[test]
fn a_killed_run_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.json");
    orders(&small, 10);
    let out = dir.path().join("out");
    etl_expect(&["run", "--input", p(&small), "--output", p(&out)], 0);
    let before = visible_files(&out);

    let big = dir.path().join("big.json");
    orders(&big, 400_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args([
            "run",
            "--input",
            p(&big),
            "--output",
            p(&out),
            "--threads",
            "1",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has staged output, i.e. midway.
    let staging = out.join("_gluepipe/staging");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let staged = std::fs::read_dir(&staging)
            .map(|d| d.count() > 0)
            .unwrap_or(false);
        if staged || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let finished_already = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !finished_already,
        "the run ended before it could be killed; make the input bigger"
    );
    assert_eq!(
        visible_files(&out),
        before,
        "a killed run publishes nothing"
    );
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 10);
}

#[test]
fn spec_file_flags_override_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    orders(&input, 20);
    let spec = dir.path().join("pipeline.json");
    let out = dir.path().join("out");
    std::fs::write(
        &spec,
        json!({
            "name": "orders",
            "source": {"paths": [p(&input)]},
            "mapping": [{"from": "id", "to": "order_id", "type": "bigint"}, {"from": "day", "to": "day", "type": "date"}],
            "target": {"path": p(&dir.path().join("elsewhere")), "compression": "gzip"}
        })
        .to_string(),
    )
    .unwrap();
    let run = etl_expect(
        &[
            "--log-format",
            "json",
            "run",
            p(&spec),
            "--output",
            p(&out),
            "--compression",
            "zstd",
        ],
        0,
    );
    let data = read_parquet(&out);
    assert_eq!(
        data["codecs"],
        json!(["ZSTD"]),
        "the flag wins over the spec"
    );
    assert_eq!(data["columns"], json!(["order_id", "day"]));
    assert!(!dir.path().join("elsewhere").exists());
    for line in stderr(&run).lines() {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        assert!(event["event"].is_string());
    }
    let summary: Vec<Value> = stderr(&run)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = summary.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!(summary["rows_written"], 20);

    // Usage and validation errors exit 2 and touch nothing.
    std::fs::write(&spec, r#"{"name": "x", "source": {"paths": ["a"]}, "target": {"path": "b", "compresion": "zstd"}}"#).unwrap();
    let run = etl_expect(&["run", p(&spec)], 2);
    assert!(stderr(&run).contains("compresion"), "{}", stderr(&run));
    etl_expect(&["run", "--input", p(&input)], 2);
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--compression",
            "lz5",
        ],
        2,
    );
    let bad_map = dir.path().join("m.json");
    std::fs::write(&bad_map, r#"[{"from": "id", "to": "id", "type": "bigint"}, {"from": "id", "to": "ID", "type": "int"}]"#).unwrap();
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--mapping",
            p(&bad_map),
        ],
        2,
    );
    // A missing input is a usage error (exit 2) naming it.
    let run = etl_expect(
        &[
            "run",
            "--input",
            p(&dir.path().join("nope.json")),
            "--output",
            p(&out),
        ],
        2,
    );
    assert!(stderr(&run).contains("nope.json"), "{}", stderr(&run));
}

#[test]
fn an_empty_input_is_an_empty_successful_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("empty.json"), "").unwrap();
    std::fs::write(input.join("blank.json"), "\n \r\n").unwrap();
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--results",
            p(&results),
        ],
        0,
    );
    let record = run_record(&results);
    assert_eq!(counts(&record), (0, 0, 0, 0));
    assert!(visible_files(&out).is_empty());
    assert!(
        record["manifest_path"].is_string(),
        "an empty run still leaves its manifest: {record}"
    );
}

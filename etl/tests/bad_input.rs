//! Bad input never crashes and never silently drops: each case below gives the documented
//! rejection (with a limit) or error (without one), and the row-count invariant holds.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::Value;

/// (name, file name, bytes, good rows, rejects as (line, reason fragment)).
type Case = (
    &'static str,
    &'static str,
    Vec<u8>,
    u64,
    Vec<(u64, &'static str)>,
);

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn cases() -> Vec<Case> {
    let many: String = (0..20_000)
        .map(|i| format!("{{\"id\":{i},\"name\":\"n{}\"}}\n", i * 7919 % 10007))
        .collect();
    let gz = gzip(many.as_bytes());
    let cut_gz = gz[..gz.len() / 2].to_vec();
    vec![
        (
            "malformed line",
            "a.json",
            b"{\"id\":1}\n{\"id\": 2,\n{\"id\":3}\n".to_vec(),
            2,
            vec![(2, "")],
        ),
        (
            "wrong type",
            "a.json",
            b"{\"id\":1}\n{\"id\":\"seven\"}\n".to_vec(),
            1,
            vec![(2, "failed to parse \"seven\" as Int64")],
        ),
        (
            "truncated plain file",
            "a.json",
            b"{\"id\":1}\n{\"id\":2,\"name\":\"ab".to_vec(),
            1,
            vec![(2, "")],
        ),
        ("empty file", "a.json", Vec::new(), 0, vec![]),
        (
            "bom and crlf",
            "a.json",
            b"\xEF\xBB\xBF{\"id\":1}\r\n{\"id\":2}\r\n".to_vec(),
            2,
            vec![],
        ),
        (
            "array with a bad element",
            "a.json",
            b"[{\"id\":1},\n {\"id\":\"x\"},\n {\"id\":3}]".to_vec(),
            2,
            vec![(2, "as Int64")],
        ),
        (
            "array cut short",
            "a.json",
            b"[{\"id\":1},\n{\"id\":2".to_vec(),
            1,
            vec![(2, "")],
        ),
        (
            "two objects on a line",
            "a.json",
            b"{\"id\":1}{\"id\":2}\n{\"id\":3}\n".to_vec(),
            1,
            vec![(1, "more than one JSON value")],
        ),
        (
            "invalid utf-8",
            "a.json",
            b"{\"id\":1,\"name\":\"\xff\xfe\"}\n{\"id\":2}\n".to_vec(),
            1,
            vec![(1, "")],
        ),
        (
            "gzip cut short",
            "a.json.gz",
            cut_gz,
            u64::MAX,
            vec![(0, "damaged or cut short")],
        ),
    ]
}

fn write_input(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join(name), bytes).unwrap();
    input
}

#[test]
fn with_a_limit_bad_records_are_set_aside_and_the_run_goes_on() {
    for (name, file, bytes, good, rejects) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path(), file, &bytes);
        let out = dir.path().join("out");
        let results = dir.path().join("run.json");
        let mapping = dir.path().join("m.json");
        std::fs::write(&mapping, r#"[{"from":"id","to":"id","type":"bigint"},{"from":"name","to":"name","type":"string"}]"#).unwrap();
        etl_expect(
            &[
                "run",
                "--input",
                p(&input),
                "--output",
                p(&out),
                "--mapping",
                p(&mapping),
                "--max-bad-records",
                "10",
                "--results",
                p(&results),
            ],
            0,
        );
        let record = run_record(&results);
        let (rows_in, written, rejected, _) = counts(&record);
        assert_eq!(rejected, rejects.len() as u64, "{name}: {record}");
        if good != u64::MAX {
            assert_eq!(written, good, "{name}");
            assert_eq!(rows_in, good + rejected, "{name}");
        }
        if written > 0 {
            let data = read_parquet(&out);
            assert_eq!(
                data["rows"].as_array().unwrap().len() as u64,
                written,
                "{name}: what is reported is what is there"
            );
        } else {
            assert!(visible_files(&out).is_empty(), "{name}");
        }
        if rejects.is_empty() {
            assert_eq!(record["rejects_path"], Value::Null, "{name}");
            continue;
        }
        let path = record["rejects_path"].as_str().unwrap();
        let lines: Vec<Value> = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), rejects.len(), "{name}");
        for (got, (line, reason)) in lines.iter().zip(&rejects) {
            assert!(
                got["file"].as_str().unwrap().ends_with(file),
                "{name}: {got}"
            );
            if *line > 0 {
                assert_eq!(got["line"], *line, "{name}: {got}");
            }
            assert!(
                got["reason"].as_str().unwrap().contains(reason),
                "{name}: {got}"
            );
            assert!(got.get("raw").is_some(), "{name}");
        }
    }
}

#[test]
fn without_a_limit_the_first_bad_record_fails_the_run_and_nothing_is_published() {
    for (name, file, bytes, _, rejects) in cases() {
        if rejects.is_empty() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path(), file, &bytes);
        let out = dir.path().join("out");
        let results = dir.path().join("run.json");
        let mapping = dir.path().join("m.json");
        std::fs::write(&mapping, r#"[{"from":"id","to":"id","type":"bigint"},{"from":"name","to":"name","type":"string"}]"#).unwrap();
        let run = etl_expect(
            &[
                "run",
                "--input",
                p(&input),
                "--output",
                p(&out),
                "--mapping",
                p(&mapping),
                "--results",
                p(&results),
            ],
            1,
        );
        let err = stderr(&run);
        let (line, reason) = rejects[0];
        let at = if line > 0 {
            format!("{file} line {line}: ")
        } else {
            format!("{file} line ")
        };
        assert!(err.contains(&at) && err.contains(reason), "{name}: {err}");
        assert!(
            visible_files(&out).is_empty(),
            "{name}: nothing may be published"
        );
        let record = run_record(&results);
        assert_eq!(record["status"], "failed");
        assert!(record["outputs"].as_array().unwrap().is_empty());
    }
}

#[test]
fn the_error_names_the_earliest_bad_record_though_workers_run_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..200_000 {
        match i {
            // Line 150 001 sits in a later chunk than line 11.
            10 | 150_000 => text.push_str("{\"id\": oops}\n"),
            _ => text.push_str(&format!("{{\"id\":{i},\"name\":\"{}\"}}\n", "n".repeat(40))),
        }
    }
    let input = write_input(dir.path(), "big.json", text.as_bytes());
    let out = dir.path().join("out");
    let mapping = dir.path().join("m.json");
    std::fs::write(&mapping, r#"[{"from":"id","to":"id","type":"bigint"}]"#).unwrap();
    for _ in 0..3 {
        let run = etl_expect(
            &[
                "run",
                "--input",
                p(&input),
                "--output",
                p(&out),
                "--mapping",
                p(&mapping),
                "--threads",
                "2",
            ],
            1,
        );
        assert!(
            stderr(&run).contains("big.json line 11:"),
            "{}",
            stderr(&run)
        );
    }
}

/// With an inferred schema, fields first seen after the sample are not in the output; the run
/// says which and how many instead of dropping them silently. With a mapping nothing is said:
/// leaving fields out is what a mapping is for.
#[test]
fn fields_first_seen_after_the_sample_are_reported_not_silently_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..50 {
        let row = match i {
            30 => format!("{{\"id\":{i},\"p\":{{\"x\":1,\"y\":2}},\"late\":\"a\"}}"),
            40 => format!("{{\"id\":{i},\"p\":{{\"x\":1}},\"late\":\"b\"}}"),
            _ => format!("{{\"id\":{i},\"p\":{{\"x\":1}}}}"),
        };
        text.push_str(&row);
        text.push('\n');
    }
    let input = write_input(dir.path(), "in.json", text.as_bytes());
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    let run = etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--sample-rows",
            "10",
            "--results",
            p(&results),
        ],
        0,
    );
    let record = run_record(&results);
    assert_eq!(counts(&record).1, 50);
    assert_eq!(
        record["fields_not_in_schema"],
        serde_json::json!({"late": 2, "p.y": 1}),
        "{record}"
    );
    let err = stderr(&run);
    assert!(
        err.contains("fields the inferred schema lacks, not in the output: late (2), p.y (1)"),
        "{err}"
    );

    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        r#"[{"from": "id", "to": "id", "type": "bigint"}]"#,
    )
    .unwrap();
    let out = dir.path().join("mapped");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--mapping",
            p(&mapping),
            "--results",
            p(&results),
        ],
        0,
    );
    assert!(run_record(&results).get("fields_not_in_schema").is_none());
}

/// A spec stamped by another gluepipe release is refused before anything is read, naming both
/// releases; one stamped by this release, or hand-written without a stamp, runs.
#[test]
fn a_spec_from_another_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, "{\"id\":1}\n").unwrap();
    let spec = |stamp: &str| {
        format!(
            r#"{{"name": "orders", {stamp} "source": {{"paths": ["{}"]}}, "target": {{"path": "{}"}}}}"#,
            p(&input),
            p(&dir.path().join("out"))
        )
    };
    let file = dir.path().join("pipeline.json");
    std::fs::write(&file, spec(r#""gluepipe_version": "0.0.1","#)).unwrap();
    let out = etl_expect(&["run", p(&file), "--no-progress"], 2);
    let err = stderr(&out);
    assert!(
        err.contains("gluepipe 0.0.1") && err.contains(env!("CARGO_PKG_VERSION")),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");

    let ours = format!(r#""gluepipe_version": "{}","#, env!("CARGO_PKG_VERSION"));
    std::fs::write(&file, spec(&ours)).unwrap();
    etl_expect(&["run", p(&file), "--no-progress"], 0);
    std::fs::write(&file, spec("")).unwrap();
    etl_expect(&["run", p(&file), "--no-progress"], 0);
}

/// A run failed by too many bad records publishes nothing and says so in its counts
/// (`rows_written` 0, the converted rows discarded), and its rejects file ends with the record
/// that failed it.
#[test]
fn a_failed_run_counts_nothing_as_written_and_keeps_the_record_that_failed_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let mut lines: Vec<String> = (0..50).map(|i| format!("{{\"id\": {i}}}")).collect();
    for (n, line) in [(10, "{\"id\": 1,}"), (20, "{\"id\": }"), (30, "{\"id\"")] {
        lines[n] = line.to_string();
    }
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let record_path = dir.path().join("record.json");
    let out = dir.path().join("out");
    let limit = ["--max-bad-records", "2", "--results", p(&record_path)];
    etl_expect(&run_args(&input, &out, &limit), 1);
    let record = run_record(&record_path);
    assert_eq!(record["status"], "failed");
    let (rows_in, written, rejected, quarantined) = counts(&record);
    assert_eq!(
        (written, quarantined),
        (0, 0),
        "nothing was published: {record}"
    );
    assert_eq!(rejected, 3);
    assert_eq!(record["rows_discarded"], rows_in - 3);
    assert!(record["outputs"].as_array().unwrap().is_empty());
    let rejects = std::fs::read_to_string(record["rejects_path"].as_str().unwrap()).unwrap();
    let lines: Vec<Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [11, 21, 31],
        "{rejects}"
    );
    assert!(visible_files(&out).is_empty());
}

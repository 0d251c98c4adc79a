//! Outputs readers accept, and plan = run, on local files with the real binary; Parquet is read
//! back with pyarrow (and DuckDB where it matters): names that differ only by case, quarantine
//! outside the table, float statistics, partition values too long for a folder, records that are
//! not objects, and every time zone the shared validation accepts.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn columns_differing_only_by_case_and_empty_names_are_renamed_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write(
        &input,
        concat!(
            r#"{"id": 1, "ID": "one", "": true, "a": {"x": 1, "X": 2}}"#,
            "\n",
            r#"{"id": 2, "ID": "two", "": false, "a": {"x": 3, "X": 4}}"#,
            "\n"
        ),
    );
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    let run = etl_expect(&run_args(&input, &out, &["--results", p(&results)]), 0);
    let data = read_parquet(&out);
    let columns: Vec<String> = data["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(columns, ["id", "ID_2", "col2", "a"]);
    let lower: std::collections::HashSet<String> =
        columns.iter().map(|c| c.to_lowercase()).collect();
    assert_eq!(
        lower.len(),
        columns.len(),
        "distinct without case: {columns:?}"
    );
    assert_eq!(data["schema"]["a"], "struct<x: int64, X_2: int64>");
    let rows = rows_by(&data, "id");
    assert_eq!(
        rows[0],
        serde_json::json!({"id": 1, "ID_2": "one", "col2": true, "a": {"x": 1, "X_2": 2}})
    );
    let record = run_record(&results);
    assert_eq!(
        record["renamed_columns"],
        serde_json::json!([
            {"from": "ID", "to": "ID_2"},
            {"from": "", "to": "col2"},
            {"from": "a.X", "to": "a.X_2"}
        ])
    );
    let err = stderr(&run);
    assert!(
        err.contains("warning   columns renamed") && err.contains(r#""ID" → "ID_2""#),
        "{err}"
    );
    // `schema` prints the names a run writes.
    let schema = etl_expect(&["schema", "--input", p(&input)], 0);
    let text = String::from_utf8_lossy(&schema.stdout);
    assert!(text.contains("ID_2") && text.contains("col2"), "{text}");
}

#[test]
fn double_statistics_are_readable_by_parquet_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write(
        &input,
        "{\"price\": 19.5, \"qty\": 2, \"mix\": 1}\n{\"price\": -3.25, \"qty\": 7, \"mix\": 2.5}\n",
    );
    let out = dir.path().join("out");
    etl_expect(&run_args(&input, &out, &[]), 0);
    let script = r#"
import json, sys, pathlib, pyarrow.parquet as pq
files = sorted(p for p in pathlib.Path(sys.argv[1]).rglob("*.parquet") if "_gluepipe" not in p.parts)
meta = pq.ParquetFile(files[0]).metadata
rg = meta.row_group(0)
stats = {}
for i in range(rg.num_columns):
    c = rg.column(i)
    s = c.statistics
    stats[c.path_in_schema] = [c.physical_type, s.has_min_max, s.min if s.has_min_max else None, s.max if s.has_min_max else None]
orders = None
try:
    import duckdb
    orders = duckdb.sql(f"select column_orders from parquet_file_metadata('{files[0]}')").fetchall()[0][0]
except ImportError:
    pass
print(json.dumps({"stats": stats, "duckdb_orders": orders}))
"#;
    let got = python_json(script, &out);
    assert_eq!(
        got["stats"],
        serde_json::json!({
            "price": ["DOUBLE", true, -3.25, 19.5],
            "qty": ["INT64", true, 2, 7],
            "mix": ["DOUBLE", true, 1.0, 2.5],
        })
    );
    if let Some(orders) = got["duckdb_orders"].as_array() {
        assert!(
            orders
                .iter()
                .all(|o| o.as_str().unwrap().contains("TypeDefinedOrder")),
            "DuckDB knows every column's order: {orders:?}"
        );
    }
}

#[test]
fn quarantined_rows_go_beside_the_table_not_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write(
        &input,
        "{\"id\": 1, \"qty\": 5}\n{\"id\": 2, \"qty\": -1}\n{\"id\": 3, \"qty\": 9}\n",
    );
    let rules = dir.path().join("rules.dqdl");
    write(&rules, "Rules = [ ColumnValues \"qty\" > 0 ]");
    let out = dir.path().join("orders");
    let results = dir.path().join("run.json");
    etl_expect(
        &run_args(
            &input,
            &out,
            &[
                "--rules",
                p(&rules),
                "--on-dq-failure",
                "quarantine",
                "--results",
                p(&results),
            ],
        ),
        0,
    );
    // Everything a `orders/**/*.parquet` reader finds is table data.
    let under_target: Vec<String> = glob::glob(&format!("{}/**/*.parquet", p(&out)))
        .unwrap()
        .map(|f| f.unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(under_target.len(), 1, "{under_target:?}");
    let table = read_parquet(&out);
    assert_eq!(table["columns"], serde_json::json!(["id", "qty"]));
    assert_eq!(table["rows"].as_array().unwrap().len(), 2);
    let quarantine = dir.path().join("orders_quarantine");
    let q = read_parquet(&quarantine);
    assert_eq!(q["rows"].as_array().unwrap().len(), 1);
    assert_eq!(q["rows"][0]["id"], 2);
    assert_eq!(q["rows"][0]["DataQualityEvaluationResult"], "Failed");
    let record = run_record(&results);
    assert_eq!(counts(&record), (3, 2, 0, 1));
    let listed = record["quarantine_outputs"][0]["path"].as_str().unwrap();
    assert!(listed.contains("orders_quarantine"), "{listed}");

    // An explicit quarantine_path is kept.
    let elsewhere = dir.path().join("held");
    let spec = dir.path().join("pipeline.json");
    write(
        &spec,
        &serde_json::json!({
            "version": 1, "name": "orders",
            "source": {"paths": [p(&input)]},
            "target": {"path": p(&dir.path().join("orders2"))},
            "data_quality": {"ruleset": "Rules = [ ColumnValues \"qty\" > 0 ]",
                             "on_failure": "quarantine", "quarantine_path": p(&elsewhere)}
        })
        .to_string(),
    );
    etl_expect(&["run", p(&spec), "--no-progress"], 0);
    assert_eq!(read_parquet(&elsewhere)["rows"][0]["id"], 2);
    assert!(!dir.path().join("orders2_quarantine").exists());
}

#[test]
fn quarantine_without_a_rule_that_judges_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write(&input, "{\"id\": 1}\n");
    let out = dir.path().join("out");
    let base = [
        "run",
        "--input",
        p(&input),
        "--output",
        p(&out),
        "--no-progress",
    ];
    // No rules at all (the default ruleset), then only dataset rules.
    let rules = dir.path().join("rules.dqdl");
    write(&rules, "Rules = [ RowCount > 0, ColumnCount = 1 ]");
    for extra in [vec![], vec!["--rules", p(&rules)]] {
        let mut args = base.to_vec();
        args.extend(["--on-dq-failure", "quarantine"]);
        args.extend(extra);
        let run = etl_expect(&args, 2);
        let err = stderr(&run);
        assert!(
            err.contains("data_quality.on_failure") && err.contains("Nothing to quarantine"),
            "{err}"
        );
        assert!(!out.exists(), "nothing is written");
    }
}

#[test]
fn a_partition_value_too_long_for_a_folder_name_rejects_only_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let long = "x".repeat(300);
    write(
        &input,
        &format!(
            "{{\"id\": 1, \"k\": \"a\"}}\n{{\"id\": 2, \"k\": \"{long}\"}}\n{{\"id\": 3, \"k\": \"b\"}}\n"
        ),
    );
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    let args = [
        "run",
        "--input",
        p(&input),
        "--output",
        p(&out),
        "--partition-by",
        "k",
        "--results",
        p(&results),
        "--no-progress",
    ];
    // Allowed one bad record: the run goes on and publishes the others.
    let mut tolerant = args.to_vec();
    tolerant.extend(["--max-bad-records", "1"]);
    etl_expect(&tolerant, 0);
    let record = run_record(&results);
    assert_eq!(counts(&record), (3, 2, 1, 0));
    let rejects = std::fs::read_to_string(record["rejects_path"].as_str().unwrap()).unwrap();
    let reject: Value = serde_json::from_str(rejects.lines().next().unwrap()).unwrap();
    assert_eq!(reject["line"], 2);
    let reason = reject["reason"].as_str().unwrap();
    assert!(
        reason.contains("'k'") && reason.contains("302 bytes") && reason.contains("at most 255"),
        "{reason}"
    );
    assert_eq!(visible_files(&out).len(), 2);
    // Allowed none: the record is named, as any bad record is.
    let strict = dir.path().join("strict");
    let mut args = args.to_vec();
    args[4] = p(&strict);
    let run = etl_expect(&args, 1);
    assert!(stderr(&run).contains("line 2"), "{}", stderr(&run));
}

#[test]
fn records_that_are_not_objects_are_rejected_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Only scalars: no schema to infer, yet each record is named, not "no columns".
    let scalars = dir.path().join("scalars.json");
    write(&scalars, "42\n\"text\"\n");
    let out = dir.path().join("out");
    let run = etl_expect(&run_args(&scalars, &out, &[]), 1);
    let err = stderr(&run);
    assert!(
        err.contains(&format!(
            "bad record at {} line 1: a record must be a JSON object; this one is a number",
            p(&scalars)
        )),
        "{err}"
    );
    assert!(
        !err.contains("truncated") && !err.contains("no columns"),
        "{err}"
    );
    // Among objects, a top-level scalar is a rejected record with its own reason.
    let mixed = dir.path().join("mixed.json");
    write(&mixed, "{\"a\": 1}\ntrue\n{\"a\": 2}\n");
    let results = dir.path().join("run.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&mixed),
            "--output",
            p(&dir.path().join("out2")),
            "--max-bad-records",
            "5",
            "--results",
            p(&results),
            "--no-progress",
        ],
        0,
    );
    let record = run_record(&results);
    let rejects = std::fs::read_to_string(record["rejects_path"].as_str().unwrap()).unwrap();
    let reject: Value = serde_json::from_str(rejects.trim()).unwrap();
    assert_eq!(reject["line"], 2);
    assert_eq!(
        reject["reason"],
        "a record must be a JSON object; this one is a boolean"
    );
}

/// Plan = run for time zones: every `timeZone` the shared validation accepts (each region ID
/// Glue knows, and the offset forms) is evaluated by the binary without an error; the ones it
/// refuses are refused at validation.
#[test]
fn every_time_zone_the_validation_accepts_is_evaluated() {
    let forms = [
        "UTC",
        "GMT",
        "UT",
        "Z",
        "+05:30",
        "-08",
        "+0530",
        "UTC+2",
        "GMT-03:30",
        "UT+01:02:03",
    ];
    let candidates: Vec<&str> = gluepipe_spec::dqdl::zones::region_ids()
        .iter()
        .copied()
        .chain(forms)
        .collect();
    let rule =
        |zone: &str| format!("ColumnValues \"d\" <= \"11:59 PM\" with timeZone = \"{zone}\"");
    let (accepted, refused): (Vec<&str>, Vec<&str>) = candidates.iter().partition(|zone| {
        gluepipe_spec::dqdl::parse(&format!("Rules = [ {} ]", rule(zone))).is_ok()
    });
    assert!(
        refused.iter().all(|z| z.starts_with("SystemV/")),
        "{refused:?}"
    );
    assert!(accepted.len() > 590, "{}", accepted.len());
    assert!(accepted.contains(&"Europe/Paris") && accepted.contains(&"+05:30"));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write(&input, "{\"d\": \"2000-01-01\"}\n");
    let rules = dir.path().join("zones.dqdl");
    let body: Vec<String> = accepted.iter().map(|z| rule(z)).collect();
    write(&rules, &format!("Rules = [\n{}\n]", body.join(",\n")));
    let results = dir.path().join("run.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&dir.path().join("out")),
            "--rules",
            p(&rules),
            "--results",
            p(&results),
            "--no-progress",
        ],
        0,
    );
    let record = run_record(&results);
    let outcomes = record["data_quality"]["ruleOutcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), accepted.len());
    for o in outcomes {
        assert_eq!(o["Outcome"], "Passed", "{o}");
    }
}

/// Plan = run for locations: the shared validation and the ETL read `s3a://` and `s3n://` the
/// same way (as `s3://`), and refuse other schemes with the same words.
#[test]
fn location_schemes_mean_the_same_to_validation_and_to_the_run() {
    use gluepipe_spec::{Location, PipelineSpec};
    for scheme in ["s3://", "s3a://", "s3n://", "gs://", "hdfs://"] {
        let path = format!("{scheme}my-bucket/raw/orders/");
        let spec = PipelineSpec::from_json(
            &serde_json::json!({
                "version": 1, "name": "orders",
                "source": {"paths": [path]},
                "target": {"path": format!("{scheme}my-bucket/curated/orders/")}
            })
            .to_string(),
        )
        .unwrap();
        let issues = spec.validate();
        let parsed = Location::parse(&path);
        match scheme {
            "s3://" | "s3a://" | "s3n://" => {
                assert!(issues.is_empty(), "{scheme}: {issues:?}");
                assert_eq!(parsed.unwrap().to_string(), "s3://my-bucket/raw/orders/");
            }
            _ => {
                assert_eq!(issues.len(), 2, "{scheme}: {issues:?}");
                let reason = parsed.unwrap_err().reason;
                assert!(issues.iter().all(|i| i.detail == reason), "{issues:?}");
            }
        }
        // The binary refuses other schemes before touching anything, with the same reason
        // (S3 ones are run against the emulator: tests/tests/etl_s3_edges.rs).
        if !scheme.starts_with("s3") {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("pipeline.json");
            write(&file, &spec.to_json_pretty());
            let run = etl_expect(&["run", p(&file), "--no-progress"], 2);
            assert!(
                stderr(&run).contains("unsupported scheme"),
                "{}",
                stderr(&run)
            );
        }
    }
}

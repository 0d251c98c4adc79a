//! No value changes without a word: what a column cannot carry is a rejected record with its
//! reason, epoch numbers in timestamps are seconds, objects in string columns are their JSON
//! text, integers beyond 64 bits keep every digit — read back with pyarrow and DuckDB.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// The table under `dir` as DuckDB reads it: `[[column, value as text], …]` per row, by id.
fn duckdb_rows(dir: &std::path::Path) -> Value {
    let script = r#"
import json, sys, duckdb
rel = duckdb.sql(f"select * from read_parquet('{sys.argv[1]}/**/*.parquet') order by id")
print(json.dumps([{c: (None if v is None else str(v)) for c, v in zip(rel.columns, row)} for row in rel.fetchall()]))
"#;
    python_json(script, dir)
}

#[test]
fn values_are_kept_whole_or_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        concat!(
            "{\"id\": 1, \"qty\": 3, \"at\": 1700000000.25, \"info\": {\"k\": [1, 2]}, \"f\": 1.5}\n",
            "{\"id\": 2, \"qty\": 19.99}\n",
            "{\"id\": 3, \"f\": \"NaN\"}\n",
            "{\"id\": 4, \"f\": \"-Infinity\"}\n",
            "{\"id\": 5, \"f\": 1e400}\n",
            "{\"id\": 6, \"info\": \"plain\", \"at\": \"2024-01-01T00:00:00Z\"}\n",
            "{\"id\": 7, \"qty\": 4,}\n",
        ),
    )
    .unwrap();
    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        json!([
            {"from": "id", "to": "id", "type": "bigint"},
            {"from": "qty", "to": "qty", "type": "int"},
            {"from": "at", "to": "at", "type": "timestamp"},
            {"from": "info", "to": "info", "type": "string"},
            {"from": "f", "to": "f", "type": "double"}
        ])
        .to_string(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
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
            "--max-bad-records",
            "10",
        ],
        0,
    );
    assert_eq!(counts(&run_record(&results)), (7, 2, 5, 0));
    let rows = rows_by(&read_parquet(&out), "id");
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["qty"], 3);
    assert_eq!(
        rows[0]["at"], "2023-11-14T22:13:20.250000+00:00",
        "epoch seconds"
    );
    assert_eq!(rows[0]["info"], "{\"k\": [1, 2]}");
    assert_eq!(rows[1]["id"], 6);
    assert_eq!(rows[1]["info"], "plain");
    // DuckDB reads the same values: epoch seconds with their fraction, JSON text, integers.
    let duck = duckdb_rows(&out);
    assert_eq!(duck[0]["qty"], "3");
    assert_eq!(duck[0]["at"], "2023-11-14 22:13:20.250000+00:00", "{duck}");
    assert_eq!(duck[0]["info"], "{\"k\": [1, 2]}");
    assert_eq!(duck[1]["at"], "2024-01-01 00:00:00+00:00");
}

#[test]
fn integers_beyond_64_bits_keep_every_digit_when_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        "{\"id\": 1, \"big\": 1}\n{\"id\": -0, \"big\": 18446744073709551615}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    etl_expect(&["run", "--input", p(&input), "--output", p(&out)], 0);
    let data = read_parquet(&out);
    assert_eq!(data["schema"]["id"], "int64", "-0 keeps the column integer");
    assert_eq!(data["schema"]["big"], "decimal128(38, 0)");
    let rows = rows_by(&data, "big");
    assert_eq!(rows[1]["big"], "18446744073709551615");
    let duck = duckdb_rows(&out);
    assert_eq!(
        duck[0]["big"], "18446744073709551615",
        "every digit, in DuckDB too: {duck}"
    );
}

#[test]
fn a_missing_input_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing = dir.path().join("missing.json");
    let run = etl_expect(&["run", "--input", p(&missing), "--output", p(&out)], 2);
    assert!(stderr(&run).contains("no such file"), "{}", stderr(&run));
    let run = etl_expect(
        &[
            "run",
            "--input",
            &format!("{}/*.json", p(dir.path())),
            "--output",
            p(&out),
        ],
        2,
    );
    assert!(
        stderr(&run).contains("no input files match"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn pretty_printed_documents_and_deep_values_are_read_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dump.json");
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    std::fs::write(
        &input,
        format!(
            "{{\n  \"id\": 1,\n  \"name\": \"a\"\n}}\n{{\n  \"id\": 2,\n  \"name\": \"b\"\n}}\n{{\"id\": 3, \"deep\": {deep}}}\n"
        ),
    )
    .unwrap();
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
            "--max-bad-records",
            "1",
        ],
        0,
    );
    let record = run_record(&results);
    assert_eq!(counts(&record), (3, 2, 1, 0), "{record}");
    assert!(
        record["fields_not_in_schema"]
            .as_object()
            .is_none_or(|m| m.is_empty()),
        "a value too deep is rejected, not called a late field: {record}"
    );
    let rows = rows_by(&read_parquet(&out), "id");
    assert_eq!(rows[0]["name"], "a");
    assert_eq!(rows[1]["name"], "b");
}

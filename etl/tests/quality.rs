//! Data-quality gates in the same pass: `fail` publishes nothing (exit 3), `warn` publishes and
//! reports, `quarantine` sets failing rows aside with the rules they failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::json;

fn input(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("in.json");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..1000 {
        let amount = if i % 10 == 0 { json!(null) } else { json!(i) };
        writeln!(
            f,
            "{}",
            json!({"id": i, "amount": amount, "status": if i % 100 == 7 { "lost" } else { "paid" }})
        )
        .unwrap();
    }
    path
}

fn rules(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join(format!("rules-{}.dqdl", text.len()));
    std::fs::write(&path, text).unwrap();
    path
}

const FAILING: &str =
    r#"Rules = [ RowCount > 0, IsComplete "id", ColumnValues "status" in ["paid", "new"] ]"#;

#[test]
fn fail_mode_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let out = dir.path().join("out");
    let passing = rules(
        dir.path(),
        r#"Rules = [ RowCount = 1000, IsComplete "id", IsUnique "id" ]"#,
    );
    let results = dir.path().join("ok.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--rules",
            p(&passing),
            "--results",
            p(&results),
        ],
        0,
    );
    let record = run_record(&results);
    assert_eq!(record["data_quality"]["outcome"], "Passed", "{record}");
    let before = visible_files(&out);
    assert!(!before.is_empty());

    let failing = rules(dir.path(), FAILING);
    let results = dir.path().join("fail.json");
    let run = etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--rules",
            p(&failing),
            "--results",
            p(&results),
        ],
        3,
    );
    assert!(
        stderr(&run).contains("ColumnValues \"status\""),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        visible_files(&out),
        before,
        "a failed check publishes nothing"
    );
    let record = run_record(&results);
    assert_eq!(record["status"], "data_quality_failed");
    assert_eq!(record["data_quality"]["outcome"], "Failed");
    assert!(record["outputs"].as_array().unwrap().is_empty());
    counts(&record);
}

#[test]
fn warn_mode_publishes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let out = dir.path().join("out");
    let failing = rules(dir.path(), FAILING);
    let results = dir.path().join("warn.json");
    let run = etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--rules",
            p(&failing),
            "--on-dq-failure",
            "warn",
            "--results",
            p(&results),
        ],
        0,
    );
    assert!(
        stderr(&run).contains("warning: data quality"),
        "{}",
        stderr(&run)
    );
    let record = run_record(&results);
    assert_eq!(record["data_quality"]["outcome"], "Failed");
    assert_eq!(counts(&record), (1000, 1000, 0, 0));
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 1000);
}

#[test]
fn quarantine_mode_sets_failing_rows_aside() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let out = dir.path().join("out");
    let failing = rules(dir.path(), FAILING);
    let results = dir.path().join("q.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--rules",
            p(&failing),
            "--on-dq-failure",
            "quarantine",
            "--results",
            p(&results),
        ],
        0,
    );
    let record = run_record(&results);
    assert_eq!(counts(&record), (1000, 990, 0, 10));
    let good = read_parquet(&out);
    assert!(
        good["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "paid")
    );
    // Beside the target (`out_quarantine/`), where a reader of `out/` never sees them.
    let quarantined = read_parquet(&dir.path().join("out_quarantine"));
    let rows = quarantined["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r["status"] == "lost"));
    let failed = rows[0]["DataQualityRulesFail"].to_string();
    assert!(failed.contains("ColumnValues"), "{}", rows[0]);
}

#[test]
fn column_rules_reach_nested_fields_by_dotted_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.json");
    let mut f = std::fs::File::create(&path).unwrap();
    let fresh = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for i in 0..100 {
        // Every tenth record has no `info` object: its fields are null, as Spark reads them.
        let info = if i % 10 == 0 {
            json!(null)
        } else {
            json!({"x": i, "code": format!("{}", 100 + i)})
        };
        writeln!(
            f,
            "{}",
            json!({"id": i, "info": info, "state": {"at": fresh}})
        )
        .unwrap();
    }
    drop(f);
    let rules = rules(
        dir.path(),
        r#"Rules = [
            ColumnExists "info",
            ColumnDataType "info.code" = "Integer" with threshold >= 0.9,
            DataFreshness "state.at" <= 24 hours,
            Completeness "info.x" = 0.9,
            IsUnique "info.x",
            ColumnValues "info.x" between 0 and 100 with threshold >= 0.9
        ]"#,
    );
    let results = dir.path().join("r.json");
    let out = dir.path().join("out");
    let run = etl(&[
        "run",
        "--input",
        p(&path),
        "--output",
        p(&out),
        "--rules",
        p(&rules),
        "--on-dq-failure",
        "warn",
        "--results",
        p(&results),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let record = run_record(&results);
    let outcomes = record["data_quality"]["ruleOutcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 6, "{record}");
    for o in outcomes {
        assert_eq!(o["Outcome"], "Passed", "{o}");
    }
    assert_eq!(record["data_quality"]["outcome"], "Passed");
}

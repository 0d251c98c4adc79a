//! Data quality with one worker and with several: each worker evaluates its own chunks with its
//! own engine, and the run adds the workers' states together at the end. The results — every
//! rule's outcome and metrics, the row-level verdicts (quarantined rows), the counts — must be
//! those of one worker that saw every row, for every rule family that reads the data.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use gluepipe_etl::dq::DqResults;
use gluepipe_etl::dq::partial::compare_results;
use serde_json::json;

const AT: &str = "2026-11-25T12:00:00Z";

/// One or more rules of every family that reads the primary data (the reference and file
/// families need inputs a `run` does not have), with `where`, thresholds, composites, a
/// dynamic rule and analyzers.
const RULES: &str = r#"Rules = [
    RowCount between 1000 and 100000,
    ColumnCount = 7,
    ColumnExists "code",
    ColumnNamesMatchPattern "[a-z]+",
    ColumnDataType "amount" = "Double",
    IsComplete "id",
    Completeness "amount" > 0.9,
    Completeness "amount" > 0.8 where "city = 'NY'",
    IsUnique "id",
    IsPrimaryKey "id",
    IsUnique "city",
    Uniqueness "code" > 0.01,
    UniqueValueRatio "city" < 0.5,
    DistinctValuesCount "city" = 3,
    Entropy "city" > 0.5,
    DuplicateRowCount = 0,
    Mean "amount" between 10 and 1000,
    Sum "amount" > 1000,
    StandardDeviation "amount" > 1,
    ColumnCorrelation "amount" "score" > 0.9,
    ColumnLength "city" between 1 and 3,
    ColumnValues "amount" >= 0,
    ColumnValues "status" in ["paid", "new"] with threshold > 0.9,
    ColumnValues "code" matches "[A-Z]{2}-[0-9]+",
    DataFreshness "at" <= 30 days,
    CustomSql "select count(distinct amount) from primary" > 10,
    CustomSql "select id from primary where score >= 0",
    (IsComplete "status") and (ColumnValues "amount" <= 996),
    (RowCount > 1000000) or (IsComplete "city"),
    RowCount > avg(last(3)) * 0.5
]
Analyzers = [ Mean "amount", DistinctValuesCount "status", AllStatistics "score" ]"#;

/// Twelve files (each at least one chunk, so the workers share them out), with null amounts,
/// negative scores and "lost" statuses to fail rules row by row.
fn inputs(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let cities = ["NY", "SF", "LA"];
    for f in 0..12 {
        let mut text = String::new();
        for r in 0..250 {
            let i = f * 250 + r;
            let amount = if i % 13 == 0 {
                json!(null)
            } else {
                json!((i * 37) % 997)
            };
            let score = if i % 17 == 0 {
                json!(-1.5)
            } else {
                json!(((i * 37) % 997) as f64 * 2.0 + 0.25)
            };
            let status = if i % 101 == 7 { "lost" } else { "paid" };
            let row = json!({
                "id": i, "amount": amount, "score": score, "city": cities[i % 3],
                "status": status, "code": format!("AB-{}", i % 50),
                "at": format!("2026-11-{:02}T08:00:00Z", 1 + i % 24),
            });
            text.push_str(&format!("{row}\n"));
        }
        std::fs::write(input.join(format!("part-{f:02}.json")), text).unwrap();
    }
    input
}

fn run(dir: &Path, input: &Path, threads: &str) -> (serde_json::Value, serde_json::Value) {
    let rules = dir.join("rules.dqdl");
    std::fs::write(&rules, RULES).unwrap();
    let mapping = dir.join("mapping.json");
    std::fs::write(
        &mapping,
        r#"[{"from": "id", "to": "id", "type": "bigint"},
            {"from": "amount", "to": "amount", "type": "double"},
            {"from": "score", "to": "score", "type": "double"},
            {"from": "city", "to": "city", "type": "string"},
            {"from": "status", "to": "status", "type": "string"},
            {"from": "code", "to": "code", "type": "string"},
            {"from": "at", "to": "at", "type": "timestamp"}]"#,
    )
    .unwrap();
    let out = dir.join(format!("out-{threads}"));
    let results = dir.join(format!("run-{threads}.json"));
    etl_expect(
        &[
            "run",
            "--input",
            p(input),
            "--output",
            p(&out),
            "--rules",
            p(&rules),
            "--mapping",
            p(&mapping),
            "--on-dq-failure",
            "quarantine",
            "--threads",
            threads,
            "--evaluated-at",
            AT,
            "--run-id",
            &format!("workers-{threads}"),
            "--results",
            p(&results),
        ],
        0,
    );
    let quarantine = dir.join(format!("out-{threads}_quarantine"));
    let quarantined = rows_by(&read_parquet(&quarantine), "id");
    (run_record(&results), json!(quarantined))
}

/// `text` with every decimal number rounded to 12 significant digits: sums of doubles taken in
/// another order (the workers' states are added at the end) differ in the last bits, as they
/// do between any two runs whose chunks reach the workers in another order.
fn rounded(text: &str) -> String {
    let mut out = String::new();
    let mut number = String::new();
    let flush = |number: &mut String, out: &mut String| {
        match number.parse::<f64>() {
            Ok(v) if number.contains('.') => out.push_str(&format!("{v:.11e}")),
            _ => out.push_str(number),
        }
        number.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '.' && !number.is_empty()) {
            number.push(c);
        } else {
            flush(&mut number, &mut out);
            out.push(c);
        }
    }
    flush(&mut number, &mut out);
    out
}

fn dq(record: &serde_json::Value) -> DqResults {
    serde_json::from_value(record["data_quality"].clone()).unwrap()
}

#[test]
fn every_rule_family_gives_the_same_results_on_one_and_four_workers() {
    let dir = tempfile::tempdir().unwrap();
    let input = inputs(dir.path());
    let (one, q1) = run(dir.path(), &input, "1");
    let (four, q4) = run(dir.path(), &input, "4");

    let (a, b) = (dq(&one), dq(&four));
    // The precondition: the ruleset really was evaluated, with failures to agree on, and rows
    // were judged row by row.
    assert_eq!(a.rule_outcomes.len(), 30, "{one}");
    assert!(
        a.rule_outcomes
            .iter()
            .any(|r| r.outcome.as_str() == "Failed"),
        "{one}"
    );
    assert!(q1.as_array().unwrap().len() > 100, "{one}");
    compare_results(&a, &b).unwrap();
    for (x, y) in a.rule_outcomes.iter().zip(&b.rule_outcomes) {
        assert_eq!(
            (x.rule.as_str(), x.outcome.as_str()),
            (y.rule.as_str(), y.outcome.as_str())
        );
        let reason = |r: &Option<String>| r.as_deref().map(rounded);
        assert_eq!(reason(&x.failure_reason), reason(&y.failure_reason));
    }
    assert_eq!(counts(&one), counts(&four));
    assert_eq!(q1, q4, "the same rows are quarantined");
}

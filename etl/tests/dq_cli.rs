//! `gluepipe-etl dq …` through the real binary: exit codes and messages users and scripts read.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn etl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args(args)
        .output()
        .unwrap()
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn validate_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        &dir,
        "bad.dqdl",
        "Rules = [\n  IsComplete \"id\",\n  IsCompleet \"x\"\n]\n",
    );
    let out = etl(&["dq", "validate", &bad]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("{bad}:3:3: ")), "{stderr}");
    assert!(stderr.contains("did you mean `IsComplete`"), "{stderr}");

    let good = file(&dir, "good.dqdl", "Rules = [ IsComplete \"id\" ]\n");
    assert_eq!(etl(&["dq", "validate", &good]).status.code(), Some(0));
}

#[test]
fn parse_prints_rules_and_composites_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let rules = file(
        &dir,
        "r.dqdl",
        "Rules = [ RowCount > 0, (IsComplete \"a\") or (IsUnique \"b\") ]\n",
    );
    let out = etl(&["dq", "parse", &rules, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rules"][0]["type"], "RowCount");
    assert_eq!(json["rules"][0]["text"], "RowCount > 0");
    assert_eq!(json["rules"][1]["type"], "Composite");
    assert_eq!(json["rules"][1]["operator"], "OR");
    assert_eq!(json["rules"][1]["rules"][1]["type"], "IsUnique");
    assert_eq!(json["analyzers"], serde_json::json!([]));
}

#[test]
fn check_exits_3_when_a_rule_fails_and_0_when_all_pass() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(&dir, "d.json", "{\"id\": 1}\n{\"id\": 2}\n{\"id\": null}\n");
    let failing = file(
        &dir,
        "f.dqdl",
        "Rules = [ IsComplete \"id\", RowCount = 3 ]\n",
    );
    let out = etl(&[
        "dq", "check", "--input", &data, "--rules", &failing, "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "Failed");
    // 2 of 3 ids are present.
    let completeness = json["ruleOutcomes"][0]["EvaluatedMetrics"]["Column.id.Completeness"]
        .as_f64()
        .unwrap();
    assert!((completeness - 2.0 / 3.0).abs() < 1e-12, "{json}");
    assert_eq!(json["ruleOutcomes"][1]["Outcome"], "Passed");

    let passing = file(
        &dir,
        "p.dqdl",
        "Rules = [ RowCount = 3, Completeness \"id\" > 0.5 ]\n",
    );
    assert_eq!(
        etl(&["dq", "check", "--input", &data, "--rules", &passing])
            .status
            .code(),
        Some(0)
    );
}

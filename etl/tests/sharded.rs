//! Sharded runs on local files: shards convert groups of the input files with the real binary,
//! `merge` publishes them; the result must equal one run over all the files — rows (read back
//! with pyarrow), partitions, counts, rejects and every data-quality metric — and nothing may
//! be visible before the merge, or after a merge that refuses.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use gluepipe_etl::dq::DqResults;
use gluepipe_etl::dq::partial::compare_results;
use serde_json::{Value, json};

const AT: &str = "2026-11-25T12:00:00Z";
const RULES: &str = r#"Rules = [
    RowCount > 100,
    IsComplete "id",
    IsUnique "id",
    Uniqueness "city" < 0.1,
    DistinctValuesCount "city" = 3,
    Entropy "city" > 0.5,
    Mean "amount" between 10 and 1000,
    StandardDeviation "amount" > 1,
    ColumnLength "city" between 1 and 3,
    ColumnValues "amount" >= 0,
    ColumnValues "status" in ["paid", "new"] with threshold > 0.9,
    CustomSql "select count(distinct amount) from primary" > 10,
    Completeness "amount" > 0.8 where "city = 'NY'"
]
Analyzers = [ Mean "amount", DistinctValuesCount "status" ]"#;

/// Seven input files of 300 records each: some amounts null, some statuses "lost" (row-level
/// failures), one malformed line in file 2 and one wrong-typed record in file 5.
fn inputs(dir: &Path) -> (PathBuf, Vec<String>) {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let cities = ["NY", "SF", "LA"];
    let mut files = Vec::new();
    for f in 0..7 {
        let mut text = String::new();
        for r in 0..300 {
            let i = f * 300 + r;
            let amount = if i % 13 == 0 {
                json!(null)
            } else {
                json!((i * 37) % 997)
            };
            let status = if i % 101 == 7 { "lost" } else { "paid" };
            let row = json!({"id": i, "amount": amount, "city": cities[i % 3], "status": status});
            text.push_str(&format!("{row}\n"));
        }
        if f == 2 {
            text.push_str("{\"id\": 99999, \"amount\": \n");
        }
        if f == 5 {
            text.push_str("{\"id\": \"not a number\", \"amount\": 1, \"city\": \"NY\", \"status\": \"paid\"}\n");
        }
        let path = input.join(format!("part-{f}.json"));
        std::fs::write(&path, text).unwrap();
        files.push(path.to_str().unwrap().to_string());
    }
    // What an S3 listing also shows: not an input.
    std::fs::write(input.join("_SUCCESS"), "").unwrap();
    (input, files)
}

/// One test's world: a temporary folder with the inputs, an output folder `out`, and the flags
/// every process of its runs shares.
struct World {
    dir: tempfile::TempDir,
    input: PathBuf,
    files: Vec<String>,
    out: PathBuf,
    args: Vec<String>,
}

impl World {
    fn new(on_failure: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (input, files) = inputs(dir.path());
        let out = dir.path().join("out");
        let args = common_args(dir.path(), &input, &out, on_failure);
        World {
            dir,
            input,
            files,
            out,
            args,
        }
    }

    fn groups(&self) -> Vec<Vec<String>> {
        groups(&self.files, &self.input)
    }
}

/// Flags every process of a run shares.
fn common_args(dir: &Path, input: &Path, out: &Path, on_failure: &str) -> Vec<String> {
    let rules = dir.join("rules.dqdl");
    std::fs::write(&rules, RULES).unwrap();
    // A schema both runs agree on regardless of which files are sampled first.
    let mapping = dir.join("mapping.json");
    std::fs::write(
        &mapping,
        r#"[{"from": "id", "to": "id", "type": "bigint"},
            {"from": "amount", "to": "amount", "type": "double"},
            {"from": "city", "to": "city", "type": "string"},
            {"from": "status", "to": "status", "type": "string"},
            {"from": "zip", "to": "zip", "type": "string"}]"#,
    )
    .unwrap();
    [
        "--input",
        p(input),
        "--output",
        p(out),
        "--rules",
        p(&rules),
        "--mapping",
        p(&mapping),
        "--on-dq-failure",
        on_failure,
        "--partition-by",
        "city",
        "--max-bad-records",
        "10",
        "--threads",
        "1",
        "--evaluated-at",
        AT,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(cmd: &str, args: &[String], extra: &[&str], code: i32) -> String {
    let mut all: Vec<&str> = vec![cmd];
    all.extend(args.iter().map(String::as_str));
    all.extend(extra);
    stderr(&etl_expect(&all, code))
}

fn shard(args: &[String], run_id: &str, items: &[String]) {
    let items = serde_json::to_string(items).unwrap();
    run(
        "run",
        args,
        &["--run-id", run_id, "--shard-inputs", &items],
        0,
    );
}

/// Groups of the input files as a Distributed Map would batch them, with the hidden file
/// listed too.
fn groups(files: &[String], input: &Path) -> Vec<Vec<String>> {
    vec![
        vec![files[0].clone(), files[1].clone(), files[2].clone()],
        vec![
            files[3].clone(),
            files[4].clone(),
            input.join("_SUCCESS").to_str().unwrap().to_string(),
        ],
        vec![files[5].clone(), files[6].clone()],
    ]
}

fn dq(record: &Value) -> DqResults {
    serde_json::from_value(record["data_quality"].clone()).unwrap()
}

fn sorted_lines(path: &str) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn shards_and_merge_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, files) = inputs(dir.path());
    let single_out = dir.path().join("single");
    let sharded_out = dir.path().join("sharded");
    let single_rec = dir.path().join("single.json");
    let sharded_rec = dir.path().join("sharded.json");

    let args = common_args(dir.path(), &input, &single_out, "quarantine");
    run(
        "run",
        &args,
        &["--run-id", "one", "--results", p(&single_rec)],
        0,
    );

    let args = common_args(dir.path(), &input, &sharded_out, "quarantine");
    for g in groups(&files, &input) {
        shard(&args, "many", &g);
    }
    assert!(
        visible_files(&sharded_out).is_empty(),
        "nothing visible before the merge"
    );
    let states = sharded_out.join("_gluepipe/shards/many");
    let mut state_files: Vec<String> = std::fs::read_dir(&states)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    state_files.sort();
    assert_eq!(
        state_files.len(),
        6,
        "a state and a DQ state per shard: {state_files:?}"
    );
    assert_eq!(
        state_files.iter().filter(|n| n.ends_with(".json")).count(),
        3
    );
    run(
        "merge",
        &args,
        &["--run-id", "many", "--results", p(&sharded_rec)],
        0,
    );

    let (a, b) = (run_record(&single_rec), run_record(&sharded_rec));
    assert_eq!(counts(&a), counts(&b));
    let (rows_in, written, rejected, quarantined) = counts(&a);
    assert_eq!((rows_in, rejected), (2102, 2), "{a}");
    // Null amounts fail `ColumnValues "amount" >= 0` row by row: quarantined, not published.
    assert!(quarantined > 100 && written + quarantined == 2100, "{a}");
    for k in [
        "input_files",
        "input_bytes",
        "status",
        "unmatched_mapping_paths",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    // No record has a `zip`: both say so.
    assert_eq!(
        a["unmatched_mapping_paths"],
        json!([{"mapping": 4, "from": "zip"}])
    );
    compare_results(&dq(&a), &dq(&b)).unwrap();

    // The data, read back independently.
    let (x, y) = (read_parquet(&single_out), read_parquet(&sharded_out));
    assert_eq!(x["schema"], y["schema"]);
    assert_eq!(rows_by(&x, "id"), rows_by(&y, "id"));
    assert_eq!(x["rows"].as_array().unwrap().len() as u64, written);
    let partitions = |out: &Path| -> Vec<String> {
        let mut d: Vec<String> = visible_files(out)
            .iter()
            .map(|f| f.split('/').next().unwrap().to_string())
            .collect();
        d.dedup();
        d
    };
    assert_eq!(partitions(&single_out), partitions(&sharded_out));
    // Every shard wrote its own files; the manifest lists exactly what is visible.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(sharded_out.join("_gluepipe/manifests/many.json")).unwrap(),
    )
    .unwrap();
    let mut listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, visible_files(&sharded_out));
    let rows_in_files: u64 = b["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(rows_in_files, written);

    // Quarantine and rejects hold the same records.
    // Quarantined rows live beside each target, in `<target>_quarantine/`.
    let beside = |out: &Path| {
        let name = out.file_name().unwrap().to_string_lossy();
        out.with_file_name(format!("{name}_quarantine"))
    };
    let q = |out: &Path| rows_by(&read_parquet(&beside(out)), "id");
    assert_eq!(q(&single_out), q(&sharded_out));
    let rejects = sorted_lines(b["rejects_path"].as_str().unwrap());
    assert_eq!(rejects.len(), 2);
    assert_eq!(sorted_lines(a["rejects_path"].as_str().unwrap()), rejects);
    // Nothing of the shards is left behind.
    assert!(!states.exists() || std::fs::read_dir(&states).unwrap().count() == 0);
    assert!(!sharded_out.join("_gluepipe/staging").exists());
    assert!(!beside(&sharded_out).join("_gluepipe/staging").exists());
}

#[test]
fn a_failed_gate_at_merge_publishes_nothing_and_cleans_up() {
    let w = World::new("fail");
    let out = &w.out;
    let args = w.args.clone();
    for g in w.groups() {
        shard(&args, "gate", &g);
    }
    // "status" has 21 "lost" rows, so `ColumnValues "status" in [...]` at threshold 0.9 passes;
    // `ColumnValues "amount" >= 0` fails on nulls: the gate fails, as in a single run.
    let err = run("merge", &args, &["--run-id", "gate"], 3);
    assert!(err.contains("ColumnValues \"amount\" >= 0"), "{err}");
    assert!(visible_files(out).is_empty());
    assert!(!out.join("_gluepipe/staging").exists());
    assert!(!out.join("_gluepipe/manifests").exists());
}

#[test]
fn a_missing_shard_stops_the_merge_until_it_has_run() {
    let w = World::new("warn");
    let out = &w.out;
    let args = w.args.clone();
    let g = w.groups();
    shard(&args, "gap", &g[0]);
    shard(&args, "gap", &g[2]);
    let err = run("merge", &args, &["--run-id", "gap"], 1);
    assert!(
        err.contains("2 input(s) of the source were converted by no shard"),
        "{err}"
    );
    assert!(
        err.contains("part-3.json") && err.contains("part-4.json"),
        "{err}"
    );
    assert!(visible_files(out).is_empty());
    // The missing shard runs (a retry of the failed batch); the merge now publishes all.
    shard(&args, "gap", &g[1]);
    let rec = w.dir.path().join("rec.json");
    run(
        "merge",
        &args,
        &["--run-id", "gap", "--results", p(&rec)],
        0,
    );
    let (rows_in, written, ..) = counts(&run_record(&rec));
    assert_eq!(rows_in, 2102);
    assert_eq!(
        read_parquet(out)["rows"].as_array().unwrap().len() as u64,
        written
    );
}

#[test]
fn sharded_runs_need_a_run_id_and_a_shared_evaluation_time() {
    let w = World::new("warn");
    let (files, out) = (&w.files, &w.out);
    let mut args = w.args.clone();
    let items = serde_json::to_string(&files[..1]).unwrap();
    let err = run("run", &args, &["--shard-inputs", &items], 2);
    assert!(err.contains("--run-id"), "{err}");
    let err = run("merge", &args, &[], 2);
    assert!(err.contains("--run-id"), "{err}");
    let at = args.iter().position(|a| a == "--evaluated-at").unwrap();
    args.drain(at..at + 2);
    let err = run(
        "run",
        &args,
        &["--run-id", "x", "--shard-inputs", &items],
        2,
    );
    assert!(err.contains("--evaluated-at"), "{err}");
    assert!(visible_files(out).is_empty());
}

/// `args` with the value after `flag` replaced.
fn with(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut out = args.to_vec();
    let at = out.iter().position(|a| a == flag).unwrap();
    out[at + 1] = value.to_string();
    out
}

#[test]
fn the_merge_refuses_shards_that_disagree_and_touches_nothing() {
    let w = World::new("warn");
    let (files, out) = (&w.files, &w.out);
    let args = w.args.clone();
    let g = w.groups();
    let states = out.join("_gluepipe/shards");
    let other_mapping = w.dir.path().join("mapping-2.json");
    std::fs::write(
        &other_mapping,
        r#"[{"from": "id", "to": "id", "type": "string"},
            {"from": "amount", "to": "amount", "type": "double"},
            {"from": "city", "to": "city", "type": "string"},
            {"from": "status", "to": "status", "type": "string"}]"#,
    )
    .unwrap();
    let cases: [(&str, Vec<String>, Vec<String>, &str); 4] = [
        (
            "a file in two shards",
            args.clone(),
            [g[2].clone(), vec![files[0].clone()]].concat(),
            "was converted by two shards",
        ),
        (
            "another evaluation time",
            with(&args, "--evaluated-at", "2026-11-26T12:00:00Z"),
            g[2].clone(),
            "ran with --evaluated-at 2026-11-26T12:00:00",
        ),
        (
            "another spec",
            with(&args, "--max-bad-records", "11"),
            g[2].clone(),
            "ran another pipeline spec",
        ),
        (
            "other columns",
            with(&args, "--mapping", p(&other_mapping)),
            g[2].clone(),
            "planned other columns than this merge (id: Int64",
        ),
    ];
    for (i, (case, last_args, last_items, says)) in cases.into_iter().enumerate() {
        let run_id = format!("refuse-{i}");
        shard(&args, &run_id, &g[0]);
        shard(&args, &run_id, &g[1]);
        shard(&last_args, &run_id, &last_items);
        let err = run("merge", &args, &["--run-id", &run_id], 1);
        assert!(err.contains(says), "{case}: {err}");
        assert!(visible_files(out).is_empty(), "{case}");
        let kept = std::fs::read_dir(states.join(&run_id)).unwrap().count();
        assert!(kept >= 3, "{case}: the states are kept for another merge");
    }
}

#[test]
fn discard_removes_a_runs_shards_and_a_second_merge_says_why_it_has_nothing() {
    let w = World::new("warn");
    let out = &w.out;
    let args = w.args.clone();
    let g = w.groups();
    shard(&args, "lost", &g[0]);
    shard(&args, "lost", &g[2]);
    // A failed execution's clean-up: no evaluation time needed.
    let no_time = {
        let at = args.iter().position(|a| a == "--evaluated-at").unwrap();
        [&args[..at], &args[at + 2..]].concat()
    };
    let err = run("merge", &no_time, &["--run-id", "lost", "--discard"], 0);
    assert!(err.contains("discarded the staged files"), "{err}");
    // The history tells the run's outcome (failed, nothing published), not the discard's.
    let history = etl_expect(&["runs", "--target", p(out), "--format", "json"], 0);
    let history: Vec<Value> = String::from_utf8(history.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lost = history.iter().find(|r| r["run_id"] == "lost").unwrap();
    assert_eq!(lost["status"], "failed", "{lost:#}");
    assert_eq!(lost["rows_written"], 0, "{lost:#}");
    assert!(lost["rows_discarded"].as_u64().unwrap() > 0, "{lost:#}");
    assert!(
        lost["error"]
            .as_str()
            .unwrap()
            .contains("a shard of run lost failed"),
        "{lost:#}"
    );
    assert!(visible_files(out).is_empty());
    assert!(!out.join("_gluepipe/staging").exists());
    let states = out.join("_gluepipe/shards/lost");
    assert!(!states.exists() || std::fs::read_dir(&states).unwrap().count() == 0);
    let err = run("merge", &args, &["--run-id", "lost"], 1);
    assert!(err.contains("no shard of run lost has finished"), "{err}");
    let err = run("run", &args, &["--discard"], 2);
    assert!(
        err.contains("--discard is for `gluepipe-etl merge`"),
        "{err}"
    );

    // A merged run cannot be merged twice.
    for group in &g {
        shard(&args, "twice", group);
    }
    run("merge", &args, &["--run-id", "twice"], 0);
    let err = run("merge", &args, &["--run-id", "twice"], 1);
    assert!(
        err.contains("run twice was already merged and published"),
        "{err}"
    );
}

#[test]
fn a_crafted_state_cannot_make_the_merge_touch_other_files() {
    let w = World::new("warn");
    let (input, files, out) = (&w.input, &w.files, &w.out);
    let args = w.args.clone();
    shard(&args, "evil", files);
    let states = out.join("_gluepipe/shards/evil");
    let state = std::fs::read_dir(&states)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    doc["shard"] = json!("../../../..");
    std::fs::write(&state, doc.to_string()).unwrap();
    let err = run("merge", &args, &["--run-id", "evil"], 1);
    assert!(
        err.contains("expected format 1 for run evil, shard"),
        "{err}"
    );
    std::fs::write(states.join("..json"), "{}").unwrap();
    let err = run("merge", &args, &["--run-id", "evil"], 1);
    assert!(err.contains("not a shard state of run evil"), "{err}");
    let err = run("merge", &args, &["--run-id", "../evil"], 2);
    assert!(err.contains("invalid run id"), "{err}");
    assert!(input.join("part-0.json").exists() && visible_files(out).is_empty());
}

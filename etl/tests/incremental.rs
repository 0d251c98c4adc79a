//! Incremental runs through the real binary, on local files: a series of runs with files
//! arriving between them publishes every input exactly once — across a failed quality gate, a
//! commit killed at any step, two runs at once, a rewritten input and a lost checkpoint.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;

struct Series {
    dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    runs: usize,
}

impl Series {
    fn new() -> Series {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let out = dir.path().join("out");
        Series {
            dir,
            input,
            out,
            runs: 0,
        }
    }

    /// A new input file holding ids `first..first + n`.
    fn arrive(&self, name: &str, first: u64, n: u64) {
        let body: String = (first..first + n)
            .map(|id| format!("{{\"id\": {id}}}\n"))
            .collect();
        std::fs::write(self.input.join(name), body).unwrap();
    }

    /// An incremental run with `extra` flags and environment; returns the record and stderr.
    fn run(
        &mut self,
        extra: &[&str],
        env: &[(&str, &str)],
        code: i32,
    ) -> (serde_json::Value, String) {
        self.runs += 1;
        let record = self.dir.path().join(format!("run-{}.json", self.runs));
        let out = Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
            .args(run_args(
                &self.input,
                &self.out,
                &["--incremental", "--results", p(&record)],
            ))
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{extra:?} {env:?}\n{err}");
        let record = if record.exists() {
            run_record(&record)
        } else {
            serde_json::Value::Null
        };
        (record, err)
    }

    /// The published ids, sorted, duplicates kept.
    fn ids(&self) -> Vec<u64> {
        if !self.out.exists() {
            return Vec::new();
        }
        let rows = rows_by(&read_parquet(&self.out), "id");
        let mut ids: Vec<u64> = rows.iter().filter_map(|r| r["id"].as_u64()).collect();
        assert_eq!(ids.len(), rows.len(), "every row has an integer id");
        ids.sort_unstable();
        ids
    }
}

fn range(ranges: &[(u64, u64)]) -> Vec<u64> {
    let mut ids: Vec<u64> = ranges.iter().flat_map(|&(a, n)| a..a + n).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn each_input_is_published_exactly_once_across_a_series_of_runs() {
    let mut s = Series::new();
    s.arrive("a.json", 0, 10);
    s.arrive("b.json", 100, 10);
    let (first, _) = s.run(&[], &[], 0);
    assert_eq!(first["input_files"], 2);
    assert_eq!(s.ids(), range(&[(0, 10), (100, 10)]));

    s.arrive("c.json", 200, 10);
    let (second, _) = s.run(&[], &[], 0);
    assert_eq!(
        (
            second["input_files"].as_u64(),
            second["inputs_skipped"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(s.ids(), range(&[(0, 10), (100, 10), (200, 10)]));

    // Nothing new: nothing published, no manifest.
    let manifest_dir = s.out.join("_gluepipe/manifests");
    let manifests = || std::fs::read_dir(&manifest_dir).unwrap().count();
    let before = manifests();
    let (idle, err) = s.run(&[], &[], 0);
    assert!(err.contains("no new inputs (3 already converted)"), "{err}");
    assert_eq!(idle["rows_written"], 0);
    assert_eq!(manifests(), before);

    // A failed quality gate publishes nothing and leaves the ledger as it was: the next run
    // takes the same input again.
    s.arrive("d.json", 300, 10);
    let rules = s.dir.path().join("rules.dqdl");
    std::fs::write(&rules, "Rules = [ RowCount > 1000 ]").unwrap();
    s.run(&["--rules", p(&rules), "--on-dq-failure", "fail"], &[], 3);
    assert_eq!(s.ids(), range(&[(0, 10), (100, 10), (200, 10)]));
    let (retry, _) = s.run(&[], &[], 0);
    assert_eq!(retry["input_files"], 1);

    // A rewritten input is reported, not converted again.
    std::thread::sleep(Duration::from_millis(20));
    s.arrive("a.json", 900, 20);
    let (rewritten, err) = s.run(&[], &[], 0);
    assert!(err.contains("a.json changed after run"), "{err}");
    assert_eq!(rewritten["inputs_changed"].as_array().unwrap().len(), 1);
    assert_eq!(s.ids(), range(&[(0, 10), (100, 10), (200, 10), (300, 10)]));

    // The checkpoint is derived data: lost or corrupt, the manifests still say what is done.
    std::fs::write(s.out.join("_gluepipe/ledger/checkpoint.json"), "{not json").unwrap();
    s.arrive("e.json", 400, 10);
    let (after, _) = s.run(&[], &[], 0);
    assert_eq!(after["input_files"], 1);
    std::fs::remove_file(s.out.join("_gluepipe/ledger/checkpoint.json")).unwrap();
    let (idle, _) = s.run(&[], &[], 0);
    assert_eq!(
        idle["inputs_skipped"], 4,
        "and a.json is still reported as changed"
    );
    assert_eq!(idle["inputs_changed"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.ids(),
        range(&[(0, 10), (100, 10), (200, 10), (300, 10), (400, 10)])
    );
}

#[test]
fn a_commit_killed_at_any_step_neither_loses_nor_repeats_an_input() {
    for step in ["locked", "intent", "publishing", "published", "manifest"] {
        let mut s = Series::new();
        s.arrive("a.json", 0, 10);
        s.run(&[], &[], 0);
        s.arrive("b.json", 100, 10);
        s.run(&[], &[("GLUEPIPE_TEST_CRASH_AT", step)], 137);
        s.arrive("c.json", 200, 10);
        s.run(&[], &[], 0);
        s.run(&[], &[], 0);
        assert_eq!(
            s.ids(),
            range(&[(0, 10), (100, 10), (200, 10)]),
            "{step}: an input lost or published twice"
        );
    }
}

#[test]
fn two_incremental_runs_at_once_never_publish_an_input_twice() {
    let mut s = Series::new();
    s.arrive("a.json", 0, 10);
    let go = s.dir.path().join("go");
    let log = s.dir.path().join("slow.log");
    let args = run_args(&s.input, &s.out, &["--incremental"]);
    let mut slow = paused(&args, "lock", &go, &log, &[]);
    s.run(&[], &[], 0);
    std::fs::write(&go, "").unwrap();
    assert_eq!(
        slow.wait().unwrap().code(),
        Some(1),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(s.ids(), range(&[(0, 10)]));
}

#[test]
fn incremental_overwrite_is_refused() {
    let mut s = Series::new();
    s.arrive("a.json", 0, 1);
    let (_, err) = s.run(&["--write-mode", "overwrite"], &[], 2);
    assert!(err.contains("use write_mode append"), "{err}");
}

//! The commit protocol through the real binary, on local files: a commit killed at any step is
//! completed (or taken back) by the next run, so no row is lost or doubled; concurrent writers
//! are refused and lose nothing; a run id is published once; SIGTERM stops a run and leaves the
//! target as it was. (The S3 side is in tests/tests/etl_s3_commit.rs.)
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// `n` records with ids from `first`, over three days (so three partition files).
fn orders(path: &Path, first: u64, n: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for id in first..first + n {
        let day = format!("2024-01-{:02}", 1 + id % 3);
        writeln!(f, "{}", json!({"id": id, "day": day, "amount": 1.5})).unwrap();
    }
}

struct Target {
    dir: tempfile::TempDir,
    out: PathBuf,
}

impl Target {
    fn new() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        Target { dir, out }
    }

    /// Writes an input of ids `first..first + n` and returns the run's arguments.
    fn args(&self, name: &str, first: u64, n: u64, mode: &str) -> Vec<String> {
        let input = self.dir.path().join(format!("{name}.json"));
        orders(&input, first, n);
        [
            "run",
            "--input",
            p(&input),
            "--output",
            p(&self.out),
            "--partition-by",
            "day",
            "--write-mode",
            mode,
            "--results",
            p(&self.dir.path().join(format!("{name}.record.json"))),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn record(&self, name: &str) -> serde_json::Value {
        run_record(&self.dir.path().join(format!("{name}.record.json")))
    }

    /// The ids a reader that lists the table's Parquet files sees, sorted (duplicates kept).
    fn ids(&self) -> Vec<u64> {
        let script = r#"
import glob, json, os, sys
import pyarrow.parquet as pq
root = sys.argv[1]
ids = []
for f in glob.glob(os.path.join(root, "**", "*.parquet"), recursive=True):
    if any(s.startswith(("_", ".")) for s in os.path.relpath(f, root).split(os.sep)):
        continue
    ids += pq.read_table(f).column("id").to_pylist()
print(json.dumps(sorted(ids)))
"#;
        let out = Command::new(python())
            .args(["-c", script, p(&self.out)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// gluepipe's own files that only a commit in progress should leave.
    fn leftovers(&self) -> Vec<String> {
        ["_gluepipe/intents", "_gluepipe/lock", "_gluepipe/staging"]
            .iter()
            .filter(|d| self.out.join(d).exists())
            .map(|d| d.to_string())
            .collect()
    }
}

fn run(args: &[String], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn expect(args: &[String], env: &[(&str, &str)], code: i32) -> String {
    let out = run(args, env);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?} {env:?}\n{err}");
    err
}

fn range(first: u64, n: u64) -> Vec<u64> {
    (first..first + n).collect()
}

#[test]
fn a_commit_killed_at_any_step_is_completed_by_the_next_run() {
    // Before the intent exists nothing of the killed run can be visible (its staging is swept);
    // from the intent on, the next commit rolls it forward.
    let steps = [
        ("lock", false),
        ("locked", false),
        ("intent", true),
        ("publishing", true),
        ("published", true),
        ("removed", true),
        ("manifest", true),
    ];
    for (step, rolled_forward) in steps {
        let t = Target::new();
        expect(&t.args("a", 0, 30, "append"), &[], 0);
        let killed = t.args("b", 100, 60, "overwrite");
        let err = expect(&killed, &[("GLUEPIPE_TEST_CRASH_AT", step)], 137);
        assert!(err.contains("killed at commit step"), "{step}: {err}");
        if step == "publishing" {
            let visible = t.ids();
            assert!(
                visible.iter().any(|id| *id >= 100) && visible.len() < 30 + 60,
                "{step}: part of the new files is visible while killed: {visible:?}"
            );
        }

        expect(&t.args("c", 1000, 10, "append"), &[], 0);
        let mut want = if rolled_forward {
            range(100, 60)
        } else {
            range(0, 30)
        };
        want.extend(range(1000, 10));
        assert_eq!(t.ids(), want, "{step}: rows lost or doubled");
        assert_eq!(t.leftovers(), Vec::<String>::new(), "{step}");
        let recovered = t.record("c")["recovered_commits"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(
            recovered,
            usize::from(rolled_forward && step != "manifest"),
            "{step}: {}",
            t.record("c")
        );
    }
}

#[test]
fn concurrent_writers_are_refused_and_lose_nothing() {
    let t = Target::new();
    expect(&t.args("a", 0, 30, "append"), &[], 0);

    // An overwrite converting while an append commits: the overwrite refuses to commit, since
    // it would delete rows it never saw.
    let go = t.dir.path().join("go-b");
    let log = t.dir.path().join("b.log");
    let mut b = paused(&t.args("b", 100, 30, "overwrite"), "lock", &go, &log, &[]);
    expect(&t.args("c", 200, 10, "append"), &[], 0);
    std::fs::write(&go, "").unwrap();
    let status = b.wait().unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("committed to") && err.contains("while run"),
        "{err}"
    );
    let mut want = range(0, 30);
    want.extend(range(200, 10));
    assert_eq!(t.ids(), want);
    assert_eq!(t.leftovers(), Vec::<String>::new());

    // Two overwrites: the one that commits second refuses; every row is there once.
    let go = t.dir.path().join("go-d");
    let log = t.dir.path().join("d.log");
    let mut d = paused(&t.args("d", 300, 30, "overwrite"), "lock", &go, &log, &[]);
    expect(&t.args("e", 400, 30, "overwrite"), &[], 0);
    std::fs::write(&go, "").unwrap();
    assert_eq!(d.wait().unwrap().code(), Some(1));
    assert_eq!(t.ids(), range(400, 30));

    // A run that finds the lock held (a commit in progress) is refused with its holder.
    let go = t.dir.path().join("go-f");
    let log = t.dir.path().join("f.log");
    let mut f = paused(&t.args("f", 500, 30, "overwrite"), "locked", &go, &log, &[]);
    let err = expect(&t.args("g", 600, 10, "append"), &[], 1);
    assert!(err.contains("is being committed to by run"), "{err}");
    std::fs::write(&go, "").unwrap();
    assert_eq!(f.wait().unwrap().code(), Some(0));
    assert_eq!(t.ids(), range(500, 30));
    assert_eq!(t.leftovers(), Vec::<String>::new());
}

#[test]
fn a_run_id_is_published_once_and_overwrite_keeps_foreign_files() {
    let t = Target::new();
    std::fs::create_dir_all(t.out.join("notes")).unwrap();
    std::fs::write(t.out.join("README.md"), "owned by another team").unwrap();
    std::fs::write(t.out.join("notes/x.txt"), "x").unwrap();
    let mut first = t.args("a", 0, 30, "overwrite");
    first.extend(["--run-id".to_string(), "nightly-1".to_string()]);
    expect(&first, &[], 0);
    let mut again = t.args("b", 100, 30, "overwrite");
    again.extend(["--run-id".to_string(), "nightly-1".to_string()]);
    let err = expect(&again, &[], 2);
    assert!(err.contains("run id nightly-1 was already used"), "{err}");
    assert_eq!(t.ids(), range(0, 30));

    expect(&t.args("c", 200, 30, "overwrite"), &[], 0);
    assert_eq!(t.ids(), range(200, 30));
    let kept: Vec<String> = visible_files(&t.out)
        .into_iter()
        .filter(|f| !f.ends_with(".parquet"))
        .collect();
    assert_eq!(kept, ["README.md", "notes/x.txt"]);
}

#[test]
fn sigterm_stops_a_run_and_discards_what_it_staged() {
    let t = Target::new();
    expect(&t.args("a", 0, 30, "append"), &[], 0);
    let before = visible_files(&t.out);
    let args = t.args("big", 1_000_000, 400_000, "overwrite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args(&args)
        .args(["--threads", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it is converting (its staging folder exists), send SIGTERM.
    let staging = t.out.join("_gluepipe/staging");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !staging.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the signal; make the input bigger"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert_eq!(visible_files(&t.out), before);
    assert_eq!(t.ids(), range(0, 30));
    assert_eq!(t.leftovers(), Vec::<String>::new(), "staging discarded");
    assert_eq!(t.record("big")["status"], "failed");
}

#[test]
fn a_committer_slower_than_its_lock_is_taken_over_and_loses_nothing() {
    let t = Target::new();
    expect(&t.args("a", 0, 30, "append"), &[], 0);
    // A stops after its first file is visible and stays there past its lock's lifetime.
    let go = t.dir.path().join("go");
    let log = t.dir.path().join("slow.log");
    let slow_args = t.args("slow", 100, 30, "append");
    let ttl = [("GLUEPIPE_LOCK_TTL_SECONDS", "1")];
    let mut slow = paused(&slow_args, "publishing", &go, &log, &ttl);
    std::thread::sleep(Duration::from_millis(1500));
    // The next run finds the lock expired, completes the slow run's commit, then its own.
    expect(&t.args("next", 200, 10, "append"), &[], 0);
    assert_eq!(
        t.record("next")["recovered_commits"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    std::fs::write(&go, "").unwrap();
    let status = slow.wait().unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("another run completed its commit"), "{err}");
    let mut want = range(0, 30);
    want.extend(range(100, 30));
    want.extend(range(200, 10));
    assert_eq!(t.ids(), want, "the slow run's files stay published, once");
    assert_eq!(t.leftovers(), Vec::<String>::new());
}

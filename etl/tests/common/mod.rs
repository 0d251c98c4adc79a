//! Shared helpers for the integration tests: run the real binary, read its Parquet output back
//! with pyarrow (an independent reader) as JSON.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The Python with pyarrow: `GLUEPIPE_PYTHON`, else the project venv, else the scratch venv.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("GLUEPIPE_PYTHON") {
        return PathBuf::from(p);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    for candidate in [
        repo.join(".tools/venv/bin/python"),
        PathBuf::from("/tmp/venvtest/v/bin/python"),
    ] {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("no Python with pyarrow: run scripts/bootstrap.sh or set GLUEPIPE_PYTHON");
}

pub fn etl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args(args)
        .output()
        .unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary and asserts it exits with `code`.
pub fn etl_expect(args: &[&str], code: i32) -> Output {
    let out = etl(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "args {args:?}\nstderr:\n{}",
        stderr(&out)
    );
    out
}

const READER: &str = r#"
import json, sys, base64, decimal, datetime
import pyarrow.dataset as ds, pyarrow.parquet as pq
root = sys.argv[1]
dataset = ds.dataset(root, format="parquet", partitioning="hive")
table = dataset.to_table()
codecs = sorted({pq.ParquetFile(f).metadata.row_group(0).column(0).compression
                 for f in dataset.files if pq.ParquetFile(f).metadata.num_row_groups})
def conv(v):
    if isinstance(v, (datetime.datetime,)):
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return str(v)
    raise TypeError(type(v))
rows = table.to_pylist()
print(json.dumps({
    "schema": {f.name: str(f.type) for f in table.schema},
    "columns": [f.name for f in table.schema],
    "rows": rows,
    "files": len(dataset.files),
    "codecs": codecs,
}, default=conv))
"#;

/// The Parquet dataset under `dir` as `{"schema": {col: type}, "rows": [...], "files": n, "codecs": [...]}`.
pub fn read_parquet(dir: &Path) -> Value {
    python_json(READER, dir)
}

/// Runs a Python `script` (with pyarrow, and duckdb where installed) on `arg`; its JSON output.
pub fn python_json(script: &str, arg: &Path) -> Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rows sorted by `key` (the output order across files is not the input order).
pub fn rows_by(data: &Value, key: &str) -> Vec<Value> {
    let mut rows = data["rows"].as_array().unwrap().clone();
    rows.sort_by(|a, b| a[key].to_string().cmp(&b[key].to_string()));
    rows
}

/// Files under `dir` that readers see (no `_`/`.`-prefixed path segment), relative.
pub fn visible_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if e.path().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(
                    e.path()
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn run_record(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts the row-count invariant of a run record and returns (in, written, rejected, quarantined).
pub fn counts(record: &Value) -> (u64, u64, u64, u64) {
    let get = |k: &str| record[k].as_u64().unwrap();
    let c = (
        get("rows_in"),
        get("rows_written"),
        get("rows_rejected"),
        get("rows_quarantined"),
    );
    assert_eq!(
        c.0,
        c.1 + c.2 + c.3 + get("rows_discarded"),
        "rows_in = rows_written + rows_rejected + rows_quarantined + rows_discarded: {record}"
    );
    c
}

/// Waits (up to two minutes) until the file `log` contains `text`, e.g. a test hook's message.
pub fn wait_for(log: &Path, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {text:?} in {log:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Starts the binary with `args` (and `env`) so that it waits at commit step `step` until
/// `go` exists; returns once it waits, its stderr going to `log`.
pub fn paused<A: AsRef<std::ffi::OsStr>>(
    args: &[A],
    step: &str,
    go: &Path,
    log: &Path,
    env: &[(&str, &str)],
) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_gluepipe-etl"))
        .args(args)
        .envs(env.iter().copied())
        .env("GLUEPIPE_TEST_WAIT_AT", step)
        .env("GLUEPIPE_TEST_WAIT_FILE", go)
        .stderr(std::fs::File::create(log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(log, "waiting at commit step");
    child
}

/// `run --input INPUT --output OUT --no-progress`, then `extra`.
pub fn run_args<'a>(input: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--input",
        p(input),
        "--output",
        p(out),
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    args
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

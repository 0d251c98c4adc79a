//! Independent read-back: our Parquet, read by pyarrow (not by the crates that wrote it).
//!
//! Both functions answer
//! `{"files": [{"key", "rows"}], "rows": N, "schema": {"col": "arrow type"}, "records": [...]}`,
//! records sorted by their JSON text so tests can compare them without caring about order, and
//! skip anything under a `_gluepipe/` folder below where they start.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Emulator, bins};

/// One script for both places: `s3 BUCKET PREFIX` or `dir PATH`.
const SCRIPT: &str = r#"
import io, json, os, pathlib, sys, pyarrow.parquet as pq

def s3_tables(bucket, prefix):
    import boto3
    s3 = boto3.client("s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])
            if o["Key"].endswith(".parquet") and "_gluepipe/" not in o["Key"][len(prefix):]]
    for key in sorted(keys):
        yield key, pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

def dir_tables(root):
    root = pathlib.Path(root)
    for path in sorted(p for p in root.rglob("*.parquet") if "_gluepipe" not in p.relative_to(root).parts):
        yield str(path.relative_to(root)), pq.read_table(path)

tables = s3_tables(*sys.argv[2:4]) if sys.argv[1] == "s3" else dir_tables(sys.argv[2])
files, records, schema = [], [], {}
for key, table in tables:
    files.append({"key": key, "rows": table.num_rows})
    schema.update({f.name: str(f.type) for f in table.schema})
    records += table.to_pylist()
records = sorted((json.dumps(r, sort_keys=True, default=str) for r in records))
print(json.dumps({"files": files, "rows": len(records), "schema": schema, "records": [json.loads(r) for r in records]}))
# pyarrow's thread pools can abort the interpreter's teardown ("terminate called without an
# active exception"); everything is printed by now, so skip the teardown.
sys.stdout.flush()
os._exit(0)
"#;

/// Every Parquet file under `s3://bucket/prefix` on the emulator, read with pyarrow.
pub fn parquet_in_s3(emu: &Emulator, bucket: &str, prefix: &str) -> Result<serde_json::Value> {
    let mut command = Command::new(bins::python()?);
    command
        .args(["-c", SCRIPT, "s3", bucket, prefix])
        .envs(emu.env());
    read_back(command)
}

/// Every Parquet file below a local folder, read with pyarrow; keys relative to the folder.
pub fn parquet_in_dir(dir: &std::path::Path) -> Result<serde_json::Value> {
    let mut command = Command::new(bins::python()?);
    command.args(["-c", SCRIPT, "dir"]).arg(dir);
    read_back(command)
}

fn read_back(mut command: Command) -> Result<serde_json::Value> {
    let output = command.output().context("running pyarrow")?;
    if !output.status.success() {
        bail!(
            "pyarrow read-back failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing pyarrow's answer")
}

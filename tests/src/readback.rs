//! Independent read-back: our Parquet, read by pyarrow (not by the crates that wrote it).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Emulator, bins};

/// Every Parquet file under `s3://bucket/prefix` (skipping `_gluepipe/` below the prefix), read
/// with pyarrow:
/// `{"files": [{"key", "rows"}], "rows": N, "schema": {"col": "arrow type"}, "records": [...]}`.
/// Records are sorted by their JSON text so tests can compare them without caring about order.
pub fn parquet_in_s3(emu: &Emulator, bucket: &str, prefix: &str) -> Result<serde_json::Value> {
    const SCRIPT: &str = r#"
import io, json, os, sys, boto3, pyarrow.parquet as pq
bucket, prefix = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
        if o["Key"].endswith(".parquet") and "_gluepipe/" not in o["Key"][len(prefix):]]
files, records, schema = [], [], {}
for key in sorted(keys):
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
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
    let output = Command::new(bins::python()?)
        .arg("-c")
        .arg(SCRIPT)
        .arg(bucket)
        .arg(prefix)
        .envs(emu.env())
        .output()
        .context("running pyarrow")?;
    if !output.status.success() {
        bail!(
            "pyarrow read-back failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing pyarrow's answer")
}

/// Every Parquet file below a local folder (skipping `_gluepipe/`), read with pyarrow; the same
/// shape as [`parquet_in_s3`], keys relative to the folder.
pub fn parquet_in_dir(dir: &std::path::Path) -> Result<serde_json::Value> {
    const SCRIPT: &str = r#"
import json, os, pathlib, sys, pyarrow.parquet as pq
root = pathlib.Path(sys.argv[1])
paths = sorted(p for p in root.rglob("*.parquet") if "_gluepipe" not in p.relative_to(root).parts)
files, records, schema = [], [], {}
for path in paths:
    table = pq.read_table(path)
    files.append({"key": str(path.relative_to(root)), "rows": table.num_rows})
    schema.update({f.name: str(f.type) for f in table.schema})
    records += table.to_pylist()
records = sorted((json.dumps(r, sort_keys=True, default=str) for r in records))
print(json.dumps({"files": files, "rows": len(records), "schema": schema, "records": [json.loads(r) for r in records]}))
# pyarrow's thread pools can abort the interpreter's teardown ("terminate called without an
# active exception"); everything is printed by now, so skip the teardown.
sys.stdout.flush()
os._exit(0)
"#;
    let output = Command::new(bins::python()?)
        .arg("-c")
        .arg(SCRIPT)
        .arg(dir)
        .output()
        .context("running pyarrow")?;
    if !output.status.success() {
        bail!(
            "pyarrow read-back failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("parsing pyarrow's answer")
}

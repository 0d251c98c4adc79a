#!/usr/bin/env python3
"""JSON → Parquet: gluepipe-etl against DuckDB, pyarrow and polars, on the same generated orders.

For each tool: wall time, CPU time (user + system) and peak RSS of its own process, measured with
wait4(2), and the ratios to gluepipe-etl. Each runs with and without a five-rule data-quality
check. Then: gluepipe-etl's peak RSS on five times the input (flatness), and serde_json's
single-core parse rate on the same file as a yardstick.

    scripts/bench-etl.sh                  # 1M orders (~470 MB), builds the release binary
    scripts/bench-etl.sh --rows 200000    # a quicker look

How each tool converts (all write one Snappy Parquet output, all with their default threads):
- gluepipe-etl: `gluepipe-etl run --input F --output DIR` (schema inferred), `--rules` for DQ;
- DuckDB: `COPY (SELECT * FROM read_json_auto(F)) TO … (FORMAT parquet)`; its DQ variant runs
  the five checks as one SQL query over the Parquet it just wrote (a cheap second pass);
- pyarrow: `pyarrow.json.open_json` streamed into a `ParquetWriter` (DQ: the checks computed
  on each batch with pyarrow.compute);
- polars: `scan_ndjson(F).sink_parquet(…)` (streaming engine; DQ: one lazy query over the
  written Parquet).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

RULES = """Rules = [
    RowCount > 0,
    IsComplete "order_id",
    IsUnique "order_id",
    ColumnValues "status" in ["new", "paid", "shipped", "delivered", "cancelled", "returned"],
    Completeness "amount" > 0.9
]
"""

DUCKDB = """
import duckdb, sys
src, out, dq = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
con = duckdb.connect()
con.execute(f"COPY (SELECT * FROM read_json_auto('{src}')) TO '{out}/data.parquet' (FORMAT parquet)")
if dq:
    row = con.execute(f'''
        SELECT count(*) > 0,
               count(*) = count(order_id),
               count(DISTINCT order_id) = count(*),
               bool_and(status IN ('new','paid','shipped','delivered','cancelled','returned')),
               count(amount) > 0.9 * count(*)
        FROM read_parquet('{out}/data.parquet')''').fetchone()
    assert all(row), row
"""

PYARROW = """
import pyarrow as pa, pyarrow.json as pj, pyarrow.parquet as pq, pyarrow.compute as pc, sys
src, out, dq = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
reader = pj.open_json(src, read_options=pj.ReadOptions(block_size=8 << 20))
writer = None
rows = complete = amounts = 0
seen = set()
statuses = {"new", "paid", "shipped", "delivered", "cancelled", "returned"}
ok_status = True
for batch in reader:
    if writer is None:
        writer = pq.ParquetWriter(f"{out}/data.parquet", batch.schema, compression="snappy")
    writer.write_batch(batch)
    if dq:
        rows += batch.num_rows
        ids = batch.column("order_id")
        complete += batch.num_rows - ids.null_count
        seen.update(ids.to_pylist())
        amounts += batch.num_rows - batch.column("amount").null_count
        ok_status &= pc.all(pc.is_in(batch.column("status"), value_set=pa.array(sorted(statuses)))).as_py()
writer.close()
if dq:
    assert rows > 0 and complete == rows and len(seen) == rows and ok_status and amounts > 0.9 * rows
"""

POLARS = """
import polars as pl, sys
src, out, dq = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
pl.scan_ndjson(src, infer_schema_length=10000).sink_parquet(f"{out}/data.parquet", compression="snappy")
if dq:
    df = pl.scan_parquet(f"{out}/data.parquet").select(
        (pl.len() > 0).alias("rows"),
        (pl.col("order_id").null_count() == 0).alias("complete"),
        (pl.col("order_id").n_unique() == pl.len()).alias("unique"),
        pl.col("status").is_in(["new", "paid", "shipped", "delivered", "cancelled", "returned"]).all().alias("status"),
        (pl.col("amount").count() > 0.9 * pl.len()).alias("amount"),
    ).collect()
    assert all(df.row(0)), df
"""


def measure(argv, env=None):
    """(wall s, cpu s, peak RSS MB, exit code, stderr tail) of one child process."""
    return finish(*start(argv, env))


def start(argv, env=None):
    """Starts a child process to be measured by `finish`; several may run at once."""
    return time.perf_counter(), subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def finish(started, proc):
    """Waits for a child from `start`: (wall s, cpu s, peak RSS MB, exit code, stderr tail)."""
    # Read stderr before waiting so a chatty child cannot block on a full pipe.
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err.decode(errors="replace").strip().splitlines()[-3:]
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, tail


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def ensure_polars(python):
    probe = subprocess.run([python, "-c", "import polars"], capture_output=True)
    if probe.returncode == 0:
        return True
    print("polars is not installed; installing it into this venv (pip install polars)", file=sys.stderr)
    inst = subprocess.run([python, "-m", "pip", "install", "-q", "polars"], capture_output=True)
    if inst.returncode != 0:
        print("could not install polars; skipping it:\n" + inst.stderr.decode()[-500:], file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/gluepipe-etl"))
    ap.add_argument("--baseline", default=os.path.join(REPO, "target/release/examples/serde_json_baseline"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "target/bench-etl"))
    ap.add_argument("--scale", type=int, default=5, help="input multiple for the flatness check (0 skips it)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="flatness: runs of each size, alternating; the medians are compared (peak RSS of one "
                         "run varies by a few MB with thread timing)")
    ap.add_argument("--tools", default="gluepipe,duckdb,pyarrow,polars")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    python = sys.executable
    os.makedirs(args.workdir, exist_ok=True)
    src = os.path.join(args.workdir, f"orders-{args.rows}.json")
    if not os.path.exists(src):
        print(f"generating {args.rows} orders → {src}", file=sys.stderr)
        subprocess.run([python, os.path.join(HERE, "gen_orders.py"), "--rows", str(args.rows), "--out", src], check=True)
    size = os.path.getsize(src)
    rules = os.path.join(args.workdir, "rules.dqdl")
    with open(rules, "w") as f:
        f.write(RULES)

    tools = args.tools.split(",")
    if "polars" in tools and not ensure_polars(python):
        tools.remove("polars")

    runs = {}
    for dq in (False, True):
        for tool in tools:
            out = fresh(os.path.join(args.workdir, f"out-{tool}{'-dq' if dq else ''}"))
            if tool == "gluepipe":
                argv = [args.bin, "run", "--input", src, "--output", out, "--no-progress"]
                if dq:
                    argv += ["--rules", rules]
            else:
                script = {"duckdb": DUCKDB, "pyarrow": PYARROW, "polars": POLARS}[tool]
                argv = [python, "-c", script, src, out, "1" if dq else "0"]
            name = f"{tool}{' +DQ' if dq else ''}"
            print(f"running {name} …", file=sys.stderr)
            wall, cpu, rss, code, tail = measure(argv)
            runs[name] = {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss, "exit": code, "error": tail if code else None}

    flat = None
    if args.scale > 1 and "gluepipe" in tools:
        big = os.path.join(args.workdir, f"orders-{args.rows}x{args.scale}.json")
        if not os.path.exists(big):
            with open(big, "wb") as out:
                for _ in range(args.scale):
                    with open(src, "rb") as f:
                        shutil.copyfileobj(f, out, 16 << 20)
        samples = {1: [], args.scale: []}
        for _ in range(max(1, args.repeat)):
            for scale, path in ((1, src), (args.scale, big)):
                out = fresh(os.path.join(args.workdir, "out-gluepipe-flat"))
                print(f"running gluepipe on {scale}x the input …", file=sys.stderr)
                wall, cpu, rss, code, tail = measure([args.bin, "run", "--input", path, "--output", out, "--no-progress"])
                if code != 0:
                    flat = {"exit": code, "error": tail}
                    break
                samples[scale].append({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss})
            if flat:
                break
        if not flat:
            med = lambda xs: sorted(xs)[len(xs) // 2]
            flat = {"scale": args.scale, "exit": 0, "error": None, "runs": samples,
                    "base_peak_rss_mb": med([r["peak_rss_mb"] for r in samples[1]]),
                    "peak_rss_mb": med([r["peak_rss_mb"] for r in samples[args.scale]]),
                    "wall_s": med([r["wall_s"] for r in samples[args.scale]])}
        shutil.rmtree(out, ignore_errors=True)

    baseline = None
    if os.path.exists(args.baseline):
        res = subprocess.run([args.baseline, src], capture_output=True, text=True)
        if res.returncode == 0:
            baseline = json.loads(res.stdout)

    # Report.
    mb = size / 1e6
    print(f"\ninput: {args.rows} orders, {mb:.0f} MB NDJSON ({src})")
    print(f"{'tool':<16}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}{'MB/s':>8}   {'wall vs us':>10}{'RSS vs us':>10}")
    for dq in ("", " +DQ"):
        ours = runs.get(f"gluepipe{dq}")
        for tool in tools:
            r = runs[f"{tool}{dq}"]
            name = f"{tool}{dq}"
            if r["exit"] != 0:
                print(f"{name:<16}  failed (exit {r['exit']}): {' / '.join(r['error'] or [])}")
                continue
            ratio = ""
            if ours and ours["exit"] == 0:
                ratio = f"{r['wall_s'] / ours['wall_s']:>9.2f}x{r['peak_rss_mb'] / ours['peak_rss_mb']:>9.2f}x"
            print(f"{name:<16}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}{r['peak_rss_mb']:>10.0f}{mb / r['wall_s']:>8.0f}   {ratio}")
    if flat:
        if flat["exit"] == 0:
            base = flat["base_peak_rss_mb"]
            growth = flat["peak_rss_mb"] / base - 1
            each = lambda k: ", ".join(f"{r['peak_rss_mb']:.0f}" for r in flat["runs"][k])
            print(f"\nflatness: {args.scale}x input ({args.scale * mb:.0f} MB): wall {flat['wall_s']:.2f} s, "
                  f"peak RSS {flat['peak_rss_mb']:.0f} MB vs {base:.0f} MB at 1x ({growth * 100:+.1f}%; target ≤ +10%); "
                  f"medians of {len(flat['runs'][1])} runs each (1x: {each(1)}; {args.scale}x: {each(args.scale)} MB)")
        else:
            print(f"\nflatness run failed: {flat['error']}")
    if baseline:
        ours = runs.get("gluepipe")
        line = f"\nserde_json alone (1 core, into serde_json::Value): {baseline['mb_per_s']:.0f} MB/s"
        if ours and ours["exit"] == 0:
            per_core = mb / ours["cpu_s"]
            line += (f"; gluepipe-etl end to end: {mb / ours['wall_s']:.0f} MB/s wall, {per_core:.0f} MB/s per CPU-second "
                     f"({baseline['mb_per_s'] / per_core:.2f}x serde_json's cost per byte)")
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "bytes": size, "runs": runs, "flatness": flat, "serde_json": baseline}, f, indent=2)


if __name__ == "__main__":
    main()

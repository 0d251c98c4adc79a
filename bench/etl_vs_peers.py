#!/usr/bin/env python3
"""JSON → Parquet: gluepipe-etl against DuckDB, pyarrow and polars, on the same generated orders.

For each tool: wall time, CPU time (user and system) and peak RSS of its own process, measured
with wait4(2), and the ratios to gluepipe-etl. Each runs with and without a five-rule data-quality
check, in two tables: on one pinned core (`taskset -c 0`, what a Glue Python-shell job's quarter
vCPU is closest to; every tool told to use one thread) and on all cores. Then: gluepipe-etl with 1
and 2 worker threads (the scaling), its peak RSS on five times the input (flatness), and two
floors on the same file: `cat` to /dev/null and serde_json's single-core parse.

    scripts/bench-etl.sh                  # 1M orders (~470 MB), builds the release binary
    scripts/bench-etl.sh --rows 200000    # a quicker look
    scripts/bench-etl.sh --cores one      # only the one-core table (or: all, both)

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
if len(sys.argv) > 4:  # DuckDB sizes its pool by the machine's cores, not the process's affinity
    con.execute(f"SET threads = {int(sys.argv[4])}")
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
    return finish(*start(argv, env))[:5]


def measure_split(argv, env=None):
    """{wall_s, cpu_s, user_s, sys_s, peak_rss_mb, exit, error} of one child process."""
    wall, cpu, rss, code, tail, user, system = finish(*start(argv, env))
    return {"wall_s": wall, "cpu_s": cpu, "user_s": user, "sys_s": system, "peak_rss_mb": rss,
            "exit": code, "error": tail if code else None}


def start(argv, env=None):
    """Starts a child process to be measured by `finish`; several may run at once."""
    return time.perf_counter(), subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def finish(started, proc):
    """Waits for a child from `start`: (wall s, cpu s, peak RSS MB, exit code, stderr tail,
    user s, system s)."""
    # Read stderr before waiting so a chatty child cannot block on a full pipe.
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err.decode(errors="replace").strip().splitlines()[-3:]
    return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, tail,
            usage.ru_utime, usage.ru_stime)


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
    ap.add_argument("--cores", choices=("one", "all", "both"), default="both",
                    help="which tables: one pinned core, all cores, or both")
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

    one_core = shutil.which("taskset") is not None
    if args.cores in ("one", "both") and not one_core:
        print("taskset is not installed (util-linux): no one-core table", file=sys.stderr)
    tables = {}
    for cores in ("one", "all"):
        if args.cores not in (cores, "both") or (cores == "one" and not one_core):
            continue
        tables[cores] = run_table(args, tools, python, src, rules, cores)
    scaling = None
    if "gluepipe" in tools and args.cores in ("all", "both"):
        scaling = {}
        for threads in (1, 2):
            out = fresh(os.path.join(args.workdir, "out-gluepipe-threads"))
            print(f"running gluepipe +DQ with {threads} worker thread(s) …", file=sys.stderr)
            scaling[threads] = measure_split([args.bin, "run", "--input", src, "--output", out, "--no-progress",
                                              "--rules", rules, "--threads", str(threads)])
        shutil.rmtree(out, ignore_errors=True)

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
        res = subprocess.run(pinned("one") + [args.baseline, src], capture_output=True, text=True)
        if res.returncode == 0:
            baseline = json.loads(res.stdout)
    cat = measure_split(pinned("one") + ["cat", src])  # stdout is /dev/null

    # Report.
    mb = size / 1e6
    print(f"\ninput: {args.rows} orders, {mb:.0f} MB NDJSON ({src})")
    for cores, runs in tables.items():
        print_table(cores, runs, tools, mb)
    if scaling and all(r["exit"] == 0 for r in scaling.values()):
        gain = scaling[1]["wall_s"] / scaling[2]["wall_s"]
        print(f"\nscaling (+DQ): 1 worker {scaling[1]['wall_s']:.2f} s, 2 workers {scaling[2]['wall_s']:.2f} s wall: "
              f"{gain:.2f}x throughput (target ≥ 1.8x)")
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
    print("\nfloors on one core, same file:")
    if cat["exit"] == 0:
        print(f"  cat > /dev/null: {mb / cat['cpu_s']:.0f} MB per CPU-second ({cat['sys_s']:.2f} s system)")
    if baseline:
        print(f"  serde_json into serde_json::Value: {baseline['mb_per_s']:.0f} MB/s")
    for cores, runs in tables.items():
        ours = runs.get("gluepipe")
        if ours and ours["exit"] == 0:
            per_cpu = mb / ours["cpu_s"]
            versus = f" ({baseline['mb_per_s'] / per_cpu:.2f}x serde_json's cost per byte)" if baseline else ""
            where = "one pinned core" if cores == "one" else "all cores"
            print(f"  gluepipe-etl end to end on {where}: {per_cpu:.0f} MB per CPU-second{versus}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "bytes": size, "tables": tables, "scaling": scaling, "flatness": flat,
                       "serde_json": baseline, "cat": cat}, f, indent=2)


def pinned(cores):
    """The command prefix that pins a child to one core (nothing for all cores)."""
    return ["taskset", "-c", "0"] if cores == "one" and shutil.which("taskset") else []


def run_table(args, tools, python, src, rules, cores):
    """Every tool, without and with the data-quality check, pinned to one core or on all."""
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
                if cores == "one" and tool == "duckdb":
                    argv.append("1")
            env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1") if cores == "one" else None
            name = f"{tool}{' +DQ' if dq else ''}"
            print(f"running {name} on {cores} core(s) …", file=sys.stderr)
            runs[name] = measure_split(pinned(cores) + argv, env)
            shutil.rmtree(out, ignore_errors=True)
    return runs


def print_table(cores, runs, tools, mb):
    print(f"\n{'one pinned core' if cores == 'one' else 'all cores'}:")
    print(f"{'tool':<16}{'wall s':>8}{'user s':>8}{'sys s':>8}{'sys %':>7}{'peak MB':>9}{'MB/cpu-s':>10}"
          f"   {'wall vs us':>10}{'cpu vs us':>10}{'RSS vs us':>10}")
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
                ratio = (f"{r['wall_s'] / ours['wall_s']:>9.2f}x{r['cpu_s'] / ours['cpu_s']:>9.2f}x"
                         f"{r['peak_rss_mb'] / ours['peak_rss_mb']:>9.2f}x")
            print(f"{name:<16}{r['wall_s']:>8.2f}{r['user_s']:>8.2f}{r['sys_s']:>8.2f}{100 * r['sys_s'] / r['cpu_s']:>6.0f}%"
                  f"{r['peak_rss_mb']:>9.0f}{mb / r['cpu_s']:>10.0f}   {ratio}")


if __name__ == "__main__":
    main()

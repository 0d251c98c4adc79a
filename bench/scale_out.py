#!/usr/bin/env python3
"""Scale-out: what sharding a run costs and gives, next to one run and DuckDB, in one go.

The same orders, split into `--files` NDJSON files, converted with the five data-quality checks
of etl_vs_peers.py (`IsUnique "order_id"` keeps an exact table of every id, the largest state a
shard hands to the merge):

- one `gluepipe-etl run` over all files (default threads);
- `--shards` shards started together (`run --shard-inputs`, the files dealt round-robin, threads
  split between them), then `gluepipe-etl merge`: wall time of the slowest shard, of the merge,
  and the size of the shard states the merge reads;
- DuckDB converting the same files and running the same checks, as the peer.

On one 2-core machine the shards share the cores a single run already uses, so the point is not a
speed-up here but the overhead of sharding: the merge's time and memory and the states' size,
which a Distributed Map pays once per run while the shards run on separate machines.

    scripts/bench-scale-out.sh                       # 1M orders in 8 files, 2 shards
    scripts/bench-scale-out.sh --rows 200000 --shards 4
"""
import argparse
import json
import os
import subprocess
import sys
import time

from etl_vs_peers import DUCKDB, RULES, finish, fresh, measure, start

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
AT = "2026-11-25T12:00:00Z"


def split_input(src, folder, files):
    """Deals the lines of `src` round-robin into `files` files under `folder`."""
    fresh(folder)
    outs = [open(os.path.join(folder, f"part-{i:03d}.json"), "w") for i in range(files)]
    with open(src) as f:
        for n, line in enumerate(f):
            outs[n % files].write(line)
    for o in outs:
        o.close()
    return sorted(os.path.join(folder, n) for n in os.listdir(folder))


def run_together(argvs):
    """Starts every command at once; returns (wall s of all, [(wall, cpu, peak MB, code, tail)])."""
    t0 = time.perf_counter()
    results = [finish(*p) for p in [start(a) for a in argvs]]
    return time.perf_counter() - t0, results


def check(name, result):
    if result[3] != 0:
        sys.exit(f"{name} failed (exit {result[3]}): {result[4]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/gluepipe-etl"))
    ap.add_argument("--workdir", default=os.path.join(REPO, "target/bench-scale-out"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    python = sys.executable
    os.makedirs(args.workdir, exist_ok=True)

    src = os.path.join(args.workdir, f"orders-{args.rows}.json")
    if not os.path.exists(src):
        print(f"generating {args.rows} orders", file=sys.stderr)
        subprocess.run([python, os.path.join(HERE, "gen_orders.py"), "--rows", str(args.rows), "--out", src],
                       check=True)
    files = split_input(src, os.path.join(args.workdir, "in"), args.files)
    size_mb = sum(os.path.getsize(f) for f in files) / 1e6
    rules = os.path.join(args.workdir, "rules.dqdl")
    with open(rules, "w") as f:
        f.write(RULES)
    cores = os.cpu_count() or 2
    base = ["--input", os.path.join(args.workdir, "in"), "--rules", rules, "--evaluated-at", AT, "--no-progress"]

    out = fresh(os.path.join(args.workdir, "single"))
    single = measure([args.bin, "run", *base, "--output", out])
    check("single run", single)

    out = fresh(os.path.join(args.workdir, "sharded"))
    threads = str(max(1, cores // args.shards))
    shard_cmds = []
    for s in range(args.shards):
        items = json.dumps(files[s::args.shards])
        shard_cmds.append([args.bin, "run", *base, "--output", out, "--run-id", "bench", "--threads", threads,
                           "--shard-inputs", items])
    shards_wall, shards = run_together(shard_cmds)
    for i, r in enumerate(shards):
        check(f"shard {i}", r)
    states = os.path.join(out, "_gluepipe/shards/bench")
    state_mb = sum(os.path.getsize(os.path.join(states, n)) for n in os.listdir(states)) / 1e6
    merge = measure([args.bin, "merge", *base, "--output", out, "--run-id", "bench"])
    check("merge", merge)

    duck_out = fresh(os.path.join(args.workdir, "duckdb"))
    glob = os.path.join(args.workdir, "in", "*.json")
    duck = measure([python, "-c", DUCKDB, glob, duck_out, "1"])
    check("duckdb", duck)

    sharded_total = shards_wall + merge[0]
    rows = [
        ("gluepipe, one run", single[0], single[1], single[2]),
        (f"gluepipe, {args.shards} shards together", shards_wall, sum(r[1] for r in shards),
         max(r[2] for r in shards)),
        ("gluepipe, merge", merge[0], merge[1], merge[2]),
        ("gluepipe, shards + merge", sharded_total, sum(r[1] for r in shards) + merge[1],
         max(max(r[2] for r in shards), merge[2])),
        ("duckdb, one process", duck[0], duck[1], duck[2]),
    ]
    print(f"\n{args.rows} orders, {size_mb:.0f} MB in {args.files} files, five DQ checks, {cores} cores\n")
    print(f"{'run':34} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'wall vs one run':>16}")
    for name, wall, cpu, rss in rows:
        print(f"{name:34} {wall:7.2f} {cpu:7.2f} {rss:8.0f} {wall / single[0]:15.2f}x")
    print(f"\nshard states read by the merge: {state_mb:.1f} MB "
          f"({state_mb * 1e6 / args.rows:.0f} bytes per row, almost all the exact IsUnique table)")
    print(f"merge share of the sharded wall time: {merge[0] / sharded_total:.1%}; "
          f"duckdb vs shards + merge: {duck[0] / sharded_total:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "files": args.files, "shards": args.shards, "state_mb": state_mb,
                       "runs": [{"run": n, "wall": w, "cpu": c, "peak_mb": r} for n, w, c, r in rows]}, f, indent=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Scale-out benchmark: one gluepipe-etl run vs shards + merge vs DuckDB on the same files
# (bench/scale_out.py has the details; figures in bench/README.md).
#
#   scripts/bench-scale-out.sh                          # 1M orders in 8 files, 2 shards
#   scripts/bench-scale-out.sh --rows 200000 --shards 4 # any scale_out.py flag passes through
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/bootstrap.sh
python=${GLUEPIPE_PYTHON:-${GLUEPIPE_TOOLS:-$repo/.tools}/venv/bin/python}

echo "bench: building gluepipe-etl (release)" >&2
cargo build --release -q -p gluepipe-etl --bin gluepipe-etl
exec "$python" bench/scale_out.py "$@"

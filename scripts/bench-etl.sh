#!/usr/bin/env bash
# The JSON → Parquet benchmark: gluepipe-etl against DuckDB, pyarrow and polars on the same
# generated orders (bench/etl_vs_peers.py has the details and caveats; figures in bench/README.md).
#
#   scripts/bench-etl.sh                 # 1M orders (~470 MB); about 10 minutes on 2 cores
#   scripts/bench-etl.sh --rows 200000   # quicker; any etl_vs_peers.py flag passes through
#   scripts/bench-etl.sh --cores one     # only the one-pinned-core table (all, both: the default)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/bootstrap.sh
python=${GLUEPIPE_PYTHON:-${GLUEPIPE_TOOLS:-$repo/.tools}/venv/bin/python}

echo "bench: building gluepipe-etl (release)" >&2
cargo build --release -q -p gluepipe-etl --bin gluepipe-etl --example serde_json_baseline
exec "$python" bench/etl_vs_peers.py "$@"

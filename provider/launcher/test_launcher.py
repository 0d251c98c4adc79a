"""Tests of the Glue Python-shell launcher: `python -m unittest test_launcher` in this folder.

S3 is replaced by a folder-backed fake; the "ETL binary" is a small shell script, so the tests run
the launcher's real download, checksum, process and exit-code paths.
"""

import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import launcher  # noqa: E402


class FakeS3:
    """`download_file` from a dict of {(bucket, key): bytes}."""

    def __init__(self, objects):
        self.objects = objects
        self.downloads = []
        self.uploads = {}

    def upload_file(self, path, bucket, key):
        with open(path, "rb") as f:
            self.uploads[(bucket, key)] = f.read()

    def download_file(self, bucket, key, path):
        self.downloads.append((bucket, key))
        if (bucket, key) not in self.objects:
            raise FileNotFoundError("NoSuchKey: s3://{}/{}".format(bucket, key))
        with open(path, "wb") as f:
            f.write(self.objects[(bucket, key)])


def stand_in_binary(body):
    """A shell script standing in for gluepipe-etl; `body` runs with the arguments in "$@"."""
    return ("#!/bin/sh\n" + textwrap.dedent(body)).encode()


class Fixture:
    def __init__(self, binary, spec=b'{"name": "orders"}'):
        self.binary = binary
        self.sha = hashlib.sha256(binary).hexdigest()
        self.s3 = FakeS3({
            ("artifacts", "gluepipe/orders/gluepipe-etl-" + self.sha): binary,
            ("artifacts", "gluepipe/orders/spec.json"): spec,
        })

    def argv(self, *extra, sha=None):
        return [
            "--JOB_NAME", "orders", "--JOB_RUN_ID", "jr_1",
            "--job-language", "python",
            "--gluepipe_spec_uri", "s3://artifacts/gluepipe/orders/spec.json",
            "--gluepipe_etl_uri", "s3://artifacts/gluepipe/orders/gluepipe-etl-" + self.sha,
            "--gluepipe_etl_sha256", sha or self.sha,
            *extra,
        ]


class LauncherTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="launcher-test-")
        self.out = io.StringIO()
        self.err = io.StringIO()

    def tearDown(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def launch(self, fixture, *extra, sha=None):
        return launcher.launch(fixture.argv(*extra, sha=sha), s3=fixture.s3, workdir=self.workdir,
                               out=self.out, err=self.err)

    # ----- arguments -----

    def test_parse_job_args(self):
        cases = [
            ([], {}),
            (["--a", "1", "--b", "2"], {"a": "1", "b": "2"}),
            (["--enable-metrics", "--x", "y"], {"enable_metrics": "", "x": "y"}),
            (["--input", "s3://a/", "--input", "s3://b/"], {"input": "s3://b/"}),
            (["stray", "--k", "v", "--"], {"k": "v"}),
            (["--on-dq-failure", "warn"], {"on_dq_failure": "warn"}),
        ]
        for argv, want in cases:
            with self.subTest(argv=argv):
                self.assertEqual(launcher.parse_job_args(argv), want)

    def test_run_arguments_become_etl_flags(self):
        args = launcher.parse_job_args([
            "--input", "s3://raw/a/, s3://raw/b/", "--output", "s3://cur/x/",
            "--on_dq_failure", "warn", "--max_bad_records", "10", "--JOB_RUN_ID", "jr",
            "--compression", "",
        ])
        self.assertEqual(
            launcher.etl_command("/bin/etl", "/w/spec.json", "/w/results.json", args),
            ["/bin/etl", "run", "/w/spec.json", "--results", "/w/results.json",
             "--input", "s3://raw/a/", "s3://raw/b/", "--output", "s3://cur/x/",
             "--on-dq-failure", "warn", "--max-bad-records", "10"],
        )
        self.assertEqual(launcher.etl_command("e", "s", "r", {}), ["e", "run", "s", "--results", "r"])

    def test_missing_job_arguments_are_named(self):
        with self.assertRaises(launcher.LaunchError) as ctx:
            launcher.launch(["--JOB_NAME", "x", "--gluepipe_spec_uri", "s3://a/b"], s3=FakeS3({}),
                            workdir=self.workdir, out=self.out)
        self.assertIn("--gluepipe_etl_uri", str(ctx.exception))
        self.assertIn("--gluepipe_etl_sha256", str(ctx.exception))
        self.assertNotIn("--gluepipe_spec_uri", str(ctx.exception))

    # ----- scale-out modes -----

    SHARD = ("--gluepipe_mode", "shard", "--gluepipe_run_id", "exec-1",
             "--gluepipe_evaluated_at", "2024-05-01T10:00:00.000Z")

    def test_modes_map_to_etl_commands(self):
        shared = {"gluepipe_run_id": "exec-1", "gluepipe_evaluated_at": "2024-05-01T10:00:00Z",
                  "output": "s3://cur/x/"}
        cases = [
            ("run", {"output": "s3://cur/x/"}, None,
             ["e", "run", "s", "--results", "r", "--output", "s3://cur/x/"]),
            ("shard", shared, "/w/items.json",
             ["e", "run", "s", "--run-id=exec-1", "--evaluated-at", "2024-05-01T10:00:00Z",
              "--shard-inputs", "@/w/items.json", "--output", "s3://cur/x/"]),
            ("merge", shared, None,
             ["e", "merge", "s", "--run-id=exec-1", "--evaluated-at", "2024-05-01T10:00:00Z",
              "--results", "r", "--output", "s3://cur/x/"]),
            ("discard", {"gluepipe_run_id": "exec-1", "output": "s3://cur/x/"}, None,
             ["e", "merge", "s", "--run-id=exec-1", "--discard", "--output", "s3://cur/x/"]),
        ]
        for mode, args, items, want in cases:
            with self.subTest(mode=mode):
                self.assertEqual(launcher.etl_command("e", "s", "r", args, mode, items), want)

    def test_mode_defaults_to_run_and_is_checked(self):
        self.assertEqual(launcher.run_mode({}), "run")
        self.assertEqual(launcher.run_mode({"gluepipe_mode": ""}), "run")
        self.assertEqual(launcher.run_mode(launcher.parse_job_args(list(self.SHARD) + [
            "--gluepipe_shard_inputs", "[]"])), "shard")
        with self.assertRaises(launcher.LaunchError) as ctx:
            launcher.run_mode({"gluepipe_mode": "fanout"})
        self.assertIn("use run, shard, merge, discard", str(ctx.exception))
        self.assertEqual(launcher.run_mode({"gluepipe_mode": "discard", "gluepipe_run_id": "x"}), "discard")

    def test_shard_and_merge_need_their_run_arguments(self):
        cases = [
            ({"gluepipe_mode": "shard"},
             ["--gluepipe_run_id", "--gluepipe_evaluated_at", "--gluepipe_shard_inputs"]),
            ({"gluepipe_mode": "shard", "gluepipe_run_id": "x", "gluepipe_evaluated_at": "t"},
             ["--gluepipe_shard_inputs"]),
            ({"gluepipe_mode": "merge", "gluepipe_run_id": "x"}, ["--gluepipe_evaluated_at"]),
            ({"gluepipe_mode": "discard", "gluepipe_evaluated_at": "t"}, ["--gluepipe_run_id"]),
        ]
        for args, missing in cases:
            with self.subTest(args=args):
                with self.assertRaises(launcher.LaunchError) as ctx:
                    launcher.run_mode(args)
                message = str(ctx.exception)
                self.assertTrue(message.startswith(args["gluepipe_mode"] + " mode needs"), message)
                for key in missing:
                    self.assertIn(key, message)
                self.assertNotIn("--gluepipe_mode", message)

    def test_a_shard_without_items_fails_before_anything_is_fetched(self):
        fixture = Fixture(stand_in_binary("touch ran\n"))
        with self.assertRaises(launcher.LaunchError) as ctx:
            self.launch(fixture, *self.SHARD)
        self.assertIn("--gluepipe_shard_inputs", str(ctx.exception))
        self.assertEqual(fixture.s3.downloads, [])
        self.assertEqual(os.listdir(self.workdir), [])

    def test_shard_inputs_must_be_a_json_array(self):
        for text, reason in [("s3://raw/a.json", "is not JSON"), ('{"Key": "a"}', "must be a JSON array")]:
            with self.subTest(text=text):
                fixture = Fixture(stand_in_binary("exit 0\n"))
                with self.assertRaises(launcher.LaunchError) as ctx:
                    self.launch(fixture, *self.SHARD, "--gluepipe_shard_inputs", text)
                self.assertIn(reason, str(ctx.exception))
                self.assertEqual(fixture.s3.downloads, [])

    def test_a_shard_gets_its_items_as_a_file_and_keeps_no_run_record(self):
        items = [{"Key": "raw/orders/a.json", "Size": 10, "Etag": "\"e1\""}, "s3://raw/orders/b.json"]
        fixture = Fixture(stand_in_binary("""
            echo "$@" > "$(dirname "$2")/args-seen.txt"
            for a in "$@"; do case "$a" in @*) cp "${a#@}" "$(dirname "$2")/items-seen.json";; esac; done
            echo '{"rows_in": 2}' > "$(dirname "$2")/results.json"
        """), spec=b'{"name": "orders", "target": {"path": "s3://curated/orders/"}}')
        self.assertIsNone(self.launch(fixture, *self.SHARD, "--gluepipe_shard_inputs", json.dumps(items),
                                      "--write_mode", "overwrite"))
        with open(os.path.join(self.workdir, "items-seen.json")) as f:
            self.assertEqual(json.load(f), items)
        with open(os.path.join(self.workdir, "args-seen.txt")) as f:
            args = f.read().split()
        self.assertEqual(args[0], "run")
        self.assertEqual(args[2:], ["--run-id=exec-1", "--evaluated-at", "2024-05-01T10:00:00.000Z",
                                    "--shard-inputs", "@" + os.path.join(self.workdir, "shard-inputs.json"),
                                    "--write-mode", "overwrite"])
        self.assertEqual(fixture.s3.uploads, {})
        self.assertIn("job orders run jr_1 (shard of run exec-1)", self.out.getvalue())

    def test_a_failed_shard_reports_the_binary_error(self):
        fixture = Fixture(stand_in_binary('echo "error: shard: s3://raw/a.json: expected value" >&2; exit 1\n'))
        message = self.launch(fixture, *self.SHARD, "--gluepipe_shard_inputs", "[]")
        self.assertEqual(message, "gluepipe-etl failed with exit code 1: error: shard: s3://raw/a.json: expected value")

    def test_merge_keeps_the_run_record_and_names_failed_rules(self):
        results = {"data_quality": {"ruleOutcomes": [{"Rule": "RowCount > 10", "Outcome": "Failed"}]}}
        fixture = Fixture(stand_in_binary("""
            echo "$@" > "$(dirname "$2")/args-seen.txt"
            echo '{}' > "$(dirname "$2")/results.json"
            exit 3
        """.format(json.dumps(results))), spec=b'{"name": "orders", "target": {"path": "s3://curated/orders/"}}')
        merge = ("--gluepipe_mode", "merge") + self.SHARD[2:]
        message = self.launch(fixture, *merge)
        self.assertEqual(message, "data quality failed: 1 rule(s) failed: RowCount > 10")
        self.assertEqual(list(fixture.s3.uploads), [("curated", "orders/_gluepipe/runs/jr_1.json")])
        with open(os.path.join(self.workdir, "args-seen.txt")) as f:
            args = f.read().split()
        self.assertEqual(args[0], "merge")
        self.assertEqual(args[2:], ["--run-id=exec-1", "--evaluated-at", "2024-05-01T10:00:00.000Z",
                                    "--results", os.path.join(self.workdir, "results.json")])

    def test_discard_runs_merge_discard_and_keeps_no_run_record(self):
        fixture = Fixture(stand_in_binary("""
            echo "$@" > "$(dirname "$2")/args-seen.txt"
            echo "aborted 3 staged file(s) of run exec-1"
            echo '{}' > "$(dirname "$2")/results.json"
        """), spec=b'{"name": "orders", "target": {"path": "s3://curated/orders/"}}')
        self.assertIsNone(self.launch(fixture, "--gluepipe_mode", "discard", "--gluepipe_run_id", "exec-1",
                                      "--output", "s3://curated/other/"))
        with open(os.path.join(self.workdir, "args-seen.txt")) as f:
            args = f.read().split()
        self.assertEqual(args[0], "merge")
        self.assertEqual(args[2:], ["--run-id=exec-1", "--discard", "--output", "s3://curated/other/"])
        self.assertEqual(fixture.s3.uploads, {})
        log = self.out.getvalue()
        self.assertIn("job orders run jr_1 (discard of run exec-1)", log)
        self.assertIn("aborted 3 staged file(s) of run exec-1\n", log)
        self.assertIn("gluepipe: discarded what the shards of run exec-1 staged", log)

    def test_a_failed_discard_reports_the_binary_error(self):
        fixture = Fixture(stand_in_binary('echo "error: AccessDenied listing uploads" >&2; exit 1\n'))
        message = self.launch(fixture, "--gluepipe_mode", "discard", "--gluepipe_run_id", "exec-1")
        self.assertEqual(message, "gluepipe-etl failed with exit code 1: error: AccessDenied listing uploads")
        self.assertNotIn("discarded", self.out.getvalue())

    # ----- run ids -----

    @staticmethod
    def binary_takes(run_id):
        """gluepipe-etl's rule for run ids."""
        return (0 < len(run_id) <= 128 and not run_id.startswith(".")
                and re.fullmatch(r"[A-Za-z0-9._-]+", run_id) is not None)

    def test_execution_names_the_binary_takes_are_the_run_id(self):
        for name in ["exec-1", "a", "8f14e45f-ceea-467f-a0e8-1c2d3e4f5a6b", "run_2024.05.01",
                     "-starts-with-a-dash", "x" * 80, "y" * 128]:
            with self.subTest(name=name):
                self.assertEqual(launcher.run_id_for(name), name)

    def test_other_execution_names_become_valid_distinct_run_ids(self):
        digest = lambda name: hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]  # noqa: E731
        cases = [
            ("nightly+retry", "nightly-retry-" + digest("nightly+retry")),
            ("nightly=retry", "nightly-retry-" + digest("nightly=retry")),
            ("a@b", "a-b-" + digest("a@b")),
            ("café", "caf--" + digest("café")),
            (".hidden", "hidden-" + digest(".hidden")),
            ("..", digest("..")),
            ("", digest("")),
            ("日本", digest("日本")),
            ("+1", "1-" + digest("+1")),
            ("z" * 129, "z" * 111 + "-" + digest("z" * 129)),
        ]
        ids = set()
        for name, want in cases:
            with self.subTest(name=name):
                run_id = launcher.run_id_for(name)
                self.assertEqual(run_id, want)
                self.assertTrue(self.binary_takes(run_id), run_id)
                self.assertEqual(launcher.run_id_for(name), run_id, "deterministic")
                ids.add(run_id)
        # Names that read alike ('+' and '=' both become '-') still get their own run ids.
        self.assertEqual(len(ids), len(cases))

    def test_shards_merge_and_discard_of_an_execution_share_its_run_id(self):
        name = "nightly+2024-05-01"
        args = {"gluepipe_run_id": name, "gluepipe_evaluated_at": "2024-05-01T10:00:00Z"}
        seen = set()
        for mode in ("shard", "merge", "discard"):
            command = launcher.etl_command("e", "s", "r", args, mode, "/w/items.json")
            seen.update(a for a in command if a.startswith("--run-id="))
        self.assertEqual(seen, {"--run-id=" + launcher.run_id_for(name)})
        self.assertNotIn(name, launcher.run_id_for(name))

    def test_the_log_names_the_execution_when_the_run_id_differs(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        self.assertIsNone(self.launch(fixture, "--gluepipe_mode", "discard", "--gluepipe_run_id", "a@b"))
        self.assertIn("(discard of run {}, execution 'a@b')".format(launcher.run_id_for("a@b")),
                      self.out.getvalue())

    # ----- the binary -----

    def test_success_runs_the_binary_with_the_spec_and_streams_output(self):
        fixture = Fixture(stand_in_binary("""
            echo "rows: 3"
            echo "progress" >&2
            cat "$2" > "$(dirname "$2")/spec-seen.json"
            echo "$@" > "$(dirname "$2")/args-seen.txt"
        """))
        self.assertIsNone(self.launch(fixture, "--output", "s3://cur/o/"))
        self.assertIn("rows: 3\n", self.out.getvalue())
        self.assertIn("progress\n", self.err.getvalue())
        self.assertIn("run succeeded", self.out.getvalue())
        with open(os.path.join(self.workdir, "spec-seen.json")) as f:
            self.assertEqual(json.load(f), {"name": "orders"})
        with open(os.path.join(self.workdir, "args-seen.txt")) as f:
            args = f.read().split()
        self.assertEqual(args[0], "run")
        self.assertEqual(args[2:], ["--results", os.path.join(self.workdir, "results.json"), "--output", "s3://cur/o/"])
        mode = os.stat(os.path.join(self.workdir, "gluepipe-etl-" + fixture.sha)).st_mode
        self.assertTrue(mode & stat.S_IXUSR)

    def test_run_record_is_kept_under_the_target(self):
        spec = b'{"name": "orders", "target": {"path": "s3://curated/orders/"}}'
        fixture = Fixture(stand_in_binary("""
            echo '{"rows_in": 3}' > "$4"
        """), spec=spec)
        self.assertIsNone(self.launch(fixture))
        self.assertEqual(fixture.s3.uploads, {("curated", "orders/_gluepipe/runs/jr_1.json"): b'{"rows_in": 3}\n'})
        self.assertIn("run record at s3://curated/orders/_gluepipe/runs/jr_1.json", self.out.getvalue())

    def test_run_record_follows_an_output_override_and_failed_runs_keep_it(self):
        fixture = Fixture(stand_in_binary("""
            echo '{"rows_in": 1}' > "$4"
            exit 1
        """), spec=b'{"name": "orders", "target": {"path": "s3://curated/orders/"}}')
        self.assertIsNotNone(self.launch(fixture, "--output", "s3://other/x"))
        self.assertEqual(list(fixture.s3.uploads), [("other", "x/_gluepipe/runs/jr_1.json")])

    def test_no_run_record_for_local_targets_or_missing_results(self):
        local = Fixture(stand_in_binary("echo '{}' > \"$4\""), spec=b'{"target": {"path": "/data/out"}}')
        self.assertIsNone(self.launch(local))
        self.assertEqual(local.s3.uploads, {})
        silent = Fixture(stand_in_binary("true"), spec=b'{"target": {"path": "s3://curated/o/"}}')
        self.assertIsNone(self.launch(silent))
        self.assertEqual(silent.s3.uploads, {})

    def test_checksum_mismatch_is_refused_and_nothing_runs(self):
        fixture = Fixture(stand_in_binary("touch ran\n"))
        wrong = "0" * 64
        with self.assertRaises(launcher.LaunchError) as ctx:
            self.launch(fixture, sha=wrong)
        self.assertIn("refusing to run", str(ctx.exception))
        self.assertIn(fixture.sha, str(ctx.exception))
        self.assertEqual(os.listdir(self.workdir), [])

    def test_malformed_checksum_is_refused_before_download(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        with self.assertRaises(launcher.LaunchError):
            self.launch(fixture, sha="not-a-digest")
        self.assertEqual(fixture.s3.downloads, [])

    def test_verified_binary_is_downloaded_once(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        self.assertIsNone(self.launch(fixture))
        self.assertIsNone(self.launch(fixture))
        binaries = [d for d in fixture.s3.downloads if "gluepipe-etl" in d[1]]
        self.assertEqual(len(binaries), 1)

    def test_a_run_without_a_workdir_leaves_no_folder_behind(self):
        # The binary is tens of megabytes: a worker that runs job after job (or the emulator's job
        # runner) must not keep one copy per run in its temporary folder, on success or failure.
        scratch = tempfile.mkdtemp(prefix="launcher-tmp-")
        self.addCleanup(shutil.rmtree, scratch, True)
        saved = tempfile.tempdir
        tempfile.tempdir = scratch
        self.addCleanup(setattr, tempfile, "tempdir", saved)
        for body in ("exit 0\n", "echo 'error: bad input' >&2; exit 1\n"):
            fixture = Fixture(stand_in_binary(body))
            launcher.launch(fixture.argv(), s3=fixture.s3, out=self.out, err=self.err)
            self.assertEqual(os.listdir(scratch), [], body)

    def test_crash_reports_the_last_error_line(self):
        fixture = Fixture(stand_in_binary("""
            echo "reading s3://raw/a.json" >&2
            echo "error: s3://raw/a.json line 7: expected value" >&2
            echo "" >&2
            exit 1
        """))
        message = self.launch(fixture)
        self.assertEqual(message, "gluepipe-etl failed with exit code 1: error: s3://raw/a.json line 7: expected value")

    def test_the_reason_file_is_reported_not_the_last_stderr_line(self):
        fixture = Fixture(stand_in_binary("""
            echo "s3://raw/a.json line 7: expected value" > "$GLUEPIPE_REASON_FILE"
            echo "error: s3://raw/a.json line 7: expected value" >&2
            echo "" >&2
            echo "For more information, try '--help'." >&2
            exit 1
        """))
        message = self.launch(fixture)
        self.assertEqual(message, "gluepipe-etl failed with exit code 1: s3://raw/a.json line 7: expected value")

    def test_the_reason_names_run_arguments_not_etl_flags(self):
        fixture = Fixture(stand_in_binary("""
            echo "invalid value 'stop' for '--on-dq-failure <ON_DQ_FAILURE>' [possible values: fail, warn, quarantine]" > "$GLUEPIPE_REASON_FILE"
            echo "For more information, try '--help'." >&2
            exit 2
        """))
        message = self.launch(fixture, "--on_dq_failure", "stop")
        self.assertIn("run argument --on_dq_failure (data_quality.on_failure)", message)
        self.assertNotIn("--on-dq-failure", message)
        self.assertNotIn("--help", message)

    def test_a_stale_reason_file_is_not_reported(self):
        with open(os.path.join(self.workdir, "reason.txt"), "w") as f:
            f.write("an earlier run's reason\n")
        fixture = Fixture(stand_in_binary("echo 'error: this run' >&2; exit 1\n"))
        self.assertEqual(self.launch(fixture), "gluepipe-etl failed with exit code 1: error: this run")

    def test_unknown_run_arguments_are_refused_with_the_known_ones(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        with self.assertRaises(launcher.LaunchError) as ctx:
            self.launch(fixture, "--ouput", "s3://curated/x/")
        text = str(ctx.exception)
        self.assertIn("unknown run argument --ouput", text)
        self.assertIn("--output (target.path)", text)
        self.assertIn("--on_dq_failure (data_quality.on_failure)", text)
        self.assertEqual(fixture.s3.downloads, [], "refused before anything is fetched")

    def test_arguments_glue_itself_passes_are_accepted(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        message = self.launch(fixture, "--job-bookmark-option", "job-bookmark-disable",
                              "--TempDir", "s3://tmp/", "--enable-metrics", "--JOB_ID", "j_1",
                              "--scriptLocation", "s3://a/launcher.py", "--output", "s3://c/x/")
        self.assertIsNone(message, self.out.getvalue())

    def test_killed_binary(self):
        fixture = Fixture(stand_in_binary("kill -9 $$\n"))
        self.assertEqual(self.launch(fixture), "gluepipe-etl was killed by signal 9")

    def test_data_quality_failure_names_the_failed_rules(self):
        # The shape gluepipe-etl writes (its RunRecord with DqResults).
        results = {
            "run_id": "r1",
            "status": "data_quality_failed",
            "data_quality": {
                "outcome": "Failed",
                "score": 0.33,
                "rowCount": 5,
                "ruleOutcomes": [
                    {"Rule": "ColumnCount > 0", "Outcome": "Passed", "FailureReason": None},
                    {"Rule": 'IsComplete "order_id"', "Outcome": "Failed", "FailureReason": "2 nulls"},
                    {"Rule": 'IsUnique "order_id"', "Outcome": "Failed", "FailureReason": None},
                ],
            },
        }
        fixture = Fixture(stand_in_binary("""
            cat > "$4" <<'EOF'
            {}
            EOF
            echo "data quality failed" >&2
            exit 3
        """.format(json.dumps(results))))
        message = self.launch(fixture)
        self.assertEqual(
            message,
            'data quality failed: 2 rule(s) failed: IsComplete "order_id" (2 nulls); IsUnique "order_id"',
        )

    def test_data_quality_failure_without_results(self):
        fixture = Fixture(stand_in_binary('echo "3 rules failed" >&2; exit 3\n'))
        self.assertEqual(self.launch(fixture), "data quality failed (3 rules failed)")

    def test_missing_spec_object_fails(self):
        fixture = Fixture(stand_in_binary("exit 0\n"))
        del fixture.s3.objects[("artifacts", "gluepipe/orders/spec.json")]
        with self.assertRaises(FileNotFoundError):
            self.launch(fixture)

    # ----- results -----

    def test_failed_rules_reads_several_shapes(self):
        cases = [
            ({"data_quality": {"ruleOutcomes": [{"Rule": "R0", "Outcome": "Error"}]}}, ["R0"]),
            ({"data_quality": {"rule_results": [{"rule": "R1", "outcome": "FAILED"}]}}, ["R1"]),
            ({"data_quality": [{"Rule": "R3", "Outcome": "Failed"}, {"Rule": "R4", "Outcome": "Passed"}]}, ["R3"]),
            ({"data_quality": {"RuleResults": [{"Rule": "R2", "Outcome": "Failed"}]}}, ["R2"]),
            ({"data_quality": []}, []),
            ({"rows_in": 1}, []),
            ([], []),
        ]
        for doc, want in cases:
            with self.subTest(doc=doc):
                path = os.path.join(self.workdir, "r.json")
                with open(path, "w") as f:
                    json.dump(doc, f)
                self.assertEqual(launcher.failed_rules(path), want)
        self.assertEqual(launcher.failed_rules(os.path.join(self.workdir, "absent.json")), [])

    def test_outcome_messages(self):
        self.assertIsNone(launcher.outcome_message(0, "", "/nonexistent"))
        self.assertEqual(launcher.outcome_message(2, "", "/nonexistent"), "gluepipe-etl failed with exit code 2: no error output")

    # ----- as Glue runs it -----

    def test_script_exit_status_and_last_line(self):
        """Run as a script, a failure exits non-zero with `gluepipe: ...` as the last stderr line."""
        proc = subprocess.run([sys.executable, launcher.__file__, "--JOB_NAME", "x"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.workdir)
        self.assertEqual(proc.returncode, 1)
        last = proc.stderr.decode().strip().splitlines()[-1]
        self.assertTrue(last.startswith("gluepipe: job arguments missing: --gluepipe_spec_uri"), last)


if __name__ == "__main__":
    unittest.main()

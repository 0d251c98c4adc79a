"""gluepipe's local AWS emulator: moto 5.2.5 on 127.0.0.1, mended where it falls short.

Run as `python emulator.py [--port N]`. It prints exactly one line `READY http://127.0.0.1:PORT`
on stdout once every service answers, then serves until SIGTERM/SIGINT. Everything else goes to
stderr (the caller keeps it as the emulator log).

What this adds to plain moto (each mend checks that the moto code it replaces is still the code
it was written against, and refuses to start otherwise):
- Step Functions executions are switched on before anything can be created.
- `arn:aws:states:::glue:startJobRun.sync` works (moto calls `interrupt_all` on a missing
  callback endpoint), `DescribeExecution` serialises datetimes in outputs, and an unnamed
  `StartExecution` gets a unique name instead of "None".
- Glue `UpdateJob` and `BatchStopJobRun` exist; `CreateJob` on an existing name fails as on AWS.
- Distributed Map states work as scaled-out pipelines use them: `ItemBatcher` (`MaxItemsPerBatch`,
  `MaxInputBytesPerBatch`, `BatchInput`; moto's grammar lacks it) batches the items, each first
  through the state's own `ItemSelector`, into `{"BatchInput": …, "Items": […]}`;
  the `s3:listObjectsV2` item reader lists every page and gives objects in AWS's shape
  (`Etag`, `Key`, `LastModified` in epoch seconds, `Size`, `StorageClass`), an empty prefix as no
  items; and a map run whose failed children exceed `ToleratedFailureCount`/`Percentage` fails
  with `States.ExceedToleratedFailureThreshold` (moto ignored failed children).
- The context object's `$$.Execution.StartTime` is an ISO 8601 string, as on AWS (moto put a
  datetime there, which broke any task that passed it on).
- A job runner: each Glue `StartJobRun` executes a local command (see `JobRunner`), so a run
  really runs our launcher and ETL binary, ending SUCCEEDED on exit 0 and FAILED with the last
  stderr line otherwise.
- IAM `CreateRole` refuses a name that differs from an existing role's only in case, as AWS
  does (role names are unique case-insensitively; moto compared them exactly).
- Fault injection for tests: `POST /_gluepipe/faults` makes the next N calls of one API action fail;
  `POST /_gluepipe/outage` makes every AWS call fail from the Nth on, as if the endpoint went away.
- With `--iam`, IAM enforcement (see `iam_enforcement.py`): every request is authorized against
  the caller's policies; the test bench acts as an admin user (`GET /_gluepipe/iam` gives its
  keys); a job run acts with a session of its job role (its script download, the command's
  environment, its CloudWatch Logs streams), and a Step Functions execution with its state
  machine's role.

Control endpoints (JSON bodies), served beside the AWS APIs on the same port:
- `POST /_gluepipe/job-runner` `{"command": [...], "env": {...}}` — run this command for every
  job run, with `--JOB_NAME`, `--JOB_RUN_ID` and the run's arguments appended as `--key value`;
  `{"mode": "script", "python": "...", "env": {...}}` — download the job's ScriptLocation from
  S3 and run it with that Python, as Glue Python shell does; `{}` — back to moto's instant success.
- `POST /_gluepipe/faults` `{"action": "CreateStateMachine", "count": 1, "status": 400,
  "code": "ServiceUnavailable", "message": "..."}` — fail the next `count` calls of `action`.
- `POST /_gluepipe/outage` `{"after": N}` — the first N AWS calls from now succeed, every later
  one fails with HTTP 503 `ServiceUnavailable` until `{"end": true}`.
- `GET /_gluepipe/job-runs` — every run the runner started, with its command, exit code and logs.
- `GET /_gluepipe/iam` — with `--iam`, the admin user's keys; `GET /_gluepipe/denials` — every
  request IAM denied so far (principal, action, resource).
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import urllib.request
import uuid
from typing import Any, Callable

MOTO_VERSION = "5.2.5"


def log(msg: str) -> None:
    print(f"[emulator] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Mending moto: every change is checked against the code it was written for.
# --------------------------------------------------------------------------------------------


class MendError(RuntimeError):
    pass


def rewrite_method(owner: Any, name: str, old: str, new: str) -> None:
    """Replace the text `old` (which must occur exactly once) in `owner.name`'s source."""
    func = getattr(owner, name)
    source = textwrap.dedent(inspect.getsource(func))
    if source.count(old) != 1:
        raise MendError(
            f"moto changed: {owner.__qualname__}.{name} no longer contains {old!r} exactly once; "
            "review tests/bench/emulator.py against the installed moto"
        )
    # Continuation lines of `new` are indented relative to the line where `old` stands.
    line_start = source.rfind("\n", 0, source.index(old)) + 1
    indent = source[line_start:len(source) - len(source[line_start:].lstrip())]
    new = new.replace("\n", "\n" + indent)
    module = sys.modules[func.__module__]
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(old, new), inspect.getsourcefile(func) or "<mend>", "exec"),
         module.__dict__, namespace)
    setattr(owner, name, namespace[name])


def add_method(owner: Any, name: str, func: Callable[..., Any]) -> None:
    """Add a method moto lacks; if moto has grown one, our copy must go."""
    if name in owner.__dict__:
        raise MendError(
            f"moto changed: {owner.__qualname__}.{name} exists now; remove gluepipe's stand-in"
        )
    setattr(owner, name, func)


def iso_default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def mend_moto(runner: "JobRunner") -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise MendError(f"this emulator mends moto {MOTO_VERSION}, found {moto.__version__}")

    from moto.glue import exceptions as glue_exceptions
    from moto.glue import models as glue_models
    from moto.glue import responses as glue_responses
    from moto.stepfunctions import responses as sfn_responses
    from moto.stepfunctions.parser import models as sfn_models
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_mod,
    )
    from moto.core.responses import ActionResult

    # 1. `.sync` tasks have no callback endpoint; moto interrupts it unconditionally.
    rewrite_method(
        callback_mod.StateTaskServiceCallback,
        "_eval_integration_pattern",
        "callback_endpoint.interrupt_all()",
        "if callback_endpoint is not None:\n    callback_endpoint.interrupt_all()",
    )

    # 2. A GetJobRun result (datetimes) in an execution's output broke DescribeExecution.
    rewrite_method(
        sfn_responses.StepFunctionResponse,
        "describe_execution",
        'response["output"] = json.dumps(execution.output)',
        'response["output"] = json.dumps(execution.output, default=_gluepipe_iso)',
    )
    sfn_responses._gluepipe_iso = iso_default  # type: ignore[attr-defined]

    # 3. An unnamed execution is named "None" (and so collides with the next one).
    original_start = sfn_models.StepFunctionsParserBackend.start_execution
    if "exec_name = name  # TODO: validate name format" not in inspect.getsource(original_start):
        raise MendError("moto changed: StepFunctionsParserBackend.start_execution naming")

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    sfn_models.StepFunctionsParserBackend.start_execution = start_execution

    # 4. CreateJob silently replaced an existing job; AWS refuses.
    rewrite_method(
        glue_models.GlueBackend,
        "create_job",
        "self.jobs[name] = FakeJob(",
        "if name in self.jobs:\n    raise _GluepipeJobExists()\nself.jobs[name] = FakeJob(",
    )

    class JobExists(glue_exceptions.AlreadyExistsException):
        def __init__(self) -> None:
            super().__init__("Job")

    glue_models._GluepipeJobExists = JobExists  # type: ignore[attr-defined]

    # 5. UpdateJob: AWS overwrites the whole definition with JobUpdate (absent fields reset).
    def update_job(self: Any) -> Any:
        name = self._get_param("JobName")
        update = self._get_param("JobUpdate") or {}
        job = self.glue_backend.get_job(name)
        job.description = update.get("Description")
        job.log_uri = update.get("LogUri")
        job.role = update.get("Role")
        job.execution_property = update.get("ExecutionProperty") or {}
        job.command = update.get("Command")
        job.default_arguments = update.get("DefaultArguments") or {}
        job.non_overridable_arguments = update.get("NonOverridableArguments")
        job.connections = update.get("Connections")
        job.max_retries = update.get("MaxRetries")
        job.allocated_capacity = update.get("AllocatedCapacity")
        job.timeout = update.get("Timeout")
        job.max_capacity = update.get("MaxCapacity")
        job.security_configuration = update.get("SecurityConfiguration")
        job.notification_property = update.get("NotificationProperty")
        job.glue_version = update.get("GlueVersion")
        job.number_of_workers = update.get("NumberOfWorkers")
        job.worker_type = update.get("WorkerType")
        job.code_gen_configuration_nodes = update.get("CodeGenConfigurationNodes")
        job.execution_class = update.get("ExecutionClass") or "STANDARD"
        job.source_control_details = update.get("SourceControlDetails")
        job.last_modified_on = glue_models.utcnow()
        return ActionResult({"JobName": name})

    add_method(glue_responses.GlueResponse, "update_job", update_job)

    # 6. BatchStopJobRun: stop the runs (and their processes).
    def batch_stop_job_run(self: Any) -> Any:
        name = self._get_param("JobName")
        run_ids = self._get_param("JobRunIds") or []
        job = self.glue_backend.get_job(name)
        ok, errors = [], []
        for run_id in run_ids:
            run = next((r for r in job.job_runs if r.job_run_id == run_id), None)
            if run is None:
                errors.append({"JobName": name, "JobRunId": run_id,
                               "ErrorDetail": {"ErrorCode": "EntityNotFoundException",
                                               "ErrorMessage": f"Job run {run_id} not found"}})
                continue
            runner.stop(run)
            ok.append({"JobName": name, "JobRunId": run_id})
        return ActionResult({"SuccessfulSubmissions": ok, "Errors": errors})

    add_method(glue_responses.GlueResponse, "batch_stop_job_run", batch_stop_job_run)

    # 7. The job runner: job runs execute a local command.
    runner.install(glue_models)

    # 8-10. Distributed Map: item batches, a complete S3 listing, the tolerated failure threshold.
    mend_distributed_map()

    # 11. `$$.Execution.StartTime` is text on AWS ("2024-05-01T10:00:00.123Z").
    from moto.stepfunctions.parser.backend import execution_worker

    rewrite_method(
        execution_worker.ExecutionWorker,
        "_get_evaluation_environment",
        "StartTime=self._evaluation_details.execution_details.start_time,",
        "StartTime=_gluepipe_context_time(self._evaluation_details.execution_details.start_time),",
    )
    execution_worker._gluepipe_context_time = context_time  # type: ignore[attr-defined]

    # 12. IAM role names are unique case-insensitively on AWS (`Orders-glue` collides with
    #     `orders-glue`); moto compared them exactly.
    from moto.iam import models as iam_models

    rewrite_method(
        iam_models.IAMBackend,
        "create_role",
        "if [role for role in self.get_roles() if role.name == role_name]:",
        "if [role for role in self.get_roles() if role.name.lower() == role_name.lower()]:",
    )
    # …and atomically: moto's check-then-insert raced under the threaded server (two concurrent
    # CreateRole calls of one name both succeeded, the second replacing the first).
    case_checked_create_role = iam_models.IAMBackend.create_role
    create_role_lock = threading.Lock()

    def create_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        with create_role_lock:
            return case_checked_create_role(self, *args, **kwargs)

    iam_models.IAMBackend.create_role = create_role


def context_time(value: Any) -> Any:
    """A time in the context object as Step Functions writes it: UTC, milliseconds, `Z`."""
    if not isinstance(value, datetime.datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    text = value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


BATCH_LIMITS = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")


def adapt_map_states(states: dict[str, Any], batchers: dict[str, dict[str, Any]]) -> bool:
    """Rewrites the Map states in `states` (and in the state machines nested in them) into what
    moto's grammar takes; returns whether anything changed:
    - an integer `ToleratedFailurePercentage` (AWS takes any number; moto only a decimal one)
      becomes a float;
    - an `ItemBatcher` becomes the `ItemSelector` that builds one batch's input, `{"BatchInput":
      …, "Items": <the batch>}`, once the items handed to a child are a batch; each map's
      limits and own `ItemSelector` (which AWS applies to every item before batching) are
      recorded in `batchers`, by state name."""
    changed = False
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        nested = [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]
        for machine in nested:
            if isinstance(machine, dict) and isinstance(machine.get("States"), dict):
                changed |= adapt_map_states(machine["States"], batchers)
        if state.get("Type") != "Map":
            continue
        percentage = state.get("ToleratedFailurePercentage")
        if isinstance(percentage, int) and not isinstance(percentage, bool):
            state["ToleratedFailurePercentage"] = float(percentage)
            changed = True
        batcher = state.get("ItemBatcher")
        if batcher is None:
            continue
        limits = {key: batcher[key] for key in BATCH_LIMITS if key in batcher}
        unsupported = set(batcher) - {*BATCH_LIMITS, "BatchInput"}
        if unsupported or not limits or not all(
                type(value) is int and value > 0 for value in limits.values()):
            raise ValueError(f"the gluepipe emulator batches Map items only with positive integer "
                             f"MaxItemsPerBatch and/or MaxInputBytesPerBatch, and BatchInput "
                             f"(state {name})")
        config = {"max_items": limits.get("MaxItemsPerBatch"),
                  "max_bytes": limits.get("MaxInputBytesPerBatch"),
                  "item_selector": state.get("ItemSelector")}
        if batchers.setdefault(name, config) != config:
            raise ValueError(f"the gluepipe emulator needs Map states with batches named apart ({name})")
        selector: dict[str, Any] = {"Items.$": "$$.Map.Item.Value"}
        if "BatchInput" in batcher:
            selector["BatchInput"] = batcher["BatchInput"]
        state["ItemSelector"] = selector
        del state["ItemBatcher"]
        changed = True
    return changed


def json_size(value: Any) -> int:
    """Bytes of `value` as compact UTF-8 JSON, the measure of `MaxInputBytesPerBatch`."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class BatchTooLarge(ValueError):
    pass


def cut_batches(items: list[Any], max_items: int | None, max_bytes: int | None) -> list[list[Any]]:
    """Items in order, cut into batches of at most `max_items` items whose JSON array is at most
    `max_bytes` bytes (each limit only if given). An item that alone exceeds `max_bytes` is
    refused (AWS documents no behaviour for it)."""
    batches: list[list[Any]] = []
    batch: list[Any] = []
    size = 2  # "[]"
    for index, item in enumerate(items):
        item_size = json_size(item)
        if max_bytes is not None and 2 + item_size > max_bytes:
            raise BatchTooLarge(f"item {index} is {item_size} bytes of JSON, more than "
                                f"MaxInputBytesPerBatch {max_bytes} allows")
        grown = size + item_size + (1 if batch else 0)  # and a comma
        full = ((max_items is not None and len(batch) >= max_items)
                or (max_bytes is not None and grown > max_bytes))
        if batch and full:
            batches.append(batch)
            batch, grown = [], 2 + item_size
        batch.append(item)
        size = grown
    if batch:
        batches.append(batch)
    return batches


class Batcher:
    """A Map state's `ItemBatcher` as Step Functions applies it: every item through the state's
    own `ItemSelector` (moto's parsed component, or None), then cut into batches."""

    def __init__(self, max_items: int | None, max_bytes: int | None, item_selector: Any) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.item_selector = item_selector

    def batches(self, env: Any, items: list[Any]) -> list[list[Any]]:
        if self.item_selector is not None:
            items = [self.select(env, index, item) for index, item in enumerate(items)]
        return cut_batches(items, self.max_items, self.max_bytes)

    def select(self, env: Any, index: int, item: Any) -> Any:
        """The item as the `ItemSelector` makes it: `$` is the map state's input (on top of the
        map run's stack, as moto's own workers read it), `$$.Map.Item` this item."""
        from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

        map_input = env.stack[-1]
        frame = env.open_inner_frame()
        try:
            frame.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=index, Value=item))
            frame.states.reset(input_value=map_input)
            frame.stack.append(map_input)
            self.item_selector.eval(frame)
            return frame.stack.pop()
        finally:
            env.delete_frame(frame)


def batched(env: Any, eval_input: Any, items: list[Any]) -> list[Any]:
    """A map run's items as batches, when its state had an `ItemBatcher`."""
    batcher = getattr(eval_input.item_selector, "_gluepipe_batcher", None)
    if batcher is None:
        return items
    return batcher.batches(env, items)


def listed_object(entry: dict[str, Any]) -> dict[str, Any]:
    """An S3 listing entry as the Distributed Map's item reader gives it on AWS."""
    modified = entry["LastModified"]
    return {"Etag": entry["ETag"], "Key": entry["Key"],
            "LastModified": int(modified.timestamp()) if hasattr(modified, "timestamp") else modified,
            "Size": entry["Size"], "StorageClass": entry.get("StorageClass", "STANDARD")}


def mend_distributed_map() -> None:
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.antlr.runtime import ASLLexer as lexer_module
    from moto.stepfunctions.parser.asl.component.common.error_name import failure_event as failures
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as distributed,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse import asl_parser

    # 8. ItemBatcher: moto's grammar has no such field. The definition it parses (to validate it
    # and to run it) gets an equivalent ItemSelector; the batch limits and the state's own
    # ItemSelector (parsed alone) go to the map's selector, a `Batcher` the map run applies.
    # (DescribeStateMachine still returns the definition as it was given.)
    if '"ItemBatcher"' in inspect.getsource(lexer_module):
        raise MendError("moto changed: its ASL grammar knows ItemBatcher; remove gluepipe's stand-in")
    parser = asl_parser.AmazonStateLanguageParser
    original_parse = parser.parse

    def parse(definition: str) -> Any:
        try:
            document = json.loads(definition)
        except ValueError:
            return original_parse(definition)
        batchers: dict[str, dict[str, Any]] = {}
        if not (isinstance(document, dict) and isinstance(document.get("States"), dict)
                and adapt_map_states(document["States"], batchers)):
            return original_parse(definition)
        program, tree = original_parse(json.dumps(document))
        for state_map in components(program, StateMap):
            config = batchers.get(state_map.name)
            if config is not None:
                state_map.item_selector._gluepipe_batcher = Batcher(
                    config["max_items"], config["max_bytes"], parse_item_selector(config["item_selector"]))
        return program, tree

    def parse_item_selector(selector: Any) -> Any:
        """moto's component for an `ItemSelector`, parsed in a one-state machine of its own."""
        if selector is None:
            return None
        lone = {"StartAt": "Map", "States": {"Map": {
            "Type": "Map", "ItemSelector": selector, "End": True,
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}}}}}
        program, _ = original_parse(json.dumps(lone))
        (state_map,) = components(program, StateMap)
        return state_map.item_selector

    parser.parse = staticmethod(parse)

    # 9. A map run hands each child a batch, and fails when more children failed than tolerated.
    if "job_pool.await_jobs()" not in inspect.getsource(distributed.DistributedIterationComponent._map_run):
        raise MendError("moto changed: DistributedIterationComponent._map_run no longer awaits its jobs")
    rewrite_method(
        distributed.DistributedIterationComponent,
        "_map_run",
        "input_items: list[json] = env.stack.pop()",
        "input_items: list[json] = _gluepipe_batched(env, eval_input, env.stack.pop())",
    )
    batching_map_run = distributed.DistributedIterationComponent._map_run

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        try:
            batching_map_run(self, env, eval_input)  # returns once every child has ended
        except BatchTooLarge as exc:
            raise map_run_failure(env, StatesErrorNameType.StatesRuntime, str(exc)) from exc
        check_tolerance(env, eval_input)

    def check_tolerance(env: Any, eval_input: Any) -> None:
        counter = eval_input.map_run_record.item_counter
        failed, total = counter.failed.get(), counter.total.get()
        if failed == 0 or (failed <= eval_input.tolerated_failure_count
                           and failed * 100.0 <= eval_input.tolerated_failure_percentage * total):
            return
        raise map_run_failure(env, StatesErrorNameType.StatesExceedToleratedFailureThreshold,
                              f"The specified tolerated failure threshold was exceeded: {failed} of "
                              f"{total} child executions failed")

    def map_run_failure(env: Any, error_type: Any, cause: str) -> Exception:
        error = StatesErrorName(typ=error_type)
        return failures.FailureEventException(failures.FailureEvent(
            env=env, error_name=error, event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                error=error.error_name, cause=cause))))

    distributed._gluepipe_batched = batched  # type: ignore[attr-defined]
    distributed.DistributedIterationComponent._map_run = map_run

    # 10. The S3 item reader read one page (and failed on an empty prefix) in boto's shape.
    rewrite_method(
        resource_eval_s3.ResourceEvalS3,
        "_handle_list_objects_v2",
        'response = s3_client.list_objects_v2(**parameters)  # noqa\n'
        '    contents = response["Contents"]',
        'pages = s3_client.get_paginator("list_objects_v2").paginate(**parameters)\n'
        'contents = [_gluepipe_listed(o) for page in pages for o in page.get("Contents", [])]',
    )
    resource_eval_s3._gluepipe_listed = listed_object  # type: ignore[attr-defined]


def components(root: Any, kind: type) -> list[Any]:
    """Every object of type `kind` reachable from a parsed program's attributes."""
    found, seen, stack = [], set(), [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, bool, type(None))):
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            found.append(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return found


# --------------------------------------------------------------------------------------------
# Job runner
# --------------------------------------------------------------------------------------------


# Where Glue writes a Python shell run's output and errors (streams named after the run).
PYTHON_SHELL_LOG_GROUPS = ("/aws-glue/python-jobs/output", "/aws-glue/python-jobs/error")


class JobRunner:
    """Executes a local command for every Glue job run; reports its state through GetJobRun."""

    def __init__(self, endpoint: str, workdir: str, iam: Any = None) -> None:
        self.endpoint = endpoint
        self.workdir = workdir
        # With IAM enforcement, runs act as their job role (an `IamEnforcement`).
        self.iam = iam
        self.config: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.runs: list[dict[str, Any]] = []

    def configure(self, config: dict[str, Any]) -> None:
        with self.lock:
            self.config = dict(config)
        log(f"job runner configured: {config}")

    def aws_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def install(self, glue_models: Any) -> None:
        runner = self
        fake_run = glue_models.FakeJobRun
        original_init = fake_run.__init__
        original_as_dict = fake_run.as_dict
        status_property = fake_run.__dict__.get("status") or glue_models.ManagedState.__dict__["status"]
        if not isinstance(status_property, property):
            raise MendError("moto changed: ManagedState.status is no longer a property")

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self._gluepipe = runner.start(self)

        def status_get(self: Any) -> Any:
            state = getattr(self, "_gluepipe", None)
            if state is None:
                return status_property.fget(self)
            return runner.poll(self, state)

        def as_dict(self: Any) -> dict[str, Any]:
            out = original_as_dict(self)
            state = getattr(self, "_gluepipe", None)
            if state is not None:
                out["JobRunState"] = runner.poll(self, state)
                if state.get("error"):
                    out["ErrorMessage"] = state["error"]
                if state.get("ended"):
                    out["CompletedOn"] = state["ended"]
                    out["ExecutionTime"] = int((state["ended"] - state["started"]).total_seconds())
            return out

        fake_run.__init__ = init
        fake_run.status = property(status_get, status_property.fset)
        fake_run.as_dict = as_dict

    def start(self, run: Any) -> dict[str, Any] | None:
        with self.lock:
            config = dict(self.config)
        if not config:
            return None  # moto's own behaviour: the run succeeds at once
        run_dir = tempfile.mkdtemp(prefix=f"{run.job_run_id[:16]}-", dir=self.workdir)
        args = ["--JOB_NAME", run.job_name, "--JOB_RUN_ID", run.job_run_id]
        for key, value in (run.arguments or {}).items():
            args += [key, str(value)]
        env = {**os.environ, **self.aws_env(), **config.get("env", {})}
        state: dict[str, Any] = {"started": datetime.datetime.now(datetime.timezone.utc),
                                 "dir": run_dir, "error": None, "ended": None, "stopped": False,
                                 "lock": threading.Lock()}
        try:
            if self.iam is not None:
                state["role"] = self.assume_job_role(run)
                env.update(state["role"])
                self.open_log_streams(run, state["role"])
            if config.get("mode") == "script":
                command = [config.get("python", sys.executable),
                           self.fetch_script(run.job_name, run_dir, state.get("role"))]
            else:
                command = list(config["command"])
            command += args
            state["stdout"] = open(os.path.join(run_dir, "stdout.log"), "wb")
            state["stderr"] = open(os.path.join(run_dir, "stderr.log"), "wb")
            state["process"] = subprocess.Popen(command, cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                                stdout=state["stdout"], stderr=state["stderr"])
            state["command"] = command
            log(f"job run {run.job_run_id[:12]} of {run.job_name}: started {command}")
        except Exception as exc:  # the run fails like a Glue run whose script cannot start
            state["process"] = None
            state["error"] = f"job runner could not start the run: {exc}"
            state["ended"] = datetime.datetime.now(datetime.timezone.utc)
            state["command"] = config.get("command")
            log(state["error"])
        with self.lock:
            self.runs.append({"run": run, "state": state})
        return state

    def job(self, job_name: str) -> Any:
        from moto.glue.models import glue_backends

        return glue_backends["123456789012"]["us-east-1"].get_job(job_name)

    def assume_job_role(self, run: Any) -> dict[str, str]:
        """Glue acts for a run with a session of the job's role (its trust policy must let
        glue.amazonaws.com assume it)."""
        return self.iam.assume(self.job(run.job_name).role, "glue.amazonaws.com")

    def client(self, service: str, creds: dict[str, str] | None) -> Any:
        import boto3

        if creds is None:
            creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=creds.get("AWS_SESSION_TOKEN"))

    def open_log_streams(self, run: Any, creds: dict[str, str]) -> None:
        """As Glue does for a Python shell run, with the job role: the output and error log
        groups (created when missing) get a stream named after the run."""
        from moto.logs.models import logs_backends

        logs = self.client("logs", creds)
        existing = logs_backends["123456789012"]["us-east-1"].groups
        for group in PYTHON_SHELL_LOG_GROUPS:
            if group not in existing:
                logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName=run.job_run_id)

    def write_logs(self, run: Any, state: dict[str, Any]) -> None:
        """The run's stdout and stderr into its streams, with the job role."""
        import time

        logs = self.client("logs", state["role"])
        for stream, group in zip(("stdout", "stderr"), PYTHON_SHELL_LOG_GROUPS):
            with open(os.path.join(state["dir"], f"{stream}.log"), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()[-1000:] or ["(no output)"]
            now = int(time.time() * 1000)
            logs.put_log_events(logGroupName=group, logStreamName=run.job_run_id,
                                logEvents=[{"timestamp": now, "message": line or " "} for line in lines])

    def fetch_script(self, job_name: str, run_dir: str, creds: dict[str, str] | None = None) -> str:
        location = self.job(job_name).command["ScriptLocation"]
        bucket, _, key = location.removeprefix("s3://").partition("/")
        s3 = self.client("s3", creds)
        path = os.path.join(run_dir, os.path.basename(key) or "script.py")
        s3.download_file(bucket, key, path)
        return path

    def poll(self, run: Any, state: dict[str, Any]) -> str:
        process = state.get("process")
        if state["stopped"]:
            return "STOPPED"
        if process is None:
            return "FAILED"
        code = process.poll()
        if code is None:
            return "RUNNING"
        with state["lock"]:  # GetJobRun calls poll from several threads; one ends the run
            self.end(run, state, code)
        return "SUCCEEDED" if state["exit_code"] == 0 else "FAILED"

    def end(self, run: Any, state: dict[str, Any], code: int) -> None:
        if state["ended"] is None:
            state["ended"] = datetime.datetime.now(datetime.timezone.utc)
            state["exit_code"] = code
            for stream in ("stdout", "stderr"):
                state[stream].close()
            if code != 0:
                state["error"] = self.last_stderr_line(state) or f"command exited with code {code}"
            if state.get("role") is not None:
                try:
                    self.write_logs(run, state)
                except Exception as exc:  # the role cannot write its logs: a run IAM broke
                    state["exit_code"] = code = code or 1
                    state["error"] = f"job runner: writing the run's logs with its role failed: {exc}"
            log(f"job run {run.job_run_id[:12]} ended with exit code {code}")

    @staticmethod
    def last_stderr_line(state: dict[str, Any]) -> str | None:
        with open(os.path.join(state["dir"], "stderr.log"), "rb") as f:
            lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line]
        return lines[-1] if lines else None

    def stop(self, run: Any) -> None:
        state = getattr(run, "_gluepipe", None)
        if state is None:
            run.status = "STOPPED"
            return
        process = state.get("process")
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        state["stopped"] = True
        state["ended"] = state["ended"] or datetime.datetime.now(datetime.timezone.utc)

    def report(self) -> list[dict[str, Any]]:
        with self.lock:
            entries = list(self.runs)
        out = []
        for entry in entries:
            run, state = entry["run"], entry["state"]
            status = self.poll(run, state)
            item = {"job_name": run.job_name, "job_run_id": run.job_run_id, "state": status,
                    "command": state.get("command"), "exit_code": state.get("exit_code"),
                    "error": state.get("error"), "dir": state["dir"]}
            for stream in ("stdout", "stderr"):
                try:
                    with open(os.path.join(state["dir"], f"{stream}.log"), "rb") as f:
                        item[stream] = f.read().decode("utf-8", "replace")[-20000:]
                except OSError:
                    item[stream] = ""
            out.append(item)
        return out


# --------------------------------------------------------------------------------------------
# Fault injection and the control endpoints, as WSGI middleware in front of moto.
# --------------------------------------------------------------------------------------------


class Faults:
    """Makes the next N calls of an API action fail, for tests of partial failure; an outage
    fails every call from the Nth on, whatever its action (S3 calls have none)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[dict[str, Any]] = []
        self.outage_after: int | None = None

    def outage(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.outage_after = None if body.get("end") else int(body["after"])

    def in_outage(self) -> bool:
        """Counts one call; whether it falls in the outage."""
        with self.lock:
            if self.outage_after is None:
                return False
            if self.outage_after > 0:
                self.outage_after -= 1
                return False
            return True

    def add(self, fault: dict[str, Any]) -> None:
        if "action" not in fault:
            raise ValueError("a fault needs an 'action'")
        with self.lock:
            self.pending.append({"count": 1, "status": 400, "code": "InjectedFault",
                                 "message": "fault injected by the gluepipe test bench", **fault})

    def take(self, action: str | None) -> dict[str, Any] | None:
        if action is None:
            return None
        with self.lock:
            for fault in self.pending:
                if fault["action"] == action and fault["count"] > 0:
                    fault["count"] -= 1
                    return dict(fault)
        return None


def request_action(environ: dict[str, Any], body: bytes) -> tuple[str | None, bool]:
    """The API action of a request, and whether it uses a JSON protocol."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], True
    if environ.get("REQUEST_METHOD") == "POST" and b"Action=" in body:
        from urllib.parse import parse_qs

        values = parse_qs(body.decode("utf-8", "replace")).get("Action")
        return (values[0] if values else None), False
    return None, False


class ControlApp:
    def __init__(self, moto_app: Any, runner: JobRunner, faults: Faults) -> None:
        self.moto_app = moto_app
        self.runner = runner
        self.faults = faults
        self.iam = runner.iam

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_gluepipe/"):
            return self.control(path, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        if self.iam is not None:
            from iam_enforcement import REQUEST

            REQUEST.body = body
        action, is_json = request_action(environ, body)
        if self.faults.in_outage():
            log(f"outage: failing {action or environ.get('REQUEST_METHOD')} {path}")
            return self.fault_response({"status": 503, "code": "ServiceUnavailable",
                                        "message": "the endpoint is gone (gluepipe test bench outage)"},
                                       is_json, start_response)
        fault = self.faults.take(action)
        if fault is not None:
            log(f"injecting fault into {action}: {fault['code']}")
            return self.fault_response(fault, is_json, start_response)
        return self.moto_app(environ, start_response)

    @staticmethod
    def fault_response(fault: dict[str, Any], is_json: bool, start_response: Any) -> list[bytes]:
        status = f"{fault['status']} Injected"
        if is_json:
            payload = json.dumps({"__type": fault["code"], "message": fault["message"]}).encode()
            start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                                    ("x-amzn-ErrorType", fault["code"])])
        else:
            payload = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault['code']}</Code>"
                       f"<Message>{fault['message']}</Message></Error>"
                       f"<RequestId>gluepipe-fault</RequestId></ErrorResponse>").encode()
            start_response(status, [("Content-Type", "text/xml")])
        return [payload]

    def control(self, path: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
            if path == "/_gluepipe/health":
                result: Any = {"ok": True}
            elif path == "/_gluepipe/job-runner" and environ["REQUEST_METHOD"] == "POST":
                self.runner.configure(body)
                result = {"ok": True}
            elif path == "/_gluepipe/job-runs":
                result = self.runner.report()
            elif path == "/_gluepipe/iam" and self.iam is not None:
                result = self.iam.admin
            elif path == "/_gluepipe/denials" and self.iam is not None:
                result = self.iam.denials()
            elif path == "/_gluepipe/faults" and environ["REQUEST_METHOD"] == "POST":
                self.faults.add(body)
                result = {"ok": True}
            elif path == "/_gluepipe/outage" and environ["REQUEST_METHOD"] == "POST":
                self.faults.outage(body)
                result = {"ok": True}
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [json.dumps({"error": f"no control endpoint {path}"}).encode()]
        except Exception as exc:
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps({"error": str(exc)}).encode()]
        payload = json.dumps(result, default=iso_default).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--workdir", default=None, help="where job runs keep their files")
    parser.add_argument("--iam", action="store_true",
                        help="enforce IAM: requests are authorized against the caller's policies")
    args = parser.parse_args()

    port = args.port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Both are read by moto at import or first use: the Step Functions interpreter calls the
    # other services back on MOTO_PORT, and AWS managed policies only exist if loaded at start.
    os.environ["MOTO_PORT"] = str(port)
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    for key, value in JobRunner(endpoint, "").aws_env().items():
        os.environ.setdefault(key, value)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    workdir = args.workdir or tempfile.mkdtemp(prefix="gluepipe-emulator-")
    os.makedirs(workdir, exist_ok=True)
    iam = None
    if args.iam:
        from iam_enforcement import IamEnforcement

        iam = IamEnforcement()
    runner = JobRunner(endpoint, workdir, iam)
    try:
        mend_moto(runner)
        if iam is not None:
            iam.mend_step_functions()
    except (MendError, RuntimeError) as exc:
        log(f"cannot start: {exc}")
        return 2

    app = ControlApp(DomainDispatcherApplication(create_backend_app), runner, Faults())
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    # Step Functions executions must be on before any state machine exists.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    if iam is not None:
        iam.enable()  # after the unsigned set-up above

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"READY {endpoint}", flush=True)
    log(f"serving on {endpoint}, job runs under {workdir}")
    stop.wait()
    log("stopping")
    for entry in runner.runs:
        runner.stop(entry["run"])
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

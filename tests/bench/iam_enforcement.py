"""IAM enforcement for the gluepipe emulator (`emulator.py --iam`): moto 5.2.5 evaluates the
policies of the caller for every request, and the services act with the roles AWS would use.

moto's own enforcement (`moto/core/authorization.py`, `moto/iam/access_control.py`) switches on
when `settings.INITIAL_NO_AUTH_ACTION_COUNT` requests have been served (0 here: from the first).
Each request must then be signed with the keys of an IAM user or of a role session from STS; the
caller's inline and attached policies are evaluated for `<service>:<Action>` against one
resource. What moto evaluates, and what this module adds:

- S3 (moto): bucket and object ARNs (`arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/key`), with
  the action moto derives from the request (`ListBucket`, `ListBucketMultipartUploads`,
  `GetObject` (also for HEAD), `PutObject` (also multipart create/upload/complete),
  `DeleteObject`, `AbortMultipartUpload`). Bulk DeleteObjects: moto checked the bucket only
  and then denied every key; here `s3:DeleteObject` is authorized per key, as on AWS.
- Glue, CloudWatch Logs, Step Functions, SNS `Publish` (added here): moto checks these against
  resource `*`, which no scoped statement matches; `resources_for` gives the ARNs AWS documents
  for the actions gluepipe's pipelines call. Glue catalog actions need every one of catalog, database and
  table, as on AWS. Other actions of these services keep moto's `*`.
- IAM and STS (moto): their own ARNs. Everything else: resource `*`. Actions are named with the
  IAM prefix, not moto's signing name (CloudWatch signs as `monitoring`, authorizes
  `cloudwatch:*`).
- Not evaluated at all: `Condition` blocks of identity policies (moto passes no request context,
  so `s3:prefix`, `ecs:cluster`, `iam:PassedToService` conditions are treated as met),
  `NotResource`, resource-based policies, and `iam:PassRole` (no moto service asks for it).
  Actions a service performs internally (the Step Functions Distributed Map starting its child
  executions; Glue starting a run's process) are not requests and are not evaluated.

The services' own identities (added here; moto has none): a Glue job run gets credentials of
its job role, and a Step Functions execution's calls use its state machine's role, each a role
session created through moto's STS backend after the role's trust policy is checked for the
service principal (and `aws:SourceAccount` / `aws:SourceArn` where the policy asks).

Every denial is recorded (`denials()`, served at `GET /_gluepipe/denials`), and S3's "Access
Denied" names the action and resource as the other services' messages do.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import threading
import uuid
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
ADMIN_USER = "gluepipe-admin"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}]})


def log(msg: str) -> None:
    print(f"[emulator] {msg}", file=sys.stderr, flush=True)


# The raw body of the request this thread serves (set by the emulator's WSGI front).
REQUEST = threading.local()


class TrustRefused(RuntimeError):
    pass


def _values(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def trust_allows(document: str, service: str, context: dict[str, str]) -> bool:
    """Whether a trust policy lets `service` call sts:AssumeRole, with `context` as the request
    context (`aws:SourceAccount`, `aws:SourceArn`). A condition on a key the context lacks, or
    with an operator not known here, refuses (as AWS does for an absent key)."""
    policy = json.loads(document)
    for statement in _values(policy.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatchcase("sts:AssumeRole", a) for a in _values(statement.get("Action", []))):
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or service not in _values(principal.get("Service", [])):
            continue
        if all(_condition_holds(op, key, _values(expected), context)
               for op, keys in (statement.get("Condition") or {}).items()
               for key, expected in keys.items()):
            return True
    return False


def _condition_holds(operator: str, key: str, expected: list[str], context: dict[str, str]) -> bool:
    actual = context.get(key)
    if actual is None:
        return False
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, pattern) for pattern in expected)
    return False


def _glue_catalog(params: dict[str, Any], action: str) -> list[str] | None:
    """catalog, database and table ARNs of a Glue Data Catalog request (lower-cased, as Glue
    stores names)."""
    base = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    if action in ("GetDatabase", "DeleteDatabase", "UpdateDatabase"):
        return [f"{base}:catalog", f"{base}:database/{str(params.get('Name', '')).lower()}"]
    database = str(params.get("DatabaseName", "")).lower()
    if action in ("GetTable", "DeleteTable"):
        table = params.get("Name")
    elif action in ("CreateTable", "UpdateTable"):
        table = (params.get("TableInput") or {}).get("Name")
    elif action in ("GetTables", "CreateDatabase"):
        return None
    else:
        table = params.get("TableName")
    if not database or not table:
        return None
    return [f"{base}:catalog", f"{base}:database/{database}",
            f"{base}:table/{database}/{str(table).lower()}"]


GLUE_JOB_ACTIONS = {"StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJob",
                    "UpdateJob", "DeleteJob"}
# Services whose SigV4 signing name is not their IAM action prefix.
SIGNING_NAME_TO_IAM_PREFIX = {"monitoring": "cloudwatch"}

GLUE_CATALOG_ACTIONS = {"GetDatabase", "GetTable", "CreateTable", "UpdateTable", "DeleteTable",
                        "GetPartition", "GetPartitions", "CreatePartition", "BatchCreatePartition",
                        "UpdatePartition", "DeletePartition", "BatchGetPartition",
                        "BatchDeletePartition"}


def resources_for(service: str, action: str, params: dict[str, Any]) -> list[str] | None:
    """The ARNs AWS authorizes `service:action` against, for the actions gluepipe's pipelines
    call; None keeps moto's `*`."""
    if service == "glue":
        if action in GLUE_JOB_ACTIONS and params.get("JobName"):
            return [f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{params['JobName']}"]
        if action in GLUE_CATALOG_ACTIONS:
            return _glue_catalog(params, action)
        return None
    if service == "logs":
        group = params.get("logGroupName")
        if not group:
            return None
        group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        # Log-group actions (CreateLogGroup, CreateLogStream: resource type log-group) are
        # evaluated against the group's ARN as CloudWatch Logs reports it, `…:log-group:G:*`;
        # PutLogEvents (resource type log-stream) against the stream.
        if action in ("CreateLogGroup", "CreateLogStream", "DeleteLogGroup", "DescribeLogStreams"):
            return [f"{group_arn}:*"]
        if action in ("PutLogEvents", "GetLogEvents") and params.get("logStreamName"):
            return [f"{group_arn}:log-stream:{params['logStreamName']}"]
        return None
    if service == "sns":
        if action == "Publish" and params.get("TopicArn"):
            return [params["TopicArn"]]
        return None
    if service == "states":
        if action == "StartExecution" and params.get("stateMachineArn"):
            return [params["stateMachineArn"]]
        if action in ("DescribeExecution", "StopExecution") and params.get("executionArn"):
            return [params["executionArn"]]
        return None
    return None


class IamEnforcement:
    """Switches moto's IAM evaluation on and gives the services their roles."""

    def __init__(self) -> None:
        self.admin: dict[str, str] = {}
        self.lock = threading.Lock()
        self.denied: list[dict[str, str]] = []

    # -- set-up ---------------------------------------------------------------------------

    def enable(self) -> None:
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.iam import access_control
        from moto.iam.models import iam_backends

        backend = iam_backends[ACCOUNT]["aws"]
        backend.create_user(REGION, ADMIN_USER)
        backend.put_user_policy(ADMIN_USER, "admin", ADMIN_POLICY)
        key = backend.create_access_key(ADMIN_USER)
        self.admin = {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}
        self._mend_resources(ActionAuthenticatorMixin)
        self._mend_bulk_delete()
        self._mend_denials(access_control)
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        log(f"IAM enforcement on; admin user {ADMIN_USER} ({key.access_key_id})")

    def _mend_resources(self, mixin: Any) -> None:
        import inspect

        original = mixin._authenticate_and_authorize_normal_action
        if "self._authenticate_and_authorize_action(IAMRequest, resource)" not in inspect.getsource(original):
            raise RuntimeError("moto changed: _authenticate_and_authorize_normal_action")

        def authorize(this: Any, resource: str = "*") -> None:
            arns = None
            if resource == "*":
                params = _json_params(this) or _query_params(this)
                arns = resources_for(_service_of(this), this._get_action(), params)
            for arn in arns or [resource]:
                original(this, arn)

        mixin._authenticate_and_authorize_normal_action = authorize

    @staticmethod
    def _mend_bulk_delete() -> None:
        """moto authorizes DeleteObjects against the bucket only and, when that fails, denies
        every key; AWS authorizes s3:DeleteObject per key. Here each key is authorized (all
        must be allowed: a request with some keys denied is denied as a whole)."""
        import inspect

        import xmltodict
        from moto.s3.responses import S3Response

        if "self.is_delete_keys()" not in inspect.getsource(S3Response._bucket_response_post):
            raise RuntimeError("moto changed: S3Response._bucket_response_post")
        original = S3Response._authenticate_and_authorize_s3_action

        def authorize(this: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
            if (key_name is None and bucket_name and this.method == "POST"
                    and this.data.get("Action") == "DeleteObject" and this.is_delete_keys()):
                body = this.body.decode("utf-8") if isinstance(this.body, bytes) else this.body
                objects = (xmltodict.parse(body).get("Delete") or {}).get("Object") or []
                for obj in objects if isinstance(objects, list) else [objects]:
                    original(this, bucket_name=bucket_name, key_name=obj["Key"])
                return
            original(this, bucket_name=bucket_name, key_name=key_name)

        S3Response._authenticate_and_authorize_s3_action = authorize

    def _mend_denials(self, access_control: Any) -> None:
        from moto.core.exceptions import AccessDeniedError
        from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError, S3ClientError

        base = access_control.IAMRequestBase
        check = base.check_action_permitted
        enforcement = self

        def check_action_permitted(this: Any, resource: str) -> None:
            this._gluepipe_resource = resource
            # moto prefixes the action with the signing name; CloudWatch signs as `monitoring`
            # but its IAM actions are `cloudwatch:*`.
            service, _, action = this._action.partition(":")
            if service in SIGNING_NAME_TO_IAM_PREFIX:
                this._action = f"{SIGNING_NAME_TO_IAM_PREFIX[service]}:{action}"
            try:
                check(this, resource)
            except (AccessDeniedError, S3AccessDeniedError):
                enforcement.record(this._access_key.arn, this._action, resource)
                raise

        base.check_action_permitted = check_action_permitted
        signature = base.check_signature

        def check_signature(this: Any) -> None:
            # moto signs the body it re-encodes from the parsed form, which differs from the
            # bytes a client that encodes otherwise (the Rust SDK) signed: use the bytes.
            raw = getattr(REQUEST, "body", None)
            if raw:
                this._body = raw
            try:
                signature(this)
            except Exception:
                auth = this._create_auth(this._access_key.create_credentials())
                log(f"signature mismatch for {this._action}; canonical request:\n"
                    f"{auth.canonical_request(this._create_aws_request())}")
                raise

        base.check_signature = check_signature

        class NamedS3Denial(S3AccessDeniedError):
            def __init__(self, message: str) -> None:
                S3ClientError.__init__(self, "AccessDenied", message)

        class NamedBucketDenial(BucketAccessDeniedError):
            def __init__(self, bucket: str, message: str) -> None:
                S3ClientError.__init__(self, "AccessDenied", message)
                self.bucket_name = bucket

        s3_request = access_control.S3IAMRequest
        if "_raise_access_denied" not in s3_request.__dict__:
            raise RuntimeError("moto changed: S3IAMRequest._raise_access_denied")

        def raise_access_denied(this: Any) -> None:
            message = (f"User: {this._access_key.arn} is not authorized to perform: "
                       f"{this._action} on resource: {getattr(this, '_gluepipe_resource', '*')}")
            if "BucketName" in this._data:
                raise NamedBucketDenial(this._data["BucketName"], message)
            raise NamedS3Denial(message)

        s3_request._raise_access_denied = raise_access_denied

    def record(self, principal: str, action: str, resource: str) -> None:
        with self.lock:
            self.denied.append({"principal": principal, "action": action, "resource": resource})
        log(f"IAM denied {action} on {resource} to {principal}")

    def denials(self) -> list[dict[str, str]]:
        with self.lock:
            return list(self.denied)

    # -- the services' roles --------------------------------------------------------------

    def assume(self, role: str, service: str, context: dict[str, str] | None = None) -> dict[str, str]:
        """A session of `role` (name or ARN) for `service`, after its trust policy allows it."""
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        backend = iam_backends[ACCOUNT]["aws"]
        found = (backend.get_role_by_arn(role) if role.startswith("arn:")
                 else backend.get_role(role))
        if not trust_allows(found.assume_role_policy_document, service,
                            {"aws:SourceAccount": ACCOUNT, **(context or {})}):
            raise TrustRefused(f"{service} may not assume role {found.arn}: its trust policy "
                               f"does not allow it (context {context or {}})")
        session = sts_backends[ACCOUNT]["aws"].assume_role(
            region_name=REGION, role_session_name=f"{service.split('.')[0]}-{uuid.uuid4().hex[:12]}",
            role_arn=found.arn, policy=None, duration=3600, external_id=None)
        return {"AWS_ACCESS_KEY_ID": session.access_key_id,
                "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
                "AWS_SESSION_TOKEN": session.session_token}

    def mend_step_functions(self) -> None:
        """Step Functions calls other services with its state machine's role: the execution
        thread (and every thread it starts) carries the role, and the interpreter's boto
        clients sign with a session of it."""
        import importlib

        from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module
        from moto.stepfunctions.parser.backend import execution_worker

        context = threading.local()
        original_start = threading.Thread.start

        def start(thread: threading.Thread) -> None:
            role = getattr(context, "role", None)
            if role is not None:
                run = thread.run

                def run_as_role() -> None:
                    context.role = role
                    run()

                thread.run = run_as_role  # type: ignore[method-assign]
            original_start(thread)

        threading.Thread.start = start  # type: ignore[method-assign]

        worker = execution_worker.ExecutionWorker
        logic = worker._execution_logic

        def execution_logic(this: Any) -> None:
            details = this._evaluation_details
            context.role = (details.aws_execution_details.role_arn,
                            details.state_machine_details.arn)
            logic(this)

        worker._execution_logic = execution_logic

        original_client = boto_client_module.boto_client_for
        sessions: dict[tuple[str, str], dict[str, str]] = {}
        enforcement = self

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            client = original_client(region, service, state_credentials)
            role = getattr(context, "role", None)
            if role is None:
                return client
            with enforcement.lock:
                creds = sessions.get(role)
            if creds is None:
                creds = enforcement.assume(role[0], "states.amazonaws.com", {"aws:SourceArn": role[1]})
                with enforcement.lock:
                    sessions[role] = creds
            import boto3

            return boto3.client(
                service_name=service, region_name=region, endpoint_url=client.meta.endpoint_url,
                aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=creds["AWS_SESSION_TOKEN"], config=client.meta.config)

        boto_client_module.boto_client_for = boto_client_for
        users = [
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
            "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
        ]
        for name in users:
            module = importlib.import_module(name)
            if getattr(module, "boto_client_for", None) is not original_client:
                raise RuntimeError(f"moto changed: {name} no longer uses boto_client_for")
            module.boto_client_for = boto_client_for
        for name, module in list(sys.modules.items()):
            if name.startswith("moto.stepfunctions.parser") and getattr(
                    module, "boto_client_for", None) is original_client:
                module.boto_client_for = boto_client_for


def _service_of(response: Any) -> str:
    """The signing service of a request (`glue`, `logs`, `states`, …)."""
    auth = response.headers.get("Authorization") or ""
    scope = auth.partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) > 3 else ""


def _query_params(response: Any) -> dict[str, Any]:
    """The parameters of a query-protocol request (SNS), first value of each."""
    query = getattr(response, "querystring", None) or {}
    return {k: v[0] for k, v in query.items() if isinstance(v, list) and v}


def _json_params(response: Any) -> dict[str, Any]:
    body = getattr(response, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body or not isinstance(body, str):
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


"""Deploy an app to the local cloud: build for the host, package, create or update the stack.

The local cloud's own deploy path (``make up``, ``python -m localcloud deploy``, the test
harness). It does what ``sam build`` + ``sam deploy`` do, minus what only slows a local
deploy down (change sets, 5 s polls):

1. ``sam build`` of the app's template into ``.aws-sam/local/<app>``, with the common layer
   built for the host interpreter (``LAYER_TARGET=host``): the local cloud runs handlers on
   this machine, where wheels built for arm64/cp313 do not load;
2. every built function and layer folder is zipped deterministically and uploaded to a bucket
   of the local cloud's S3 under its content hash; the template is rewritten to point there;
3. the app's deploy settings come from ``samconfig.toml`` (parameter overrides, tags,
   capabilities, stack name), as ``sam deploy --config-env <app>`` reads them;
4. CreateStack or UpdateStack (nothing to update is success), then the stack is polled until
   it settles; a failure raises :class:`DeployError` with the failed resources' reasons.

Returns the stack's outputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from localcloud.packaging import Artifact, Uploader, content_key, package_template
from localcloud.samconfig import deploy_settings
from localcloud.settings import DEFAULT_REGION

log = logging.getLogger("localcloud.deploy")

ARTIFACT_BUCKET = "localcloud-deploy-artifacts"
# A cold build installs the layer's wheels; minutes mean something is stuck.
BUILD_TIMEOUT = 900
# CloudFormation's limit on TemplateBody; bigger templates go through S3 (as sam deploy does).
TEMPLATE_BODY_LIMIT = 51_200
_FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class DeployError(RuntimeError):
    """A build or a stack operation failed; ``reasons`` holds what CloudFormation said."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        detail = "".join(f"\n  - {reason}" for reason in self.reasons)
        super().__init__(message + detail)


@dataclass(frozen=True)
class _Clients:
    cloudformation: Any
    s3: Any

    @classmethod
    def connect(cls, endpoint_url: str, region: str) -> _Clients:
        return _connect(endpoint_url, region)


@lru_cache(maxsize=8)
def _connect(endpoint_url: str, region: str) -> _Clients:
    # Creating boto3 clients costs ~100 ms each; they are thread-safe, so keep them.
    session = boto3.session.Session(
        aws_access_key_id=_FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=_FAKE_CREDENTIALS["aws_secret_access_key"],
        region_name=region,
    )
    return _Clients(
        cloudformation=session.client("cloudformation", endpoint_url=endpoint_url),
        s3=session.client("s3", endpoint_url=endpoint_url),
    )


@dataclass
class _Timing:
    steps: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = round(now - self._last, 3)
        self._last = now


def _repo_root(app_dir: Path) -> Path:
    # apps/<app>/ in the monorepo; an ejected app is its own root.
    return app_dir.parent.parent if app_dir.parent.name == "apps" else app_dir


def default_build_dir(app_dir: Path) -> Path:
    """``.aws-sam/local/<app>`` at the repository root (separate from the AWS build)."""
    return _repo_root(app_dir) / ".aws-sam" / "local" / app_dir.name


def _sam_executable() -> str:
    beside = Path(sys.executable).with_name("sam")
    if beside.exists():
        return str(beside)
    found = shutil.which("sam")
    if found is None:
        raise DeployError("sam (aws-sam-cli) is not installed: run `make venv`")
    return found


def build_app(app_dir: Path, build_dir: Path | None = None) -> Path:
    """``sam build`` the app for the host; returns the built template.

    ``LAYER_TARGET=host`` makes the layer's Makefile install wheels for the interpreter the
    local cloud runs handlers on (``PYTHON`` = this interpreter). Functions hold no
    requirements.txt (CONTRIBUTING.md), so ``sam build`` never needs a python3.13 on PATH.
    """
    app_dir = app_dir.resolve()
    build_dir = (build_dir or default_build_dir(app_dir)).resolve()
    env = {
        **os.environ,
        "LAYER_TARGET": "host",
        "PYTHON": sys.executable,
        "SAM_CLI_TELEMETRY": "0",
    }
    command = [
        _sam_executable(),
        "build",
        "--template-file",
        str(app_dir / "template.yaml"),
        "--build-dir",
        str(build_dir),
        "--cached",
        # SAM's cache key is the source, not LAYER_TARGET or the interpreter: a cache of its
        # own per interpreter keeps a layer built for another Python from being reused.
        "--cache-dir",
        str(
            build_dir.parent
            / f"{build_dir.name}.cache-py{sys.version_info[0]}{sys.version_info[1]}"
        ),
        "--parallel",
    ]
    try:
        result = subprocess.run(
            command,
            cwd=_repo_root(app_dir),
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise DeployError(f"sam build of {app_dir.name} took over {BUILD_TIMEOUT}s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise DeployError(f"sam build failed for {app_dir.name}", output[-40:])
    return build_dir / "template.yaml"


def _ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def _uploader(s3: Any, bucket: str, prefix: str) -> Uploader:
    def upload(digest: str, suffix: str, produce: Callable[[], bytes]) -> Artifact:
        key = content_key(digest, prefix, suffix)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            # The key names the content: an object already there is this content.
            s3.put_object(Bucket=bucket, Key=key, Body=produce())
        return Artifact(bucket, key)

    return upload


def package_app(built_template: Path, *, s3: Any, bucket: str, prefix: str) -> dict[str, Any]:
    """The built template with its artifacts uploaded to ``bucket`` (see ``packaging``)."""
    from localcloud.cloudformation.templates import parse_template

    template = parse_template(built_template.read_text())
    _ensure_bucket(s3, bucket)
    return package_template(template, built_template.parent, _uploader(s3, bucket, prefix))


def _stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def _failure_reasons(cfn: Any, stack_name: str, since_event: str | None) -> list[str]:
    """The reasons of the failed resources of the latest operation, oldest first."""
    reasons: list[str] = []
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    for event in events:  # newest first
        if event["EventId"] == since_event:
            break
        if event["ResourceStatus"].endswith("FAILED") and event.get("ResourceStatusReason"):
            reasons.append(
                f"{event['LogicalResourceId']} ({event['ResourceType']}) "
                f"{event['ResourceStatus']}: {event['ResourceStatusReason']}"
            )
    reasons.reverse()
    return reasons


def _latest_event_id(cfn: Any, stack_name: str) -> str | None:
    try:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    except ClientError:
        return None
    return str(events[0]["EventId"]) if events else None


def wait_for_stack(cfn: Any, stack_name: str, *, timeout: float = 300.0) -> dict[str, Any]:
    """Poll until the stack leaves every ``*_IN_PROGRESS`` state; returns its description."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        stack = _stack(cfn, stack_name)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack or {"StackStatus": "DELETE_COMPLETE"}
        if time.monotonic() >= deadline:
            raise DeployError(f"stack {stack_name} still {stack['StackStatus']} after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _template_argument(
    cfn_template: str, s3: Any, bucket: str, prefix: str, endpoint_url: str
) -> dict[str, str]:
    data = cfn_template.encode()
    if len(data) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": cfn_template}
    key = content_key(hashlib.sha256(data).hexdigest(), prefix, ".template.json")
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return {"TemplateURL": f"{endpoint_url.rstrip('/')}/{bucket}/{key}"}


def deploy_template(
    template: Mapping[str, Any],
    *,
    endpoint_url: str,
    stack_name: str,
    parameter_overrides: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    capabilities: tuple[str, ...] = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"),
    region: str = DEFAULT_REGION,
    timeout: float = 300.0,
) -> dict[str, str]:
    """Create or update ``stack_name`` from a packaged template; returns its outputs."""
    clients = _Clients.connect(endpoint_url, region)
    cfn = clients.cloudformation
    arguments: dict[str, Any] = {
        "StackName": stack_name,
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": str(value)}
            for key, value in (parameter_overrides or {}).items()
        ],
        "Tags": [{"Key": key, "Value": str(value)} for key, value in (tags or {}).items()],
        "Capabilities": list(capabilities),
    }
    _ensure_bucket(clients.s3, ARTIFACT_BUCKET)
    arguments.update(
        _template_argument(
            json.dumps(template), clients.s3, ARTIFACT_BUCKET, stack_name, endpoint_url
        )
    )
    existing = _stack(cfn, stack_name)
    if existing is not None and existing["StackStatus"] in (
        "ROLLBACK_COMPLETE",
        "REVIEW_IN_PROGRESS",
    ):
        # A stack whose creation failed can only be deleted (CloudFormation's rule).
        delete_app(endpoint_url=endpoint_url, stack_name=stack_name, region=region, timeout=timeout)
        existing = None
    since = _latest_event_id(cfn, stack_name) if existing else None
    if existing is None:
        cfn.create_stack(**arguments)
        expected = "CREATE_COMPLETE"
    else:
        try:
            cfn.update_stack(**arguments)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise DeployError(f"update of stack {stack_name} refused", [str(exc)]) from exc
        expected = "UPDATE_COMPLETE"
    stack = wait_for_stack(cfn, stack_name, timeout=timeout)
    status = stack["StackStatus"]
    if status not in (expected, "CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reasons = _failure_reasons(cfn, stack_name, since)
        if stack.get("StackStatusReason"):
            reasons.append(f"stack: {stack['StackStatusReason']}")
        raise DeployError(f"deploy of stack {stack_name} failed: {status}", reasons)
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def deploy_app(
    app_dir: Path,
    *,
    endpoint_url: str,
    stack_name: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    build: bool = True,
    build_dir: Path | None = None,
    region: str = DEFAULT_REGION,
    timeout: float = 300.0,
) -> dict[str, str]:
    """Build, package and deploy the SAM app in ``app_dir``; returns the stack outputs.

    ``stack_name``, ``parameter_overrides`` and ``tags`` default to the app's samconfig deploy
    settings; overrides and tags given here are merged over them. ``build=False`` deploys
    what an earlier build left in ``build_dir``.
    """
    app_dir = app_dir.resolve()
    settings = deploy_settings(app_dir)
    build_dir = (build_dir or default_build_dir(app_dir)).resolve()
    timing = _Timing()
    built = build_app(app_dir, build_dir) if build else build_dir / "template.yaml"
    if not built.is_file():
        raise DeployError(f"no built template at {built}: build the app first")
    timing.mark("build")
    name = stack_name or settings.stack_name
    clients = _Clients.connect(endpoint_url, region)
    packaged = package_app(built, s3=clients.s3, bucket=ARTIFACT_BUCKET, prefix=name)
    timing.mark("package")
    outputs = deploy_template(
        packaged,
        endpoint_url=endpoint_url,
        stack_name=name,
        parameter_overrides={**settings.parameter_overrides, **(parameter_overrides or {})},
        tags={**settings.tags, **(tags or {})},
        capabilities=settings.capabilities or ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"),
        region=region,
        timeout=timeout,
    )
    timing.mark("deploy")
    log.info("deployed %s to %s in %s", name, endpoint_url, timing.steps)
    return outputs


def delete_app(
    *,
    endpoint_url: str,
    stack_name: str,
    region: str = DEFAULT_REGION,
    timeout: float = 300.0,
) -> None:
    """Delete the stack (a stack that does not exist is already deleted)."""
    cfn = _Clients.connect(endpoint_url, region).cloudformation
    if _stack(cfn, stack_name) is None:
        return
    since = _latest_event_id(cfn, stack_name)
    cfn.delete_stack(StackName=stack_name)
    stack = wait_for_stack(cfn, stack_name, timeout=timeout)
    if stack["StackStatus"] != "DELETE_COMPLETE":
        reasons = _failure_reasons(cfn, stack_name, since)
        raise DeployError(f"delete of stack {stack_name} failed: {stack['StackStatus']}", reasons)

"""pytest plugin: integration tests that know only a stack.

Every app's integration tests run unchanged against two targets:

- ``local`` (default): the embedded local cloud. The plugin starts one local cloud for the
  session and deploys the app the test belongs to, once per session. With
  ``--endpoint-url`` (a local cloud started by ``make up``) it tests the stack found there.
- ``aws``: a stack already deployed to the account of the current AWS credentials
  (``make deploy`` then ``make integration``). ``AWS_ENDPOINT_URL`` is honoured, which is how
  a stack deployed to the local cloud with the real ``sam deploy`` is tested.

The app is found from the test file: the nearest folder above it holding ``template.yaml``.
Its stack name comes from ``--stack-name``, else from ``samconfig.toml`` (the repo root's
``[<app>.deploy.parameters]``, or an ejected app's own ``[default.deploy.parameters]``).

Fixtures: ``stack`` (:class:`Stack`), ``unique_id``. Helper: :func:`wait_for`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class StackNotFoundError(RuntimeError):
    """The stack under test does not exist on the target."""


class MissingOutputError(KeyError):
    """The stack has no output with the requested key."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
    description: str = "condition",
) -> T:
    """Call ``condition`` until it returns a truthy value, and return that value.

    Raises ``TimeoutError`` naming ``description`` and the last value seen when the deadline
    passes. Use it for every asynchronous result: a bare sleep is a race.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{description} not met within {timeout:.1f}s (last value: {last!r})"
            )
        time.sleep(interval)


@dataclass
class Stack:
    """A deployed stack as the tests see it: its outputs and clients bound to its target."""

    name: str
    outputs: dict[str, str]
    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def output(self, key: str) -> str:
        """The value of output ``key``; a clear error when the stack has no such output."""
        try:
            return self.outputs[key]
        except KeyError:
            known = ", ".join(sorted(self.outputs)) or "none"
            raise MissingOutputError(
                f"stack {self.name!r} has no output {key!r} (outputs: {known})"
            ) from None

    def url(self, key: str) -> str:
        """Output ``key`` as a URL reachable from here (API Gateway URLs map to the local cloud)."""
        value = self.output(key)
        if self.endpoint_url and _is_local(self.endpoint_url):
            from localcloud.urls import local_execute_api_url

            return local_execute_api_url(value, self.endpoint_url)
        return value

    def client(self, service: str) -> Any:
        """A boto3 client for ``service``, bound to the stack's target (cached)."""
        if service not in self._clients:
            self._clients[service] = _session(self.endpoint_url, self.region).client(
                service, endpoint_url=self.endpoint_url
            )
        return self._clients[service]


def _is_local(endpoint_url: str) -> bool:
    return any(h in endpoint_url for h in ("://127.", "://localhost", "://[::1]"))


def _session(endpoint_url: str | None, region: str) -> Any:
    import boto3

    if endpoint_url and _is_local(endpoint_url):
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
    return boto3.session.Session(region_name=region)


# --- finding the app and its stack name -------------------------------------------------


@cache
def app_dir_of(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` that holds a SAM ``template.yaml``."""
    for folder in [path, *path.parents]:
        if (folder / "template.yaml").is_file():
            return folder
    return None


def default_stack_name(app_dir: Path) -> str:
    """The stack name samconfig gives the app; the folder name when there is none."""
    own = app_dir / "samconfig.toml"
    if own.is_file():
        params = _samconfig(own).get("default", {}).get("deploy", {}).get("parameters", {})
        return str(params.get("stack_name", app_dir.name))
    for folder in app_dir.parents:
        root = folder / "samconfig.toml"
        if root.is_file():
            env = _samconfig(root).get(app_dir.name, {})
            return str(env.get("deploy", {}).get("parameters", {}).get("stack_name", app_dir.name))
    return app_dir.name


def _samconfig(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


# --- pytest hooks --------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stack_testing", "integration tests against a deployed stack")
    group.addoption(
        "--target",
        choices=("local", "aws"),
        default=os.environ.get("STACK_TARGET", "local"),
        help="where the stack runs: the embedded local cloud (default) or AWS",
    )
    group.addoption(
        "--stack-name",
        default=os.environ.get("STACK_NAME"),
        help="test this existing stack instead of the app's default stack",
    )
    group.addoption(
        "--endpoint-url",
        default=os.environ.get("LOCALCLOUD_ENDPOINT"),
        help="with --target local: use this running local cloud (e.g. from `make up`)",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Put an app's ``src`` on sys.path before any of its test modules is imported."""
    if file_path.suffix != ".py":
        return
    app = app_dir_of(file_path.parent)
    if app is None:
        return
    src = str(app / "src")
    if (app / "src").is_dir() and src not in sys.path:
        sys.path.insert(0, src)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts and "tests" in item.path.parts:
            item.add_marker(pytest.mark.integration)


# --- the local cloud for a session ---------------------------------------------------------


@pytest.fixture(scope="session")
def local_cloud_endpoint(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The endpoint of the session's local cloud: started here unless one was given."""
    given = request.config.getoption("--endpoint-url")
    if given:
        yield given
        return
    if importlib.util.find_spec("localcloud") is None:
        raise pytest.UsageError(
            "the embedded local cloud is not installed here (it lives in the "
            "serverless-microservice-patterns monorepo): test a deployed stack with "
            "--target aws [--stack-name NAME]"
        )
    from localcloud.process import LocalCloudProcess

    cloud = LocalCloudProcess(tmp_path_factory.mktemp("localcloud"))
    try:
        yield cloud.start()
    finally:
        cloud.stop()


_deployed: dict[tuple[str, str], dict[str, str]] = {}


def _describe_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise StackNotFoundError(
                f"stack {stack_name!r} does not exist on this target: deploy it first "
                f"(`make deploy APP=...`), or pass --stack-name"
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Stack:
    """The stack of the app this test belongs to, deployed on the selected target."""
    app = app_dir_of(request.path.parent)
    if app is None:
        raise pytest.UsageError(f"{request.path} is not inside an app folder (no template.yaml)")
    given_name: str | None = request.config.getoption("--stack-name")
    stack_name = given_name or default_stack_name(app)
    target = request.config.getoption("--target")

    if target == "aws":
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        region = region or _session(None, LOCAL_REGION).region_name or LOCAL_REGION
        cfn = _session(endpoint, region).client("cloudformation", endpoint_url=endpoint)
        return Stack(stack_name, _describe_outputs(cfn, stack_name), region, endpoint)

    endpoint = request.getfixturevalue("local_cloud_endpoint")
    key = (endpoint, stack_name)
    if key not in _deployed:
        # A local cloud someone else runs (`make up`, `sam deploy` to it) is tested as found.
        if given_name or request.config.getoption("--endpoint-url"):
            cfn = _session(endpoint, LOCAL_REGION).client("cloudformation", endpoint_url=endpoint)
            _deployed[key] = _describe_outputs(cfn, stack_name)
        else:
            from localcloud.deploy import deploy_app

            _deployed[key] = deploy_app(app, endpoint_url=endpoint, stack_name=stack_name)
    return Stack(stack_name, _deployed[key], LOCAL_REGION, endpoint)


@pytest.fixture
def unique_id() -> str:
    """An id no other test run uses, so runs never collide on shared stacks."""
    return f"t-{uuid.uuid4().hex[:16]}"

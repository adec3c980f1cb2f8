"""Fixtures shared by the local cloud's own tests.

- ``local_cloud``: one :class:`LocalCloud` for the whole session, in this process, on a free
  port, with its state in a temporary directory (moto's state is global to the process, so
  a second one would share it anyway; tests isolate themselves with unique names).
- ``aws``: ``aws("lambda")`` returns a boto3 client bound to it (fake credentials,
  us-east-1); ``aws("lambda", config=Config(...))`` for special client settings.
- ``make_function``: creates a Lambda function from inline code and deletes it afterwards.
- ``make_layer``: publishes a layer version from inline files.
- ``invoke``: invokes a function and decodes what came back.

- ``zip_files``: ``zip_files({path: content}) -> bytes``, a deployment package (text dedented).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import textwrap
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from stack_testing import wait_for

from localcloud.server import LocalCloud
from localcloud.settings import ADMIN_PREFIX

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LAMBDA_ROLE_NAME = "localcloud-tests-lambda-role"
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def build_zip(files: Mapping[str, str | bytes]) -> bytes:
    """A zip holding ``files`` ({archive path: content}); text is dedented, as in tests."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = textwrap.dedent(content).encode() if isinstance(content, str) else content
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def zip_files() -> Callable[[Mapping[str, str | bytes]], bytes]:
    """``zip_files({path: content}) -> bytes``: a deployment package or layer zip."""
    return build_zip


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The local cloud, started once for the session and stopped at its end."""
    previous_port = os.environ.get("MOTO_PORT")
    cloud = LocalCloud(state_dir=tmp_path_factory.mktemp("localcloud-state"))
    cloud.start()
    health = f"{cloud.endpoint_url}{ADMIN_PREFIX}/health"
    wait_for(
        lambda: requests.get(health, timeout=2).ok,
        timeout=30,
        interval=0.05,
        description="local cloud health",
    )
    yield cloud
    cloud.stop()
    if previous_port is None:
        os.environ.pop("MOTO_PORT", None)
    else:
        os.environ["MOTO_PORT"] = previous_port


@pytest.fixture(scope="session")
def aws(local_cloud: LocalCloud) -> Callable[..., Any]:
    """``aws(service, config=None)``: a boto3 client bound to the local cloud."""
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    clients: dict[str, Any] = {}

    def client(service: str, *, config: Config | None = None) -> Any:
        if config is not None:
            return session.client(service, endpoint_url=local_cloud.endpoint_url, config=config)
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=local_cloud.endpoint_url)
        return clients[service]

    return client


@pytest.fixture(scope="session")
def lambda_role(aws: Callable[..., Any]) -> str:
    """An execution role functions can be created with (moto checks that it exists)."""
    iam = aws("iam")
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE_NAME)["Role"]["Arn"])
    except ClientError:
        created = iam.create_role(
            RoleName=LAMBDA_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY)
        )
        return str(created["Role"]["Arn"])


@pytest.fixture
def make_function(aws: Callable[..., Any], lambda_role: str) -> Iterator[Callable[..., str]]:
    """``make_function(code, **options) -> function name``; deleted after the test.

    ``code`` is the source of ``app.py`` or a ``{path: content}`` mapping. Options:
    ``handler`` ("app.handler"), ``name``, ``environment``, ``timeout`` (3), ``memory_size``,
    ``layers`` (ARNs), ``reserved_concurrency``, ``runtime`` ("python3.13").
    """
    created: list[str] = []

    def make(
        code: str | Mapping[str, str | bytes],
        *,
        handler: str = "app.handler",
        name: str | None = None,
        environment: Mapping[str, str] | None = None,
        timeout: int = 3,
        memory_size: int = 128,
        layers: Sequence[str] = (),
        reserved_concurrency: int | None = None,
        runtime: str = "python3.13",
    ) -> str:
        files = {"app.py": code} if isinstance(code, str) else dict(code)
        function_name = name or f"test-{uuid.uuid4().hex[:12]}"
        options: dict[str, Any] = {
            "FunctionName": function_name,
            "Runtime": runtime,
            "Role": lambda_role,
            "Handler": handler,
            "Code": {"ZipFile": build_zip(files)},
            "Timeout": timeout,
            "MemorySize": memory_size,
        }
        if environment:
            options["Environment"] = {"Variables": dict(environment)}
        if layers:
            options["Layers"] = list(layers)
        aws("lambda").create_function(**options)
        created.append(function_name)
        if reserved_concurrency is not None:
            aws("lambda").put_function_concurrency(
                FunctionName=function_name, ReservedConcurrentExecutions=reserved_concurrency
            )
        return function_name

    yield make
    for function_name in created:
        with contextlib.suppress(ClientError):  # the test may have deleted it itself
            aws("lambda").delete_function(FunctionName=function_name)


@pytest.fixture
def make_layer(aws: Callable[..., Any]) -> Callable[..., str]:
    """``make_layer({path: content}, name=None) -> layer version ARN``."""

    def make(files: Mapping[str, str | bytes], name: str | None = None) -> str:
        published = aws("lambda").publish_layer_version(
            LayerName=name or f"test-layer-{uuid.uuid4().hex[:12]}",
            Content={"ZipFile": build_zip(files)},
            CompatibleRuntimes=["python3.13"],
        )
        return str(published["LayerVersionArn"])

    return make


@dataclass(frozen=True)
class Invoked:
    """A decoded Invoke response."""

    status: int
    payload: Any  # the JSON document, or the raw text when it is not JSON
    function_error: str | None
    log: str  # the decoded LogResult ("" unless log_type="Tail")
    executed_version: str | None
    raw: dict[str, Any]


@pytest.fixture(scope="session")
def invoke(aws: Callable[..., Any]) -> Callable[..., Invoked]:
    """``invoke(name, event=None, *, log_type=None, client=None, **api_args) -> Invoked``."""

    def call(
        function_name: str,
        event: Any = None,
        *,
        log_type: str | None = None,
        client: Any = None,
        **api_args: Any,
    ) -> Invoked:
        arguments: dict[str, Any] = {"FunctionName": function_name, **api_args}
        if event is not None:
            arguments["Payload"] = json.dumps(event).encode()
        if log_type:
            arguments["LogType"] = log_type
        response = (client or aws("lambda")).invoke(**arguments)
        text = response["Payload"].read().decode()
        try:
            payload: Any = json.loads(text) if text else None
        except ValueError:
            payload = text
        log = base64.b64decode(response["LogResult"]).decode() if "LogResult" in response else ""
        return Invoked(
            status=response["StatusCode"],
            payload=payload,
            function_error=response.get("FunctionError"),
            log=log,
            executed_version=response.get("ExecutedVersion"),
            raw=response,
        )

    return call

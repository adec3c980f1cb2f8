"""Fixtures for the items API unit tests: REST v1 proxy events and a moto DynamoDB table.

Powertools has no event factory for tests, so ``rest_event`` builds the API Gateway REST
(v1) proxy event the way API Gateway does for this app's two resources.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

TABLE_NAME = "simple-web-service-items-unit"
STAGE = "v1"

RestEvent = Callable[..., dict[str, Any]]


@dataclass
class FakeLambdaContext:
    function_name: str = "simple-web-service-ItemsFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:simple-web-service-ItemsFunction"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _resource_of(path: str) -> tuple[str, dict[str, str] | None]:
    """The API Gateway resource a path hits, and its path parameters."""
    segments = path.strip("/").split("/")
    if segments == ["items"]:
        return "/items", None
    if len(segments) == 2 and segments[0] == "items":
        return "/items/{item_id}", {"item_id": segments[1]}
    # Reachable only by direct invoke: API Gateway answers unknown paths itself.
    return path, None


def build_rest_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    resource, path_parameters = _resource_of(path)
    all_headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": 1_767_225_600_000,
            "resourceId": "res123",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": body,
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str | None

    def json(self) -> Any:
        assert self.body is not None, "response has no body"
        return json.loads(self.body)

    @property
    def message(self) -> str:
        """The error message the layer puts in every error body."""
        return str(self.json()["message"])


ApiCall = Callable[..., ApiResponse]


@pytest.fixture
def rest_event() -> RestEvent:
    return build_rest_event


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "ITEMS_TABLE_NAME": TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "items-api",
        "POWERTOOLS_METRICS_NAMESPACE": "SimpleWebService",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def table(aws_environment: None) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        created = dynamodb.create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield created


@pytest.fixture
def handler(table: Any) -> Iterator[ModuleType]:
    """A fresh import of the handler, so its module-level boto3 resource is bound to moto."""
    sys.modules.pop("items_api.handler", None)
    module = importlib.import_module("items_api.handler")
    yield module
    sys.modules.pop("items_api.handler", None)


@pytest.fixture
def invoke(handler: ModuleType) -> Callable[[dict[str, Any]], ApiResponse]:
    """Hand an event to the Lambda handler and read its answer as API Gateway would."""

    def call(event: dict[str, Any]) -> ApiResponse:
        result = handler.lambda_handler(event, FakeLambdaContext())
        headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), ", ".join(values))
        return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body"))

    return call


@pytest.fixture
def api(invoke: Callable[[dict[str, Any]], ApiResponse]) -> ApiCall:
    """Make an HTTP request to the API, in process: ``api("GET", "/items", query=...)``."""

    def call(
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: str | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        if json_body is not None:
            body = json.dumps(json_body)
        return invoke(build_rest_event(method, path, body=body, query=query))

    return call

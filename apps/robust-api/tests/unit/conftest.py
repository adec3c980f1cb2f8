"""Fixtures for the bookings API unit tests: moto tables, REST v1 events, fake services.

``rest_event`` builds the API Gateway REST (v1) proxy event the way API Gateway does for
this app's resources; ``api`` hands it to the handler of the function API Gateway routes
that method and path to, in process.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

BOOKINGS_TABLE = "robust-api-bookings-unit"
NOTICES_TABLE = "robust-api-notices-unit"
STAGE = "v1"


@dataclass
class FakeLambdaContext:
    function_name: str = "robust-api-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:robust-api-Function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


# (method, resource) -> the handler module API Gateway routes it to (the template's Events).
ROUTES = {
    ("POST", "/bookings"): "booking_create.handler",
    ("GET", "/bookings"): "booking_read.handler",
    ("GET", "/bookings/{booking_id}"): "booking_read.handler",
    ("POST", "/bookings/{booking_id}/cancel"): "booking_cancel.handler",
}


def resource_of(path: str) -> tuple[str, dict[str, str] | None]:
    segments = path.strip("/").split("/")
    if segments == ["bookings"]:
        return "/bookings", None
    if len(segments) == 2 and segments[0] == "bookings":
        return "/bookings/{booking_id}", {"booking_id": segments[1]}
    if len(segments) == 3 and segments[0] == "bookings" and segments[2] == "cancel":
        return "/bookings/{booking_id}/cancel", {"booking_id": segments[1]}
    raise AssertionError(f"API Gateway has no resource for {path}")


def build_rest_event(
    method: str, path: str, *, body: str | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    resource, path_parameters = resource_of(path)
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
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
        return str(self.json()["message"])


class FakeRates:
    """The rates service as the create function sees it: answers, or raises what it is told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.answer: dict[str, Any] = {"total_cents": 36000, "currency": "EUR"}

    def quote(self, stay: Mapping[str, Any], *, correlation_id: str | None) -> dict[str, Any]:
        self.calls.append(dict(stay))
        if self.error is not None:
            raise self.error
        return dict(self.answer)


class FakeHandoff:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def send(self, event: Mapping[str, Any]) -> str | None:
        if self.error is not None:
            raise self.error
        self.events.append(dict(event))
        return "req-1"


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "BOOKINGS_TABLE_NAME": BOOKINGS_TABLE,
        "NOTICES_TABLE_NAME": NOTICES_TABLE,
        "RATES_FUNCTION_NAME": "robust-api-rates",
        "NOTICES_FUNCTION_NAME": "robust-api-notices",
        "POWERTOOLS_SERVICE_NAME": "bookings-api",
        "POWERTOOLS_METRICS_NAMESPACE": "RobustApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def _table(dynamodb: Any, name: str, *, with_index: bool) -> Any:
    definitions = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")]
    extra: dict[str, Any] = {}
    if with_index:
        definitions += [{"AttributeName": n, "AttributeType": "S"} for n in ("gsi1pk", "gsi1sk")]
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "ByGuest",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


@dataclass
class Tables:
    bookings: Any
    notices: Any


@pytest.fixture
def tables(aws_environment: None) -> Iterator[Tables]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        yield Tables(
            bookings=_table(dynamodb, BOOKINGS_TABLE, with_index=True),
            notices=_table(dynamodb, NOTICES_TABLE, with_index=False),
        )


def fresh_import(name: str) -> ModuleType:
    """A fresh import, so the module-level boto3 resources are bound to moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def importer(tables: Tables) -> Iterator[Callable[[str], ModuleType]]:
    """Import a handler module afresh, inside moto; it is forgotten afterwards."""
    imported: list[str] = []

    def load(name: str) -> ModuleType:
        imported.append(name)
        return fresh_import(name)

    yield load
    for name in imported:
        sys.modules.pop(name, None)


@pytest.fixture
def rates() -> FakeRates:
    return FakeRates()


@pytest.fixture
def handoff() -> FakeHandoff:
    return FakeHandoff()


@pytest.fixture
def handlers(
    tables: Tables, rates: FakeRates, handoff: FakeHandoff, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, ModuleType]]:
    modules = {name: fresh_import(name) for name in set(ROUTES.values())}
    monkeypatch.setattr(modules["booking_create.handler"], "_rates", rates)
    monkeypatch.setattr(modules["booking_create.handler"], "_notices", handoff)
    monkeypatch.setattr(modules["booking_cancel.handler"], "_notices", handoff)
    yield modules
    for name in modules:
        sys.modules.pop(name, None)


ApiCall = Callable[..., ApiResponse]


@pytest.fixture
def api(handlers: dict[str, ModuleType]) -> ApiCall:
    """``api("POST", "/bookings", json_body={...})``: routed as API Gateway routes it."""

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
        event = build_rest_event(method, path, body=body, query=query)
        module = handlers[ROUTES[(method, event["resource"])]]
        result = module.lambda_handler(event, FakeLambdaContext())
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), ", ".join(values))
        return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body"))

    return call

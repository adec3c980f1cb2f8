"""Fixtures for the strangler unit tests: REST v1 proxy events, a Lambda context and a moto
DynamoDB orders table.

``rest_event`` builds the event API Gateway sends a Lambda proxy integration, for the
resource the façade (or the stand-in legacy API) would match.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

TABLE_NAME = "strangler-orders-unit"
STAGE = "v1"

RestEvent = Callable[..., dict[str, Any]]


@dataclass
class FakeLambdaContext:
    function_name: str = "strangler-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:strangler-Function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _resource_of(path: str) -> tuple[str, dict[str, str] | None]:
    """The façade resource a path hits, and its path parameters."""
    segments = [segment for segment in path.split("/") if segment]
    if segments == ["orders"]:
        return "/orders", None
    if len(segments) == 2 and segments[0] == "orders":
        return "/orders/{order_id}", {"order_id": segments[1]}
    if len(segments) == 2 and segments[0] == "invoices":
        return "/invoices/{invoice_id}", {"invoice_id": segments[1]}
    if not segments:
        return "/", None
    return "/{proxy+}", {"proxy": "/".join(segments)}


def build_rest_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    resource, path_parameters = _resource_of(path)
    all_headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": {k: list(v) for k, v in query.items()}
        if query
        else None,
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
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 1_767_225_600_000,
            "resourceId": "res123",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str | None

    def json(self) -> Any:
        assert self.body is not None, "response has no body"
        return json.loads(self.body)


def read_response(result: dict[str, Any]) -> ApiResponse:
    """The handler's proxy response as the client would see it."""
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ", ".join(values))
    return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body"))


@pytest.fixture
def rest_event() -> RestEvent:
    return build_rest_event


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "ORDERS_TABLE_NAME": TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "strangler-unit",
        "POWERTOOLS_METRICS_NAMESPACE": "Strangler",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def orders_table(aws_environment: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.resource("dynamodb").create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def _fresh_import(module_name: str) -> Any:
    """A fresh import, so a module-level boto3 resource binds to the active moto mock."""
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


Handle = Callable[[dict[str, Any]], ApiResponse]


def _caller(module_name: str) -> Iterator[Handle]:
    module = _fresh_import(module_name)

    def call(event: dict[str, Any]) -> ApiResponse:
        return read_response(module.lambda_handler(event, FakeLambdaContext()))

    yield call
    sys.modules.pop(module_name, None)


@pytest.fixture
def call_legacy(aws_environment: None) -> Iterator[Handle]:
    """Hand an event to the stand-in legacy handler; read its answer as API Gateway would."""
    yield from _caller("strangler_legacy.handler")


@pytest.fixture
def call_orders(orders_table: Any) -> Iterator[Handle]:
    """Hand an event to the orders handler (bound to the moto table)."""
    yield from _caller("strangler_orders.handler")


@pytest.fixture
def call_invoices(orders_table: Any) -> Iterator[Handle]:
    """Hand an event to the invoices handler (bound to the moto table)."""
    yield from _caller("strangler_invoices.handler")

"""Fixtures for the aggregator's unit tests: moto tables, fresh handler imports, Lambda
contexts, API Gateway events, and an in-process Invoke API that runs a service handler and
reports its errors the way the Python runtime does."""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

PROFILES_TABLE = "aggregator-profiles-unit"
ORDERS_TABLE = "aggregator-orders-unit"
LOYALTY_TABLE = "aggregator-loyalty-unit"
PROFILE_FUNCTION = "aggregator-ProfileFunction-unit"
ORDERS_FUNCTION = "aggregator-OrdersFunction-unit"
LOYALTY_FUNCTION = "aggregator-LoyaltyFunction-unit"

# What the fake services answer by default (as the real ones would, customer id included).
PROFILE = {"customer_id": "c-1", "name": "Ada", "email": "ada@example.com"}
ORDERS = {"customer_id": "c-1", "orders": [{"order_id": "O-1"}], "count": 1}
LOYALTY = {"customer_id": "c-1", "member": True, "points": 120, "tier": "SILVER"}


class FakeServices:
    """Answers or errors per service; an Event makes a service hang until released."""

    def __init__(self, **behaviour: Any) -> None:
        self.behaviour: dict[str, Any] = {
            "profile": PROFILE,
            "recent_orders": ORDERS,
            "loyalty": LOYALTY,
        }
        self.behaviour.update(behaviour)
        self.calls: list[tuple[str, str, Any]] = []

    def _answer(self, name: str, customer_id: str, extra: Any) -> dict[str, Any]:
        self.calls.append((name, customer_id, extra))
        what = self.behaviour[name]
        if isinstance(what, threading.Event):
            what.wait(30)
            return {"late": True}
        if isinstance(what, BaseException):
            raise what
        return dict(what)

    def profile(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]:
        return self._answer("profile", customer_id, correlation_id)

    def recent_orders(self, customer_id: str, limit: int, correlation_id: str | None) -> dict:
        return self._answer("recent_orders", customer_id, limit)

    def loyalty(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]:
        return self._answer("loyalty", customer_id, correlation_id)


@dataclass
class FakeLambdaContext:
    function_name: str = "aggregator-AggregatorFunction-unit"
    remaining_ms: int = 6_000
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def api_event(customer_id: str, *, method: str = "GET", suffix: str = "/overview") -> dict:
    """A REST API (v1) proxy event for ``/customers/{customerId}/overview``."""
    path = f"/customers/{customer_id}{suffix}"
    return {
        "resource": "/customers/{customerId}/overview",
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"customerId": customer_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/customers/{customerId}/overview",
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


class InProcessLambda:
    """The Invoke API (RequestResponse) in front of handlers run in this process, by name.

    A raised exception becomes what Lambda returns: FunctionError "Unhandled" and the
    payload the Python runtime builds (errorType is the exception's class name).
    """

    def __init__(self, handlers: dict[str, Callable[[Any, Any], Any]]) -> None:
        self.handlers = handlers
        self.events: list[tuple[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.events.append((FunctionName, event))
        context = FakeLambdaContext(function_name=FunctionName, remaining_ms=5_000)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ResponseMetadata": {"RequestId": context.aws_request_id, "HTTPStatusCode": 200},
        }
        try:
            result = self.handlers[FunctionName](event, context)
        except Exception as error:
            body = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            response["FunctionError"] = "Unhandled"
            response["Payload"] = io.BytesIO(json.dumps(body).encode())
            return response
        response["Payload"] = io.BytesIO(json.dumps(result).encode())
        return response


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "PROFILES_TABLE_NAME": PROFILES_TABLE,
        "ORDERS_TABLE_NAME": ORDERS_TABLE,
        "LOYALTY_TABLE_NAME": LOYALTY_TABLE,
        "PROFILE_FUNCTION_NAME": PROFILE_FUNCTION,
        "ORDERS_FUNCTION_NAME": ORDERS_FUNCTION,
        "LOYALTY_FUNCTION_NAME": LOYALTY_FUNCTION,
        "PART_BUDGET_SECONDS": "3",
        "POWERTOOLS_SERVICE_NAME": "customer-overview",
        "POWERTOOLS_METRICS_NAMESPACE": "Aggregator",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def tables(aws_environment: None) -> Iterator[dict[str, Any]]:
    """The three services' tables, empty, in moto: {"profiles", "orders", "loyalty"}."""
    with mock_aws():
        dynamodb: Any = boto3.resource("dynamodb")
        string = "S"
        specs = {
            "profiles": (PROFILES_TABLE, [("customer_id", "HASH")]),
            "orders": (ORDERS_TABLE, [("customer_id", "HASH"), ("order_key", "RANGE")]),
            "loyalty": (LOYALTY_TABLE, [("customer_id", "HASH")]),
        }
        created = {}
        for short, (name, keys) in specs.items():
            created[short] = dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],
                AttributeDefinitions=[
                    {"AttributeName": a, "AttributeType": string} for a, _ in keys
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        yield created


@pytest.fixture
def fresh_import() -> Iterator[Callable[[str], ModuleType]]:
    """Import a handler module anew (its module-level clients read the environment)."""
    imported: list[str] = []

    def load(name: str) -> ModuleType:
        sys.modules.pop(name, None)
        imported.append(name)
        return importlib.import_module(name)

    yield load
    for name in imported:
        sys.modules.pop(name, None)


@pytest.fixture
def make_event() -> Callable[..., dict]:
    return api_event


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def context_factory() -> Callable[..., FakeLambdaContext]:
    return FakeLambdaContext


@pytest.fixture
def in_process_lambda() -> Callable[[dict[str, Callable[[Any, Any], Any]]], InProcessLambda]:
    return InProcessLambda


@pytest.fixture
def fake_services() -> type[FakeServices]:
    """``overview.CustomerServices`` with canned answers; pass an exception or an Event
    (hang until set) per service to change one."""
    return FakeServices

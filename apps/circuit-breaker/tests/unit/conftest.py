"""Fixtures for the circuit breaker's unit tests: a fake clock, moto tables, REST events.

The app's modules are imported inside functions: the plugin puts the app's ``src`` on
``sys.path`` when it collects the test files, after this file loads."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

BREAKER_TABLE = "circuit-breaker-breakers-unit"
SUPPLIER_TABLE = "circuit-breaker-supplier-unit"
SUPPLIER_FUNCTION = "circuit-breaker-SupplierFunction-unit"


class FakeClock:
    """Wall-clock milliseconds that move only when a test says so."""

    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


class InMemoryBreakerStore:
    """The BreakerStore contract in memory: atomic, conditional, like DynamoDBBreakerStore."""

    def __init__(self) -> None:
        self.records: dict[str, Any] = {}
        self.writes = 0

    def load(self, key: str) -> Any:
        from breaker_caller.circuit import Snapshot

        return self.records.get(key, Snapshot(key))

    def add_failure(self, key: str) -> Any:
        from breaker_caller.circuit import Snapshot, State

        current = self.records.get(key, Snapshot(key))
        if current.state is not State.CLOSED:
            return None
        self.writes += 1
        self.records[key] = dataclasses.replace(current, failures=current.failures + 1)
        return self.records[key]

    def reset_failures(self, key: str) -> None:
        from breaker_caller.circuit import State

        current = self.records.get(key)
        if current and current.state is State.CLOSED and current.failures > 0:
            self.writes += 1
            self.records[key] = dataclasses.replace(current, failures=0)

    def replace(self, expected: Any, new: Any) -> bool:
        current = self.records.get(expected.key)
        if current is None:
            return False
        if current.version != expected.version or current.failures < expected.failures:
            return False
        self.writes += 1
        self.records[expected.key] = new
        return True


class StaleReads:
    """Wraps a store so ``load`` keeps returning what it returned when frozen: two callers
    that read before either wrote (the race a conditional write must settle)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.frozen: dict[str, Any] = {}

    def freeze(self, key: str) -> None:
        self.frozen[key] = self.store.load(key)

    def load(self, key: str) -> Any:
        return self.frozen.get(key) or self.store.load(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory_store() -> InMemoryBreakerStore:
    return InMemoryBreakerStore()


@pytest.fixture
def stale_reads() -> type[StaleReads]:
    """``stale_reads(store)``: the store as two callers that read at the same moment see it."""
    return StaleReads


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "BREAKER_TABLE_NAME": BREAKER_TABLE,
        "SUPPLIER_TABLE_NAME": SUPPLIER_TABLE,
        "SUPPLIER_FUNCTION_NAME": SUPPLIER_FUNCTION,
        "SUPPLIER_URL": "",
        "FAILURE_THRESHOLD": "3",
        "OPEN_SECONDS": "2",
        "MAX_OPEN_SECONDS": "16",
        "DEPENDENCY_TIMEOUT_SECONDS": "2",
        "POWERTOOLS_SERVICE_NAME": "breaker-caller",
        "POWERTOOLS_METRICS_NAMESPACE": "CircuitBreaker",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def tables(aws_environment: None) -> Iterator[dict[str, Any]]:
    """The breaker table and the stand-in supplier's table, in moto."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        breakers = dynamodb.create_table(
            TableName=BREAKER_TABLE,
            KeySchema=[{"AttributeName": "breaker_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "breaker_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        supplier = dynamodb.create_table(
            TableName=SUPPLIER_TABLE,
            KeySchema=[
                {"AttributeName": "supplier_id", "KeyType": "HASH"},
                {"AttributeName": "record", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "supplier_id", "AttributeType": "S"},
                {"AttributeName": "record", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield {"breakers": breakers, "supplier": supplier}


def fresh_import(name: str) -> ModuleType:
    """Import a handler anew, so its module-level AWS clients bind to the current moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@dataclass
class FakeLambdaContext:
    function_name: str = "circuit-breaker-CallerFunction-unit"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:circuit-breaker-CallerFunction-unit"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def build_stock_event(supplier_id: str, sku: str) -> dict[str, Any]:
    """The REST (v1) proxy event API Gateway sends for GET /suppliers/{id}/stock/{sku}."""
    path = f"/suppliers/{supplier_id}/stock/{sku}"
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    return {
        "resource": "/suppliers/{supplier_id}/stock/{sku}",
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"supplier_id": supplier_id, "sku": sku},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "resourcePath": "/suppliers/{supplier_id}/stock/{sku}",
            "httpMethod": "GET",
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.fixture
def stock_event() -> Any:
    """``stock_event(supplier_id, sku)``: the proxy event of a stock check."""
    return build_stock_event


@pytest.fixture
def caller_handler(tables: dict[str, Any]) -> Iterator[ModuleType]:
    yield fresh_import("breaker_caller.handler")
    sys.modules.pop("breaker_caller.handler", None)


@pytest.fixture
def supplier_handler(tables: dict[str, Any]) -> Iterator[ModuleType]:
    yield fresh_import("breaker_supplier.handler")
    sys.modules.pop("breaker_supplier.handler", None)

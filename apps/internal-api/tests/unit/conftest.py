"""Fixtures for the internal API's unit tests: moto tables, fresh handler imports, and an
in-process stand-in for Lambda's Invoke API that runs a handler and reports its errors the
way the Python runtime does."""

from __future__ import annotations

import importlib
import io
import json
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

CATALOGUE_TABLE = "internal-api-catalogue-unit"
ORDERS_TABLE = "internal-api-orders-unit"
PRICING_FUNCTION = "internal-api-PricingFunction-unit"

# Catalogue records as DynamoDB holds them (prices in cents).
CATALOGUE = [
    {"sku": "MUG-01", "name": "Mug", "unit_price_cents": 1250},
    {
        "sku": "PEN-10",
        "name": "Pen",
        "unit_price_cents": 199,
        "bulk_min_quantity": 10,
        "bulk_percent_off": 15,
    },
]


@dataclass
class FakeLambdaContext:
    function_name: str = PRICING_FUNCTION
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{PRICING_FUNCTION}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 5_000


class InProcessLambda:
    """The Invoke API (RequestResponse) in front of a handler run in this process.

    A raised exception becomes what Lambda returns: FunctionError "Unhandled" and the
    payload the Python runtime builds (errorType is the exception's class name).
    """

    def __init__(self, handler: Callable[[Any, Any], Any]) -> None:
        self.handler = handler
        self.events: list[Any] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.events.append(event)
        context = FakeLambdaContext(function_name=FunctionName)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ResponseMetadata": {"RequestId": context.aws_request_id, "HTTPStatusCode": 200},
        }
        try:
            result = self.handler(event, context)
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
        "CATALOGUE_TABLE_NAME": CATALOGUE_TABLE,
        "ORDERS_TABLE_NAME": ORDERS_TABLE,
        "PRICING_FUNCTION_NAME": PRICING_FUNCTION,
        "CURRENCY": "USD",
        "POWERTOOLS_SERVICE_NAME": "pricing-service",
        "POWERTOOLS_METRICS_NAMESPACE": "InternalApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def tables(aws_environment: None) -> Iterator[dict[str, Any]]:
    """The catalogue (seeded with ``CATALOGUE``) and the orders table, in moto."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        created = {}
        for name, key in ((CATALOGUE_TABLE, "sku"), (ORDERS_TABLE, "order_id")):
            created[name] = dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        for record in CATALOGUE:
            created[CATALOGUE_TABLE].put_item(
                Item={k: Decimal(v) if isinstance(v, int) else v for k, v in record.items()}
            )
        yield {"catalogue": created[CATALOGUE_TABLE], "orders": created[ORDERS_TABLE]}


def fresh_import(name: str) -> ModuleType:
    """Import a handler anew, so its module-level AWS clients bind to the current moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def pricing_handler(tables: dict[str, Any]) -> Iterator[ModuleType]:
    yield fresh_import("pricing_quotes.handler")
    sys.modules.pop("pricing_quotes.handler", None)


@pytest.fixture
def invoke_pricing(pricing_handler: ModuleType) -> Callable[[Any], Any]:
    def call(event: Any) -> Any:
        return pricing_handler.lambda_handler(event, FakeLambdaContext())

    return call


@pytest.fixture
def in_process_lambda() -> type[InProcessLambda]:
    """``in_process_lambda(handler)``: the Invoke API in front of ``handler``."""
    return InProcessLambda


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The layer logger's output at INFO, as parsed JSON lines (written to a buffer)."""
    from common_layer.observability import logger

    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel("INFO")
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        logger.setLevel(previous_level)
        handler.setStream(previous_stream)

"""Fixtures of the distributed trigger's unit tests: awslogs events, SQS records, fakes, moto.

Test modules cannot import this file (pytest's importlib mode), so builders are fixtures:
``awslogs_event``, ``sqs_record``, ``order_event``.
"""

from __future__ import annotations

import base64
import gzip
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

LOG_GROUP = "/distributed-trigger/order-audit"
LOG_STREAM = "orders-api"


def build_awslogs_event(
    lines: list[Any], *, message_type: str = "DATA_MESSAGE", first_id: int = 1000
) -> dict[str, Any]:
    """The event CloudWatch Logs invokes a subscription's function with; a dict line is
    written as its JSON, a str as it is."""
    data = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": LOG_GROUP,
        "logStream": LOG_STREAM,
        "subscriptionFilters": ["OrderAuditSubscription"],
        "logEvents": [
            {
                "id": str(first_id + index).rjust(56, "3"),
                "timestamp": 1795000000000 + index,
                "message": line if isinstance(line, str) else json.dumps(line),
            }
            for index, line in enumerate(lines)
        ],
    }
    packed = gzip.compress(json.dumps(data).encode())
    return {"awslogs": {"data": base64.b64encode(packed).decode()}}


def build_line(event_type: str = "order.placed", order_id: str = "ord-1", **data: Any) -> dict:
    if not data and event_type == "order.placed":
        data = {"customer_id": "cust-7", "total": 72.5, "currency": "EUR"}
        data["ship_to"] = {"country": "DE"}
    return {
        "event_type": event_type,
        "order_id": order_id,
        "occurred_at": "2026-11-23T10:15:00Z",
        "data": data,
    }


def build_order_event(
    event_type: str = "order.placed", order_id: str = "ord-1", **data: Any
) -> dict[str, Any]:
    """An order event document as the trigger publishes it."""
    return {**build_line(event_type, order_id, **data), "event_id": "1" * 56, "source": {}}


def build_sqs_record(
    body: Any, *, attributes: dict[str, tuple[str, str]] | None = None, receive_count: int = 1
) -> dict[str, Any]:
    """One record of a Lambda SQS event; ``body`` other than a str is sent as JSON."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": data_type, "stringListValues": []}
            for name, (data_type, value) in (attributes or {}).items()
        },
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ShippingQueue",
        "awsRegion": "us-east-1",
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "distributed-trigger-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:distributed-trigger-function"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def awslogs_event() -> Callable[..., dict[str, Any]]:
    return build_awslogs_event


@pytest.fixture
def log_line() -> Callable[..., dict[str, Any]]:
    return build_line


@pytest.fixture
def order_event() -> Callable[..., dict[str, Any]]:
    return build_order_event


@pytest.fixture
def sqs_record() -> Callable[..., dict[str, Any]]:
    return build_sqs_record


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
        "POWERTOOLS_SERVICE_NAME": "distributed-trigger",
        "POWERTOOLS_METRICS_NAMESPACE": "DistributedTrigger",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws(aws_environment: None) -> Iterator[Callable[[str], Any]]:
    """``aws("sqs")``: boto3 clients on moto."""
    with mock_aws():
        yield lambda service: boto3.client(service)  # type: ignore[call-overload]


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        found.extend(batch)


@pytest.fixture
def drain() -> Callable[[Any, str], list[dict[str, Any]]]:
    """``drain(sqs, url)``: every message waiting on a moto queue (they stay in flight)."""
    return receive_all


@pytest.fixture
def fresh_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ModuleType]]:
    """Import a handler module anew (its clients are created at import)."""
    imported: list[str] = []

    def load(name: str) -> ModuleType:
        sys.modules.pop(name, None)
        imported.append(name)
        return importlib.import_module(name)

    yield load
    for name in imported:
        sys.modules.pop(name, None)

"""Fixtures for the usage consumer's unit tests: SQS events, fakes of the ports, moto SQS.

Test modules cannot import this file (pytest's importlib mode), so the builders are handed
out as fixtures: ``sqs_record``, ``message_of``, ``string_attribute``, ``binary_attribute``.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    # Only for annotations: the app's src is on sys.path once its test files are collected.
    from usage_consumer.usage import InvalidUsageRecord, QueueMessage, UsageRecord

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:frugal-consumer-UsageQueue"
DLQ_NAME = "frugal-consumer-unit-dlq"
CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:frugal-consumer-unit"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-unit-AbCdEf"

VALID_BODY = {
    "record_id": "rec-0001",
    "customer_id": "acme",
    "meter": "api-calls",
    "quantity": 3,
    "occurred_at": "2026-11-22T10:15:00Z",
}


def build_string_attribute(value: str, data_type: str = "String") -> dict[str, Any]:
    """A message attribute as Lambda puts it in an SQS event."""
    return {
        "stringValue": value,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": data_type,
    }


def build_sqs_record(
    body: Any = None,
    *,
    attributes: dict[str, dict[str, Any]] | None = None,
    message_id: str | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """One record of a Lambda SQS event; ``body`` other than a str is sent as JSON."""
    text = body if isinstance(body, str) else json.dumps(VALID_BODY if body is None else body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795000000100",
        },
        "messageAttributes": (
            {"producer": build_string_attribute("billing")} if attributes is None else attributes
        ),
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def build_queue_message(body: Any = None, **kwargs: Any) -> QueueMessage:
    from usage_consumer.usage import QueueMessage

    return QueueMessage.from_event_record(build_sqs_record(body, **kwargs))


def build_binary_attribute(value: bytes) -> dict[str, Any]:
    return {
        "binaryValue": base64.b64encode(value).decode(),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "frugal-consumer-UsageConsumerFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:frugal-consumer-UsageConsumerFunction"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class InMemoryUsageStore:
    """``UsageStore`` as a dict ledger plus totals, with the same once-per-key rule."""

    def __init__(self) -> None:
        self.ledger: dict[tuple[str, str], UsageRecord] = {}
        self.totals: dict[tuple[str, str, str], tuple[int, int]] = {}
        self.duplicates: dict[tuple[str, str], int] = {}
        self.fail_on: set[str] = set()

    def add(self, record: UsageRecord, message_id: str) -> bool:
        if record.record_id in self.fail_on:
            raise ConnectionError(f"database unreachable for {record.record_id}")
        key = (record.producer, record.record_id)
        if key in self.ledger:
            self.duplicates[key] = self.duplicates.get(key, 0) + 1
            return False
        self.ledger[key] = record
        total_key = (record.customer_id, record.meter, record.usage_date.isoformat())
        quantity, count = self.totals.get(total_key, (0, 0))
        self.totals[total_key] = (quantity + record.quantity, count + 1)
        return True


class ListDeadLetters:
    """``DeadLetters`` that keeps what it is given."""

    def __init__(self) -> None:
        self.parked: list[tuple[QueueMessage, InvalidUsageRecord]] = []

    def park(self, message: QueueMessage, reason: InvalidUsageRecord) -> None:
        self.parked.append((message, reason))


@pytest.fixture
def sqs_record() -> Callable[..., dict[str, Any]]:
    """``sqs_record(body, attributes=..., message_id=..., receive_count=...)``"""
    return build_sqs_record


@pytest.fixture
def message_of() -> Callable[..., QueueMessage]:
    """The ``QueueMessage`` of ``sqs_record(...)`` with the same arguments."""
    return build_queue_message


@pytest.fixture
def string_attribute() -> Callable[..., dict[str, Any]]:
    return build_string_attribute


@pytest.fixture
def binary_attribute() -> Callable[[bytes], dict[str, Any]]:
    return build_binary_attribute


@pytest.fixture
def valid_body() -> dict[str, Any]:
    return dict(VALID_BODY)


@pytest.fixture
def store() -> InMemoryUsageStore:
    return InMemoryUsageStore()


@pytest.fixture
def dead_letters() -> ListDeadLetters:
    return ListDeadLetters()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "DATABASE_CLUSTER_ARN": CLUSTER_ARN,
        "DATABASE_SECRET_ARN": SECRET_ARN,
        "DATABASE_NAME": "usage",
        "POWERTOOLS_SERVICE_NAME": "usage-consumer",
        "POWERTOOLS_METRICS_NAMESPACE": "FrugalConsumer",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def sqs(aws_environment: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs")


@pytest.fixture
def dlq_url(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
    return url


@pytest.fixture
def dlq_messages(sqs: Any, dlq_url: str) -> Callable[[], list[dict[str, Any]]]:
    """Every message waiting in the moto DLQ, with its attributes (they stay in flight)."""

    def receive_all() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            found.extend(batch)

    return receive_all


@pytest.fixture
def handler(
    dlq_url: str, store: InMemoryUsageStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """A fresh import of the handler bound to moto's SQS, with the in-memory store as its
    database (moto's RDS Data API runs no SQL)."""
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    sys.modules.pop("usage_consumer.handler", None)
    module = importlib.import_module("usage_consumer.handler")
    monkeypatch.setattr(module, "_store", store)
    yield module
    sys.modules.pop("usage_consumer.handler", None)


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def invoke(handler: ModuleType) -> Invoke:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, FakeLambdaContext())
        return result

    return call

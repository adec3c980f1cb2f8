"""Fixtures for the notifier's unit tests: events as Lambda delivers them, fakes of the
ports, moto's DynamoDB and SQS, and fresh imports of the handlers bound to them.

Test modules cannot import this file (pytest's importlib mode), so builders are handed out
as fixtures: ``billing_event``, ``sqs_record``, ``sns_event``.
"""

from __future__ import annotations

import base64
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

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:notifier-BillingEventsTopic-ABC123"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:notifier-AlertsQueue-ABC123"


def build_billing_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventId": "payments-000123",
        "eventType": "payment.failed",
        "severity": "critical",
        "source": "payments",
        "occurredAt": "2026-11-22T10:15:00Z",
        "summary": "card declined",
        "data": {"customerId": "acme", "amountCents": 250000, "currency": "EUR"},
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not None}


def _attributes_of(body: Any) -> dict[str, str]:
    return {name: str(body[name]) for name in ("eventType", "severity", "source") if name in body}


def build_sqs_record(
    body: Any = None,
    *,
    attributes: Mapping[str, str] | None = None,
    binary_attributes: Mapping[str, bytes] | None = None,
    message_id: str | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """One record of a Lambda SQS event, as a raw-delivery subscription puts it in the queue.
    ``body`` other than a str is sent as JSON; attributes default to the body's routing ones."""
    document = build_billing_event() if body is None else body
    text = document if isinstance(document, str) else json.dumps(document)
    if attributes is None:
        attributes = _attributes_of(document) if isinstance(document, dict) else {}
    message_attributes: dict[str, Any] = {
        name: {
            "stringValue": value,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
        for name, value in attributes.items()
    }
    for name, raw in (binary_attributes or {}).items():
        message_attributes[name] = {
            "binaryValue": base64.b64encode(raw).decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        }
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
        "messageAttributes": message_attributes,
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def build_sns_event(
    body: Any = None, *, attributes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The event SNS invokes a Lambda subscriber with, for one notification."""
    document = build_billing_event() if body is None else body
    text = document if isinstance(document, str) else json.dumps(document)
    if attributes is None:
        attributes = _attributes_of(document) if isinstance(document, dict) else {}
    message_id = str(uuid.uuid4())
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC_ARN}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": TOPIC_ARN,
                    "Subject": None,
                    "Message": text,
                    "Timestamp": "2026-11-22T10:15:01.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {
                        name: {"Type": "String", "Value": value}
                        for name, value in attributes.items()
                    },
                },
            }
        ]
    }


@pytest.fixture
def billing_event() -> Callable[..., dict[str, Any]]:
    """``billing_event(**fields)``: a valid event; a field set to None is left out."""
    return build_billing_event


@pytest.fixture
def sqs_record() -> Callable[..., dict[str, Any]]:
    return build_sqs_record


@pytest.fixture
def sns_event() -> Callable[..., dict[str, Any]]:
    return build_sns_event


@dataclass
class FakeLambdaContext:
    function_name: str = "notifier-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:notifier-Function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class MemoryStore:
    """The record-once port as a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, int] = {}

    def put_once(self, item: Mapping[str, Any]) -> bool:
        event_id = item["eventId"]
        self.deliveries[event_id] = self.deliveries.get(event_id, 0) + 1
        if event_id in self.items:
            return False
        self.items[event_id] = dict(item)
        return True


class ListDeadLetters:
    """A dead-letters port that keeps what it is given."""

    def __init__(self) -> None:
        self.parked: list[tuple[Any, Any]] = []

    def park(self, message: Any, reason: Any) -> None:
        self.parked.append((message, reason))


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


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
        "POWERTOOLS_SERVICE_NAME": "notifier-unit",
        "POWERTOOLS_METRICS_NAMESPACE": "Notifier",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws(aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs")


@pytest.fixture
def dlq_url(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="notifier-unit-dlq")["QueueUrl"]
    return url


@pytest.fixture
def dlq_messages(sqs: Any, dlq_url: str) -> Callable[[], list[dict[str, Any]]]:
    """Every message waiting in the moto DLQ, with its attributes (they stay in flight)."""

    def receive_all() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            found.extend(batch)
        return found

    return receive_all


@pytest.fixture
def table(aws: None) -> Any:
    """A moto table shaped like the alerts and payments audit tables."""
    dynamodb = boto3.resource("dynamodb")
    return dynamodb.create_table(
        TableName="notifier-unit-events",
        AttributeDefinitions=[{"AttributeName": "eventId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "eventId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _fresh_handler(module_name: str) -> ModuleType:
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


@pytest.fixture
def alerts_handler(
    table: Any, dlq_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    monkeypatch.setenv("ALERTS_TABLE_NAME", table.name)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    yield _fresh_handler("notifier_alerts.handler")
    sys.modules.pop("notifier_alerts.handler", None)


@pytest.fixture
def audit_handler(
    table: Any, dlq_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    monkeypatch.setenv("AUDIT_TABLE_NAME", table.name)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    yield _fresh_handler("notifier_payments_audit.handler")
    sys.modules.pop("notifier_payments_audit.handler", None)


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()

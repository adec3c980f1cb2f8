"""Fixtures for the Streamer's unit tests: Kinesis event records, fake and moto stores.

Test modules cannot import this file (pytest's importlib mode), so builders are fixtures:
``kinesis_record(body, sequence=..., shard=..., arrival=...)``.
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
    from stream_aggregator.aggregates import StreamEvent

TABLE = "streamer-unit-aggregates"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/streamer-EventStream"
ARRIVAL = 1795000000.5  # 2026-11-18T11:06:40.5Z


def build_kinesis_record(
    body: Any,
    *,
    sequence: str = "49657000000000000000000000000000000000000000000000000001",
    shard: str = "shardId-000000000000",
    arrival: float = ARRIVAL,
) -> dict[str, Any]:
    """One record of a Lambda Kinesis event; ``body`` other than bytes is sent as a JSON line."""
    data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": str(uuid.uuid4()),
            "sequenceNumber": sequence,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/streamer-AggregatorRole",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "streamer-AggregatorFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:streamer-AggregatorFunction"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class InMemoryAggregateStore:
    """``AggregateStore`` as dicts, with the same once-per-record rule."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.totals: dict[str, int] = {}
        self.minutes: dict[tuple[str, str], int] = {}
        self.fail_on: set[str] = set()  # sequence numbers whose write fails

    def count_once(self, event: StreamEvent) -> bool:
        if event.sequence_number in self.fail_on:
            raise ConnectionError(f"DynamoDB unreachable for {event.sequence_number}")
        key = (event.shard_id, event.sequence_number)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.totals[event.event_type] = self.totals.get(event.event_type, 0) + 1
        minute = (event.event_type, event.minute)
        self.minutes[minute] = self.minutes.get(minute, 0) + 1
        return True


@pytest.fixture
def kinesis_record() -> Callable[..., dict[str, Any]]:
    return build_kinesis_record


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def store() -> InMemoryAggregateStore:
    return InMemoryAggregateStore()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AGGREGATES_TABLE": TABLE,
        "POWERTOOLS_SERVICE_NAME": "streamer",
        "POWERTOOLS_METRICS_NAMESPACE": "Streamer",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "INFO",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def dynamodb(aws_environment: None) -> Iterator[Any]:
    """moto's DynamoDB with the aggregates table as the template declares it."""
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def item(dynamodb: Any) -> Callable[[str, str], dict[str, Any] | None]:
    """``item(pk, sk)``: the table's item, or None."""

    def get(pk: str, sk: str) -> dict[str, Any] | None:
        found = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        return found.get("Item")

    return get


@pytest.fixture
def handler(dynamodb: Any) -> Iterator[ModuleType]:
    """A fresh import of the handler, bound to moto's DynamoDB."""
    sys.modules.pop("stream_aggregator.handler", None)
    module = importlib.import_module("stream_aggregator.handler")
    yield module
    sys.modules.pop("stream_aggregator.handler", None)

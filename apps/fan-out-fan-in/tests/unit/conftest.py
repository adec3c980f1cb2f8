"""Fixtures for the fan-out/fan-in unit tests: moto for the adapters, fakes for the rest."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

TABLE = "fanout-jobs-unit"
BUCKET = "fanout-data-unit"
REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    function_name: str = "fan-out-fan-in-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:fan-out-fan-in-Function"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass(frozen=True)
class Aws:
    table: Any
    s3: Any
    sqs: Any
    task_queue_url: str
    dlq_url: str
    bucket: str = BUCKET

    def drain(self, url: str) -> list[dict[str, Any]]:
        """Receive and delete every message of a queue."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            for message in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "JOBS_TABLE_NAME": TABLE,
        "DATA_BUCKET_NAME": BUCKET,
        "AGGREGATOR_FUNCTION_NAME": "fanout-aggregator-unit",
        "MAX_TASK_ATTEMPTS": "3",
        "POWERTOOLS_SERVICE_NAME": "fanout-unit",
        "POWERTOOLS_METRICS_NAMESPACE": "FanOutFanIn",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        table = boto3.resource("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "job_id", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "job_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs")
        dlq_url = sqs.create_queue(QueueName="fanout-dlq-unit")["QueueUrl"]
        task_url = sqs.create_queue(QueueName="fanout-tasks-unit")["QueueUrl"]
        monkeypatch.setenv("TASK_QUEUE_URL", task_url)
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
        yield Aws(table=table, s3=s3, sqs=sqs, task_queue_url=task_url, dlq_url=dlq_url)


@pytest.fixture
def store(aws: Aws) -> Any:
    from fanout_store.jobs import DynamoJobStore

    return DynamoJobStore(aws.table)


@pytest.fixture
def fresh_module() -> Iterator[Callable[[str], ModuleType]]:
    """A fresh import of a handler module, so its module-level clients are bound to moto."""
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()

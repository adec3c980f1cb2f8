"""Fixtures for the ledger consumer's unit tests: fakes for the rules, moto for the adapters.

``fifo_queue`` is a real (moto) FIFO queue with its FIFO dead-letter queue, and
``sqs_event`` turns messages received from it into the event Lambda's SQS event source
delivers, receipt handles included, so the handler's backoff acts on real messages.
"""

from __future__ import annotations

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

ACCOUNTS_TABLE = "fifoer-accounts-unit"
LEDGER_TABLE = "fifoer-ledger-unit"
QUEUE_NAME = "fifoer-ledger-events-unit.fifo"
DLQ_NAME = "fifoer-ledger-events-dlq-unit.fifo"
REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    function_name: str = "fifoer-LedgerConsumerFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:fifoer-LedgerConsumerFunction"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dlq_url: str
    client: Any

    def send(
        self, event: dict[str, Any], *, group: str | None = None, body: str | None = None
    ) -> str:
        """Send a ledger event (or a raw ``body``) the way producers do."""
        account = str(event.get("account_id", "none"))
        seq = event.get("seq", uuid.uuid4().hex)
        response = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(event) if body is None else body,
            MessageGroupId=group or account,
            MessageDeduplicationId=f"{account}:{seq}:{uuid.uuid4().hex}",
        )
        return str(response["MessageId"])

    def receive(self, queue_url: str | None = None, count: int = 10) -> list[dict[str, Any]]:
        return list(
            self.client.receive_message(
                QueueUrl=queue_url or self.url,
                MaxNumberOfMessages=count,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        )


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "ACCOUNTS_TABLE_NAME": ACCOUNTS_TABLE,
        "LEDGER_TABLE_NAME": LEDGER_TABLE,
        "RETRY_BASE_DELAY_SECONDS": "2",
        "RETRY_MAX_DELAY_SECONDS": "60",
        "POWERTOOLS_SERVICE_NAME": "ledger-consumer",
        "POWERTOOLS_METRICS_NAMESPACE": "Fifoer",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_aws(aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def tables(moto_aws: None) -> tuple[Any, Any]:
    dynamodb = boto3.resource("dynamodb")
    accounts = dynamodb.create_table(
        TableName=ACCOUNTS_TABLE,
        KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ledger = dynamodb.create_table(
        TableName=LEDGER_TABLE,
        KeySchema=[
            {"AttributeName": "account_id", "KeyType": "HASH"},
            {"AttributeName": "seq", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "account_id", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return accounts, ledger


@pytest.fixture
def queues(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> Queues:
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=DLQ_NAME, Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=QUEUE_NAME,
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 10}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("LEDGER_QUEUE_URL", url)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    return Queues(url=url, arn=arn, dlq_url=dlq_url, client=sqs)


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message as received from SQS, in the shape of an SQS event source record."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


SqsEvent = Callable[[list[dict[str, Any]]], dict[str, Any]]


@pytest.fixture
def sqs_event(queues: Queues) -> SqsEvent:
    def build(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [lambda_record(message, queues.arn) for message in messages]}

    return build


@pytest.fixture
def handler(tables: tuple[Any, Any], queues: Queues) -> Iterator[ModuleType]:
    """A fresh import of the handler, so its module-level clients are bound to moto."""
    sys.modules.pop("ledger_consumer.handler", None)
    module = importlib.import_module("ledger_consumer.handler")
    yield module
    sys.modules.pop("ledger_consumer.handler", None)


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()

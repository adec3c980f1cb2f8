"""Fixtures for the scalable webhook unit tests: REST v1 and SQS events, moto SQS and
Secrets Manager, and in-memory fakes of the consumer's ports."""

from __future__ import annotations

import hashlib
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
    # Only for annotations: conftest loads before the plugin puts the app's src on sys.path.
    from webhook_consumer.ingest import BatchTally, Unprocessable, Webhook

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "v1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:scalable-webhook-WebhookQueue"


@dataclass
class FakeLambdaContext:
    function_name: str = "scalable-webhook-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:scalable-webhook-Function"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def build_rest_event(
    method: str, path: str, *, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The REST (v1) proxy event API Gateway sends for this app's one resource."""
    segments = path.strip("/").split("/")
    is_webhook = len(segments) == 2 and segments[0] == "webhooks"
    resource = "/webhooks/{source}" if is_webhook else path
    all_headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"source": segments[1]} if is_webhook else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": 1_795_000_000_000,
            "resourceId": "res123",
            "resourcePath": resource,
            "stage": STAGE,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_record(
    body: str,
    *,
    event_id: str | None = None,
    receive_count: int = 1,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One record of an SQS event, as the Lambda event source mapping builds it."""
    attributes: dict[str, Any] = {}
    if event_id is not None:
        attributes["event_id"] = {
            "stringValue": event_id,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle-" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795000000000",
            "SenderId": "AROAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1795000000100",
        },
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def queued_message(
    *,
    event_id: str | None = None,
    source: str = "shop",
    webhook: dict[str, Any] | None = None,
    received_at: str = "2026-11-23T10:00:00.000Z",
) -> tuple[str, str]:
    """(event id, body) of a message as the receiver queues it."""
    event_id = event_id or str(uuid.uuid4())
    body = {
        "event_id": event_id,
        "source": source,
        "received_at": received_at,
        "webhook": webhook or {"type": "order.created", "data": {"order_id": "o-1"}},
    }
    return event_id, json.dumps(body)


class InMemoryWebhookStore:
    """``WebhookStore`` in a dict, with the same one-row-per-event-id rule."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Webhook, str]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.migrations = 0
        self.fail_insert_for: set[str] = set()
        self.fail_finish = False

    def ensure_schema(self) -> None:
        self.migrations += 1

    def begin_batch(self, batch_id: str, request_id: str, records: int) -> None:
        self.batches[batch_id] = {"request_id": request_id, "records": records, "tally": None}

    def insert(self, webhook: Webhook, batch_id: str) -> bool:
        if webhook.event_id in self.fail_insert_for:
            raise ConnectionError("database unavailable")
        if webhook.event_id in self.rows:
            return False
        self.rows[webhook.event_id] = (webhook, batch_id)
        return True

    def finish_batch(self, batch_id: str, tally: BatchTally) -> None:
        if self.fail_finish:
            raise ConnectionError("database unavailable")
        self.batches[batch_id]["tally"] = tally


@dataclass
class Parked:
    body: str
    reason: str
    attempt: int
    source: str | None


class InMemoryDeadLetters:
    def __init__(self) -> None:
        self.parked: list[Parked] = []

    def park(self, body: str, reason: Unprocessable, attempt: int, source: str | None) -> str:
        self.parked.append(Parked(body, str(reason), attempt, source))
        return str(uuid.uuid4())


@pytest.fixture
def store() -> InMemoryWebhookStore:
    return InMemoryWebhookStore()


@pytest.fixture
def dead_letters() -> InMemoryDeadLetters:
    return InMemoryDeadLetters()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "scalable-webhook",
        "POWERTOOLS_METRICS_NAMESPACE": "ScalableWebhook",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto(aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def sqs(moto: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def webhook_queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="webhooks")["QueueUrl"])


@pytest.fixture
def dead_letter_queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="webhooks-dlq")["QueueUrl"])


SIGNING_SECRET = "s3cretS3cretS3cretS3cretS3cretS3cretS3cret123456"


@pytest.fixture
def signing_secret_arn(moto: None) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.create_secret(Name="signing", SecretString=SIGNING_SECRET)["ARN"])


def fresh_import(name: str) -> ModuleType:
    """Import a handler module anew, so its module-level clients bind to the current moto."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


ReceiverFactory = Callable[..., ModuleType]


@pytest.fixture
def receiver_module(
    monkeypatch: pytest.MonkeyPatch, webhook_queue_url: str, signing_secret_arn: str
) -> Iterator[ReceiverFactory]:
    """``receiver_module(signed=True)``: the receiver handler, with or without a secret."""

    def load(*, signed: bool = True) -> ModuleType:
        monkeypatch.setenv("WEBHOOK_QUEUE_URL", webhook_queue_url)
        monkeypatch.setenv("SIGNING_SECRET_ARN", signing_secret_arn if signed else "")
        return fresh_import("webhook_receiver.handler")

    yield load
    sys.modules.pop("webhook_receiver.handler", None)


@pytest.fixture
def consumer_module(
    monkeypatch: pytest.MonkeyPatch,
    dead_letter_queue_url: str,
    store: InMemoryWebhookStore,
) -> Iterator[ModuleType]:
    """The consumer handler, its DLQ on moto SQS and its database played by ``store``."""
    monkeypatch.setenv("DATABASE_CLUSTER_ARN", f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:db")
    monkeypatch.setenv("DATABASE_SECRET_ARN", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x")
    monkeypatch.setenv("DATABASE_NAME", "webhooks")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dead_letter_queue_url)
    module = fresh_import("webhook_consumer.handler")
    # moto's Data API answers canned results; the rules need a database that keeps rows.
    monkeypatch.setattr(module, "_store", store)
    yield module
    sys.modules.pop("webhook_consumer.handler", None)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str | None

    def json(self) -> Any:
        assert self.body is not None, "response has no body"
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return str(self.json()["message"])


def call_api(module: ModuleType, event: dict[str, Any]) -> ApiResponse:
    """Hand a REST event to a handler module and read the answer as API Gateway would."""
    result = module.lambda_handler(event, FakeLambdaContext())
    headers = {name.lower(): value for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ", ".join(values))
    return ApiResponse(status=result["statusCode"], headers=headers, body=result.get("body"))


# The helpers as fixtures: with --import-mode=importlib, test modules cannot import conftest.


@pytest.fixture
def rest_event() -> Callable[..., dict[str, Any]]:
    return build_rest_event


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return sqs_record


@pytest.fixture
def make_message() -> Callable[..., tuple[str, str]]:
    return queued_message


@pytest.fixture
def api() -> Callable[[ModuleType, dict[str, Any]], ApiResponse]:
    return call_api


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def signing_secret() -> str:
    return SIGNING_SECRET

"""Fixtures for the internal handoff's unit tests: fake Lambda contexts, moto tables, an
in-memory ledger, and fresh imports of the handlers bound to moto."""

from __future__ import annotations

import importlib
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
    # The app's src/ joins sys.path when its test modules are collected, after this file.
    from payment_recorder.payments import Payment, Receipt

LEDGER_TABLE = "internal-handoff-ledger-unit"
RECORDER_FUNCTION = "internal-handoff-PaymentRecorderFunction"


@dataclass
class FakeLambdaContext:
    function_name: str = RECORDER_FUNCTION
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        f"arn:aws:lambda:us-east-1:123456789012:function:{RECORDER_FUNCTION}"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


NewContext = Callable[[], FakeLambdaContext]


@pytest.fixture
def new_context() -> NewContext:
    """A context per invocation: every delivery of an async event has its own request id."""
    return FakeLambdaContext


class InMemoryLedger:
    """The Ledger port with the DynamoDB ledger's semantics, in a dict."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], Receipt] = {}
        self.balances: dict[tuple[str, str], Any] = {}
        self.holds: dict[str, str | None] = {}
        self.duplicates: dict[str, int] = {}

    def record(self, receipt: Receipt) -> Receipt:
        from payment_recorder.payments import AccountOnHold

        payment = receipt.payment
        key = (payment.account_id, payment.payment_id)
        if key in self.entries:
            return self.entries[key]
        if payment.account_id in self.holds:
            raise AccountOnHold(payment.account_id, self.holds[payment.account_id])
        self.entries[key] = receipt
        balance_key = (payment.account_id, payment.currency)
        self.balances[balance_key] = self.balances.get(balance_key, 0) + payment.amount
        return receipt

    def count_duplicate(self, payment: Payment) -> None:
        if (payment.account_id, payment.payment_id) in self.entries:
            self.duplicates[payment.payment_id] = self.duplicates.get(payment.payment_id, 0) + 1


@pytest.fixture
def ledger() -> InMemoryLedger:
    return InMemoryLedger()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials, a region and the functions' environment; the idempotency table gets
    a name of its own per test, because the layer keeps one persistence layer per name."""
    idempotency_table = f"internal-handoff-idempotency-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": RECORDER_FUNCTION,
        "LEDGER_TABLE_NAME": LEDGER_TABLE,
        "IDEMPOTENCY_TABLE": idempotency_table,
        "RECORDER_FUNCTION_NAME": RECORDER_FUNCTION,
        "POWERTOOLS_SERVICE_NAME": "payment-recorder",
        "POWERTOOLS_METRICS_NAMESPACE": "InternalHandoff",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return idempotency_table


@dataclass
class Tables:
    client: Any
    ledger: str
    idempotency: str

    def ledger_item(self, account_id: str, entry: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.ledger,
            Key={"account_id": {"S": account_id}, "entry": {"S": entry}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def ledger_items(self, account_id: str) -> list[dict[str, Any]]:
        response = self.client.query(
            TableName=self.ledger,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account_id}},
            ConsistentRead=True,
        )
        items: list[dict[str, Any]] = response["Items"]
        return items

    def put_hold(self, account_id: str, reason: str) -> None:
        self.client.put_item(
            TableName=self.ledger,
            Item={
                "account_id": {"S": account_id},
                "entry": {"S": "HOLD"},
                "reason": {"S": reason},
            },
        )

    def lift_hold(self, account_id: str) -> None:
        self.client.delete_item(
            TableName=self.ledger, Key={"account_id": {"S": account_id}, "entry": {"S": "HOLD"}}
        )

    def idempotency_records(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.scan(TableName=self.idempotency)["Items"]
        return items


@pytest.fixture
def tables(aws_environment: str) -> Iterator[Tables]:
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=LEDGER_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "account_id", "AttributeType": "S"},
                {"AttributeName": "entry", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "account_id", "KeyType": "HASH"},
                {"AttributeName": "entry", "KeyType": "RANGE"},
            ],
        )
        client.create_table(
            TableName=aws_environment,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        client.update_time_to_live(
            TableName=aws_environment,
            TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": True},
        )
        yield Tables(client=client, ledger=LEDGER_TABLE, idempotency=aws_environment)


def _fresh_import(name: str) -> ModuleType:
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def recorder(tables: Tables) -> Iterator[ModuleType]:
    """A fresh import of the recorder's handler, so its boto3 client is bound to moto."""
    yield _fresh_import("payment_recorder.handler")
    sys.modules.pop("payment_recorder.handler", None)


@pytest.fixture
def intake_handler(aws_environment: str) -> Iterator[ModuleType]:
    """A fresh import of the intake's handler (its Lambda client is stubbed by the tests)."""
    yield _fresh_import("payment_intake.handler")
    sys.modules.pop("payment_intake.handler", None)


def _job(**overrides: Any) -> dict[str, Any]:
    """A valid job with a fresh payment id; ``key=None`` drops a field."""
    base: dict[str, Any] = {
        "payment_id": f"pay-{uuid.uuid4().hex[:12]}",
        "account_id": "acct-42",
        "amount": "25.00",
        "currency": "EUR",
        "reference": "invoice 2026-118",
        "requested_at": "2026-11-23T10:00:00.000Z",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


MakeJob = Callable[..., dict[str, Any]]


@pytest.fixture
def make_job() -> MakeJob:
    """``make_job(amount="5.00")``: a valid job, fresh payment id; ``field=None`` drops it."""
    return _job

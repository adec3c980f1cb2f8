"""Fixtures for the router's unit tests: fake Lambda contexts, moto tables, and fresh imports
of the handlers bound to moto."""

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

CUSTOMERS_TABLE = "router-customers-unit"
TASK_TABLES = {
    "refund": "router-refunds-unit",
    "incident": "router-incidents-unit",
    "feedback": "router-feedback-unit",
}
HANDLERS = {
    "refund": "desk_refunds.handler",
    "incident": "desk_incidents.handler",
    "feedback": "desk_feedback.handler",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "router-TaskFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:router-Task"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


NewContext = Callable[[], FakeLambdaContext]


@pytest.fixture
def new_context() -> NewContext:
    """A context per invocation: every delivery of an async event has its own request id."""
    return FakeLambdaContext


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials and the functions' environment; the idempotency table gets a name of
    its own per test, because the layer keeps one persistence layer per name."""
    idempotency_table = f"router-idempotency-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "router-TaskFunction",
        "CUSTOMERS_TABLE_NAME": CUSTOMERS_TABLE,
        "REFUNDS_FUNCTION_NAME": "router-RefundsTaskFunction",
        "INCIDENTS_FUNCTION_NAME": "router-IncidentsTaskFunction",
        "FEEDBACK_FUNCTION_NAME": "router-FeedbackTaskFunction",
        "IDEMPOTENCY_TABLE": idempotency_table,
        "POWERTOOLS_SERVICE_NAME": "router-unit",
        "POWERTOOLS_METRICS_NAMESPACE": "TicketRouter",
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
    idempotency: str

    def ticket(self, ticket_type: str, ticket_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(
            TableName=TASK_TABLES[ticket_type],
            Key={"ticket_id": {"S": ticket_id}},
            ConsistentRead=True,
        ).get("Item")
        return item

    def arm_drill(self, ticket_type: str, ticket_id: str, failures: int) -> None:
        self.client.put_item(
            TableName=TASK_TABLES[ticket_type],
            Item={"ticket_id": {"S": f"drill#{ticket_id}"}, "failures_left": {"N": str(failures)}},
        )

    def register(self, customer_id: str, tier: str, name: str = "Example Ltd") -> None:
        self.client.put_item(
            TableName=CUSTOMERS_TABLE,
            Item={"customer_id": {"S": customer_id}, "name": {"S": name}, "tier": {"S": tier}},
        )

    def idempotency_records(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.scan(TableName=self.idempotency)["Items"]
        return items


def _create(client: Any, name: str, key: str) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
    )


@pytest.fixture
def tables(aws_environment: str) -> Iterator[Tables]:
    with mock_aws():
        client = boto3.client("dynamodb")
        _create(client, CUSTOMERS_TABLE, "customer_id")
        for table in TASK_TABLES.values():
            _create(client, table, "ticket_id")
        _create(client, aws_environment, "id")
        yield Tables(client=client, idempotency=aws_environment)


def _fresh_import(name: str) -> ModuleType:
    sys.modules.pop(name, None)
    return importlib.import_module(name)


TaskHandler = Callable[[str], ModuleType]


@pytest.fixture
def task_handler(tables: Tables, monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskHandler]:
    """``task_handler("refund")``: a fresh import of that task's handler bound to moto."""
    imported: list[str] = []

    def load(ticket_type: str) -> ModuleType:
        monkeypatch.setenv("TASK_TABLE_NAME", TASK_TABLES[ticket_type])
        imported.append(HANDLERS[ticket_type])
        return _fresh_import(HANDLERS[ticket_type])

    yield load
    for name in imported:
        sys.modules.pop(name, None)


@pytest.fixture
def router_handler(tables: Tables) -> Iterator[ModuleType]:
    """A fresh import of the router's handler (its Lambda client is stubbed by the tests)."""
    yield _fresh_import("desk_router.handler")
    sys.modules.pop("desk_router.handler", None)


def _ticket(ticket_type: str = "incident", **overrides: Any) -> dict[str, Any]:
    details = {
        "refund": {"order_id": "ord-1", "amount": "49.90", "currency": "EUR", "reason": "broken"},
        "incident": {"service": "checkout", "severity": 2, "summary": "payments time out"},
        "feedback": {"rating": 5, "comment": "great"},
    }.get(ticket_type, {"anything": 1})
    ticket: dict[str, Any] = {
        "ticket_id": f"t-{uuid.uuid4().hex[:12]}",
        "type": ticket_type,
        "customer_id": "cust-42",
        "submitted_at": "2026-11-23T10:00:00.000Z",
        "details": details,
    }
    ticket.update(overrides)
    return {key: value for key, value in ticket.items() if value is not None}


def _routed(ticket_type: str = "incident", **overrides: Any) -> dict[str, Any]:
    """A ticket as the router hands it to a task."""
    priority = overrides.pop("priority", "high")
    ticket = _ticket(ticket_type, **overrides)
    ticket["routing"] = {
        "route": ticket_type,
        "priority": priority,
        "customer_name": "Example Ltd",
        "customer_tier": "business",
        "routed_at": "2026-11-23T10:00:00.100Z",
        "router_request_id": "router-request-1",
    }
    return ticket


MakeTicket = Callable[..., dict[str, Any]]


@pytest.fixture
def make_ticket() -> MakeTicket:
    """``make_ticket("refund", details=...)``: a valid ticket, fresh id; ``field=None`` drops it."""
    return _ticket


@pytest.fixture
def make_routed() -> MakeTicket:
    """``make_routed("refund", priority="urgent")``: a ticket as the router hands it on."""
    return _routed

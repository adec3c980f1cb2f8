"""Fixtures for the gatekeeper unit tests: an in-memory client store, moto tables, events."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    # Imported lazily below: the plugin puts the app's src on sys.path at collection.
    from gatekeeper_clients.clients import Client

CLIENTS_TABLE = "gatekeeper-clients-unit"
REPORTS_TABLE = "gatekeeper-reports-unit"
CALLS_TABLE = "gatekeeper-calls-unit"
METHOD_ARN_BASE = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1"
FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


class InMemoryClientStore:
    """``ClientStore`` in a dict, with the DynamoDB store's semantics."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}

    def insert(self, client: Client) -> None:
        assert client.client_id not in self.clients
        self.clients[client.client_id] = client

    def fetch(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def revoke(self, client_id: str, revoked_at: str) -> Client | None:
        from gatekeeper_clients.clients import REVOKED

        client = self.clients.get(client_id)
        if client is None:
            return None
        client = replace(client, status=REVOKED, revoked_at=client.revoked_at or revoked_at)
        self.clients[client_id] = client
        return client

    def page(
        self, limit: int, after: Mapping[str, Any] | None
    ) -> tuple[list[Client], Mapping[str, Any] | None]:
        ids = sorted(self.clients)
        if after is not None:
            ids = [i for i in ids if i > after["client_id"]]
        chosen = ids[:limit]
        more = len(ids) > limit
        return [self.clients[i] for i in chosen], ({"client_id": chosen[-1]} if more else None)

    def record_authorization(self, client_id: str, at: str) -> None:
        client = self.clients[client_id]
        self.clients[client_id] = replace(
            client, authorizations=client.authorizations + 1, last_authorized_at=at
        )


@pytest.fixture
def store() -> InMemoryClientStore:
    return InMemoryClientStore()


@dataclass
class FakeLambdaContext:
    function_name: str = "gatekeeper-Function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gatekeeper-Function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CLIENTS_TABLE_NAME": CLIENTS_TABLE,
        "REPORTS_TABLE_NAME": REPORTS_TABLE,
        "CALLS_TABLE_NAME": CALLS_TABLE,
        "POWERTOOLS_SERVICE_NAME": "gatekeeper-unit",
        "POWERTOOLS_METRICS_NAMESPACE": "Gatekeeper",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def _table(dynamodb: Any, name: str, *keys: str) -> Any:
    schema = [{"AttributeName": keys[0], "KeyType": "HASH"}]
    if len(keys) > 1:
        schema.append({"AttributeName": keys[1], "KeyType": "RANGE"})
    return dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Tables:
    clients: Any
    reports: Any
    calls: Any


@pytest.fixture
def tables(aws_environment: None) -> Iterator[Tables]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        yield Tables(
            clients=_table(dynamodb, CLIENTS_TABLE, "client_id"),
            reports=_table(dynamodb, REPORTS_TABLE, "client_id", "report_id"),
            calls=_table(dynamodb, CALLS_TABLE, "client_id", "request_id"),
        )


@pytest.fixture
def load_handler(tables: Tables) -> Iterator[Callable[[str], ModuleType]]:
    """A fresh import of a handler module, so its module-level boto3 objects use moto."""
    loaded: list[str] = []

    def load(package: str) -> ModuleType:
        name = f"{package}.handler"
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield load
    for name in loaded:
        sys.modules.pop(name, None)

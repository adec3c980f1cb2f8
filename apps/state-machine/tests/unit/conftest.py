"""Fixtures for the order saga's unit tests: an in-memory order store with the DynamoDB
store's semantics, a moto table and state machine, fresh imports of the handlers bound to
moto, and API Gateway REST (v1) proxy events read from ``events/``."""

from __future__ import annotations

import copy
import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    # The app's src/ joins sys.path when its test modules are collected, after this file.
    from saga_orders.orders import Order

APP_DIR = Path(__file__).resolve().parents[2]
EVENTS_DIR = APP_DIR / "events"
TABLE_NAME = "state-machine-orders-unit"
STATE_MACHINE_NAME = "state-machine-order-saga-unit"


@dataclass
class FakeLambdaContext:
    function_name: str = "state-machine-OrdersFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:state-machine-OrdersFunction"
    )
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class InMemoryOrderStore:
    """The OrderStore port with the DynamoDB store's semantics, in a dict."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def create(self, order: Order) -> None:
        assert order.order_id not in self.orders
        self.orders[order.order_id] = order

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def set_execution(self, order_id: str, execution_arn: str) -> None:
        self.orders[order_id] = replace(self.orders[order_id], execution_arn=execution_arn)

    def count_charge_attempt(self, order_id: str) -> int:
        order = self.orders[order_id]
        self.orders[order_id] = replace(order, charge_attempts=order.charge_attempts + 1)
        return order.charge_attempts + 1

    def apply_step(
        self, order_id: str, step: str, attribute: str, new_value: str, expected: str | None
    ) -> bool:
        order = self.orders.get(order_id)
        if order is None or getattr(order, attribute) != expected:
            return False
        changes: dict[str, Any] = {attribute: new_value, "steps": [*order.steps, step]}
        self.orders[order_id] = replace(order, **changes)
        return True


@pytest.fixture
def store() -> InMemoryOrderStore:
    return InMemoryOrderStore()


def _request(**overrides: Any) -> dict[str, Any]:
    """A valid order request; ``key=None`` drops a field."""
    base: dict[str, Any] = {
        "customer_id": "cust-1",
        "items": [{"sku": "sku-book", "quantity": 2}],
        "amount": "49.90",
        "currency": "EUR",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


MakeRequest = Callable[..., dict[str, Any]]


@pytest.fixture
def make_request() -> MakeRequest:
    return _request


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "ORDERS_TABLE_NAME": TABLE_NAME,
        "STATE_MACHINE_ARN": (
            f"arn:aws:states:us-east-1:123456789012:stateMachine:{STATE_MACHINE_NAME}"
        ),
        "POWERTOOLS_SERVICE_NAME": "order-saga",
        "POWERTOOLS_METRICS_NAMESPACE": "StateMachine",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@dataclass
class Cloud:
    """moto's DynamoDB table and (non-executing) state machine the handlers talk to."""

    table: Any
    sfn: Any
    state_machine_arn: str


@pytest.fixture
def cloud(aws_environment: None) -> Iterator[Cloud]:
    # Executions are recorded, not run: the step functions are tested on their own here (a
    # local cloud started earlier in the same pytest session turns execution on globally).
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        table = boto3.resource("dynamodb").create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        iam = boto3.client("iam")
        role = iam.create_role(
            RoleName="order-saga-unit",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        sfn = boto3.client("stepfunctions")
        definition = (APP_DIR / "statemachine" / "order_saga.asl.json").read_text()
        arn = sfn.create_state_machine(
            name=STATE_MACHINE_NAME, definition=definition, roleArn=role
        )["stateMachineArn"]
        yield Cloud(table=table, sfn=sfn, state_machine_arn=arn)


def _fresh_import(name: str) -> ModuleType:
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture
def load_handler(cloud: Cloud) -> Iterator[Callable[[str], ModuleType]]:
    """``load_handler("saga_charge")``: a fresh import, its boto3 clients bound to moto."""
    loaded: list[str] = []

    def load(package: str) -> ModuleType:
        loaded.append(f"{package}.handler")
        return _fresh_import(f"{package}.handler")

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


def sample_event(name: str, **body_overrides: Any) -> dict[str, Any]:
    """An event of ``events/``; for an API event, ``body_overrides`` change its JSON body."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    event = copy.deepcopy(event)
    if body_overrides:
        body = json.loads(event["body"])
        body.update(body_overrides)
        event["body"] = json.dumps(body)
    return event

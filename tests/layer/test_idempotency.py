"""common_layer.idempotency: one effect per key, on a (moto) DynamoDB table."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyKeyError,
    IdempotencyValidationError,
)
from common_layer.failures import process_sqs_batch
from common_layer.idempotency import (
    idempotent_function,
    idempotent_handler,
    persistence_layer,
    register_lambda_context,
)
from layer_helpers import python_env, run_python, sqs_event, sqs_record
from moto import mock_aws


@pytest.fixture
def table(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The recommended table shape, under a unique name so cached layers never collide."""
    name = f"idempotency-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("IDEMPOTENCY_TABLE", name)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn")
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        created = resource.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        resource.meta.client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": "expiration", "Enabled": True},
        )
        yield created


def test_the_same_event_twice_runs_the_handler_once_and_returns_the_same_result(
    table, lambda_context
):
    runs: list[str] = []

    @idempotent_handler(key_jmespath="order_id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runs.append(event["order_id"])
        return {"charged": event["amount"], "receipt": str(uuid.uuid4())}

    first = handler({"order_id": "o-1", "amount": 10}, lambda_context)
    second = handler({"order_id": "o-1", "amount": 10}, lambda_context)
    other = handler({"order_id": "o-2", "amount": 5}, lambda_context)

    assert runs == ["o-1", "o-2"]
    assert second == first
    assert other["charged"] == 5
    (record,) = [
        item
        for item in table.scan()["Items"]
        if json.loads(item["data"])["receipt"] == first["receipt"]
    ]
    assert record["status"] == "COMPLETED"
    assert record["id"].startswith("orders-fn.")
    assert int(record["expiration"]) > 0


def test_an_idempotent_function_runs_once_per_message_body(table, lambda_context):
    charged: list[str] = []

    @idempotent_function("order", key_jmespath="order_id")
    def charge(order: dict[str, Any]) -> dict[str, Any]:
        charged.append(order["order_id"])
        return {"order_id": order["order_id"], "status": "charged"}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        register_lambda_context(context)
        return process_sqs_batch(event, context, lambda r: charge(order=json.loads(r.body)))

    # The same message delivered twice (at-least-once), in two batches.
    body = json.dumps({"order_id": "o-9"})
    assert handler(sqs_event(sqs_record(body)), lambda_context) == {"batchItemFailures": []}
    assert handler(sqs_event(sqs_record(body)), lambda_context) == {"batchItemFailures": []}

    assert charged == ["o-9"]
    assert charge(order={"order_id": "o-9"}) == {"order_id": "o-9", "status": "charged"}
    assert charged == ["o-9"]


def test_a_missing_key_fails_loudly_by_default(table, lambda_context):
    @idempotent_handler(key_jmespath="order_id")
    def handler(event: dict[str, Any], context: Any) -> str:
        return "ran"

    with pytest.raises(IdempotencyKeyError):
        handler({"no_order_id": True}, lambda_context)


def test_a_reused_key_with_another_payload_is_rejected(table, lambda_context):
    @idempotent_handler(key_jmespath="order_id", payload_validation_jmespath="amount")
    def handler(event: dict[str, Any], context: Any) -> str:
        return "charged"

    handler({"order_id": "o-3", "amount": 10}, lambda_context)
    with pytest.raises(IdempotencyValidationError):
        handler({"order_id": "o-3", "amount": 99}, lambda_context)


def test_a_missing_table_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ORDERS_IDEMPOTENCY", raising=False)
    with pytest.raises(RuntimeError, match="environment variable ORDERS_IDEMPOTENCY is not set"):
        persistence_layer("ORDERS_IDEMPOTENCY")


def test_importing_and_decorating_creates_no_client_and_loads_nothing_heavy():
    code = (
        "import sys\n"
        "from common_layer.idempotency import idempotent_function, idempotent_handler\n"
        "@idempotent_handler(key_jmespath='id')\n"
        "def handler(event, context): return 1\n"
        "@idempotent_function('order')\n"
        "def charge(order): return 1\n"
        "heavy = [m for m in ('boto3', 'botocore', 'aws_lambda_powertools') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert "HEAVY []" in run_python(code, python_env(IDEMPOTENCY_TABLE="t")).stdout

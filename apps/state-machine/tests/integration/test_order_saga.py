"""The order saga as a client and an operator see it: the orders API in front, the state
machine's executions and the orders table behind.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Failures are
rehearsed with the order's ``fault_drill`` (data the test sends), never with a switch that
only exists locally. Every order a test creates is deleted from the table afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

# Per HTTP request; generous enough for a cold start of the function.
TIMEOUT = 30
# An execution: cold starts, the confirmation delay and up to 1 + 2 + 4 s of charge retries.
EXECUTION_TIMEOUT = 120

PlaceOrder = Callable[..., dict[str, Any]]


@pytest.fixture
def orders_url(stack: Stack) -> str:
    return stack.url("ApiUrl").rstrip("/") + "/orders"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def place_order(
    stack: Stack, orders_url: str, http: requests.Session, unique_id: str
) -> Iterator[PlaceOrder]:
    """POST an order (asserting 202); its item is deleted from the table afterwards."""
    created: list[str] = []

    def place(**fault_drill: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "customer_id": unique_id,
            "items": [{"sku": "sku-book", "quantity": 2}, {"sku": "sku-pen", "quantity": 1}],
            "amount": "49.90",
            "currency": "EUR",
        }
        if fault_drill:
            body["fault_drill"] = fault_drill
        response = http.post(orders_url, json=body, timeout=TIMEOUT)
        assert response.status_code == 202, response.text
        order: dict[str, Any] = response.json()
        created.append(order["order_id"])
        assert response.headers["Location"].endswith(f"/orders/{order['order_id']}")
        return order

    yield place
    table = stack.client("dynamodb")
    for order_id in created:
        table.delete_item(
            TableName=stack.output("OrdersTableName"), Key={"order_id": {"S": order_id}}
        )


def finished_execution(stack: Stack, execution_arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution has left RUNNING."""
    sfn = stack.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution_arn)
        return None if described["status"] == "RUNNING" else dict(described)

    return wait_for(done, timeout=EXECUTION_TIMEOUT, interval=0.5, description="saga end")


def history(stack: Stack, execution_arn: str) -> list[dict[str, Any]]:
    pages = stack.client("stepfunctions").get_paginator("get_execution_history")
    return [e for page in pages.paginate(executionArn=execution_arn) for e in page["events"]]


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        str(e["stateEnteredEventDetails"]["name"])
        for e in events
        if "stateEnteredEventDetails" in e
    ]


def read_order(orders_url: str, http: requests.Session, order_id: str) -> dict[str, Any]:
    response = http.get(f"{orders_url}/{order_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def run_saga(
    stack: Stack, orders_url: str, http: requests.Session, placed: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Wait for the order's execution; returns (execution, order, history)."""
    execution = finished_execution(stack, placed["execution_arn"])
    order = read_order(orders_url, http, placed["order_id"])
    return execution, order, history(stack, placed["execution_arn"])


def test_happy_path_applies_every_step_once_and_confirms(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    placed = place_order()
    assert placed["status"] == "PENDING"
    assert placed["execution_arn"].startswith("arn:aws:states:")

    execution, order, events = run_saga(stack, orders_url, http, placed)

    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stateMachineArn"] == stack.output("StateMachineArn")
    assert json.loads(execution["output"]) == {
        "order_id": placed["order_id"],
        "status": "CONFIRMED",
    }
    assert order["status"] == "CONFIRMED"
    assert order["steps"] == ["reserve", "charge", "confirm"]
    assert (order["reservation"], order["payment"], order["charge_attempts"]) == (
        "HELD",
        "CHARGED",
        1,
    )
    assert order["execution_arn"] == placed["execution_arn"]
    assert states_entered(events) == [
        "LoadSettings",
        "ReserveInventory",
        "ChargePayment",
        "ConfirmationDelay",
        "ConfirmOrder",
        "OrderConfirmed",
    ]


def test_the_confirmation_delay_is_a_wait_in_the_execution_history(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    delay = int(stack.output("ConfirmationDelaySeconds"))
    placed = place_order()
    execution, order, events = run_saga(stack, orders_url, http, placed)
    assert execution["status"] == "SUCCEEDED", execution

    entered = next(e for e in events if e["type"] == "WaitStateEntered")
    exited = next(e for e in events if e["type"] == "WaitStateExited")
    assert entered["stateEnteredEventDetails"]["name"] == "ConfirmationDelay"
    assert (
        json.loads(entered["stateEnteredEventDetails"]["input"])["confirmation_delay_seconds"]
        == delay
    )
    assert exited["timestamp"] - entered["timestamp"] >= timedelta(seconds=delay)
    # The charge ran before the wait, the confirmation only after it.
    reserve, charge, confirm = [e["timestamp"] for e in events if e["type"] == "TaskScheduled"]
    assert reserve <= charge <= entered["timestamp"]
    assert confirm >= exited["timestamp"]
    assert order["steps"] == ["reserve", "charge", "confirm"]


def test_a_transient_payment_failure_is_retried_and_the_order_confirmed(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    placed = place_order(charge_transient_failures=2)
    execution, order, events = run_saga(stack, orders_url, http, placed)

    assert execution["status"] == "SUCCEEDED", execution
    assert order["status"] == "CONFIRMED"
    # Three attempts, but the charge applied once.
    assert order["charge_attempts"] == 3
    assert order["steps"] == ["reserve", "charge", "confirm"]
    failures = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failures == ["PaymentGatewayUnavailable", "PaymentGatewayUnavailable"]
    # The retries ran inside the one ChargePayment state, waiting 1 s then 2 s (backoff 2.0).
    scheduled = [e["timestamp"] for e in events if e["type"] == "TaskScheduled"]
    charge_attempts = scheduled[1:4]
    assert charge_attempts[1] - charge_attempts[0] >= timedelta(seconds=1)
    assert charge_attempts[2] - charge_attempts[1] >= timedelta(seconds=2)
    assert states_entered(events).count("ChargePayment") == 1


def test_a_failure_after_the_charge_compensates_in_reverse_order(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    placed = place_order(confirm_rejected=True)
    execution, order, events = run_saga(stack, orders_url, http, placed)

    # A compensated order is a handled business outcome: the execution succeeds, and says so.
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert (output["status"], output["error"]) == ("CANCELLED", "OrderRejected")
    assert "rejected order" in json.loads(output["cause"])["errorMessage"]
    assert order["status"] == "CANCELLED"
    assert order["failure"]["error"] == "OrderRejected"
    # Refund before release: the reverse of charge after reserve. Nothing left held or charged.
    assert order["steps"] == ["reserve", "charge", "refund", "release"]
    assert (order["reservation"], order["payment"]) == ("RELEASED", "REFUNDED")
    assert states_entered(events)[-5:] == [
        "ConfirmOrder",
        "RefundPayment",
        "ReleaseInventory",
        "MarkCancelled",
        "OrderCancelled",
    ]


def test_a_declined_payment_is_not_retried_and_releases_the_reservation(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    placed = place_order(charge_declined=True)
    execution, order, events = run_saga(stack, orders_url, http, placed)

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["error"] == "PaymentDeclined"
    assert order["status"] == "CANCELLED"
    assert order["charge_attempts"] == 1
    # Nothing was charged, so the refund had nothing to undo and recorded nothing.
    assert order["steps"] == ["reserve", "release"]
    assert (order["reservation"], order["payment"]) == ("RELEASED", None)
    assert "ConfirmationDelay" not in states_entered(events)


def test_a_transient_failure_past_the_retries_cancels_the_order(
    stack: Stack, orders_url: str, http: requests.Session, place_order: PlaceOrder
) -> None:
    placed = place_order(charge_transient_failures=10)
    execution, order, _ = run_saga(stack, orders_url, http, placed)

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["error"] == "PaymentGatewayUnavailable"
    # The first attempt and MaxAttempts (3) retries, then the compensation.
    assert order["charge_attempts"] == 4
    assert order["status"] == "CANCELLED"
    assert order["steps"] == ["reserve", "release"]


def test_an_invalid_order_is_refused_with_400_and_starts_nothing(
    orders_url: str, http: requests.Session, unique_id: str
) -> None:
    response = http.post(
        orders_url,
        json={"customer_id": unique_id, "items": [], "amount": "10.00", "currency": "EUR"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400, response.text
    assert "items" in response.json()["message"]


def test_an_unknown_order_is_404(orders_url: str, http: requests.Session, unique_id: str) -> None:
    response = http.get(f"{orders_url}/ord-{unique_id}", timeout=TIMEOUT)
    assert response.status_code == 404, response.text

"""The functions' handlers in process, DynamoDB and Step Functions played by moto: the API
stores an order and starts its execution; each step handler applies its step to the table."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from saga_orders.orders import PaymentDeclined, PaymentGatewayUnavailable

from .conftest import Cloud, FakeLambdaContext, sample_event

LoadHandler = Callable[[str], ModuleType]


def _call(api: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    result = api.lambda_handler(event, FakeLambdaContext())
    body = json.loads(result["body"]) if result.get("body") else None
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ", ".join(values))
    return result["statusCode"], headers, body


def _item(cloud: Cloud, order_id: str) -> dict[str, Any]:
    item: dict[str, Any] = cloud.table.get_item(Key={"order_id": order_id})["Item"]
    return item


def test_placing_an_order_stores_it_and_starts_its_execution(
    cloud: Cloud, load_handler: LoadHandler
) -> None:
    api = load_handler("saga_api")
    status, headers, body = _call(api, sample_event("place_order.json"))

    assert status == 202, body
    order_id = body["order_id"]
    assert headers["location"] == f"/v1/orders/{order_id}"
    assert body["status"] == "PENDING"
    executions = cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]
    assert [(e["name"], e["executionArn"]) for e in executions] == [
        (order_id, body["execution_arn"])
    ]
    started = cloud.sfn.describe_execution(executionArn=body["execution_arn"])
    assert json.loads(started["input"]) == {"order_id": order_id}
    assert _item(cloud, order_id)["execution_arn"] == body["execution_arn"]

    status, _, shown = _call(
        api,
        sample_event("get_order.json")
        | {
            "path": f"/orders/{order_id}",
            "pathParameters": {"order_id": order_id},
        },
    )
    assert status == 200
    assert shown["order_id"] == order_id
    assert shown["steps"] == []


def test_an_invalid_order_is_a_400_and_starts_nothing(
    cloud: Cloud, load_handler: LoadHandler
) -> None:
    api = load_handler("saga_api")
    status, _, body = _call(api, sample_event("invalid_order.json"))
    assert status == 400
    assert "items" in body["message"]
    assert cloud.sfn.list_executions(stateMachineArn=cloud.state_machine_arn)["executions"] == []
    assert cloud.table.scan()["Items"] == []


def test_an_unknown_order_is_a_404(cloud: Cloud, load_handler: LoadHandler) -> None:
    api = load_handler("saga_api")
    status, _, body = _call(api, sample_event("get_order.json"))
    assert status == 404
    assert "not found" in body["message"]


def _place(load_handler: LoadHandler, **body: Any) -> str:
    api = load_handler("saga_api")
    status, _, placed = _call(api, sample_event("place_order.json", **body))
    assert status == 202, placed
    order_id: str = placed["order_id"]
    return order_id


def test_step_handlers_apply_the_saga_and_its_compensations(
    cloud: Cloud, load_handler: LoadHandler
) -> None:
    order_id = _place(load_handler)
    results = [
        load_handler(f"saga_{step}").lambda_handler({"order_id": order_id}, FakeLambdaContext())
        for step in ("reserve", "charge", "refund", "release", "release")
    ]
    assert [r["applied"] for r in results] == [True, True, True, True, False]
    item = _item(cloud, order_id)
    assert item["steps"] == ["reserve", "charge", "refund", "release"]
    assert (item["reservation"], item["payment"], item["charge_attempts"]) == (
        "RELEASED",
        "REFUNDED",
        1,
    )


def test_the_confirm_handler_confirms_once(cloud: Cloud, load_handler: LoadHandler) -> None:
    order_id = _place(load_handler)
    confirm = load_handler("saga_confirm")
    first = confirm.lambda_handler({"order_id": order_id}, FakeLambdaContext())
    again = confirm.lambda_handler({"order_id": order_id}, FakeLambdaContext())
    assert (first["applied"], again["applied"], again["status"]) == (True, False, "CONFIRMED")
    assert _item(cloud, order_id)["steps"] == ["confirm"]


def test_the_charge_handler_raises_the_errors_the_state_machine_matches(
    cloud: Cloud, load_handler: LoadHandler
) -> None:
    flaky = _place(load_handler, fault_drill={"charge_transient_failures": 1})
    declined = _place(load_handler, fault_drill={"charge_declined": True})
    charge = load_handler("saga_charge")
    with pytest.raises(PaymentGatewayUnavailable):
        charge.lambda_handler({"order_id": flaky}, FakeLambdaContext())
    assert charge.lambda_handler({"order_id": flaky}, FakeLambdaContext())["applied"] is True
    with pytest.raises(PaymentDeclined):
        charge.lambda_handler({"order_id": declined}, FakeLambdaContext())
    assert _item(cloud, flaky)["charge_attempts"] == 2
    assert "payment" not in _item(cloud, declined)

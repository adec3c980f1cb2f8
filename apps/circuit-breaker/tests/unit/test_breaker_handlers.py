"""Both handlers in process on moto's DynamoDB: the caller's HTTP mapping (status codes,
Retry-After, X-Circuit-State) with a scripted supplier port, and the stand-in supplier."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from breaker_caller.supplier_client import SupplierFailed, SupplierRejected, SupplierTimedOut


class ScriptedSupplier:
    def __init__(self) -> None:
        self.error: Exception | None = None
        self.calls = 0

    def check_stock(self, supplier_id: str, sku: str) -> dict[str, Any]:
        self.calls += 1
        if self.error:
            raise self.error
        return {"supplier_id": supplier_id, "sku": sku, "available": 4}


@pytest.fixture
def supplier(caller_handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ScriptedSupplier:
    scripted = ScriptedSupplier()
    monkeypatch.setattr(caller_handler, "_supplier_port", scripted)
    return scripted


@pytest.fixture
def get(caller_handler: ModuleType, stock_event: Any, lambda_context: Any) -> Any:
    def call(supplier_id: str = "acme", sku: str = "MUG-1") -> dict[str, Any]:
        response: dict[str, Any] = caller_handler.lambda_handler(
            stock_event(supplier_id, sku), lambda_context
        )
        response["json"] = json.loads(response["body"])
        # The REST resolver answers with multiValueHeaders; flatten them for the asserts.
        response["headers"] = {k: v[-1] for k, v in response["multiValueHeaders"].items()}
        return response

    return call


def test_served_is_200_with_the_answer_and_the_circuit(
    get: Any, supplier: ScriptedSupplier
) -> None:
    response = get()
    assert response["statusCode"] == 200
    assert response["json"]["available"] == 4
    assert response["json"]["circuit"] == {"state": "CLOSED", "failures": 0}
    assert response["headers"]["X-Circuit-State"] == "CLOSED"


def test_failures_are_502_then_open_then_503_with_retry_after(
    get: Any, supplier: ScriptedSupplier, tables: dict[str, Any]
) -> None:
    supplier.error = SupplierFailed("the supplier failed: down")
    statuses = [get()["statusCode"] for _ in range(3)]
    assert statuses == [502, 502, 502]
    item = tables["breakers"].get_item(Key={"breaker_key": "acme"})["Item"]
    assert item["state"] == "OPEN"
    refused = get()
    assert refused["statusCode"] == 503
    assert refused["headers"]["Retry-After"] in {"1", "2"}
    assert refused["headers"]["X-Circuit-State"] == "OPEN"
    assert refused["json"]["retry_after_seconds"] == int(refused["headers"]["Retry-After"])
    assert supplier.calls == 3


def test_a_timeout_is_504(get: Any, supplier: ScriptedSupplier) -> None:
    supplier.error = SupplierTimedOut("no answer within 2 s")
    response = get()
    assert response["statusCode"] == 504
    assert response["json"]["circuit"]["failures"] == 1


def test_a_supplier_refusal_keeps_its_status(get: Any, supplier: ScriptedSupplier) -> None:
    supplier.error = SupplierRejected(404, "the supplier refused: HTTP 404")
    response = get()
    assert response["statusCode"] == 404
    assert response["json"]["circuit"]["state"] == "CLOSED"


def test_invalid_sku_is_400_naming_it(get: Any, supplier: ScriptedSupplier) -> None:
    response = get(sku="no spaces")
    assert response["statusCode"] == 400
    assert "sku" in response["json"]["message"]
    assert supplier.calls == 0


def test_the_caller_uses_http_when_a_supplier_url_is_set(
    tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from breaker_caller.supplier_client import HttpSupplier, LambdaSupplier

    monkeypatch.setenv("SUPPLIER_URL", "https://supplier.example.com/api")
    sys.modules.pop("breaker_caller.handler", None)
    import breaker_caller.handler as with_url

    assert isinstance(with_url._supplier_port, HttpSupplier)
    assert with_url._supplier_port.timeout_seconds == 2.0
    monkeypatch.setenv("SUPPLIER_URL", "")
    assert isinstance(with_url._supplier(), LambdaSupplier)
    sys.modules.pop("breaker_caller.handler", None)


# --- the stand-in supplier -----------------------------------------------------------------


def request(supplier_id: str = "acme", sku: str = "MUG-1") -> dict[str, Any]:
    return {
        "action": "check_stock",
        "version": 1,
        "payload": {"supplier_id": supplier_id, "sku": sku},
    }


def calls_of(tables: dict[str, Any], supplier_id: str) -> list[dict[str, Any]]:
    items = tables["supplier"].scan()["Items"]
    return [i for i in items if i["supplier_id"] == supplier_id and i["record"].startswith("CALL#")]


def test_stand_in_answers_and_records_the_call(
    supplier_handler: ModuleType, tables: dict[str, Any], lambda_context: Any
) -> None:
    answer = supplier_handler.lambda_handler(request(), lambda_context)
    assert answer["available"] == supplier_handler.supplier.stock_level("acme", "MUG-1")
    recorded = calls_of(tables, "acme")
    assert len(recorded) == 1
    assert recorded[0]["record"].endswith(lambda_context.aws_request_id)
    assert recorded[0]["expires_at"] > recorded[0]["received_at_ms"] // 1000


def test_stand_in_failing_raises_and_still_records_the_call(
    supplier_handler: ModuleType, tables: dict[str, Any], lambda_context: Any
) -> None:
    tables["supplier"].put_item(Item={"supplier_id": "acme", "record": "HEALTH", "mode": "failing"})
    with pytest.raises(supplier_handler.supplier.SupplierUnavailable):
        supplier_handler.lambda_handler(request(), lambda_context)
    assert len(calls_of(tables, "acme")) == 1


def test_stand_in_health_is_per_supplier(
    supplier_handler: ModuleType, tables: dict[str, Any], lambda_context: Any
) -> None:
    tables["supplier"].put_item(Item={"supplier_id": "acme", "record": "HEALTH", "mode": "failing"})
    assert supplier_handler.lambda_handler(request("globex"), lambda_context)["sku"] == "MUG-1"


def test_stand_in_refuses_a_bad_request(
    supplier_handler: ModuleType, tables: dict[str, Any], lambda_context: Any
) -> None:
    with pytest.raises(supplier_handler.supplier.ValidationFailed, match="sku"):
        supplier_handler.lambda_handler(
            {"action": "check_stock", "version": 1, "payload": {"supplier_id": "acme"}},
            lambda_context,
        )
    assert tables["supplier"].scan()["Items"] == []

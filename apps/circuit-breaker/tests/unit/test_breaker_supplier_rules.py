"""The stand-in supplier's rules with a fake state: modes, delays, and call recording."""

from __future__ import annotations

from typing import Any

import pytest
from breaker_supplier import supplier


class FakeState:
    def __init__(self, health: supplier.Health | None = None) -> None:
        self.current = health or supplier.Health()
        self.calls: list[tuple[str, str, int, str]] = []

    def record_call(self, supplier_id: str, sku: str, received_at_ms: int, request_id: str) -> None:
        self.calls.append((supplier_id, sku, received_at_ms, request_id))

    def health(self, supplier_id: str) -> supplier.Health:
        return self.current


def run(state: FakeState, slept: list[float] | None = None) -> dict[str, Any]:
    return supplier.check_stock(
        "acme",
        "MUG-1",
        state=state,
        request_id="req-1",
        clock_ms=lambda: 1_000,
        sleep=(slept.append if slept is not None else lambda _: None),
    )


def test_up_answers_a_stable_stock_level() -> None:
    state = FakeState()
    first, second = run(state), run(state)
    assert first == second
    assert 0 <= first["available"] < 500
    assert state.calls == [("acme", "MUG-1", 1_000, "req-1")] * 2


def test_failing_records_the_call_then_raises() -> None:
    state = FakeState(supplier.Health("failing"))
    with pytest.raises(supplier.SupplierUnavailable, match="acme"):
        run(state)
    assert len(state.calls) == 1


@pytest.mark.parametrize(("delay", "slept"), [(3.0, 3.0), (60.0, 8.0), (-1.0, 0.0)])
def test_slow_waits_the_delay_capped_below_the_function_timeout(delay: float, slept: float) -> None:
    waited: list[float] = []
    answer = run(FakeState(supplier.Health("slow", delay)), waited)
    assert waited == [slept]
    assert answer["sku"] == "MUG-1"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "other", "version": 1, "payload": {"supplier_id": "a", "sku": "b"}}, "action"),
        (
            {"action": "check_stock", "version": 2, "payload": {"supplier_id": "a", "sku": "b"}},
            "version",
        ),
        (
            {"action": "check_stock", "version": 1, "payload": {"supplier_id": "", "sku": "b"}},
            "supplier_id",
        ),
        ("not an object", "JSON object"),
    ],
)
def test_parse_request_names_what_is_wrong(event: Any, field: str) -> None:
    with pytest.raises(supplier.ValidationFailed, match=field):
        supplier.parse_request(event)


def test_unknown_modes_in_the_table_mean_up(tables: dict[str, Any]) -> None:
    state = supplier.DynamoDBSupplierState(tables["supplier"])
    tables["supplier"].put_item(Item={"supplier_id": "acme", "record": "HEALTH", "mode": "weird"})
    assert state.health("acme") == supplier.Health("up")
    assert state.health("nobody") == supplier.Health()

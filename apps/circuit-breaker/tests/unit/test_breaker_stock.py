"""Checking stock through the breaker, with a fake supplier: what reaches the supplier,
what counts against it, and the outcome the API maps to a status code."""

from __future__ import annotations

from typing import Any

import pytest
from breaker_caller import stock
from breaker_caller.circuit import CircuitBreaker, Settings, State
from breaker_caller.supplier_client import SupplierFailed, SupplierRejected, SupplierTimedOut

SETTINGS = Settings(failure_threshold=2, open_ms=2_000, max_open_ms=8_000, trial_lease_ms=5_000)


class FakeSupplier:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.error: Exception | None = None

    def check_stock(self, supplier_id: str, sku: str) -> dict[str, Any]:
        self.calls.append((supplier_id, sku))
        if self.error:
            raise self.error
        return {"supplier_id": supplier_id, "sku": sku, "available": 7}


@pytest.fixture
def supplier() -> FakeSupplier:
    return FakeSupplier()


@pytest.fixture
def breaker(memory_store: Any, clock: Any) -> CircuitBreaker:
    return CircuitBreaker(memory_store, SETTINGS, clock)


def check(breaker: CircuitBreaker, supplier: FakeSupplier) -> stock.Outcome:
    return stock.check_stock("acme", "MUG-1", breaker=breaker, supplier=supplier)


def test_a_healthy_supplier_is_served(breaker: CircuitBreaker, supplier: FakeSupplier) -> None:
    outcome = check(breaker, supplier)
    assert isinstance(outcome, stock.Served)
    assert outcome.answer["available"] == 7
    assert outcome.circuit.state is State.CLOSED
    assert supplier.calls == [("acme", "MUG-1")]


def test_failures_open_the_breaker_and_then_the_supplier_is_not_called(
    breaker: CircuitBreaker, supplier: FakeSupplier, clock: Any
) -> None:
    supplier.error = SupplierFailed("boom")
    first, second = check(breaker, supplier), check(breaker, supplier)
    assert isinstance(first, stock.Failed)
    assert isinstance(second, stock.Failed)
    assert not first.timed_out
    assert (first.circuit.state, second.circuit.state) == (State.CLOSED, State.OPEN)
    clock.advance(0.4)
    refused = check(breaker, supplier)
    assert isinstance(refused, stock.Refused)
    assert refused.retry_after_seconds == 2  # 1.6 s left, rounded up
    assert len(supplier.calls) == 2


def test_a_timeout_is_a_failure_marked_as_such(
    breaker: CircuitBreaker, supplier: FakeSupplier
) -> None:
    supplier.error = SupplierTimedOut("no answer")
    outcome = check(breaker, supplier)
    assert isinstance(outcome, stock.Failed)
    assert outcome.timed_out
    assert outcome.circuit.failures == 1


def test_a_refusal_by_a_healthy_supplier_does_not_count_against_it(
    breaker: CircuitBreaker, supplier: FakeSupplier, memory_store: Any
) -> None:
    supplier.error = SupplierFailed("boom")
    check(breaker, supplier)
    supplier.error = SupplierRejected(404, "no such sku")
    outcome = check(breaker, supplier)
    assert isinstance(outcome, stock.Rejected)
    assert outcome.status == 404
    assert memory_store.load("acme").failures == 0


def test_the_trial_outcome_says_it_was_the_trial(
    breaker: CircuitBreaker, supplier: FakeSupplier, clock: Any
) -> None:
    supplier.error = SupplierFailed("boom")
    check(breaker, supplier)
    check(breaker, supplier)
    clock.advance(2)
    supplier.error = None
    outcome = check(breaker, supplier)
    assert isinstance(outcome, stock.Served)
    assert outcome.trial
    assert outcome.circuit.state is State.CLOSED


@pytest.mark.parametrize(
    ("supplier_id", "sku", "field"),
    [("", "MUG-1", "supplier_id"), ("acme", "bad sku", "sku"), ("-x", "MUG", "supplier_id")],
)
def test_invalid_ids_are_refused_before_the_breaker_is_read(
    breaker: CircuitBreaker, supplier: FakeSupplier, supplier_id: str, sku: str, field: str
) -> None:
    with pytest.raises(stock.InvalidInput, match=field):
        stock.check_stock(supplier_id, sku, breaker=breaker, supplier=supplier)
    assert supplier.calls == []


def test_describe_shows_the_open_period_only_when_open(
    breaker: CircuitBreaker, supplier: FakeSupplier
) -> None:
    assert stock.describe(check(breaker, supplier).circuit) == {"state": "CLOSED", "failures": 0}
    supplier.error = SupplierFailed("boom")
    check(breaker, supplier)
    opened = check(breaker, supplier).circuit
    assert stock.describe(opened) == {
        "state": "OPEN",
        "failures": 0,
        "open_until_ms": opened.open_until_ms,
        "open_ms": 2_000,
    }

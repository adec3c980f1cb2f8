"""The new services' rules against in-memory fakes: orders are validated, priced and
stored; an invoice is its order, priced line by line."""

from __future__ import annotations

from typing import Any

import pytest
from strangler_invoices import invoices
from strangler_orders import orders

GOOD_ORDER = {
    "customer_id": "c-1",
    "lines": [
        {"sku": "BOOK-1", "quantity": 2, "unit_price_cents": 1250},
        {"sku": "PEN-9", "quantity": 3, "unit_price_cents": 199},
    ],
}


class FakeStore:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def put(self, record: dict[str, Any]) -> None:
        assert record["id"] not in self.records
        self.records[record["id"]] = record

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.records.get(order_id)


def test_create_order_prices_and_stores_the_order() -> None:
    store = FakeStore()
    order = orders.create_order(store, GOOD_ORDER, new_id=lambda: "o-1", now=lambda: "T")
    assert order.total_cents == 2 * 1250 + 3 * 199
    assert store.records["o-1"] == order.to_json()
    assert orders.get_order(store, "o-1") == order


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lines": GOOD_ORDER["lines"]}, "missing required field 'customer_id'"),
        ({"customer_id": "c", "lines": []}, "field 'lines' must not be empty"),
        (
            {"customer_id": "c", "lines": [{"sku": "A", "quantity": 0, "unit_price_cents": 1}]},
            "field 'lines[0].quantity' must be at least 1",
        ),
        ({**GOOD_ORDER, "coupon": "X"}, "unexpected field 'coupon'"),
    ],
)
def test_invalid_orders_are_refused_with_the_field_named(
    body: dict[str, Any], message: str
) -> None:
    store = FakeStore()
    with pytest.raises(orders.InvalidOrder) as refused:
        orders.create_order(store, body)
    assert str(refused.value).startswith(message)
    assert store.records == {}


def test_get_order_of_an_unknown_id_raises_not_found() -> None:
    with pytest.raises(orders.OrderNotFound, match="order nope does not exist"):
        orders.get_order(FakeStore(), "nope")


def test_invoice_is_the_order_priced_line_by_line() -> None:
    store = FakeStore()
    order = orders.create_order(store, GOOD_ORDER, new_id=lambda: "o-2", now=lambda: "T")
    invoice = invoices.invoice_for(store, "o-2")
    assert invoice["order_id"] == "o-2"
    assert invoice["customer_id"] == "c-1"
    assert [line["amount_cents"] for line in invoice["lines"]] == [2500, 597]
    assert invoice["total_cents"] == order.total_cents


def test_invoice_of_an_unknown_order_raises_not_found() -> None:
    with pytest.raises(invoices.InvoiceNotFound, match="invoice x does not exist"):
        invoices.invoice_for(FakeStore(), "x")

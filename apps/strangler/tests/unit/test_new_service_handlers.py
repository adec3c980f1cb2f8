"""The migrated routes' handlers end to end in process, on a moto DynamoDB table."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

ORDER = {"customer_id": "c-9", "lines": [{"sku": "A", "quantity": 4, "unit_price_cents": 25}]}

Event = Callable[..., dict[str, Any]]
Call = Callable[[dict[str, Any]], Any]


def test_post_then_get_an_order(rest_event: Event, call_orders: Call) -> None:
    created = call_orders(rest_event("POST", "/orders", body=json.dumps(ORDER)))
    assert created.status == 201, created.body
    assert created.headers["x-served-by"] == "new"
    order = created.json()["order"]
    assert order["total_cents"] == 100
    assert created.headers["location"] == f"/v1/orders/{order['id']}"

    fetched = call_orders(rest_event("GET", f"/orders/{order['id']}"))
    assert fetched.status == 200
    assert fetched.json() == {"served_by": "new", "order": order}


def test_bad_orders_get_400_and_unknown_ids_404(rest_event: Event, call_orders: Call) -> None:
    bad = call_orders(rest_event("POST", "/orders", body=json.dumps({"customer_id": "c"})))
    assert bad.status == 400
    assert bad.json() == {"message": "missing required field 'lines'"}
    not_json = call_orders(rest_event("POST", "/orders", body="{oops"))
    assert not_json.status == 400
    missing = call_orders(rest_event("GET", "/orders/none"))
    assert missing.status == 404
    assert missing.json() == {"message": "order none does not exist"}


def test_invoice_handler_reads_the_order(
    rest_event: Event, call_orders: Call, call_invoices: Call
) -> None:
    created = call_orders(rest_event("POST", "/orders", body=json.dumps(ORDER))).json()["order"]
    answer = call_invoices(rest_event("GET", f"/invoices/{created['id']}"))
    assert answer.status == 200
    assert answer.headers["x-served-by"] == "new"
    assert answer.json()["invoice"]["total_cents"] == 100
    missing = call_invoices(rest_event("GET", "/invoices/none"))
    assert missing.status == 404
    assert missing.json() == {"message": "invoice none does not exist"}

"""The orders service's one action: ``recent_orders`` v1, a customer's newest orders.

Orders live in a table keyed by ``customer_id`` (partition) and ``order_key`` (sort),
where ``order_key`` is ``<placed_at ISO 8601 UTC>#<order_id>``: one newest-first Query
answers the action. A customer with no orders has an empty list, not an error: only the
profile service decides whether a customer exists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from overview_services.contract import CUSTOMER_ID_SCHEMA, Action, check
from overview_services.drills import RemainingSeconds, Sleep, drill_of, run_drill
from overview_services.storage import store_errors

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
# The sort key of a customer's fault drill item: '~' sorts after every timestamp, so a
# newest-first query meets it first.
DRILL_KEY = "~fault-drill"

RECENT_ORDERS_V1_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "recent_orders v1 payload",
    "type": "object",
    "properties": {
        "customer_id": CUSTOMER_ID_SCHEMA,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    "required": ["customer_id"],
    "additionalProperties": False,
}


class OrderStore(Protocol):
    def newest(self, customer_id: str, count: int) -> Sequence[Mapping[str, Any]]:
        """Up to ``count`` records of the customer, newest ``order_key`` first."""
        ...


class DynamoDBOrderStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def newest(self, customer_id: str, count: int) -> Sequence[Mapping[str, Any]]:
        with store_errors("orders"):
            response = self._table.query(
                KeyConditionExpression="customer_id = :c",
                ExpressionAttributeValues={":c": customer_id},
                ScanIndexForward=False,
                Limit=count,
            )
        items: list[Mapping[str, Any]] = response.get("Items", [])
        return items


def recent_orders(
    store: OrderStore,
    payload: Mapping[str, Any],
    *,
    remaining: RemainingSeconds,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    check(payload, RECENT_ORDERS_V1_SCHEMA)
    customer_id = str(payload["customer_id"])
    limit = int(payload.get("limit", DEFAULT_LIMIT))
    # One more than asked: the drill item, when armed, takes the first place.
    records = list(store.newest(customer_id, limit + 1))
    if records and records[0].get("order_key") == DRILL_KEY:
        run_drill(drill_of(records.pop(0)), "orders", remaining=remaining, sleep=sleep)
    orders = [order_of(record) for record in records[:limit]]
    return {"customer_id": customer_id, "orders": orders, "count": len(orders)}


def order_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The public view of an order record (DynamoDB numbers arrive as Decimal)."""
    return {
        "order_id": str(record["order_id"]),
        "placed_at": str(record["placed_at"]),
        "status": str(record.get("status", "PLACED")),
        "total_cents": _whole(record["total_cents"]),
        "currency": str(record.get("currency", "USD")),
    }


def _whole(value: Any) -> int:
    number = Decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value} is not a whole number of cents")
    return int(number)


def actions(
    store: OrderStore, *, remaining: RemainingSeconds, sleep: Sleep = time.sleep
) -> dict[tuple[str, int], Action]:
    return {("recent_orders", 1): partial(recent_orders, store, remaining=remaining, sleep=sleep)}

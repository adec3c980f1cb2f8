"""The new orders service's rules: validate an order, price it, store it, read it back.

Nothing here knows about HTTP. Storage is the ``OrderStore`` port, so the rules run in unit
tests against an in-memory fake and in Lambda against DynamoDB (``DynamoDBOrderStore``).
Amounts are integer cents: no float rounding, and DynamoDB numbers map to ints exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SERVED_BY = "new"

ORDER_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A new order",
    "type": "object",
    "properties": {
        "customer_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "minLength": 1, "maxLength": 64},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "unit_price_cents": {"type": "integer", "minimum": 0, "maximum": 10**9},
                },
                "required": ["sku", "quantity", "unit_price_cents"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["customer_id", "lines"],
    "additionalProperties": False,
}


class InvalidOrder(ValueError):
    """The client sent an order the rules reject; the message says what to fix."""


class OrderNotFound(LookupError):
    """No order has this id."""


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    lines: tuple[Mapping[str, Any], ...]
    total_cents: int
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "lines": [dict(line) for line in self.lines],
            "total_cents": self.total_cents,
            "created_at": self.created_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Order:
        lines = tuple(
            {
                "sku": str(line["sku"]),
                "quantity": int(line["quantity"]),
                "unit_price_cents": int(line["unit_price_cents"]),
            }
            for line in record["lines"]
        )
        return cls(
            id=str(record["id"]),
            customer_id=str(record["customer_id"]),
            lines=lines,
            total_cents=int(record["total_cents"]),
            created_at=str(record["created_at"]),
        )


class OrderStore(Protocol):
    def put(self, record: dict[str, Any]) -> None: ...

    def get(self, order_id: str) -> dict[str, Any] | None: ...


class DynamoDBOrderStore:
    """``OrderStore`` on a DynamoDB table keyed by ``id``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(self, record: dict[str, Any]) -> None:
        # A fresh uuid4 never collides; the condition makes a bug that reuses one loud.
        self._table.put_item(Item=record, ConditionExpression="attribute_not_exists(id)")

    def get(self, order_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"id": order_id}, ConsistentRead=True).get("Item")
        return dict(item) if item is not None else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_order(
    store: OrderStore,
    body: Mapping[str, Any],
    *,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    now: Callable[[], str] = _now,
) -> Order:
    """Validate ``body``, price it and store it; raise ``InvalidOrder`` on bad input."""
    try:
        validate(body, ORDER_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidOrder(str(violation)) from violation
    lines = tuple(
        {
            "sku": line["sku"],
            "quantity": line["quantity"],
            "unit_price_cents": line["unit_price_cents"],
        }
        for line in body["lines"]
    )
    order = Order(
        id=new_id(),
        customer_id=body["customer_id"],
        lines=lines,
        total_cents=sum(line["quantity"] * line["unit_price_cents"] for line in lines),
        created_at=now(),
    )
    store.put(order.to_json())
    return order


def get_order(store: OrderStore, order_id: str) -> Order:
    """The order with ``order_id``; raise ``OrderNotFound`` when there is none."""
    record = store.get(order_id)
    if record is None:
        raise OrderNotFound(f"order {order_id} does not exist")
    return Order.from_record(record)

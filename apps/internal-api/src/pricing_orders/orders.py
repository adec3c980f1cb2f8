"""Placing an order: price the cart with the pricing service, then record the order.

The orders function is the example caller of the Internal API pattern. It owns its own
fields (``customer_id``) and leaves every rule about items (skus, quantities, prices,
discounts) to the pricing service, the single owner of those rules: an invalid item comes
back from pricing as ``ValidationFailed`` and is raised again here, so whoever invoked the
orders function sees the same typed error. An order is written only after a successful
quote, so a refused cart leaves nothing behind.

Its error types use the same names as the pricing contract (``ValidationFailed``,
``NotFound``, ``Unavailable``): the orders function is itself invoked synchronously and
fails with those ``errorType`` values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ORDER_REQUEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "An order to place",
    "type": "object",
    "properties": {
        "customer_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "errorMessage": {"pattern": "must be 1-64 letters, digits, '-' or '_'"},
        },
        # The items' own rules belong to the pricing service, which checks them.
        "items": {"type": "array"},
    },
    "required": ["customer_id", "items"],
    "additionalProperties": False,
}


class ValidationFailed(Exception):
    """The order request, or an item in it, is invalid."""


class NotFound(Exception):
    """An item of the order is not in the catalogue."""


class Unavailable(Exception):
    """Pricing could not answer now; the same order may be placed again later."""


CLIENT_ERRORS: tuple[type[Exception], ...] = (ValidationFailed, NotFound)


class Pricing(Protocol):
    def quote(
        self, items: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None
    ) -> dict[str, Any]:
        """The priced cart (pricing's ``quote`` v1 answer)."""
        ...


class OrderStore(Protocol):
    def insert(self, order: Order) -> None:
        """Store a new order; never overwrite one."""
        ...


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer_id: str
    currency: str
    lines: tuple[Mapping[str, Any], ...]
    total_cents: int
    priced_at: str
    created_at: str
    status: str = "PLACED"

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "status": self.status,
            "currency": self.currency,
            "lines": [dict(line) for line in self.lines],
            "total_cents": self.total_cents,
            "priced_at": self.priced_at,
            "created_at": self.created_at,
        }


def place_order(
    request: Mapping[str, Any],
    *,
    pricing: Pricing,
    store: OrderStore,
    correlation_id: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Order:
    """Price ``request["items"]`` with the pricing service and record the order."""
    try:
        validate(request, ORDER_REQUEST_SCHEMA)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None
    quote = pricing.quote(request["items"], correlation_id=correlation_id)
    order = Order(
        order_id=new_id(),
        customer_id=request["customer_id"],
        currency=str(quote["currency"]),
        lines=tuple(_line(line) for line in quote["lines"]),
        total_cents=int(quote["total_cents"]),
        priced_at=str(quote["priced_at"]),
        created_at=clock()
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    )
    store.insert(order)
    return order


def _line(line: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a priced line an order keeps."""
    return {
        "sku": str(line["sku"]),
        "name": str(line["name"]),
        "quantity": int(line["quantity"]),
        "unit_price_cents": int(line["unit_price_cents"]),
        "discount_cents": int(line["discount_cents"]),
        "total_cents": int(line["total_cents"]),
    }


class DynamoDBOrderStore:
    """``OrderStore`` on a DynamoDB table keyed by the string attribute ``order_id``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def insert(self, order: Order) -> None:
        try:
            self._table.put_item(
                Item=order.to_json(),
                ConditionExpression="attribute_not_exists(order_id)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RuntimeError(f"order id {order.order_id} is already taken") from error
            raise

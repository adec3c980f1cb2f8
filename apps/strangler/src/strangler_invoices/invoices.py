"""The new invoices service's rules: an order's invoice, derived from the order itself.

One invoice per order, with the order's id: ``GET /invoices/{id}`` reads the order through
the ``OrderReader`` port (DynamoDB in Lambda, a dict in unit tests) and prices its lines.
Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SERVED_BY = "new"


class InvoiceNotFound(LookupError):
    """No order, hence no invoice, has this id."""


class OrderReader(Protocol):
    def get(self, order_id: str) -> Mapping[str, Any] | None: ...


class DynamoDBOrderReader:
    """``OrderReader`` on the orders table (read-only)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, order_id: str) -> Mapping[str, Any] | None:
        item = self._table.get_item(Key={"id": order_id}, ConsistentRead=True).get("Item")
        return dict(item) if item is not None else None


def invoice_for(reader: OrderReader, invoice_id: str) -> dict[str, Any]:
    """The invoice ``invoice_id`` (the order of the same id, priced line by line)."""
    order = reader.get(invoice_id)
    if order is None:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    lines = [
        {
            "sku": str(line["sku"]),
            "quantity": int(line["quantity"]),
            "unit_price_cents": int(line["unit_price_cents"]),
            "amount_cents": int(line["quantity"]) * int(line["unit_price_cents"]),
        }
        for line in order["lines"]
    ]
    return {
        "id": invoice_id,
        "order_id": str(order["id"]),
        "customer_id": str(order["customer_id"]),
        "issued_at": str(order["created_at"]),
        "lines": lines,
        "total_cents": sum(line["amount_cents"] for line in lines),
    }

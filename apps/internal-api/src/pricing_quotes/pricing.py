"""The pricing rules: quote a cart and price a single item from the catalogue.

Amounts are integers in the currency's minor unit (cents), so no rounding error can creep
into a total. A catalogue item may carry a volume discount: ``bulk_percent_off`` percent off
its line once the quantity reaches ``bulk_min_quantity``, rounded half up to the cent.

Nothing here knows about Lambda or DynamoDB: the catalogue is reached through the
``Catalogue`` port (``pricing_quotes.catalogue.DynamoDBCatalogue`` in Lambda, a dict in
unit tests), and the actions are plain functions of a payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from pricing_quotes.contract import Action, NotFound, ValidationFailed, check

MAX_LINES = 50
MAX_QUANTITY = 1000
SKU_PATTERN = "^[A-Z0-9][A-Z0-9-]{0,39}$"

_SKU: dict[str, Any] = {
    "type": "string",
    "pattern": SKU_PATTERN,
    "errorMessage": {"pattern": "must be 1-40 upper-case letters, digits or dashes"},
}

QUOTE_V1_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "quote v1 payload: the cart to price",
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_LINES,
            "items": {
                "type": "object",
                "properties": {
                    "sku": _SKU,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                },
                "required": ["sku", "quantity"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["items"],
    "additionalProperties": False,
}

PRICE_V1_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "price v1 payload: one catalogue item",
    "type": "object",
    "properties": {"sku": _SKU},
    "required": ["sku"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    sku: str
    name: str
    unit_price_cents: int
    bulk_min_quantity: int | None = None
    bulk_percent_off: int | None = None

    def __post_init__(self) -> None:
        if self.unit_price_cents < 0:
            raise ValueError(f"catalogue item {self.sku!r} has a negative price")
        bulk = (self.bulk_min_quantity, self.bulk_percent_off)
        if (bulk[0] is None) != (bulk[1] is None):
            raise ValueError(
                f"catalogue item {self.sku!r} sets only one of bulk_min_quantity and "
                "bulk_percent_off"
            )
        if self.bulk_percent_off is not None and not 0 < self.bulk_percent_off < 100:
            raise ValueError(f"catalogue item {self.sku!r} has bulk_percent_off outside 1-99")

    def discount_cents(self, quantity: int) -> int:
        """The volume discount on a line of ``quantity`` of this item, in cents."""
        if self.bulk_min_quantity is None or self.bulk_percent_off is None:
            return 0
        if quantity < self.bulk_min_quantity:
            return 0
        # Integer half-up rounding: (x * p + 50) // 100 == round_half_up(x * p / 100).
        return (self.unit_price_cents * quantity * self.bulk_percent_off + 50) // 100


class Catalogue(Protocol):
    """Where the items for sale are kept."""

    def fetch(self, skus: Sequence[str]) -> dict[str, CatalogueItem]:
        """The items among ``skus`` the catalogue holds, by sku (absent ones are left out).

        Raises ``Unavailable`` when the store cannot answer.
        """
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def quote(
    catalogue: Catalogue,
    payload: Mapping[str, Any],
    *,
    currency: str,
    clock: Clock = _utc_now,
) -> dict[str, Any]:
    """``quote`` v1: the price of a cart, line by line, with volume discounts."""
    check(payload, QUOTE_V1_SCHEMA)
    wanted = [(str(line["sku"]), int(line["quantity"])) for line in payload["items"]]
    skus = [sku for sku, _ in wanted]
    repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
    if repeated:
        raise ValidationFailed(
            f"field 'items' lists sku {_quoted(repeated)} more than once; "
            "send one line per sku with the total quantity"
        )
    items = catalogue.fetch(skus)
    _require_known(skus, items)
    lines = [_line(items[sku], quantity) for sku, quantity in wanted]
    subtotal = sum(line["subtotal_cents"] for line in lines)
    discount = sum(line["discount_cents"] for line in lines)
    return {
        "currency": currency,
        "lines": lines,
        "subtotal_cents": subtotal,
        "discount_cents": discount,
        "total_cents": subtotal - discount,
        "priced_at": _timestamp(clock),
    }


def price(catalogue: Catalogue, payload: Mapping[str, Any], *, currency: str) -> dict[str, Any]:
    """``price`` v1: one catalogue item's unit price and volume discount."""
    check(payload, PRICE_V1_SCHEMA)
    sku = str(payload["sku"])
    items = catalogue.fetch([sku])
    _require_known([sku], items)
    item = items[sku]
    bulk = None
    if item.bulk_min_quantity is not None:
        bulk = {"min_quantity": item.bulk_min_quantity, "percent_off": item.bulk_percent_off}
    return {
        "sku": item.sku,
        "name": item.name,
        "currency": currency,
        "unit_price_cents": item.unit_price_cents,
        "bulk_discount": bulk,
    }


def actions(
    catalogue: Catalogue, *, currency: str, clock: Clock = _utc_now
) -> dict[tuple[str, int], Action]:
    """The service's actions by (name, version), bound to their dependencies."""
    return {
        ("quote", 1): partial(quote, catalogue, currency=currency, clock=clock),
        ("price", 1): partial(price, catalogue, currency=currency),
    }


def _line(item: CatalogueItem, quantity: int) -> dict[str, Any]:
    subtotal = item.unit_price_cents * quantity
    discount = item.discount_cents(quantity)
    return {
        "sku": item.sku,
        "name": item.name,
        "quantity": quantity,
        "unit_price_cents": item.unit_price_cents,
        "subtotal_cents": subtotal,
        "discount_cents": discount,
        "total_cents": subtotal - discount,
    }


def _require_known(skus: Sequence[str], items: Mapping[str, CatalogueItem]) -> None:
    missing = [sku for sku in skus if sku not in items]
    if missing:
        noun = "sku" if len(missing) == 1 else "skus"
        raise NotFound(f"unknown {noun} {_quoted(missing)}: not in the catalogue")


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

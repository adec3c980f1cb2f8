"""Loyalty's rules: a customer earns one point per whole unit of an order of 50 or more.

Its subscription admits ``order.placed`` events whose ``order_total`` attribute is at least
50 (a numeric filter: smaller orders never reach loyalty's queue). The event must name the
customer (``data.customer_id``).
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from orderfeed_contract.events import InvalidOrderEvent, OrderEvent
from orderfeed_contract.money import amount_of

_CUSTOMER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MINIMUM_TOTAL = Decimal(50)


class Loyalty:
    service = "loyalty"

    def project(self, event: OrderEvent) -> dict[str, Any]:
        if event.event_type != "order.placed":
            raise InvalidOrderEvent(f"loyalty does not handle {event.event_type} events")
        customer = event.data.get("customer_id")
        if not isinstance(customer, str) or not _CUSTOMER.fullmatch(customer):
            raise InvalidOrderEvent("field 'data.customer_id' must name the customer")
        amount = amount_of(event.data)
        if amount < MINIMUM_TOTAL:
            # The subscription's filter keeps these away; one arriving means it was changed.
            raise InvalidOrderEvent(f"orders under {MINIMUM_TOTAL} earn no points")
        points = int(amount.to_integral_value(rounding=ROUND_FLOOR))
        return {"customer_id": customer, "points": points}

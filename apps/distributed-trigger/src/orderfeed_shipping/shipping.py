"""Shipping's rules: a placed order becomes a shipment to prepare, a cancelled one stops it.

Its subscription admits ``order.placed`` and ``order.cancelled``. A placed order must say
where it goes (``data.ship_to.country``, ISO 3166 alpha-2): the trigger does not know what
shipping needs, so an order placed without it reaches shipping and is parked here with the
reason, while billing and loyalty use the same event.
"""

from __future__ import annotations

import re
from typing import Any

from orderfeed_contract.events import InvalidOrderEvent, OrderEvent

_COUNTRY = re.compile(r"[A-Z]{2}")


class Shipping:
    service = "shipping"

    def project(self, event: OrderEvent) -> dict[str, Any]:
        if event.event_type == "order.cancelled":
            return {"status": "cancelled"}
        if event.event_type != "order.placed":
            raise InvalidOrderEvent(f"shipping does not handle {event.event_type} events")
        ship_to = event.data.get("ship_to")
        country = ship_to.get("country") if isinstance(ship_to, dict) else None
        if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
            raise InvalidOrderEvent(
                "field 'data.ship_to.country' must be an ISO 3166 country code, like DE"
            )
        return {"status": "to-ship", "country": country}

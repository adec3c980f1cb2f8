"""Billing's rules: a placed order is charged, a refunded one is paid back.

Its subscription admits ``order.placed`` and ``order.refunded``. Both must carry the amount
(``data.total``, a number of at most two decimals, zero or more) and its currency
(``data.currency``, ISO 4217).
"""

from __future__ import annotations

import re
from typing import Any

from orderfeed_contract.events import InvalidOrderEvent, OrderEvent
from orderfeed_contract.money import amount_of

_CURRENCY = re.compile(r"[A-Z]{3}")
_KINDS = {"order.placed": "charge", "order.refunded": "refund"}


class Billing:
    service = "billing"

    def project(self, event: OrderEvent) -> dict[str, Any]:
        kind = _KINDS.get(event.event_type)
        if kind is None:
            raise InvalidOrderEvent(f"billing does not handle {event.event_type} events")
        amount = amount_of(event.data)
        currency = event.data.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise InvalidOrderEvent("field 'data.currency' must be an ISO 4217 code, like EUR")
        return {"kind": kind, "amount": str(amount), "currency": currency}

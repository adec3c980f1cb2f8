"""Order amounts: ``data.total`` is a JSON number with at most two decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderfeed_contract.events import InvalidOrderEvent

MAX_TOTAL = Decimal("1000000")


def amount_of(data: dict[str, Any]) -> Decimal:
    """``data.total`` as an exact amount; raises ``InvalidOrderEvent`` saying what is wrong."""
    total = data.get("total")
    if isinstance(total, bool) or not isinstance(total, int | float):
        raise InvalidOrderEvent("field 'data.total' must be a number")
    amount = Decimal(str(total))  # the float's shortest repr: 19.99, not 19.989999...
    if not amount.is_finite() or amount < 0 or amount > MAX_TOTAL:
        raise InvalidOrderEvent(f"field 'data.total' must be between 0 and {MAX_TOTAL}")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidOrderEvent("field 'data.total' must have at most two decimals")
    return amount

"""The refund task's own fields: amount in canonical form and whether a person must approve."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from desk_tickets.contract import RoutedTicket

TICKET_TYPE = "refund"
CENT = Decimal("0.01")
# Refunds from this amount wait for a person; smaller ones are approved for payout at once.
APPROVAL_THRESHOLD = Decimal("500")


def refund_fields(routed: RoutedTicket) -> dict[str, Any]:
    details = routed.ticket.details
    amount = Decimal(details["amount"]).quantize(CENT)
    return {
        "order_id": details["order_id"],
        # DynamoDB numbers are exact decimals: money is stored as a number, never a float.
        "amount": amount,
        "currency": details["currency"],
        "reason": details["reason"],
        "status": "awaiting_approval" if amount >= APPROVAL_THRESHOLD else "approved",
    }

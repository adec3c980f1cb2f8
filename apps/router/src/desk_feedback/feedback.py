"""The feedback task's own fields: the rating, its sentiment, and whether to follow up."""

from __future__ import annotations

from typing import Any

from desk_tickets.contract import RoutedTicket

TICKET_TYPE = "feedback"


def sentiment_of(rating: int) -> str:
    if rating >= 4:
        return "positive"
    return "neutral" if rating == 3 else "negative"


def feedback_fields(routed: RoutedTicket) -> dict[str, Any]:
    details = routed.ticket.details
    rating = int(details["rating"])
    fields: dict[str, Any] = {
        "rating": rating,
        "sentiment": sentiment_of(rating),
        # Someone calls back every unhappy customer.
        "follow_up": rating <= 2,
    }
    if details.get("comment"):
        fields["comment"] = details["comment"]
    return fields

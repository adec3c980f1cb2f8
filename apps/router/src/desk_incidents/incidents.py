"""The incident task's own fields: an open incident with a response deadline by priority."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from desk_tickets.contract import RoutedTicket

TICKET_TYPE = "incident"
# How soon someone must respond, by the priority the router gave the ticket.
RESPONSE_MINUTES = {"urgent": 15, "high": 60, "normal": 240, "low": 1440}


def incident_fields(routed: RoutedTicket) -> dict[str, Any]:
    details = routed.ticket.details
    minutes = RESPONSE_MINUTES[routed.routing.priority]
    routed_at = datetime.fromisoformat(routed.routing.routed_at.replace("Z", "+00:00"))
    respond_by = (routed_at + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    return {
        "service": details["service"],
        "severity": int(details["severity"]),
        "summary": details["summary"],
        "status": "open",
        "respond_within_minutes": minutes,
        "respond_by": respond_by.replace("+00:00", "Z"),
    }

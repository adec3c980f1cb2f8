"""What a billing event on the topic looks like, and how a subscriber reads one.

A publisher sends one SNS message per event:

- the **body** is a JSON object::

      {"eventId": "payments-000123", "eventType": "payment.failed", "severity": "critical",
       "source": "payments", "occurredAt": "2026-11-22T10:15:00Z",
       "summary": "card declined", "data": {"customerId": "acme", "amountCents": 250000}}

  ``eventId`` is unique per event and stays the same when the publisher retries (SNS and
  subscribers deliver at least once: subscribers deduplicate on it); ``eventType`` is a
  dotted lower-case name (``invoice.created``, ``payment.failed``...); ``severity`` is
  ``info``, ``warning`` or ``critical``; ``source`` names the publishing service;
  ``occurredAt`` is an ISO 8601 time with a zone; ``summary`` (optional) is one line for
  people; ``data`` (optional) is the event type's own fields.
- the **message attributes** ``eventType``, ``severity`` and ``source`` (``String``) repeat
  the body's values, so that subscribers can filter without parsing the body (SNS filter
  policies on attributes are the cheapest and the most common kind).

Subscribers check that attributes and body agree: a subscription admits a message on its
attributes, so a message whose attributes lie would reach the wrong subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common_layer.validation import SchemaViolation, validate

SEVERITIES = ("info", "warning", "critical")

# The attributes every message carries, equal to the body's fields of the same name.
ROUTING_ATTRIBUTES = ("eventType", "severity", "source")

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["eventId", "eventType", "severity", "source", "occurredAt"],
    "additionalProperties": False,
    "properties": {
        "eventId": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": r"^[A-Za-z0-9._:\-]+$",
            "errorMessage": {
                "pattern": "must contain only letters, digits and . _ : -",
            },
        },
        "eventType": {
            "type": "string",
            "maxLength": 64,
            "pattern": r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$",
            "errorMessage": {
                "pattern": "must be a dotted lower-case name such as 'payment.failed'",
            },
        },
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "source": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": r"^[A-Za-z0-9._\-]+$",
            "errorMessage": {"pattern": "must contain only letters, digits and . _ -"},
        },
        "occurredAt": {"type": "string", "minLength": 1, "maxLength": 40},
        "summary": {"type": "string", "maxLength": 256},
        "data": {"type": "object"},
    },
}


class ContractViolation(ValueError):
    """A message breaks the contract. ``field`` names the offending field or attribute."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BillingEvent:
    event_id: str
    event_type: str
    severity: str
    source: str
    occurred_at: datetime
    summary: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def routing_attributes(self) -> dict[str, str]:
        """The message attributes a publisher sets for this event, as plain strings."""
        return {"eventType": self.event_type, "severity": self.severity, "source": self.source}


def parse_event(body: str, attributes: Mapping[str, str]) -> BillingEvent:
    """Read a message (its body and its String attributes) as a ``BillingEvent``.

    Raises ``ContractViolation`` naming the first problem: the body is not JSON, a field
    breaks the schema, ``occurredAt`` is not a time with a zone, or a routing attribute is
    missing or disagrees with the body.
    """
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ContractViolation(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ContractViolation("body must be a JSON object")
    try:
        validate(document, EVENT_SCHEMA)
    except SchemaViolation as violation:
        raise ContractViolation(violation.message, field=violation.field) from None
    occurred_at = _timestamp(document["occurredAt"])
    for name in ROUTING_ATTRIBUTES:
        value = attributes.get(name)
        if value is None:
            raise ContractViolation(
                f"message attribute '{name}' is required (a String equal to the body's '{name}')",
                field=name,
            )
        if value != document[name]:
            raise ContractViolation(
                f"message attribute '{name}' is {value!r} but the body says {document[name]!r}",
                field=name,
            )
    return BillingEvent(
        event_id=document["eventId"],
        event_type=document["eventType"],
        severity=document["severity"],
        source=document["source"],
        occurred_at=occurred_at,
        summary=document.get("summary"),
        data=dict(document.get("data") or {}),
    )


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ContractViolation(
            "field 'occurredAt' must be an ISO 8601 time such as 2026-11-22T10:15:00Z",
            field="occurredAt",
        ) from None
    if moment.tzinfo is None:
        raise ContractViolation(
            "field 'occurredAt' must include a time zone (Z or +hh:mm)", field="occurredAt"
        )
    return moment


def sns_message_attributes(event: BillingEvent) -> dict[str, dict[str, str]]:
    """The ``MessageAttributes`` argument of SNS Publish for ``event``."""
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in event.routing_attributes().items()
    }

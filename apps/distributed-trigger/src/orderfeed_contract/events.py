"""The order event: what the trigger publishes on the topic and every subscriber reads.

The message body is the JSON of :class:`OrderEvent`; the message attributes carry what
subscriptions filter on (``event_type`` always, ``order_total`` when the event has a
numeric ``data.total``), so SNS filters before delivery and a subscriber never pays for a
message it does not want. ``event_id`` is the CloudWatch Logs event id of the line the event
came from: the same on every retry of the trigger, so subscribers can drop duplicates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from common_layer.validation import SchemaViolation, validate

EVENT_TYPE_ATTRIBUTE = "event_type"
ORDER_TOTAL_ATTRIBUTE = "order_total"

EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "An order event (the SNS message body)",
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "event_type": {
            "type": "string",
            "pattern": r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$",
            "maxLength": 64,
            "errorMessage": {"pattern": "must be dotted lower-case words, like order.placed"},
        },
        "order_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        },
        "occurred_at": {"type": "string", "format": "date-time"},
        "data": {"type": "object"},
        "source": {"type": "object"},
    },
    "required": ["event_id", "event_type", "order_id", "occurred_at", "data"],
}


class InvalidOrderEvent(ValueError):
    """The event breaks the contract (or a subscriber's own rules); the message says why.

    Redelivering it cannot help, so it is parked with the reason rather than retried.
    """


@dataclass(frozen=True, slots=True)
class OrderEvent:
    event_id: str
    event_type: str
    order_id: str
    occurred_at: str
    data: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "event_type": self.event_type,
                "order_id": self.order_id,
                "occurred_at": self.occurred_at,
                "data": self.data,
                "source": self.source,
            },
            separators=(",", ":"),
        )

    def message_attributes(self) -> dict[str, dict[str, str]]:
        """SNS message attributes (``{name: {"DataType", "StringValue"}}``) to filter on."""
        attributes = {EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": self.event_type}}
        total = self.data.get("total")
        if isinstance(total, int | float) and not isinstance(total, bool):
            attributes[ORDER_TOTAL_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(total)}
        return attributes

    @classmethod
    def from_document(cls, document: Any) -> OrderEvent:
        """Validate a decoded event; raises :class:`InvalidOrderEvent` naming the field."""
        if not isinstance(document, dict):
            raise InvalidOrderEvent("body must be a JSON object")
        try:
            validate(document, EVENT_SCHEMA)
        except SchemaViolation as violation:
            raise InvalidOrderEvent(str(violation)) from None
        return cls(
            event_id=document["event_id"],
            event_type=document["event_type"],
            order_id=document["order_id"],
            occurred_at=document["occurred_at"],
            data=dict(document["data"]),
            source=dict(document.get("source") or {}),
        )

    @classmethod
    def from_json(cls, text: str) -> OrderEvent:
        try:
            document = json.loads(text)
        except ValueError:
            raise InvalidOrderEvent("body is not valid JSON") from None
        return cls.from_document(document)

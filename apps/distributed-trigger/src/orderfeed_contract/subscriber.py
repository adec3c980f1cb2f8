"""How a subscriber service consumes its queue: one order event per SQS message.

Each subscriber service owns its queue, its subscription (with the filter policy saying
which events it wants) and its table; only its :class:`Projection` (the service's own rules:
what it needs from an event and what it keeps) differs. Per message:

- the body (raw delivery: the event JSON as the trigger published it) is checked against
  the contract, then the projection turns it into the item the service keeps;
- the item is recorded once per (order id, event type), however often SNS, SQS or a
  retried trigger delivers it (the ``EventStore`` port);
- an event that breaks the contract or the service's rules is parked in the service's DLQ
  with the reason (the ``DeadLetters`` port) and deleted: retrying cannot fix it;
- anything else that goes wrong (the table unreachable) raises, so the message is reported
  as a batch item failure, retried after the visibility timeout, and moved to the DLQ by
  SQS after ``maxReceiveCount`` receives.

Nothing here knows about Lambda, SQS or DynamoDB; ``orderfeed_contract.storage`` holds the
AWS adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from orderfeed_contract.events import InvalidOrderEvent, OrderEvent


class Projection(Protocol):
    """A subscriber service's rules for the events its filter policy admits."""

    service: str

    def project(self, event: OrderEvent) -> dict[str, Any]:
        """The attributes the service keeps for ``event``; raises ``InvalidOrderEvent``."""
        ...


class EventStore(Protocol):
    def record(self, event: OrderEvent, attributes: Mapping[str, Any]) -> bool:
        """Keep the event's item; False when (order id, event type) was already kept."""
        ...


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """An SQS message as the subscriber receives it."""

    message_id: str
    body: str
    # SQS message attributes as SendMessage takes them: {name: {"DataType", "StringValue"}}.
    attributes: Mapping[str, Mapping[str, str]]
    receive_count: int
    source: str | None = None

    @classmethod
    def from_event_record(cls, record: Mapping[str, Any]) -> QueueMessage:
        """Read one record of a Lambda SQS event (``Records[n]``)."""
        attributes = {
            str(name): {
                "DataType": str(value["dataType"]),
                "StringValue": str(value["stringValue"]),
            }
            for name, value in (record.get("messageAttributes") or {}).items()
            if value.get("stringValue") is not None
        }
        system = record.get("attributes") or {}
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body", "")),
            attributes=attributes,
            receive_count=int(system.get("ApproximateReceiveCount", 1)),
            source=record.get("eventSourceARN"),
        )


class DeadLetters(Protocol):
    def park(self, message: QueueMessage, reason: InvalidOrderEvent) -> None: ...


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    PARKED = "parked"


@dataclass(frozen=True, slots=True)
class Consumed:
    outcome: Outcome
    event: OrderEvent | None = None
    reason: InvalidOrderEvent | None = None


def consume(
    message: QueueMessage,
    projection: Projection,
    store: EventStore,
    dead_letters: DeadLetters,
) -> Consumed:
    """Record one message's event once, or park it with the reason it cannot be used."""
    try:
        event = OrderEvent.from_json(message.body)
        attributes = projection.project(event)
    except InvalidOrderEvent as reason:
        dead_letters.park(message, reason)
        return Consumed(Outcome.PARKED, reason=reason)
    recorded = store.record(event, attributes)
    return Consumed(Outcome.RECORDED if recorded else Outcome.DUPLICATE, event=event)

"""From the order service's audit log to order events: the trigger's rules.

The order service writes one JSON object per line to its audit log group::

    {"event_type": "order.placed", "order_id": "ord-1001", "occurred_at": "2026-11-23T10:15:00Z",
     "data": {"customer_id": "cust-7", "total": 72.5, "currency": "EUR",
              "ship_to": {"country": "DE"}}}

Other keys (a logger's ``level``, ``timestamp``...) are ignored. CloudWatch Logs hands the
lines to the trigger in batches (:func:`decode_awslogs`); each valid line becomes an
:class:`OrderEvent` whose ``event_id`` is the log event's id, and the events are published
on the service's topic (the ``Publisher`` port). A line that is not such an object cannot be
fixed by retrying: it is parked with the reason (the ``Rejections`` port), and the rest of
the batch goes on. What can be fixed by retrying (the topic unreachable) raises, so Lambda
retries the whole batch and, when it keeps failing, sends it to the on-failure destination.

Fault drill: a line with ``"fault_drill": "publish"`` makes the invocation fail before it
publishes anything, as if SNS were down, to watch the retries and the failure destination
at work (the whole batch lands there, nothing is published, nothing is lost).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate
from orderfeed_contract.events import EVENT_SCHEMA, OrderEvent

# SNS takes a message of at most 256 KiB, body and attributes together.
MAX_MESSAGE_BYTES = 262_144
FAULT_DRILL_PUBLISH = "publish"

LINE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "An audit log line of the order service",
    "type": "object",
    "properties": {
        "event_type": EVENT_SCHEMA["properties"]["event_type"],
        "order_id": EVENT_SCHEMA["properties"]["order_id"],
        "occurred_at": EVENT_SCHEMA["properties"]["occurred_at"],
        "data": {"type": "object"},
        "fault_drill": {"enum": [FAULT_DRILL_PUBLISH]},
    },
    "required": ["event_type", "order_id", "occurred_at"],
}


class InvalidTriggerEvent(ValueError):
    """The invocation is not a CloudWatch Logs subscription event (a wiring mistake)."""


class PublishFailed(RuntimeError):
    """SNS did not take some events after retries; the invocation must fail and be retried."""


class FaultDrill(RuntimeError):
    """A ``fault_drill`` line made this invocation fail on purpose."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    id: str
    timestamp: int
    message: str


@dataclass(frozen=True, slots=True)
class LogBatch:
    """The decoded ``awslogs.data`` of one invocation."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    events: tuple[LogEvent, ...]


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: LogEvent
    reason: str


@dataclass(frozen=True, slots=True)
class Translation:
    events: list[OrderEvent] = field(default_factory=list)
    rejected: list[RejectedLine] = field(default_factory=list)
    drills: list[LogEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Triggered:
    received: int
    published: int
    rejected: int

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "published": self.published, "rejected": self.rejected}


class Publisher(Protocol):
    def publish(self, events: Sequence[OrderEvent]) -> list[tuple[OrderEvent, str]]:
        """Publish ``events``; return those SNS refused for good, each with the reason.

        Raises ``PublishFailed`` when some could not be published for now.
        """
        ...


class Rejections(Protocol):
    def park(self, batch: LogBatch, rejected: RejectedLine) -> None: ...


def decode_awslogs(event: Mapping[str, Any]) -> LogBatch:
    """Read ``{"awslogs": {"data": base64(gzip(json))}}`` as CloudWatch Logs sends it."""
    try:
        data = event["awslogs"]["data"]
        document = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
        events = tuple(
            LogEvent(id=str(e["id"]), timestamp=int(e["timestamp"]), message=str(e["message"]))
            for e in document.get("logEvents") or ()
        )
        return LogBatch(
            message_type=str(document["messageType"]),
            owner=str(document.get("owner", "")),
            log_group=str(document.get("logGroup", "")),
            log_stream=str(document.get("logStream", "")),
            events=events,
        )
    except (KeyError, TypeError, ValueError, OSError, EOFError, binascii.Error) as error:
        raise InvalidTriggerEvent(
            f"not a CloudWatch Logs subscription event: {type(error).__name__}: {error}"
        ) from None


def event_of(batch: LogBatch, line: LogEvent) -> OrderEvent:
    """The order event of one log line; raises ``ValueError`` saying what is wrong."""
    try:
        document = json.loads(line.message)
    except ValueError:
        raise ValueError("line is not valid JSON") from None
    if not isinstance(document, dict):
        raise ValueError("line must be a JSON object")
    try:
        validate(document, LINE_SCHEMA)
    except SchemaViolation as violation:
        raise ValueError(str(violation).replace("body ", "line ", 1)) from None
    event = OrderEvent(
        event_id=line.id,
        event_type=document["event_type"],
        order_id=document["order_id"],
        occurred_at=document["occurred_at"],
        data=dict(document.get("data") or {}),
        source={"log_group": batch.log_group, "log_stream": batch.log_stream},
    )
    size = len(event.to_json().encode()) + len(json.dumps(event.message_attributes()))
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(f"the event is {size} bytes; SNS takes at most {MAX_MESSAGE_BYTES}")
    return event


def translate(batch: LogBatch) -> Translation:
    translation = Translation()
    for line in batch.events:
        try:
            event = event_of(batch, line)
        except ValueError as reason:
            translation.rejected.append(RejectedLine(line, str(reason)))
            continue
        if json.loads(line.message).get("fault_drill") == FAULT_DRILL_PUBLISH:
            translation.drills.append(line)
        translation.events.append(event)
    return translation


def trigger(batch: LogBatch, publisher: Publisher, rejections: Rejections) -> Triggered:
    """Publish a batch's order events; park the lines that cannot become one."""
    if batch.message_type != "DATA_MESSAGE":
        # CONTROL_MESSAGE: Logs checking that the destination is reachable; nothing to do.
        return Triggered(received=0, published=0, rejected=0)
    translation = translate(batch)
    if translation.drills:
        ids = ", ".join(line.id for line in translation.drills)
        raise FaultDrill(f"fault drill: publishing fails on purpose (log event {ids})")
    refused = publisher.publish(translation.events)
    rejected = [
        *translation.rejected,
        *(RejectedLine(_line(batch, event), f"SNS refused it: {why}") for event, why in refused),
    ]
    for line in rejected:
        rejections.park(batch, line)
    return Triggered(
        received=len(batch.events),
        published=len(translation.events) - len(refused),
        rejected=len(rejected),
    )


def _line(batch: LogBatch, event: OrderEvent) -> LogEvent:
    return next(line for line in batch.events if line.id == event.event_id)

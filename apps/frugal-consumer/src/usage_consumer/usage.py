"""The producer contract for usage records, and what the consumer does with each message.

Nothing here knows about Lambda, SQS or SQL. A message is checked against the contract (see
the app's README), then either added once to the store (the ``UsageStore`` port, keyed by
the producer and the producer's own record id, because SQS gives every send a new message
id) or parked in the dead-letter queue with the reason (the ``DeadLetters`` port). Unit
tests run these rules against fakes; in Lambda the ports are the RDS Data API and SQS
(``usage_consumer.adapters``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate

# Records time-stamped further ahead than this are a producer's clock or code at fault.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_QUANTITY = 1_000_000_000
PRODUCER_ATTRIBUTE = "producer"
SCHEMA_VERSION_ATTRIBUTE = "schema_version"
SUPPORTED_SCHEMA_VERSIONS = frozenset({"1"})
_PRODUCER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A usage record (the message body)",
    "type": "object",
    "properties": {
        "record_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": r"^[\x21-\x7e]+$",
            "errorMessage": {"pattern": "must be printable ASCII without spaces"},
        },
        "customer_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        },
        "meter": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": r"^[a-z0-9][a-z0-9._-]*$",
        },
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "occurred_at": {"type": "string", "format": "date-time"},
    },
    "required": ["record_id", "customer_id", "meter", "quantity", "occurred_at"],
    "additionalProperties": False,
}


class InvalidUsageRecord(ValueError):
    """The message breaks the producer contract; the message says what to fix.

    ``field`` names the offending body field or message attribute (None for the body as a
    whole). Redelivering such a message cannot succeed, so it is dead-lettered, not retried.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """One SQS message attribute as the producer set it."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def base_type(self) -> str:
        """``String``, ``Number`` or ``Binary`` (a custom suffix such as ``String.id`` dropped)."""
        return self.data_type.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """An SQS message as the consumer receives it."""

    message_id: str
    body: str
    attributes: Mapping[str, MessageAttribute]
    receive_count: int
    source: str | None = None

    @classmethod
    def from_event_record(cls, record: Mapping[str, Any]) -> QueueMessage:
        """Read one record of a Lambda SQS event (``Records[n]``)."""
        attributes: dict[str, MessageAttribute] = {}
        for name, raw in (record.get("messageAttributes") or {}).items():
            binary = raw.get("binaryValue")
            attributes[name] = MessageAttribute(
                data_type=str(raw.get("dataType", "String")),
                string_value=raw.get("stringValue"),
                binary_value=None if binary is None else base64.b64decode(binary),
            )
        system = record.get("attributes") or {}
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body", "")),
            attributes=attributes,
            receive_count=int(system.get("ApproximateReceiveCount", 1)),
            source=record.get("eventSourceARN"),
        )


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A valid usage record: who used how much of what, and when (UTC)."""

    producer: str
    record_id: str
    customer_id: str
    meter: str
    quantity: int
    occurred_at: datetime

    @property
    def usage_date(self) -> date:
        """The day (UTC) whose total the record adds to."""
        return self.occurred_at.date()


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Consumed:
    """What became of one message."""

    outcome: Outcome
    record: UsageRecord | None = None
    reason: InvalidUsageRecord | None = None


class UsageStore(Protocol):
    def add(self, record: UsageRecord, message_id: str) -> bool:
        """Add the record to its customer's daily total, once per (producer, record id).

        Returns True when the record was new. A record seen before changes no total (the
        store only counts the duplicate delivery) and returns False. Must be atomic: a
        crash never leaves a record stored but not added, or added twice.
        """
        ...


class DeadLetters(Protocol):
    def park(self, message: QueueMessage, reason: InvalidUsageRecord) -> None:
        """Keep the message, its attributes and the reason for a person to look at."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def consume(
    message: QueueMessage,
    store: UsageStore,
    dead_letters: DeadLetters,
    *,
    clock: Clock = _utc_now,
) -> Consumed:
    """Store one message's record once, or dead-letter it when it breaks the contract.

    Errors of the store or the dead-letter queue propagate: the message then stays on the
    queue and is retried (and dead-lettered by the queue's redrive policy if it keeps failing).
    """
    try:
        record = parse_record(message, now=clock())
    except InvalidUsageRecord as reason:
        dead_letters.park(message, reason)
        return Consumed(Outcome.REJECTED, reason=reason)
    added = store.add(record, message.message_id)
    return Consumed(Outcome.STORED if added else Outcome.DUPLICATE, record=record)


def parse_record(message: QueueMessage, *, now: datetime) -> UsageRecord:
    """Check a message against the contract; InvalidUsageRecord says what is wrong."""
    producer = _producer(message.attributes)
    _check_schema_version(message.attributes)
    try:
        body = json.loads(message.body)
    except ValueError as error:
        raise InvalidUsageRecord(f"body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidUsageRecord("body must be a JSON object")
    try:
        validate(body, RECORD_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidUsageRecord(violation.message, violation.field) from None
    occurred_at = _timestamp(body["occurred_at"])
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidUsageRecord(
            f"field 'occurred_at' is in the future (more than "
            f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes ahead of the consumer's clock)",
            "occurred_at",
        )
    return UsageRecord(
        producer=producer,
        record_id=body["record_id"],
        customer_id=body["customer_id"],
        meter=body["meter"],
        # JSON Schema counts 3.0 as an integer: store it as the whole number it is.
        quantity=int(body["quantity"]),
        occurred_at=occurred_at,
    )


def _producer(attributes: Mapping[str, MessageAttribute]) -> str:
    name = PRODUCER_ATTRIBUTE
    attribute = attributes.get(name)
    if attribute is None:
        raise InvalidUsageRecord(
            f"message attribute '{name}' is required (a String naming the sending service)", name
        )
    if attribute.base_type != "String" or attribute.string_value is None:
        raise InvalidUsageRecord(f"message attribute '{name}' must be a String", name)
    if not _PRODUCER_NAME.fullmatch(attribute.string_value):
        raise InvalidUsageRecord(
            f"message attribute '{name}' must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            name,
        )
    return attribute.string_value


def _check_schema_version(attributes: Mapping[str, MessageAttribute]) -> None:
    name = SCHEMA_VERSION_ATTRIBUTE
    attribute = attributes.get(name)
    if attribute is None:
        return
    value = (attribute.string_value or "").strip()
    if attribute.base_type not in ("String", "Number") or value not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise InvalidUsageRecord(f"message attribute '{name}' must be one of {supported}", name)


def _timestamp(text: str) -> datetime:
    # The schema checked the RFC 3339 shape; this catches impossible dates (February 31)
    # and normalises the offset to UTC, which decides the day the record counts for.
    try:
        parsed = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidUsageRecord(
            "field 'occurred_at' must be a valid date-time", "occurred_at"
        ) from None
    return parsed.astimezone(UTC)

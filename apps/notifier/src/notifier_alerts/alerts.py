"""The alerts subscriber's rules, free of AWS: read a queued message, record it once.

The subscription delivers raw (``RawMessageDelivery``): an SQS message's body is the
publisher's JSON and its message attributes are the SNS message attributes. A message that
breaks the contract cannot succeed on a retry, so it is parked with the reason at once; a
message that fails for another reason (the table unreachable) raises, and SQS delivers it
again until the queue's redrive policy moves it to the DLQ.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from notifier_contract.contract import BillingEvent, ContractViolation, parse_event


class Outcome(Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class QueueMessage:
    """One SQS message as the event source hands it over."""

    message_id: str
    body: str
    # The message attributes as SQS SendMessage takes them, to park the message faithfully.
    attributes: dict[str, dict[str, Any]]
    receive_count: int

    @classmethod
    def from_event_record(cls, record: Mapping[str, Any]) -> QueueMessage:
        attributes: dict[str, dict[str, Any]] = {}
        for name, value in (record.get("messageAttributes") or {}).items():
            data_type = str(value.get("dataType", "String"))
            if value.get("binaryValue") is not None:
                binary = base64.b64decode(value["binaryValue"])
                attributes[name] = {"DataType": data_type, "BinaryValue": binary}
            else:
                attributes[name] = {
                    "DataType": data_type,
                    "StringValue": str(value.get("stringValue", "")),
                }
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body", "")),
            attributes=attributes,
            receive_count=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)),
        )

    def string_attributes(self) -> dict[str, str]:
        return {
            name: value["StringValue"]
            for name, value in self.attributes.items()
            if "StringValue" in value and str(value["DataType"]).startswith("String")
        }


class AlertStore(Protocol):
    def put_once(self, item: Mapping[str, Any]) -> bool:
        """Record the item unless its eventId is known; True when it was new."""
        ...


class DeadLetters(Protocol):
    def park(self, message: QueueMessage, reason: ContractViolation) -> None: ...


@dataclass(frozen=True)
class Consumed:
    outcome: Outcome
    event: BillingEvent | None = None
    reason: ContractViolation | None = None


def alert_item(event: BillingEvent, message_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The alerts table's item for an event (``data`` kept as its JSON text)."""
    item: dict[str, Any] = {
        "eventId": event.event_id,
        "eventType": event.event_type,
        "severity": event.severity,
        "source": event.source,
        "occurredAt": event.occurred_at.isoformat(),
        "data": json.dumps(event.data, sort_keys=True),
        "messageId": message_id,
        "recordedAt": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
    }
    if event.summary is not None:
        item["summary"] = event.summary
    return item


def consume(message: QueueMessage, store: AlertStore, dead_letters: DeadLetters) -> Consumed:
    """Record one alert once; park it with the reason if it breaks the contract."""
    try:
        event = parse_event(message.body, message.string_attributes())
    except ContractViolation as violation:
        dead_letters.park(message, violation)
        return Consumed(Outcome.REJECTED, reason=violation)
    if store.put_once(alert_item(event, message.message_id)):
        return Consumed(Outcome.RECORDED, event)
    return Consumed(Outcome.DUPLICATE, event)

"""The payments auditor's rules, free of AWS: read an SNS notification, record it once.

SNS admits only payment events of a large amount (a ``MessageBody`` filter policy), and
invokes the function asynchronously, one notification per invocation. Beyond the topic's
contract, the auditor needs the payment's own fields in ``data``: ``customerId``,
``amountCents`` and ``currency``. A notification that breaks either cannot succeed on a
retry, so it is parked with the reason at once; any other failure raises, and Lambda retries
the invocation, then hands it to the on-failure destination.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate
from notifier_contract.contract import BillingEvent, ContractViolation, parse_event

PAYMENT_DATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customerId", "amountCents", "currency"],
    "properties": {
        "customerId": {"type": "string", "minLength": 1, "maxLength": 64},
        "amountCents": {"type": "integer", "minimum": 0},
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "errorMessage": {"pattern": "must be an ISO 4217 code such as 'EUR'"},
        },
    },
}


class Outcome(Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Notification:
    """The ``Sns`` object of one record of an SNS-triggered invocation."""

    message_id: str
    topic_arn: str
    message: str
    attributes: dict[str, str]
    raw: Mapping[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> list[Notification]:
        notifications = []
        for record in event.get("Records") or []:
            sns = record.get("Sns") or {}
            attributes = {
                str(name): str(value.get("Value"))
                for name, value in (sns.get("MessageAttributes") or {}).items()
                if str(value.get("Type", "")).startswith("String")
            }
            notifications.append(
                cls(
                    message_id=str(sns.get("MessageId", "")),
                    topic_arn=str(sns.get("TopicArn", "")),
                    message=str(sns.get("Message", "")),
                    attributes=attributes,
                    raw=sns,
                )
            )
        return notifications


class AuditStore(Protocol):
    def put_once(self, item: Mapping[str, Any]) -> bool:
        """Record the item unless its eventId is known; True when it was new."""
        ...


class DeadLetters(Protocol):
    def park(self, notification: Notification, reason: ContractViolation) -> None: ...


@dataclass(frozen=True)
class Audited:
    outcome: Outcome
    event: BillingEvent | None = None
    reason: ContractViolation | None = None


def payment_event(notification: Notification) -> BillingEvent:
    """The notification as a payment event; ``ContractViolation`` names what is wrong."""
    event = parse_event(notification.message, notification.attributes)
    if not event.event_type.startswith("payment."):
        raise ContractViolation(
            f"eventType {event.event_type!r} is not a payment event", field="eventType"
        )
    try:
        validate(event.data, PAYMENT_DATA_SCHEMA)
    except SchemaViolation as violation:
        message = violation.message.replace("field '", "field 'data.", 1)
        message = (
            message.replace("body ", "field 'data' ", 1) if message.startswith("body") else message
        )
        field = f"data.{violation.field}" if violation.field else "data"
        raise ContractViolation(message, field=field) from None
    return event


def audit_item(
    event: BillingEvent, notification: Notification, now: datetime | None = None
) -> dict[str, Any]:
    return {
        "eventId": event.event_id,
        "eventType": event.event_type,
        "severity": event.severity,
        "source": event.source,
        "occurredAt": event.occurred_at.isoformat(),
        "customerId": event.data["customerId"],
        "amountCents": event.data["amountCents"],
        "currency": event.data["currency"],
        "data": json.dumps(event.data, sort_keys=True),
        "snsMessageId": notification.message_id,
        "recordedAt": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
    }


def audit(notification: Notification, store: AuditStore, dead_letters: DeadLetters) -> Audited:
    """Record one large payment once; park it with the reason if it breaks the contract."""
    try:
        event = payment_event(notification)
    except ContractViolation as violation:
        dead_letters.park(notification, violation)
        return Audited(Outcome.REJECTED, reason=violation)
    if store.put_once(audit_item(event, notification)):
        return Audited(Outcome.RECORDED, event)
    return Audited(Outcome.DUPLICATE, event)

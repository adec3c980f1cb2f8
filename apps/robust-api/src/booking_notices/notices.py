"""The notices service: turn a booking event into the notice its guest receives, once.

It is invoked asynchronously (``InvocationType=Event``) by the API's create and cancel
functions, so Lambda may deliver an event more than once (its retries, or a replay from
the failure queue). The notice's key is the booking and the event kind, and it is written
with a condition that it does not exist yet: a second delivery writes nothing.

The notices table is this service's own outbox: a mailer (out of scope here) sends what it
holds. Keys: ``pk = BOOKING#<booking_id>``, ``sk = NOTICE#<kind>``.

Fault drill: an item ``pk = RECIPIENT#<email>``, ``sk = FAULT_DRILL`` makes every notice to
that address fail with ``DeliveryFailed``, as a mail provider refusing it would. A test arms
it for an address of its own and sees the event land on the on-failure destination after
Lambda's retries, on AWS as locally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate

EVENTS = {"booking.confirmed": "confirmed", "booking.cancelled": "cancelled"}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"enum": sorted(EVENTS)},
        "booking": {
            "type": "object",
            "properties": {
                "booking_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "guest_email": {"type": "string", "minLength": 3},
                "room_id": {"type": "string"},
                "check_in": {"type": "string"},
                "nights": {"type": "integer"},
                "total_cents": {"type": "integer"},
                "currency": {"type": "string"},
            },
            "required": [
                "booking_id",
                "guest_email",
                "room_id",
                "check_in",
                "nights",
                "total_cents",
                "currency",
            ],
        },
    },
    "required": ["event", "booking"],
}


class InvalidEvent(ValueError):
    """Not a booking event: retrying cannot help, but it still goes to the failure queue."""


class DeliveryFailed(RuntimeError):
    """The notice could not be delivered to its recipient (Lambda retries, then gives up)."""


@dataclass(frozen=True, slots=True)
class Notice:
    booking_id: str
    kind: str
    recipient: str
    subject: str
    text: str
    created_at: str
    request_id: str | None = None

    def to_item(self) -> dict[str, Any]:
        item = {"pk": f"BOOKING#{self.booking_id}", "sk": f"NOTICE#{self.kind}", **asdict(self)}
        return {name: value for name, value in item.items() if value is not None}


class Outbox(Protocol):
    def drill_armed(self, recipient: str) -> bool:
        """Whether a fault drill makes notices to ``recipient`` fail."""
        ...

    def add_once(self, notice: Notice) -> bool:
        """Store the notice unless it is there already; False for a repeat."""
        ...


def compose(event: Mapping[str, Any], *, now: datetime, request_id: str | None) -> Notice:
    try:
        validate(event, EVENT_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidEvent(violation.message) from None
    kind = EVENTS[event["event"]]
    booking = event["booking"]
    amount = f"{booking['total_cents'] / 100:.2f} {booking['currency']}"
    stay = f"{booking['nights']} night(s) from {booking['check_in']} in room {booking['room_id']}"
    if kind == "confirmed":
        subject = f"Booking {booking['booking_id']} confirmed"
        text = f"Your stay of {stay} is booked; total {amount}."
    else:
        subject = f"Booking {booking['booking_id']} cancelled"
        text = f"Your stay of {stay} is cancelled; {amount} will not be charged."
    return Notice(
        booking_id=booking["booking_id"],
        kind=kind,
        recipient=str(booking["guest_email"]).lower(),
        subject=subject,
        text=text,
        created_at=now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        request_id=request_id,
    )


def record_notice(
    outbox: Outbox,
    event: Mapping[str, Any],
    *,
    request_id: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[Notice, bool]:
    """Compose the notice and store it once; returns it and whether this call stored it."""
    notice = compose(event, now=clock(), request_id=request_id)
    if outbox.drill_armed(notice.recipient):
        raise DeliveryFailed(f"fault drill armed for {notice.recipient}: delivery refused")
    return notice, outbox.add_once(notice)


class DynamoDBOutbox:
    """:class:`Outbox` in the notices table (a boto3 ``Table`` resource)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def drill_armed(self, recipient: str) -> bool:
        response = self._table.get_item(
            Key={"pk": f"RECIPIENT#{recipient}", "sk": "FAULT_DRILL"}, ConsistentRead=True
        )
        return "Item" in response

    def add_once(self, notice: Notice) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(
                Item=notice.to_item(), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

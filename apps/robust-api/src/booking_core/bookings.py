"""The booking model and the single table every function of the API shares.

One DynamoDB table holds two kinds of item, told apart by their keys:

- a room, ``pk = ROOM#<room_id>``, ``sk = ROOM``: ``name``, ``nightly_rate_cents``,
  ``capacity``, ``currency`` and, for drills, ``fault_drill`` (read by the rates service);
- a booking, ``pk = BOOKING#<booking_id>``, ``sk = BOOKING``, with ``gsi1pk = GUEST#<email>``
  and ``gsi1sk = <check_in>#<booking_id>`` so the ``ByGuest`` index lists a guest's bookings
  in check-in order.

Each function reaches the table through :class:`DynamoDBBookings` and its IAM policy allows
only the calls it makes (the read function cannot write, the cancel function can only
update). Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"
GUEST_INDEX = "ByGuest"
BOOKING_SK = "BOOKING"
ROOM_SK = "ROOM"
MAX_PAGE = 100
DEFAULT_PAGE = 20
# What this API issues as booking ids (uuid4 hex): anything else cannot exist.
BOOKING_ID = re.compile(r"^[0-9a-f]{32}$")


class BookingNotFound(LookupError):
    """No booking has that id."""


class AlreadyCancelled(RuntimeError):
    """The booking was cancelled before: a second cancel changes nothing and is refused."""


class InvalidQuery(ValueError):
    """A listing's query parameter is wrong; the message names it."""


def booking_key(booking_id: str) -> dict[str, str]:
    return {"pk": f"BOOKING#{booking_id}", "sk": BOOKING_SK}


def room_key(room_id: str) -> dict[str, str]:
    return {"pk": f"ROOM#{room_id}", "sk": ROOM_SK}


def guest_key(guest_email: str) -> str:
    return f"GUEST#{guest_email.lower()}"


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Booking:
    booking_id: str
    room_id: str
    guest_email: str
    check_in: str
    nights: int
    guests: int
    currency: str
    total_cents: int
    status: str
    created_at: str
    cancelled_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_item(self) -> dict[str, Any]:
        item = {
            **booking_key(self.booking_id),
            "gsi1pk": guest_key(self.guest_email),
            "gsi1sk": f"{self.check_in}#{self.booking_id}",
            **self.to_json(),
        }
        return {name: value for name, value in item.items() if value is not None}

    def cancelled(self, at: str) -> Booking:
        return replace(self, status=CANCELLED, cancelled_at=at)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Booking:
        return cls(
            booking_id=str(item["booking_id"]),
            room_id=str(item["room_id"]),
            guest_email=str(item["guest_email"]),
            check_in=str(item["check_in"]),
            nights=int(item["nights"]),
            guests=int(item["guests"]),
            currency=str(item["currency"]),
            total_cents=int(item["total_cents"]),
            status=str(item["status"]),
            created_at=str(item["created_at"]),
            cancelled_at=str(item["cancelled_at"]) if item.get("cancelled_at") else None,
        )


@dataclass(frozen=True, slots=True)
class Page:
    bookings: list[Booking]
    next_token: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "bookings": [booking.to_json() for booking in self.bookings],
            "next_token": self.next_token,
        }


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidQuery(f"query parameter 'limit' must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def encode_token(last_key: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(last_key), separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, guest_email: str) -> dict[str, Any]:
    """The key to resume after; the token must belong to this guest's listing."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        key = None
    expected = {"pk", "sk", "gsi1pk", "gsi1sk"}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(value, str) for value in key.values())
        or key["gsi1pk"] != guest_key(guest_email)
    ):
        raise InvalidQuery(
            "query parameter 'next_token' is not a token this listing returned; "
            "start again without it"
        )
    return key


class DynamoDBBookings:
    """The bookings in the shared table (a boto3 ``Table`` resource)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, booking: Booking) -> None:
        """Store a new booking; its id is fresh, so an existing item means a bug."""
        self._table.put_item(Item=booking.to_item(), ConditionExpression="attribute_not_exists(pk)")

    def get(self, booking_id: str) -> Booking:
        response = self._table.get_item(Key=booking_key(booking_id), ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            raise BookingNotFound(f"no booking '{booking_id}'")
        return Booking.from_item(item)

    def by_guest(self, guest_email: str, *, limit: int, next_token: str | None) -> Page:
        """A guest's bookings in check-in order, a page at a time (the ByGuest index)."""
        from boto3.dynamodb.conditions import Key

        query: dict[str, Any] = {
            "IndexName": GUEST_INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(guest_key(guest_email)),
            "Limit": limit,
        }
        if next_token:
            query["ExclusiveStartKey"] = decode_token(next_token, guest_email)
        response = self._table.query(**query)
        last = response.get("LastEvaluatedKey")
        return Page(
            bookings=[Booking.from_item(item) for item in response.get("Items", [])],
            next_token=encode_token(last) if last else None,
        )

    def cancel(self, booking_id: str, at: str) -> Booking:
        """CONFIRMED -> CANCELLED in one conditional write: of two cancels, one wins."""
        from botocore.exceptions import ClientError

        try:
            response = self._table.update_item(
                Key=booking_key(booking_id),
                UpdateExpression="SET #status = :cancelled, cancelled_at = :at",
                ConditionExpression="attribute_exists(pk) AND #status = :confirmed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": CANCELLED,
                    ":confirmed": CONFIRMED,
                    ":at": at,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old: Mapping[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            if not old:
                raise BookingNotFound(f"no booking '{booking_id}'") from None
            raise AlreadyCancelled(
                f"booking '{booking_id}' is already {str(_plain(old).get('status', '?')).lower()}"
            ) from None
        return Booking.from_item(response["Attributes"])


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item from a ClientError (low-level attribute values) as plain values."""
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, Mapping) and len(value) == 1:
            kind, inner = next(iter(value.items()))
            plain[name] = Decimal(inner) if kind == "N" else inner
        else:
            plain[name] = value
    return plain

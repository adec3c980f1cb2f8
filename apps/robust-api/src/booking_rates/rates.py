"""The rates rules: what a stay in a room costs, and whether the room takes that many guests.

A room carries a nightly rate in the currency's minor unit (cents) and a capacity. A stay of
``LONG_STAY_NIGHTS`` nights or more gets ``LONG_STAY_PERCENT_OFF`` percent off, rounded half
up to the cent. Rooms live in the API's shared table (``booking_core.bookings``); the
service reads them through the :class:`Rooms` port.

Fault drills: a room item may carry ``fault_drill``. With ``"unavailable"`` quoting that
room fails with ``Unavailable``, as if the service's store were down; with ``"error"`` it
fails with an unexpected error (``FaultDrillError``), as a bug would. A test (or an operator
rehearsing an incident) arms one on a room of its own, on AWS as locally, and sees what the
API's clients see when this dependency fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from booking_rates.contract import Action, NotFound, Unavailable, ValidationFailed, check

LONG_STAY_NIGHTS = 7
LONG_STAY_PERCENT_OFF = 10
UNAVAILABLE_DRILL = "unavailable"
ERROR_DRILL = "error"

QUOTE_V1_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "room_id": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,40}$"},
        "check_in": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "nights": {"type": "integer", "minimum": 1, "maximum": 30},
        "guests": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["room_id", "check_in", "nights", "guests"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class Room:
    room_id: str
    name: str
    nightly_rate_cents: int
    capacity: int
    currency: str
    fault_drill: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Room:
        return cls(
            room_id=str(item["pk"]).removeprefix("ROOM#"),
            name=str(item["name"]),
            nightly_rate_cents=_whole(item["nightly_rate_cents"]),
            capacity=_whole(item["capacity"]),
            currency=str(item["currency"]),
            fault_drill=str(item["fault_drill"]) if item.get("fault_drill") else None,
        )


class FaultDrillError(RuntimeError):
    """Not part of the contract on purpose: callers see it as a bug in the service."""


class Rooms(Protocol):
    def get(self, room_id: str) -> Room | None:
        """The room, or None; raises ``Unavailable`` when the store cannot answer."""
        ...


def quote(rooms: Rooms, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``quote`` v1: the price of ``nights`` nights in a room for ``guests`` guests."""
    check(payload, QUOTE_V1_SCHEMA)
    try:
        date.fromisoformat(payload["check_in"])
    except ValueError:
        raise ValidationFailed("field 'check_in' is not a calendar date") from None
    room = rooms.get(payload["room_id"])
    if room is None:
        raise NotFound(f"no room '{payload['room_id']}'")
    if room.fault_drill == UNAVAILABLE_DRILL:
        raise Unavailable(f"fault drill armed on room '{room.room_id}': rates unavailable")
    if room.fault_drill == ERROR_DRILL:
        raise FaultDrillError(f"fault drill armed on room '{room.room_id}': unexpected error")
    nights, guests = int(payload["nights"]), int(payload["guests"])
    if guests > room.capacity:
        raise ValidationFailed(
            f"field 'guests' is {guests} but room '{room.room_id}' sleeps at most {room.capacity}"
        )
    subtotal = room.nightly_rate_cents * nights
    percent = LONG_STAY_PERCENT_OFF if nights >= LONG_STAY_NIGHTS else 0
    discount = (subtotal * percent + 50) // 100
    return {
        "room_id": room.room_id,
        "room_name": room.name,
        "currency": room.currency,
        "nightly_rate_cents": room.nightly_rate_cents,
        "nights": nights,
        "subtotal_cents": subtotal,
        "discount_cents": discount,
        "total_cents": subtotal - discount,
    }


def actions(rooms: Rooms) -> dict[tuple[str, int], Action]:
    return {("quote", 1): partial(quote, rooms)}


class DynamoDBRooms:
    """:class:`Rooms` in the shared table (its IAM allows GetItem on ``ROOM#`` keys only)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, room_id: str) -> Room | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._table.get_item(Key={"pk": f"ROOM#{room_id}", "sk": "ROOM"})
        except (BotoCoreError, ClientError) as error:
            raise Unavailable(f"the rooms store is unreachable ({type(error).__name__})") from error
        item = response.get("Item")
        return Room.from_item(item) if item else None


def _whole(value: Any) -> int:
    number = Decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value} is not a whole number")
    return int(number)

"""The rates service: its quote rules, its contract, and its handler on a moto table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from booking_rates import contract, rates
from booking_rates.rates import FaultDrillError, Room

if TYPE_CHECKING:
    from .conftest import Tables

ROOM = Room(room_id="room-101", name="Double", nightly_rate_cents=12000, capacity=2, currency="EUR")
STAY = {"room_id": "room-101", "check_in": "2031-05-01", "nights": 3, "guests": 2}


class Rooms:
    def __init__(self, *rooms: Room) -> None:
        self.rooms = {room.room_id: room for room in rooms}

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)


def test_a_quote_is_rate_times_nights() -> None:
    quote = rates.quote(Rooms(ROOM), STAY)

    assert quote["total_cents"] == 36000
    assert quote["discount_cents"] == 0
    assert quote["currency"] == "EUR"


def test_a_long_stay_gets_ten_percent_off_rounded_half_up() -> None:
    room = Room("r-1", "Odd", nightly_rate_cents=1005, capacity=1, currency="EUR")

    quote = rates.quote(Rooms(room), {**STAY, "room_id": "r-1", "nights": 7, "guests": 1})

    assert quote["subtotal_cents"] == 7035
    assert quote["discount_cents"] == 704  # 703.5 rounds up
    assert quote["total_cents"] == 6331


@pytest.mark.parametrize(
    ("payload", "error", "fragment"),
    [
        ({**STAY, "guests": 3}, contract.ValidationFailed, "field 'guests' is 3"),
        ({**STAY, "room_id": "room-999"}, contract.NotFound, "no room 'room-999'"),
        ({**STAY, "nights": 0}, contract.ValidationFailed, "field 'nights'"),
        ({**STAY, "check_in": "2031-13-01"}, contract.ValidationFailed, "field 'check_in'"),
        ({**STAY, "extra": 1}, contract.ValidationFailed, "unexpected field 'extra'"),
    ],
)
def test_refusals_name_their_reason(
    payload: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        rates.quote(Rooms(ROOM), payload)


@pytest.mark.parametrize(
    ("drill", "error"),
    [("unavailable", contract.Unavailable), ("error", FaultDrillError)],
)
def test_a_fault_drill_on_the_room_fails_the_quote(drill: str, error: type[Exception]) -> None:
    room = Room("room-101", "Double", 12000, 2, "EUR", fault_drill=drill)

    with pytest.raises(error, match="fault drill"):
        rates.quote(Rooms(room), STAY)


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ("not an object", "must be a JSON object"),
        ({"action": "quote", "version": 1}, "'payload'"),
        ({"action": "quote", "version": 2, "payload": {}}, "not supported; supported: quote v1"),
    ],
)
def test_the_envelope_is_checked(event: Any, fragment: str) -> None:
    with pytest.raises(contract.ValidationFailed, match=fragment):
        contract.dispatch(event, rates.actions(Rooms(ROOM)))


def test_the_handler_reads_the_room_from_the_shared_table(
    tables: Tables, importer: Any, lambda_context: Any
) -> None:
    tables.bookings.put_item(
        Item={
            "pk": "ROOM#room-101",
            "sk": "ROOM",
            "name": "Double",
            "nightly_rate_cents": 12000,
            "capacity": 2,
            "currency": "EUR",
        }
    )
    handler = importer("booking_rates.handler")
    request = {"action": "quote", "version": 1, "payload": STAY, "correlation_id": "c-1"}

    assert handler.lambda_handler(request, lambda_context)["total_cents"] == 36000
    with pytest.raises(contract.NotFound):
        handler.lambda_handler(
            {**request, "payload": {**STAY, "room_id": "room-404"}}, lambda_context
        )

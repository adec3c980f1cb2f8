"""The create rules with fakes, and the rates client's mapping of the service's failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from booking_core.bookings import Booking
from booking_create import create
from common_layer.lambda_client import (
    InvalidResponse,
    RemoteError,
    ServiceThrottled,
    ServiceTimeout,
    TransportError,
)

if TYPE_CHECKING:
    from .conftest import FakeRates

REQUEST = {
    "room_id": "room-101",
    "guest_email": "Ada@Example.com",
    "check_in": "2031-05-01",
    "nights": 3,
    "guests": 2,
}
NOW = datetime(2031, 4, 30, 23, 59, tzinfo=UTC)


class Store:
    def __init__(self) -> None:
        self.added: list[Booking] = []

    def add(self, booking: Booking) -> None:
        self.added.append(booking)


def test_the_booking_stores_the_price_the_rates_service_quoted(rates: FakeRates) -> None:
    store = Store()
    rates.answer = {"total_cents": 12345, "currency": "CHF"}

    booking = create.create_booking(
        rates, store, REQUEST, clock=lambda: NOW, new_id=lambda: "a" * 32
    )

    assert store.added == [booking]
    assert (booking.total_cents, booking.currency) == (12345, "CHF")
    assert booking.booking_id == "a" * 32
    assert booking.created_at == "2031-04-30T23:59:00.000Z"
    assert booking.guest_email == "ada@example.com"


def test_check_in_today_is_allowed(rates: FakeRates) -> None:
    store = Store()

    create.create_booking(rates, store, {**REQUEST, "check_in": "2031-04-30"}, clock=lambda: NOW)

    assert len(store.added) == 1


def test_a_quote_without_a_total_is_a_failure_of_the_service(rates: FakeRates) -> None:
    store = Store()
    rates.answer = {"currency": "EUR"}

    with pytest.raises(create.RatesFailed):
        create.create_booking(rates, store, REQUEST, clock=lambda: NOW)
    assert store.added == []


class Service:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def call(self, action: str, payload: Any, version: int = 1, **kwargs: Any) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (create._Refused("NotFound", "no room 'x'"), create.QuoteRefused),
        (create._Unavailable("Unavailable", "drill"), create.RatesUnavailable),
        (ServiceThrottled("429"), create.RatesUnavailable),
        (ServiceTimeout("slow"), create.RatesUnavailable),
        (RemoteError("FaultDrillError", "boom"), create.RatesFailed),
        (InvalidResponse("not json"), create.RatesFailed),
        (TransportError("denied", code="AccessDeniedException"), create.RatesFailed),
    ],
)
def test_the_rates_client_maps_each_failure(error: Exception, expected: type[Exception]) -> None:
    client = create.LambdaRates(Service(error))

    with pytest.raises(expected):
        client.quote({"room_id": "x"}, correlation_id=None)


def test_the_client_maps_the_contract_error_names() -> None:
    assert set(create.RATES_ERROR_TYPES) == {"ValidationFailed", "NotFound", "Unavailable"}

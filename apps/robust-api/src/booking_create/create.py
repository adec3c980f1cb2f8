"""Create a booking: validate the request, quote it with the rates service, store it.

The order matters. The rates service is called synchronously first, because the booking
stores the price it answers: if it refuses or cannot answer, nothing is written and the
client is told why. Only after the booking is stored is the notice handed off
(asynchronously, ``booking_core.handoff``), so a notice never announces a booking that
does not exist.

The rates service is reached through the :class:`Rates` port (:class:`LambdaRates` over
the layer's ``LambdaServiceClient`` in Lambda, a fake in unit tests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from booking_core.bookings import CONFIRMED, Booking, timestamp
from common_layer.lambda_client import (
    InvalidResponse,
    LambdaServiceClient,
    RemoteError,
    ServiceThrottled,
    ServiceTimeout,
    TransportError,
)

EMAIL_PATTERN = "^[^@\\s]{1,64}@[^@\\s]+\\.[^@\\s]+$"

BOOKING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "room_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9-]{1,40}$",
            "errorMessage": {"pattern": "must be 1-40 letters, digits or dashes"},
        },
        "guest_email": {
            "type": "string",
            "maxLength": 254,
            "pattern": EMAIL_PATTERN,
            "errorMessage": {"pattern": "must be an e-mail address"},
        },
        "check_in": {
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "errorMessage": {"pattern": "must be a date, YYYY-MM-DD"},
        },
        "nights": {"type": "integer", "minimum": 1, "maximum": 30},
        "guests": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["room_id", "guest_email", "check_in", "nights", "guests"],
    "additionalProperties": False,
}


class InvalidBooking(ValueError):
    """The request breaks a rule this function checks itself; the message names the field."""


class QuoteRefused(ValueError):
    """The rates service refused the stay (no such room, too many guests)."""


class RatesUnavailable(RuntimeError):
    """The rates service could not answer now (unavailable, throttled, timed out)."""


class RatesFailed(RuntimeError):
    """The rates service failed in a way its contract does not name (a bug) or gave no quote."""


class _Refused(RemoteError):
    """The rates service's ValidationFailed / NotFound."""


class _Unavailable(RemoteError):
    """The rates service's Unavailable."""


# The rates service's error type names (its contract) -> what this function raises.
RATES_ERROR_TYPES: dict[str, type[Exception]] = {
    "ValidationFailed": _Refused,
    "NotFound": _Refused,
    "Unavailable": _Unavailable,
}


class Rates(Protocol):
    def quote(self, stay: Mapping[str, Any], *, correlation_id: str | None) -> dict[str, Any]:
        """The rates service's quote for ``stay``; raises the exceptions above."""
        ...


class LambdaRates:
    """:class:`Rates` over a synchronous invoke of the rates function."""

    def __init__(self, service: LambdaServiceClient) -> None:
        self._service = service

    @classmethod
    def for_function(cls, function_name: str) -> LambdaRates:
        # Three tries on throttling, the last after at most 0.4 s; the read timeout sits
        # above the rates function's 5 s Timeout, below this function's 10 s.
        return cls(
            LambdaServiceClient(
                function_name,
                error_types=RATES_ERROR_TYPES,
                max_attempts=3,
                backoff_cap=0.4,
                read_timeout=7,
            )
        )

    def quote(self, stay: Mapping[str, Any], *, correlation_id: str | None) -> dict[str, Any]:
        try:
            return self._service.call("quote", dict(stay), correlation_id=correlation_id)
        except _Refused as error:
            raise QuoteRefused(error.message) from error
        except (_Unavailable, ServiceThrottled, ServiceTimeout) as error:
            raise RatesUnavailable(f"the rates service did not answer: {error}") from error
        except (RemoteError, InvalidResponse, TransportError) as error:
            raise RatesFailed(f"the rates service failed: {error}") from error


Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class BookingStore(Protocol):
    def add(self, booking: Booking) -> None: ...


def create_booking(
    rates: Rates,
    store: BookingStore,
    request: Mapping[str, Any],
    *,
    correlation_id: str | None = None,
    clock: Clock = _utc_now,
    new_id: IdFactory = _new_id,
) -> Booking:
    """Quote the stay, then store the booking at the quoted price (a schema-checked request).

    Raises ``InvalidBooking``, ``QuoteRefused``, ``RatesUnavailable`` or ``RatesFailed``
    before anything is written.
    """
    now = clock()
    try:
        check_in = date.fromisoformat(request["check_in"])
    except ValueError:
        raise InvalidBooking("field 'check_in' is not a calendar date") from None
    if check_in < now.astimezone(UTC).date():
        raise InvalidBooking("field 'check_in' is in the past")
    stay = {name: request[name] for name in ("room_id", "check_in", "nights", "guests")}
    quote = rates.quote(stay, correlation_id=correlation_id)
    try:
        total_cents, currency = int(quote["total_cents"]), str(quote["currency"])
    except (KeyError, TypeError, ValueError) as error:
        raise RatesFailed(f"the rates service answered without a usable total: {error}") from None
    booking = Booking(
        booking_id=new_id(),
        room_id=request["room_id"],
        guest_email=str(request["guest_email"]).lower(),
        check_in=check_in.isoformat(),
        nights=int(request["nights"]),
        guests=int(request["guests"]),
        currency=currency,
        total_cents=total_cents,
        status=CONFIRMED,
        created_at=timestamp(now),
    )
    store.add(booking)
    return booking

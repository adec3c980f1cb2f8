"""Cancel a booking: the state change and the 404/409 it may answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from booking_core.bookings import (
    BOOKING_ID,
    AlreadyCancelled,
    Booking,
    BookingNotFound,
    timestamp,
)
from common_layer.http import Conflict, NotFound


class CancelStore(Protocol):
    def cancel(self, booking_id: str, at: str) -> Booking: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def cancel_booking(
    store: CancelStore, booking_id: str, *, clock: Callable[[], datetime] = _utc_now
) -> Booking:
    if not BOOKING_ID.match(booking_id):
        raise NotFound(f"no booking '{booking_id}'")
    try:
        return store.cancel(booking_id, timestamp(clock()))
    except BookingNotFound as error:
        raise NotFound(str(error)) from error
    except AlreadyCancelled as error:
        raise Conflict(str(error)) from error

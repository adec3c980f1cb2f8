"""The read routes' rules: which booking, which listing, and the 400/404 they may answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from booking_core.bookings import (
    BOOKING_ID,
    Booking,
    BookingNotFound,
    InvalidQuery,
    Page,
    parse_limit,
)
from common_layer.http import InvalidRequest, NotFound

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
QUERY_PARAMETERS = ("guest_email", "limit", "next_token")


class ReadStore(Protocol):
    def get(self, booking_id: str) -> Booking: ...

    def by_guest(self, guest_email: str, *, limit: int, next_token: str | None) -> Page: ...


def booking(store: ReadStore, booking_id: str) -> dict[str, Any]:
    # An id this API could never have issued is not looked up: it cannot exist.
    if not BOOKING_ID.match(booking_id):
        raise NotFound(f"no booking '{booking_id}'")
    try:
        return store.get(booking_id).to_json()
    except BookingNotFound as error:
        raise NotFound(str(error)) from error


def guest_bookings(store: ReadStore, query: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        allowed = ", ".join(f"'{name}'" for name in QUERY_PARAMETERS)
        raise InvalidRequest(f"unexpected query parameter '{unknown[0]}'; allowed: {allowed}")
    guest_email = query.get("guest_email")
    if not guest_email:
        raise InvalidRequest("query parameter 'guest_email' is required")
    if len(guest_email) > 254 or not EMAIL.match(guest_email):
        raise InvalidRequest("query parameter 'guest_email' must be an e-mail address")
    try:
        page = store.by_guest(
            guest_email.lower(),
            limit=parse_limit(query.get("limit")),
            next_token=query.get("next_token"),
        )
    except InvalidQuery as error:
        raise InvalidRequest(str(error)) from error
    return page.to_json()

"""The API's routes, each through the function API Gateway sends it to, on a moto table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from booking_core.handoff import HandoffRefused
from booking_create.create import QuoteRefused, RatesFailed, RatesUnavailable

if TYPE_CHECKING:
    from .conftest import ApiCall, FakeHandoff, FakeRates, Tables

BOOKING = {
    "room_id": "room-101",
    "guest_email": "Ada@Example.com",
    "check_in": "2031-05-01",
    "nights": 3,
    "guests": 2,
}


def create(api: ApiCall, **changes: Any) -> dict[str, Any]:
    response = api("POST", "/bookings", json_body={**BOOKING, **changes})
    assert response.status == 201, response.body
    body: dict[str, Any] = response.json()
    return body


def test_create_answers_201_with_location_and_stores_the_quoted_price(
    api: ApiCall, rates: FakeRates, handoff: FakeHandoff, tables: Tables
) -> None:
    response = api("POST", "/bookings", json_body=BOOKING)

    assert response.status == 201
    booking = response.json()
    assert response.headers["location"] == f"/v1/bookings/{booking['booking_id']}"
    assert booking["status"] == "CONFIRMED"
    assert booking["total_cents"] == 36000
    assert booking["guest_email"] == "ada@example.com"
    assert rates.calls == [
        {"room_id": "room-101", "check_in": "2031-05-01", "nights": 3, "guests": 2}
    ]
    item = tables.bookings.get_item(
        Key={"pk": f"BOOKING#{booking['booking_id']}", "sk": "BOOKING"}
    )["Item"]
    assert item["gsi1pk"] == "GUEST#ada@example.com"
    assert [event["event"] for event in handoff.events] == ["booking.confirmed"]
    assert handoff.events[0]["booking"]["booking_id"] == booking["booking_id"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ('{"room_id": ', 400, "not valid JSON"),
        ("[1, 2]", 400, "must be a JSON object"),
        ({**BOOKING, "nights": "3"}, 400, "field 'nights' must be an integer"),
        ({**BOOKING, "colour": "red"}, 400, "unexpected field 'colour'"),
        ({k: v for k, v in BOOKING.items() if k != "guests"}, 400, "'guests'"),
        ({**BOOKING, "guest_email": "nobody"}, 400, "field 'guest_email' must be an e-mail"),
        ({**BOOKING, "check_in": "2031-02-30"}, 400, "field 'check_in' is not a calendar date"),
        ({**BOOKING, "check_in": "2001-01-01"}, 400, "field 'check_in' is in the past"),
        ({**BOOKING, "nights": 0}, 400, "field 'nights' must be at least 1"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_asked_or_written(
    api: ApiCall, rates: FakeRates, tables: Tables, body: Any, status: int, fragment: str
) -> None:
    raw = body if isinstance(body, str) else None
    response = api("POST", "/bookings", body=raw, json_body=None if raw else body)

    assert response.status == status
    assert fragment in response.message
    assert rates.calls == []
    assert tables.bookings.scan()["Items"] == []


@pytest.mark.parametrize(
    ("error", "status", "fragment"),
    [
        (QuoteRefused("no room 'room-101'"), 422, "no room 'room-101'"),
        (RatesUnavailable("down"), 503, "rates service is unavailable"),
        (RatesFailed("bug"), 502, "rates service failed"),
    ],
)
def test_a_refusing_or_failing_rates_service_means_nothing_is_booked(
    api: ApiCall,
    rates: FakeRates,
    handoff: FakeHandoff,
    tables: Tables,
    error: Exception,
    status: int,
    fragment: str,
) -> None:
    rates.error = error

    response = api("POST", "/bookings", json_body=BOOKING)

    assert response.status == status
    assert fragment in response.message
    assert tables.bookings.scan()["Items"] == []
    assert handoff.events == []
    if status == 503:
        assert response.headers["retry-after"] == "5"


def test_a_notice_that_cannot_be_queued_does_not_undo_the_booking(
    api: ApiCall, handoff: FakeHandoff, tables: Tables
) -> None:
    handoff.error = HandoffRefused("Lambda answered 500")

    booking = create(api)

    assert api("GET", f"/bookings/{booking['booking_id']}").status == 200


def test_get_reads_what_create_wrote(api: ApiCall) -> None:
    booking = create(api)

    response = api("GET", f"/bookings/{booking['booking_id']}")

    assert response.status == 200
    assert response.json() == booking


@pytest.mark.parametrize("booking_id", ["0" * 32, "not-an-id"])
def test_get_of_an_unknown_booking_is_404(api: ApiCall, booking_id: str) -> None:
    response = api("GET", f"/bookings/{booking_id}")

    assert response.status == 404
    assert booking_id in response.message


def test_listing_by_guest_pages_through_the_index_in_check_in_order(api: ApiCall) -> None:
    later = create(api, check_in="2031-07-01")
    earlier = create(api, check_in="2031-06-01")
    create(api, guest_email="someone.else@example.com")
    query = {"guest_email": "ada@example.com", "limit": "1"}

    seen: list[str] = []
    pages = 0
    while True:
        page = api("GET", "/bookings", query=query).json()
        pages += 1
        assert len(page["bookings"]) <= 1
        seen += [booking["booking_id"] for booking in page["bookings"]]
        if not page["next_token"] or pages > 5:
            break
        query = {**query, "next_token": page["next_token"]}

    assert seen == [earlier["booking_id"], later["booking_id"]]
    assert pages >= 2


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        (None, "'guest_email' is required"),
        ({"guest_email": "x"}, "'guest_email' must be an e-mail"),
        ({"guest_email": "a@b.io", "limit": "0"}, "'limit' must be a whole number"),
        ({"guest_email": "a@b.io", "next_token": "garbage"}, "'next_token' is not a token"),
        ({"guest_email": "a@b.io", "sort": "asc"}, "unexpected query parameter 'sort'"),
    ],
)
def test_a_bad_listing_query_is_400_naming_the_parameter(
    api: ApiCall, query: dict[str, str] | None, fragment: str
) -> None:
    response = api("GET", "/bookings", query=query)

    assert response.status == 400
    assert fragment in response.message


def test_cancel_once_is_200_and_twice_is_409_with_one_notice(
    api: ApiCall, handoff: FakeHandoff
) -> None:
    booking = create(api)

    first = api("POST", f"/bookings/{booking['booking_id']}/cancel")
    second = api("POST", f"/bookings/{booking['booking_id']}/cancel")

    assert first.status == 200
    assert first.json()["status"] == "CANCELLED"
    assert first.json()["cancelled_at"]
    assert second.status == 409
    assert "already cancelled" in second.message
    assert [event["event"] for event in handoff.events] == [
        "booking.confirmed",
        "booking.cancelled",
    ]
    assert api("GET", f"/bookings/{booking['booking_id']}").json()["status"] == "CANCELLED"


def test_cancel_of_an_unknown_booking_is_404(api: ApiCall, handoff: FakeHandoff) -> None:
    response = api("POST", f"/bookings/{'f' * 32}/cancel")

    assert response.status == 404
    assert handoff.events == []

"""The notices service: one notice per booking event, drills fail it, bad events are refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from booking_notices import notices

if TYPE_CHECKING:
    from .conftest import Tables

BOOKING = {
    "booking_id": "b" * 32,
    "room_id": "room-101",
    "guest_email": "Ada@Example.com",
    "check_in": "2031-05-01",
    "nights": 3,
    "guests": 2,
    "total_cents": 36000,
    "currency": "EUR",
    "status": "CONFIRMED",
}
EVENT = {"event": "booking.confirmed", "booking": BOOKING}


@pytest.fixture
def outbox(tables: Tables) -> notices.DynamoDBOutbox:
    return notices.DynamoDBOutbox(tables.notices)


def test_a_confirmed_booking_gets_one_notice_however_often_delivered(
    outbox: notices.DynamoDBOutbox, tables: Tables
) -> None:
    notice, stored = notices.record_notice(outbox, EVENT, request_id="r-1")
    _, again = notices.record_notice(outbox, EVENT, request_id="r-2")

    assert (stored, again) == (True, False)
    assert notice.recipient == "ada@example.com"
    assert "360.00 EUR" in notice.text
    item = tables.notices.get_item(Key={"pk": f"BOOKING#{'b' * 32}", "sk": "NOTICE#confirmed"})
    assert item["Item"]["request_id"] == "r-1"


def test_a_cancellation_is_a_notice_of_its_own(outbox: notices.DynamoDBOutbox) -> None:
    notices.record_notice(outbox, EVENT)

    notice, stored = notices.record_notice(outbox, {**EVENT, "event": "booking.cancelled"})

    assert stored
    assert notice.subject.endswith("cancelled")


def test_an_armed_drill_fails_every_notice_to_that_recipient(
    outbox: notices.DynamoDBOutbox, tables: Tables
) -> None:
    tables.notices.put_item(Item={"pk": "RECIPIENT#ada@example.com", "sk": "FAULT_DRILL"})

    with pytest.raises(notices.DeliveryFailed, match=r"ada@example\.com"):
        notices.record_notice(outbox, EVENT)
    written = tables.notices.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"BOOKING#{'b' * 32}"}
    )["Items"]
    assert written == []


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"event": "booking.moved", "booking": BOOKING}, "field 'event'"),
        ({"event": "booking.confirmed"}, "'booking'"),
        ({**EVENT, "booking": {**BOOKING, "total_cents": "1"}}, "booking.total_cents"),
    ],
)
def test_an_event_that_is_not_a_booking_event_is_refused(
    outbox: notices.DynamoDBOutbox, event: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(notices.InvalidEvent, match=fragment):
        notices.record_notice(outbox, event)


def test_the_handler_fails_the_invocation_so_lambda_retries(
    tables: Tables, importer: Any, lambda_context: Any
) -> None:
    handler = importer("booking_notices.handler")
    assert handler.lambda_handler(EVENT, lambda_context)["stored"] is True
    tables.notices.put_item(Item={"pk": "RECIPIENT#ada@example.com", "sk": "FAULT_DRILL"})

    with pytest.raises(notices.DeliveryFailed):
        handler.lambda_handler({**EVENT, "event": "booking.cancelled"}, lambda_context)

"""The Robust API as its clients and operators see it: routes, shared table, calls out.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and a stack on AWS (``--target aws``). Every test works on a
room and a guest e-mail of its own and deletes the rooms, bookings, notices and drills it
made, even when it fails.

Failures are provoked with fault drills stored in data the test owns (they work on AWS
too): a room with ``fault_drill`` makes the rates service fail; a ``FAULT_DRILL`` item for
a recipient in the notices table makes the notices service fail. On AWS, Lambda retries a
failed asynchronous invocation after one and then two more minutes, so the notice failure
test takes about four minutes there; the local cloud keeps the sequence with second-long
waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from common_layer.failures import parse_async_failure
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start of a function and of the rates service.
TIMEOUT = 30
CHECK_IN = "2031-05-01"


def on_aws(stack: Stack) -> bool:
    return stack.endpoint_url is None


@dataclass
class World:
    """The stack's tables and queue, plus what this test created there (to clean up)."""

    stack: Stack
    http: requests.Session
    base_url: str
    unique_id: str
    created: list[dict[str, str]] = field(default_factory=list)
    notices: list[dict[str, str]] = field(default_factory=list)

    @property
    def dynamodb(self) -> Any:
        return self.stack.client("dynamodb")

    @property
    def bookings_table(self) -> str:
        return self.stack.output("BookingsTableName")

    @property
    def notices_table(self) -> str:
        return self.stack.output("NoticesTableName")

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def guest(self, name: str = "guest") -> str:
        return f"{name}-{self.unique_id}@example.com"

    def add_room(
        self, *, capacity: int = 2, rate_cents: int = 12000, drill: str | None = None
    ) -> str:
        room_id = f"room-{self.unique_id}-{len(self.created)}"
        item = {
            "pk": {"S": f"ROOM#{room_id}"},
            "sk": {"S": "ROOM"},
            "name": {"S": "Test double"},
            "nightly_rate_cents": {"N": str(rate_cents)},
            "capacity": {"N": str(capacity)},
            "currency": {"S": "EUR"},
        }
        if drill:
            item["fault_drill"] = {"S": drill}
        self.dynamodb.put_item(TableName=self.bookings_table, Item=item)
        self.created.append({"pk": f"ROOM#{room_id}", "sk": "ROOM"})
        return room_id

    def arm_notice_drill(self, recipient: str) -> None:
        key = {"pk": f"RECIPIENT#{recipient}", "sk": "FAULT_DRILL"}
        self.dynamodb.put_item(
            TableName=self.notices_table, Item={name: {"S": value} for name, value in key.items()}
        )
        self.notices.append(key)

    def book(self, room_id: str, guest_email: str, **changes: Any) -> requests.Response:
        body = {
            "room_id": room_id,
            "guest_email": guest_email,
            "check_in": CHECK_IN,
            "nights": 3,
            "guests": 2,
            **changes,
        }
        response = self.http.post(self.url("bookings"), json=body, timeout=TIMEOUT)
        if response.status_code == 201:
            booking_id = response.json()["booking_id"]
            self.created.append({"pk": f"BOOKING#{booking_id}", "sk": "BOOKING"})
            for kind in ("confirmed", "cancelled"):
                self.notices.append({"pk": f"BOOKING#{booking_id}", "sk": f"NOTICE#{kind}"})
        return response

    def stored_booking(self, booking_id: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.bookings_table,
            Key={"pk": {"S": f"BOOKING#{booking_id}"}, "sk": {"S": "BOOKING"}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def bookings_of(self, guest_email: str) -> list[dict[str, Any]]:
        """Every booking item of a guest, read with a consistent scan (not the index)."""
        found: list[dict[str, Any]] = []
        scan: dict[str, Any] = {
            "TableName": self.bookings_table,
            "ConsistentRead": True,
            "FilterExpression": "guest_email = :g",
            "ExpressionAttributeValues": {":g": {"S": guest_email}},
        }
        while True:
            page = self.dynamodb.scan(**scan)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return found
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def notice(self, booking_id: str, kind: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.notices_table,
            Key={"pk": {"S": f"BOOKING#{booking_id}"}, "sk": {"S": f"NOTICE#{kind}"}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def clean_up(self) -> None:
        for table, keys in (
            (self.bookings_table, self.created),
            (self.notices_table, self.notices),
        ):
            for key in keys:
                self.dynamodb.delete_item(
                    TableName=table, Key={name: {"S": value} for name, value in key.items()}
                )


@pytest.fixture
def world(stack: Stack, unique_id: str) -> Iterator[World]:
    with requests.Session() as http:
        created = World(
            stack=stack,
            http=http,
            base_url=stack.url("ApiUrl").rstrip("/") + "/",
            unique_id=unique_id,
        )
        yield created
        created.clean_up()


def message(response: requests.Response) -> str:
    return str(response.json()["message"])


def notice_timeout(stack: Stack) -> float:
    return 60.0 if on_aws(stack) else 30.0


def failure_timeout(stack: Stack) -> float:
    """First attempt + retries 1 and 2 minutes later on AWS (seconds locally), then delivery."""
    return 420.0 if on_aws(stack) else 60.0


# --- routes and the shared table ------------------------------------------------------------


def test_a_booking_is_created_by_one_function_and_read_by_another(world: World) -> None:
    room = world.add_room(rate_cents=12000)
    guest = world.guest()

    created = world.book(room, guest)

    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "CONFIRMED"
    # The price came from the rates service (synchronous call out): 3 nights x 120.00.
    assert (booking["total_cents"], booking["currency"]) == (36000, "EUR")
    location = created.headers["Location"]
    assert location.endswith(f"/bookings/{booking['booking_id']}")
    # The create function wrote the shared table ...
    stored = world.stored_booking(booking["booking_id"])
    assert stored is not None
    assert stored["total_cents"]["N"] == "36000"
    # ... and the read function, behind another route, reads it from there.
    read = world.http.get(world.url(f"bookings/{booking['booking_id']}"), timeout=TIMEOUT)
    assert read.status_code == 200, read.text
    assert read.json() == booking


def test_a_guests_bookings_are_listed_through_the_index(world: World) -> None:
    room = world.add_room()
    guest = world.guest()
    later = world.book(room, guest, check_in="2031-08-01").json()
    earlier = world.book(room, guest, check_in="2031-07-01").json()
    world.book(room, world.guest("other"))

    def listing() -> list[str] | None:
        response = world.http.get(
            world.url("bookings"), params={"guest_email": guest}, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        ids = [b["booking_id"] for b in response.json()["bookings"]]
        return ids if len(ids) == 2 else None  # the index is eventually consistent

    ids = wait_for(listing, timeout=30, description="both bookings in the guest listing")
    assert ids == [earlier["booking_id"], later["booking_id"]]


def test_cancel_changes_the_state_once_then_answers_409(world: World) -> None:
    room = world.add_room()
    booking = world.book(room, world.guest()).json()
    cancel_url = world.url(f"bookings/{booking['booking_id']}/cancel")

    first = world.http.post(cancel_url, timeout=TIMEOUT)
    second = world.http.post(cancel_url, timeout=TIMEOUT)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "CANCELLED"
    assert second.status_code == 409, second.text
    assert "already cancelled" in message(second)
    read = world.http.get(world.url(f"bookings/{booking['booking_id']}"), timeout=TIMEOUT)
    assert read.json()["status"] == "CANCELLED"


def test_unknown_bookings_and_routes_are_404(world: World) -> None:
    missing = "0" * 32

    assert world.http.get(world.url(f"bookings/{missing}"), timeout=TIMEOUT).status_code == 404
    cancel = world.http.post(world.url(f"bookings/{missing}/cancel"), timeout=TIMEOUT)
    assert cancel.status_code == 404
    assert missing in message(cancel)
    # No route: API Gateway answers itself (a gateway response), no function runs.
    assert world.http.delete(world.url(f"bookings/{missing}"), timeout=TIMEOUT).status_code == 404
    assert world.http.get(world.url("rooms"), timeout=TIMEOUT).status_code == 404


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"room_id": "r-1", ', "not valid JSON"),
        ({"nights": "three"}, "field 'nights' must be an integer"),
        ({"breakfast": True}, "unexpected field 'breakfast'"),
        ({"guest_email": "not-an-email"}, "field 'guest_email'"),
        ({"check_in": "2001-01-01"}, "field 'check_in' is in the past"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_written(
    world: World, body: Any, fragment: str
) -> None:
    room = world.add_room()
    guest = world.guest()
    valid = {"room_id": room, "guest_email": guest, "check_in": CHECK_IN, "nights": 3, "guests": 2}
    if isinstance(body, str):
        response = world.http.post(
            world.url("bookings"),
            data=body,
            headers={"content-type": "application/json"},
            timeout=TIMEOUT,
        )
    else:
        response = world.http.post(world.url("bookings"), json={**valid, **body}, timeout=TIMEOUT)

    assert response.status_code == 400, response.text
    assert fragment in message(response)
    assert world.bookings_of(guest) == []


def test_a_stay_the_rates_service_refuses_is_422_naming_the_reason(world: World) -> None:
    room = world.add_room(capacity=2)
    guest = world.guest()

    too_many = world.book(room, guest, guests=3)
    no_room = world.book(f"room-{world.unique_id}-none", guest)

    assert too_many.status_code == 422, too_many.text
    assert "field 'guests' is 3" in message(too_many)
    assert no_room.status_code == 422, no_room.text
    assert "no room" in message(no_room)
    assert world.bookings_of(guest) == []


# --- the synchronous dependency failing ------------------------------------------------------


@pytest.mark.parametrize(("drill", "status"), [("unavailable", 503), ("error", 502)])
def test_when_the_rates_service_fails_the_client_gets_5xx_and_nothing_is_booked(
    world: World, drill: str, status: int
) -> None:
    room = world.add_room(drill=drill)
    guest = world.guest()

    response = world.book(room, guest)

    assert response.status_code == status, response.text
    assert "rates service" in message(response)
    assert "nothing was booked" in message(response)
    if status == 503:
        assert response.headers["Retry-After"].isdigit()
    assert world.bookings_of(guest) == []


# --- the asynchronous call out ---------------------------------------------------------------


def test_notices_are_recorded_asynchronously_for_create_and_cancel(world: World) -> None:
    room = world.add_room()
    guest = world.guest()
    booking = world.book(room, guest).json()

    confirmed = wait_for(
        lambda: world.notice(booking["booking_id"], "confirmed"),
        timeout=notice_timeout(world.stack),
        description="the confirmation notice",
    )
    assert confirmed["recipient"]["S"] == guest
    assert "360.00 EUR" in confirmed["text"]["S"]

    cancelled = world.http.post(
        world.url(f"bookings/{booking['booking_id']}/cancel"), timeout=TIMEOUT
    )
    assert cancelled.status_code == 200
    notice = wait_for(
        lambda: world.notice(booking["booking_id"], "cancelled"),
        timeout=notice_timeout(world.stack),
        description="the cancellation notice",
    )
    assert notice["subject"]["S"].endswith("cancelled")


def failure_record_for(world: World, booking_id: str) -> Callable[[], Any]:
    """A poll of the failure queue for the record of this booking's notice (deleted once read).

    Other tests' records are left alone: they become visible again a second later.
    """
    sqs = world.stack.client("sqs")
    queue_url = world.stack.output("FailedNoticesQueueUrl")

    def poll() -> Any:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=1, WaitTimeSeconds=1
        )
        for sqs_message in received.get("Messages", []):
            record = parse_async_failure(sqs_message["Body"])
            payload = record.request_payload or {}
            if payload.get("booking", {}).get("booking_id") == booking_id:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=sqs_message["ReceiptHandle"])
                return record
        return None

    return poll


def test_a_failing_notice_never_fails_the_booking_and_lands_on_the_failure_queue(
    world: World,
) -> None:
    room = world.add_room()
    guest = world.guest()
    world.arm_notice_drill(guest)

    response = world.book(room, guest)

    # The API answered 201 although every attempt of the notice fails: it does not wait for
    # the notices service (whose retries go on for minutes on AWS).
    assert response.status_code == 201, response.text
    booking_id = response.json()["booking_id"]
    assert world.stored_booking(booking_id) is not None
    record = wait_for(
        failure_record_for(world, booking_id),
        timeout=failure_timeout(world.stack),
        interval=0.5,
        description="the notice's failure record on the failure queue",
    )
    assert record.condition == "RetriesExhausted"
    assert record.approximate_invoke_count == 3
    assert record.error_type == "DeliveryFailed"
    assert record.function_name == world.stack.output("NoticesFunctionName")
    assert record.request_payload["event"] == "booking.confirmed"
    assert world.notice(booking_id, "confirmed") is None
    # The booking itself still stands, and reads back through the API.
    read = world.http.get(world.url(f"bookings/{booking_id}"), timeout=TIMEOUT)
    assert read.status_code == 200
    assert read.json()["status"] == "CONFIRMED"

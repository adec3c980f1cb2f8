"""The asynchronous call out: hand a booking event to the notices service and move on.

The create and cancel functions tell the notices service what happened with an
``InvocationType=Event`` invoke: Lambda queues the event and answers 202 at once, so the
API never waits for a notice, and a slow or failing notices service never fails a
booking. Lambda retries the event and, when the retries run out, puts the invocation
record on the notices service's on-failure destination (an SQS queue with an alarm).

The event is ``{"event": "booking.confirmed" | "booking.cancelled", "booking": {...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from booking_core.bookings import Booking

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

CONFIRMED_EVENT = "booking.confirmed"
CANCELLED_EVENT = "booking.cancelled"
ACCEPTED = 202


class HandoffRefused(RuntimeError):
    """Lambda did not queue the event."""


class NoticeHandoff(Protocol):
    def send(self, event: Mapping[str, Any]) -> str | None:
        """Queue ``event`` for the notices service; return the request id, if known."""
        ...


def booking_event(kind: str, booking: Booking) -> dict[str, Any]:
    return {"event": kind, "booking": booking.to_json()}


class LambdaNoticeHandoff:
    """:class:`NoticeHandoff` through Lambda's Invoke API with ``InvocationType=Event``."""

    def __init__(self, function_name: str, client: LambdaClient | None = None) -> None:
        self._function_name = function_name
        self._client = client

    def send(self, event: Mapping[str, Any]) -> str | None:
        if self._client is None:
            import boto3

            self._client = boto3.client("lambda")
        response = self._client.invoke(
            FunctionName=self._function_name,
            InvocationType="Event",
            Payload=json.dumps(dict(event), separators=(",", ":")).encode(),
        )
        if response["StatusCode"] != ACCEPTED:
            raise HandoffRefused(
                f"Lambda answered {response['StatusCode']} instead of {ACCEPTED} for an "
                f"Event invoke of {self._function_name}"
            )
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        return str(request_id) if request_id else None


def hand_off(handoff: NoticeHandoff, kind: str, booking: Booking) -> str | None:
    """Send the notice event; any failure to queue it becomes :class:`NoticeNotQueued`.

    The booking is already stored when this runs, so callers must not fail the request on
    it (that would tell the client its booking failed when it did not): they log the
    failure and count it (``NoticeHandoffFailed``, alarmed) so the notice can be resent.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return handoff.send(booking_event(kind, booking))
    except (HandoffRefused, BotoCoreError, ClientError) as error:
        raise NoticeNotQueued(f"{kind} for booking {booking.booking_id}: {error}") from error


class NoticeNotQueued(RuntimeError):
    """The notice event could not be queued; the booking itself stands."""

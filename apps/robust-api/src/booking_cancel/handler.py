"""POST /bookings/{booking_id}/cancel (REST v1 proxy event).

One conditional write moves a booking from CONFIRMED to CANCELLED: 200 with the cancelled
booking, 404 when there is no such booking, 409 when it was already cancelled (so of two
concurrent cancels exactly one succeeds and one notice is sent). The cancellation notice is
handed off asynchronously afterwards.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from booking_core import bookings, handoff
from common_layer.http import install_error_handlers
from common_layer.observability import MetricUnit, instrument, logger, metrics

from booking_cancel import cancel

_store = bookings.DynamoDBBookings(
    boto3.resource("dynamodb").Table(os.environ["BOOKINGS_TABLE_NAME"])
)
_notices = handoff.LambdaNoticeHandoff(os.environ["NOTICES_FUNCTION_NAME"])

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.post("/bookings/<booking_id>/cancel")
def cancel_booking(booking_id: str) -> dict[str, Any]:
    booking = cancel.cancel_booking(_store, booking_id)
    metrics.add_metric(name="BookingCancelled", unit=MetricUnit.Count, value=1)
    logger.info("booking cancelled", extra={"booking_id": booking_id})
    try:
        handoff.hand_off(_notices, handoff.CANCELLED_EVENT, booking)
    except handoff.NoticeNotQueued as error:
        logger.error("notice not queued", extra={"reason": str(error)})
        metrics.add_metric(name="NoticeHandoffFailed", unit=MetricUnit.Count, value=1)
    return booking.to_json()


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

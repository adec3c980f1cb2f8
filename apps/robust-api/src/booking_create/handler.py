"""POST /bookings (REST v1 proxy event): the only route API Gateway sends here.

Validates the body (400 names the field), asks the rates service for the price and needs
its answer (422 when it refuses the stay, 503 when it cannot answer, 502 when it fails),
stores the booking and answers 201 with ``Location``. The confirmation notice is handed
off asynchronously afterwards; the response does not wait for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from booking_core import bookings, handoff
from booking_core.http_errors import BadGateway, ServiceUnavailable, Unprocessable
from common_layer.http import InvalidRequest, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics

from booking_create import create

MAX_BODY_BYTES = 4 * 1024

_store = bookings.DynamoDBBookings(
    boto3.resource("dynamodb").Table(os.environ["BOOKINGS_TABLE_NAME"])
)
_rates = create.LambdaRates.for_function(os.environ["RATES_FUNCTION_NAME"])
_notices = handoff.LambdaNoticeHandoff(os.environ["NOTICES_FUNCTION_NAME"])

app = APIGatewayRestResolver()
install_error_handlers(app)


@contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except create.InvalidBooking as error:
        raise InvalidRequest(str(error)) from error
    except create.QuoteRefused as error:
        raise Unprocessable(str(error)) from error
    except create.RatesUnavailable as error:
        logger.warning("rates unavailable", extra={"reason": str(error)})
        metrics.add_metric(name="RatesUnavailable", unit=MetricUnit.Count, value=1)
        raise ServiceUnavailable(
            "the rates service is unavailable; nothing was booked, try again shortly",
            retry_after=5,
        ) from error
    except create.RatesFailed as error:
        logger.error("rates failed", extra={"reason": str(error)})
        metrics.add_metric(name="RatesFailed", unit=MetricUnit.Count, value=1)
        raise BadGateway("the rates service failed; nothing was booked") from error


@app.post("/bookings")
def create_booking() -> Response[Any]:
    body = parse_json_object(
        app.current_event.decoded_body, create.BOOKING_SCHEMA, max_bytes=MAX_BODY_BYTES
    )
    with _http_errors():
        booking = create.create_booking(
            _rates, _store, body, correlation_id=app.current_event.request_context.request_id
        )
    metrics.add_metric(name="BookingCreated", unit=MetricUnit.Count, value=1)
    logger.info("booking created", extra={"booking_id": booking.booking_id})
    try:
        handoff.hand_off(_notices, handoff.CONFIRMED_EVENT, booking)
    except handoff.NoticeNotQueued as error:
        logger.error("notice not queued", extra={"reason": str(error)})
        metrics.add_metric(name="NoticeHandoffFailed", unit=MetricUnit.Count, value=1)
    # requestContext.path is the path the client used, stage included (/v1/bookings).
    base = app.current_event.request_context.path or app.current_event.path
    return Response(
        status_code=HTTPStatus.CREATED.value,
        content_type=content_types.APPLICATION_JSON,
        body=booking.to_json(),
        headers={"Location": f"{base.rstrip('/')}/{booking.booking_id}"},
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

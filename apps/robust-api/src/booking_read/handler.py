"""GET /bookings/{booking_id} and GET /bookings?guest_email=... (REST v1 proxy events).

The read side of the shared table: this function's role may only read it (GetItem, Query).
A booking is read with a strongly consistent GetItem, so a client that was just answered
201 finds it; the listing goes through the ByGuest index, which is eventually consistent.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from booking_core import bookings
from common_layer.http import install_error_handlers
from common_layer.observability import instrument

from booking_read import queries

_store = bookings.DynamoDBBookings(
    boto3.resource("dynamodb").Table(os.environ["BOOKINGS_TABLE_NAME"])
)

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.get("/bookings/<booking_id>")
def get_booking(booking_id: str) -> dict[str, Any]:
    return queries.booking(_store, booking_id)


@app.get("/bookings")
def list_bookings() -> dict[str, Any]:
    return queries.guest_bookings(_store, app.current_event.query_string_parameters or {})


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

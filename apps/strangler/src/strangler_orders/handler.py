"""REST API (v1 proxy events) for the migrated order routes.

The façade sends only ``POST /orders`` and ``GET /orders/{order_id}`` here; every other
method on these paths still goes to the legacy system, so this function never sees it.
Every answer carries ``X-Served-By: new`` and ``"served_by": "new"``, which is how clients
and tests can tell which system answered during a migration.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import InvalidRequest, NotFound, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics

from strangler_orders import orders

# An order of 50 lines is a few KB; anything far bigger is a mistake or abuse.
MAX_BODY_BYTES = 32 * 1024

# Created at import so warm invocations reuse the connection pool.
_store = orders.DynamoDBOrderStore(
    boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"])
)

app = APIGatewayRestResolver()
install_error_handlers(app)


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body={"served_by": orders.SERVED_BY, **body},
        headers={"X-Served-By": orders.SERVED_BY, **(headers or {})},
    )


@app.post("/orders")
def create_order() -> Response[Any]:
    body = parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)
    try:
        order = orders.create_order(_store, body)
    except orders.InvalidOrder as error:
        raise InvalidRequest(str(error)) from error
    metrics.add_metric(name="OrderCreated", unit=MetricUnit.Count, value=1)
    logger.info("order created", extra={"order_id": order.id})
    base = app.current_event.request_context.path or app.current_event.path
    return _json(HTTPStatus.CREATED, {"order": order.to_json()}, {"Location": f"{base}/{order.id}"})


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Response[Any]:
    try:
        order = orders.get_order(_store, order_id)
    except orders.OrderNotFound as error:
        raise NotFound(str(error)) from error
    return _json(HTTPStatus.OK, {"order": order.to_json()})


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

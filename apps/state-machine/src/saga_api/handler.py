"""REST API (v1 proxy events) in front of the order saga.

``POST /orders`` validates the order, stores it PENDING and starts one Standard execution of
the saga named after the order id (Step Functions refuses a second execution with the same
name, so a repeated start cannot run the saga twice); it answers 202 at once, because the
saga outlives an HTTP request (retries with backoff, a confirmation delay). ``GET
/orders/{order_id}`` shows the order's status and the steps applied so far.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import InvalidRequest, NotFound, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics
from saga_orders.orders import InvalidOrder, OrderNotFound, new_order
from saga_orders.store import DynamoDBOrderStore

# Orders are small; anything bigger is a mistake or abuse, refused before parsing.
MAX_BODY_BYTES = 16 * 1024

# Created at import so warm invocations reuse the connection pools.
_store = DynamoDBOrderStore(boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"]))
_sfn = boto3.client("stepfunctions")
_STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]

app = APIGatewayRestResolver()
install_error_handlers(app)


@contextmanager
def _client_errors() -> Iterator[None]:
    try:
        yield
    except InvalidOrder as error:
        raise InvalidRequest(str(error)) from error
    except OrderNotFound as error:
        raise NotFound(str(error)) from error


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


@app.post("/orders")
def place_order() -> Response[Any]:
    request = parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)
    with _client_errors():
        order = new_order(request)
    _store.create(order)
    execution = _sfn.start_execution(
        stateMachineArn=_STATE_MACHINE_ARN,
        name=order.order_id,
        input=json.dumps({"order_id": order.order_id}),
    )
    _store.set_execution(order.order_id, execution["executionArn"])
    metrics.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=1)
    logger.info("order saga started", extra={"order_id": order.order_id})
    body = {**order.to_json(), "execution_arn": execution["executionArn"]}
    base = app.current_event.request_context.path or app.current_event.path
    location = f"{base.rstrip('/')}/{order.order_id}"
    return _json(HTTPStatus.ACCEPTED, body, {"Location": location})


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Response[Any]:
    with _client_errors():
        order = _store.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
    return _json(HTTPStatus.OK, order.to_json())


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""REST API (v1 proxy events) in front of the item rules in ``items_api.items``.

API Gateway sends every method on ``/items`` and ``/items/{item_id}`` here (method ANY),
so the function owns the status codes. The common layer's error handlers answer a method
a path has no route for with 405 and ``Allow``, an unknown path with 404, and turn the
errors raised below into 4xx responses; anything else is a bug and fails the invocation.
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
from common_layer.http import InvalidRequest, NotFound, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics

from items_api import items

# Items are small records; anything bigger is a mistake or abuse, refused before parsing.
MAX_BODY_BYTES = 16 * 1024

# Created at import so warm invocations reuse the connection pool.
_store = items.DynamoDBItemStore(boto3.resource("dynamodb").Table(os.environ["ITEMS_TABLE_NAME"]))

app = APIGatewayRestResolver()
install_error_handlers(app)


@contextmanager
def _client_errors() -> Iterator[None]:
    """Map the rules' own errors onto the layer's HTTP errors (400 and 404)."""
    try:
        yield
    except items.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    except items.ItemNotFound as error:
        raise NotFound(str(error)) from error


def _json_body() -> dict[str, Any]:
    # No schema here: the item rules validate, so they hold for callers other than HTTP too.
    return parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)


def _json(status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers,
    )


@app.post("/items")
def create_item() -> Response[Any]:
    with _client_errors():
        item = items.create_item(_store, _json_body())
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    logger.info("item created", extra={"item_id": item.id})
    # requestContext.path is the path the client used, stage included (e.g. /v1/items).
    base = app.current_event.request_context.path or app.current_event.path
    return _json(HTTPStatus.CREATED, item.to_json(), {"Location": f"{base.rstrip('/')}/{item.id}"})


@app.get("/items")
def list_items() -> Response[Any]:
    query = app.current_event.query_string_parameters or {}
    with _client_errors():
        page = items.list_items(
            _store, limit=items.parse_limit(query.get("limit")), next_token=query.get("next_token")
        )
    return _json(HTTPStatus.OK, page.to_json())


@app.get("/items/<item_id>")
def get_item(item_id: str) -> Response[Any]:
    with _client_errors():
        item = items.get_item(_store, item_id)
    return _json(HTTPStatus.OK, item.to_json())


@app.put("/items/<item_id>")
def replace_item(item_id: str) -> Response[Any]:
    with _client_errors():
        item = items.replace_item(_store, item_id, _json_body())
    metrics.add_metric(name="ItemReplaced", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.OK, item.to_json())


@app.delete("/items/<item_id>")
def delete_item(item_id: str) -> Response[Any]:
    with _client_errors():
        items.delete_item(_store, item_id)
    metrics.add_metric(name="ItemDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT.value, body=None)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

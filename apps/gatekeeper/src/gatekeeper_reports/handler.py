"""The reports API behind the Lambda authorizer (REST v1 proxy events).

API Gateway calls this function only after the authorizer allowed the request, and puts
the authorizer's ``context`` in ``requestContext.authorizer``: the caller's ``clientId``
comes from there. Each invocation is recorded in the calls table before it is served.
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
from common_layer.observability import instrument, logger

from gatekeeper_reports import reports

MAX_BODY_BYTES = 16 * 1024

# Created at import so warm invocations reuse the connection pool.
_dynamodb = boto3.resource("dynamodb")
_reports = reports.DynamoDBReportStore(_dynamodb.Table(os.environ["REPORTS_TABLE_NAME"]))
_calls = reports.DynamoDBCallLog(_dynamodb.Table(os.environ["CALLS_TABLE_NAME"]))

app = APIGatewayRestResolver()
install_error_handlers(app)


def _client_id() -> str:
    # Set by the authorizer's context; a request without it never passed the authorizer.
    authorizer = app.current_event.request_context.authorizer.raw_event or {}
    client_id = authorizer.get("clientId")
    if not isinstance(client_id, str) or not client_id:
        raise RuntimeError("no clientId from the authorizer: is the method unprotected?")
    return client_id


@contextmanager
def _client_errors() -> Iterator[None]:
    try:
        yield
    except reports.InvalidReport as error:
        raise InvalidRequest(str(error)) from error
    except reports.ReportNotFound as error:
        raise NotFound(str(error)) from error


def _json(status: HTTPStatus, body: Any) -> Response[Any]:
    return Response(
        status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body
    )


@app.get("/reports")
def list_reports() -> Response[Any]:
    return _json(
        HTTPStatus.OK, {"clientId": _client_id(), **reports.list_reports(_reports, _client_id())}
    )


@app.get("/reports/<report_id>")
def get_report(report_id: str) -> Response[Any]:
    with _client_errors():
        report = reports.get_report(_reports, _client_id(), report_id)
    return _json(HTTPStatus.OK, {"clientId": _client_id(), "report": report})


@app.post("/reports")
def create_report() -> Response[Any]:
    body = parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)
    with _client_errors():
        report = reports.create_report(_reports, _client_id(), body, clock=reports.utc_now)
    return _json(HTTPStatus.CREATED, {"clientId": _client_id(), "report": report})


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    call = reports.Call(
        client_id=str((request_context.get("authorizer") or {}).get("clientId") or "unknown"),
        request_id=str(request_context.get("requestId") or context.aws_request_id),
        route=f"{event.get('httpMethod')} {event.get('resource')}",
        correlation_id=headers.get("x-correlation-id"),
        at=reports.utc_now(),
    )
    _calls.record(call)
    logger.info("call", extra={"client_id": call.client_id, "route": call.route})
    return app.resolve(event, context)

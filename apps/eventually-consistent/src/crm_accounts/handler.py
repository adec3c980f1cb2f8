"""REST API (v1 proxy events) of the write side: ``/accounts/{account_id}``.

PUT creates or replaces an account, DELETE deletes it, GET reads it back from DynamoDB
(strongly consistent: the write side always shows the latest version). Every answer carries
the version as an ``ETag``; a client that sends it back as ``If-Match`` only writes over the
version it read (412 otherwise). The PostgreSQL copy follows a moment later.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any, ClassVar

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import (
    ApiError,
    InvalidRequest,
    NotFound,
    install_error_handlers,
    parse_json_object,
)
from common_layer.observability import MetricUnit, instrument, logger, metrics

from crm_accounts import accounts

# An account is a few short fields; anything bigger is a mistake, refused before parsing.
MAX_BODY_BYTES = 8 * 1024

# Created at import so warm invocations reuse the connection pool.
_store = accounts.DynamoDBAccountStore(
    boto3.resource("dynamodb").Table(os.environ["ACCOUNTS_TABLE_NAME"])
)

app = APIGatewayRestResolver()
install_error_handlers(app)


class PreconditionFailed(ApiError):
    """If-Match named a version that is no longer current (412)."""

    status_code: ClassVar[int] = 412


@contextmanager
def _client_errors() -> Iterator[None]:
    """Map the rules' own errors onto HTTP errors."""
    try:
        yield
    except accounts.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    except accounts.AccountNotFound as error:
        raise NotFound(str(error)) from error
    except accounts.VersionMismatch as error:
        raise PreconditionFailed(str(error)) from error


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _if_match() -> str | None:
    return app.current_event.headers.get("If-Match")


@app.put("/accounts/<account_id>")
def put_account(account_id: str) -> Response[Any]:
    with _client_errors():
        body = parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)
        account = accounts.put_account(_store, account_id, body, if_match=_if_match())
    metrics.add_metric(name="AccountWritten", unit=MetricUnit.Count, value=1)
    logger.info("account written", extra={"account_id": account_id, "version": account.version})
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=account.to_json(),
        headers=_etag(account.version),
    )


@app.get("/accounts/<account_id>")
def get_account(account_id: str) -> Response[Any]:
    with _client_errors():
        account = accounts.get_account(_store, account_id)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=account.to_json(),
        headers=_etag(account.version),
    )


@app.delete("/accounts/<account_id>")
def delete_account(account_id: str) -> Response[Any]:
    with _client_errors():
        version = accounts.delete_account(_store, account_id, if_match=_if_match())
    metrics.add_metric(name="AccountDeleted", unit=MetricUnit.Count, value=1)
    logger.info("account deleted", extra={"account_id": account_id, "version": version})
    # The tombstone's version: what the copy will show as "deleted at version N".
    return Response(status_code=HTTPStatus.NO_CONTENT.value, body=None, headers=_etag(version))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

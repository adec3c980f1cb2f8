"""REST API (v1 proxy events) of the reporting side, read from the PostgreSQL copy.

``GET /reports/accounts/{account_id}``: the replicated account, with its version and
replication lag (404 until it has replicated, and again once its delete has).
``GET /reports/plans``: live accounts per plan (what a relational copy is for).
While a paused database resumes, both answer 503 with ``Retry-After``.
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
from common_layer.http import ApiError, InvalidRequest, NotFound, install_error_handlers
from common_layer.observability import instrument

from crm_reports import reports

# Aurora takes about 15 s to resume from a pause (DatabaseMinCapacity=0).
RESUME_RETRY_AFTER_SECONDS = 15

# Created at import so warm invocations reuse the connection pool.
_reports = reports.DataApiAccountReports(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)

app = APIGatewayRestResolver()
install_error_handlers(app)


class ServiceUnavailable(ApiError):
    """The database is resuming; the client should retry after ``Retry-After`` (503)."""

    status_code: ClassVar[int] = 503


@contextmanager
def _client_errors() -> Iterator[None]:
    """Map the reports' own errors onto HTTP errors."""
    try:
        yield
    except reports.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    except reports.NotReplicated as error:
        raise NotFound(str(error)) from error
    except reports.DatabaseResuming as error:
        raise ServiceUnavailable(
            str(error), headers={"Retry-After": str(RESUME_RETRY_AFTER_SECONDS)}
        ) from error


def _json(body: Any) -> Response[Any]:
    return Response(
        status_code=HTTPStatus.OK.value, content_type=content_types.APPLICATION_JSON, body=body
    )


@app.get("/reports/accounts/<account_id>")
def account_report(account_id: str) -> Response[Any]:
    with _client_errors():
        row = reports.account_report(_reports, account_id)
    return _json(row.to_json())


@app.get("/reports/plans")
def plans_report() -> Response[Any]:
    with _client_errors():
        plans = _reports.plans()
    return _json({"live_accounts_by_plan": plans})


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

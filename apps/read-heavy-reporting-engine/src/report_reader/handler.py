"""REST API (v1 proxy events): GET /reports/{name}?period=YYYY-MM, read cache-aside.

Every answer says where it came from: the ``X-Cache`` header (HIT, MISS, or BYPASS when the
cache is down) and, in the body, ``cache`` and ``database_queries`` (statements this
request sent to PostgreSQL: 0 on a hit). A report with no rows is a 404, cached like any
other answer.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import InvalidRequest, install_error_handlers
from common_layer.observability import MetricUnit, instrument, logger, metrics
from reporting_common import cache, database, reports

from report_reader import reading

# Created at cold start and reused by every warm invocation: the Redis connection pool and
# the Data API client's HTTPS connections.
_cache = cache.connect(
    os.environ["CACHE_ENDPOINT"],
    int(os.environ["CACHE_PORT"]),
    tls=cache.truthy(os.environ.get("CACHE_TLS")),
)
_store = database.DataApiReportStore(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)
_TTL_SECONDS = int(os.environ["CACHE_TTL_SECONDS"])

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.get("/reports/<name>")
def get_report(name: str) -> Response[Any]:
    query = app.current_event.query_string_parameters or {}
    try:
        name, period = reports.check_name(name), reports.check_period(query.get("period"))
    except reports.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    result = reading.read_report(name, period, cache=_cache, store=_store, ttl_seconds=_TTL_SECONDS)
    metrics.add_metric(name=f"Cache{result.cache.value.title()}", unit=MetricUnit.Count, value=1)
    if result.database_queries:
        metrics.add_metric(
            name="DatabaseQuery", unit=MetricUnit.Count, value=result.database_queries
        )
    if result.cache_error is not None:
        # Fail open: the client still gets its report; operators get the log and the metric.
        metrics.add_metric(name="CacheUnavailable", unit=MetricUnit.Count, value=1)
        logger.warning(
            "cache unavailable, served from the database",
            extra={"error": result.cache_error, "report": name, "period": period},
        )
    provenance = {"cache": result.cache.value, "database_queries": result.database_queries}
    if result.report.is_empty:
        status, body = (
            HTTPStatus.NOT_FOUND,
            {"message": f"report '{name}' has no data for period {period}", **provenance},
        )
    else:
        status, body = HTTPStatus.OK, {**result.report.to_json(), **provenance}
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"X-Cache": result.cache.value},
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

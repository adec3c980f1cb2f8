"""REST API (v1 proxy events): PUT /reports/{name}/data upserts rows and publishes the change.

200 with the number of rows upserted once the rows are committed and the change event is
published; the cached copies disappear asynchronously (the invalidator), typically within a
second, at the latest after the cache TTL.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import InvalidRequest, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics
from reporting_common import database, reports

from report_writer import writing

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

# 100 rows of short labels fit easily; more is a mistake or abuse, refused before parsing.
MAX_BODY_BYTES = 32 * 1024


class SnsChangePublisher:
    """``ChangePublisher`` on the change topic; ``report`` is a message attribute so
    subscribers can filter on it."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, message: str, report_name: str) -> str:
        response = self._client.publish(
            TopicArn=self._topic_arn,
            Message=message,
            MessageAttributes={"report": {"DataType": "String", "StringValue": report_name}},
        )
        return response["MessageId"]


# Created at cold start so warm invocations reuse the HTTPS connections.
_store = database.DataApiReportStore(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)
_publisher = SnsChangePublisher(boto3.client("sns"), os.environ["CHANGE_TOPIC_ARN"])

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.put("/reports/<name>/data")
def put_report_data(name: str) -> Response[Any]:
    body = parse_json_object(app.current_event.decoded_body, max_bytes=MAX_BODY_BYTES)
    try:
        result = writing.write_report_data(name, body, store=_store, publisher=_publisher)
    except reports.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    metrics.add_metric(name="ReportRowsUpserted", unit=MetricUnit.Count, value=result.rows_upserted)
    # "name" is a reserved LogRecord attribute: log the report as "report".
    logger.info(
        "report data written",
        extra={
            "report": result.name,
            "period": result.period,
            "rows_upserted": result.rows_upserted,
            "change_event_id": result.change_event_id,
        },
    )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=result.to_json(),
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""Invoked asynchronously (Event) by the worker that counted a job's last task."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from common_layer.observability import MetricUnit, instrument, logger, metrics
from fanout_store.jobs import DynamoJobStore

from fanout_aggregator import aggregate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_store = DynamoJobStore(
    boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE_NAME"]),
    retention_days=int(os.environ.get("DATA_RETENTION_DAYS", "30")),
)
_writer = aggregate.S3ResultWriter(boto3.client("s3"), os.environ["DATA_BUCKET_NAME"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job_id = aggregate.parse_request(event)
    outcome = aggregate.aggregate_job(_store, _writer, job_id)
    if outcome.finished_now:
        metrics.add_metric(name=f"Job{outcome.status.title()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "job aggregated",
        extra={"job_id": job_id, "status": outcome.status, "finished_now": outcome.finished_now},
    )
    return {"job_id": job_id, "status": outcome.status, "result_key": outcome.result_key}

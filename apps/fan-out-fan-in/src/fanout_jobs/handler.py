"""POST /jobs and GET /jobs/{job_id} (REST API, v1 proxy events).

POST checks the request (400 naming the field), records the job, queues one task per input
file and answers 202 with the job id and where to poll. GET answers the job's status and
progress, with the result's location once it is final (404 for an unknown id).
"""

from __future__ import annotations

import os
import re
from http import HTTPStatus
from typing import Any, ClassVar

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import ApiError, NotFound, install_error_handlers, parse_json_object
from common_layer.observability import MetricUnit, instrument, logger, metrics
from fanout_store.jobs import DynamoJobStore

from fanout_jobs import jobs
from fanout_jobs.adapters import SqsTaskQueue

# A job request is a list of at most 100 keys: 64 KiB is far more than it needs.
MAX_BODY_BYTES = 64 * 1024
JOB_ID = re.compile(r"^[0-9a-f]{32}$")

_store = DynamoJobStore(
    boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE_NAME"]),
    retention_days=int(os.environ.get("DATA_RETENTION_DAYS", "30")),
)
_queue = SqsTaskQueue(boto3.client("sqs"), os.environ["TASK_QUEUE_URL"])
_bucket = os.environ["DATA_BUCKET_NAME"]

app = APIGatewayRestResolver()
install_error_handlers(app)


class ServiceUnavailable(ApiError):
    """The job could not be fanned out; it is marked FAILED and may be resubmitted (503)."""

    status_code: ClassVar[int] = 503


@app.post("/jobs")
def submit() -> Response[Any]:
    request = parse_json_object(
        app.current_event.decoded_body, jobs.JOB_REQUEST, max_bytes=MAX_BODY_BYTES
    )
    try:
        submitted = jobs.submit_job(_store, _queue, request)
    except jobs.FanOutFailed as error:
        logger.error("fan-out failed", extra={"error": str(error)})
        raise ServiceUnavailable(f"{error}; the job is marked FAILED, submit it again") from error
    metrics.add_metric(name="JobSubmitted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="TasksFannedOut", unit=MetricUnit.Count, value=submitted.tasks)
    logger.info("job fanned out", extra={"job_id": submitted.job_id, "tasks": submitted.tasks})
    location = f"/jobs/{submitted.job_id}"
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type=content_types.APPLICATION_JSON,
        headers={"Location": location},
        body={
            "job_id": submitted.job_id,
            "status": "RUNNING",
            "tasks": submitted.tasks,
            "status_path": location,
        },
    )


@app.get("/jobs/<job_id>")
def status(job_id: str) -> dict[str, Any]:
    job = _store.get_job(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise NotFound(f"job {job_id!r} does not exist")
    return jobs.job_view(_store, job, _bucket)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

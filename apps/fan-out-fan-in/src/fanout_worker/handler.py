"""SQS event source of the task queue: one task per message, failures reported per message.

A message that fails for a transient reason is put back with a backoff (its visibility
timeout shortened) and reported in ``batchItemFailures``; the others of the batch are done.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from common_layer.failures import process_sqs_batch
from common_layer.observability import MetricUnit, instrument, logger, metrics
from fanout_store.jobs import DynamoJobStore

from fanout_worker import tasks
from fanout_worker.adapters import LambdaAggregator, S3InputReader, SqsDeadLetters, SqsVisibility

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

_sqs = boto3.client("sqs")
_store = DynamoJobStore(
    boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE_NAME"]),
    retention_days=int(os.environ.get("DATA_RETENTION_DAYS", "30")),
)
_reader = S3InputReader(boto3.client("s3"), os.environ["DATA_BUCKET_NAME"])
_aggregator = LambdaAggregator(boto3.client("lambda"), os.environ["AGGREGATOR_FUNCTION_NAME"])
_dead_letters = SqsDeadLetters(
    _sqs, os.environ["DEAD_LETTER_QUEUE_URL"], os.environ["TASK_QUEUE_URL"]
)
_visibility = SqsVisibility(_sqs, os.environ["TASK_QUEUE_URL"])
_max_attempts = int(os.environ.get("MAX_TASK_ATTEMPTS", "3"))


def _handle(record: SQSRecord) -> str:
    attempt = tasks.attempt_of(record.raw_event.get("attributes", {}))
    try:
        result = tasks.process_task(
            _store,
            _reader,
            _aggregator,
            _dead_letters,
            record.body,
            attempt=attempt,
            max_attempts=_max_attempts,
        )
    except tasks.RetryLater as retry:
        logger.warning("task will be retried", extra={"attempt": attempt, "error": str(retry)})
        _visibility.delay(record.receipt_handle, retry.delay_seconds)
        raise
    metrics.add_metric(name=f"Task_{result}", unit=MetricUnit.Count, value=1)
    logger.info("task processed", extra={"result": result, "attempt": attempt})
    return result


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, _handle)

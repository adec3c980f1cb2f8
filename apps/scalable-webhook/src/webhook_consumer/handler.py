"""SQS event source -> PostgreSQL. The event source mapping caps how many of these run at
once (``ScalingConfig.MaximumConcurrency``); this function stores each message once, parks
the ones that can never be stored in the DLQ with the reason, and reports only the failed
ones back (``ReportBatchItemFailures``), so one bad message never replays a whole batch.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, metrics

from webhook_consumer import ingest
from webhook_consumer.store import DataApiWebhookStore

# Created at import so warm invocations reuse the connection pools (and the schema check).
_store = DataApiWebhookStore(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)
_dead_letters = ingest.SqsDeadLetters(boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = ingest.consume_batch(event, context, store=_store, dead_letters=_dead_letters)
    tally = result.tally
    for name, value in (
        ("WebhookStored", tally.stored),
        ("WebhookDuplicate", tally.duplicates),
        ("WebhookDeadLettered", tally.dead_lettered),
        ("WebhookFailed", tally.failed),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return result.response

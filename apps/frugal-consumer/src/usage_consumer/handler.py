"""SQS event source -> the usage rules in ``usage_consumer.usage``, one message at a time.

The event source delivers batches at a capped concurrency (ScalingConfig.MaximumConcurrency)
and reads back the ids of the messages that failed (ReportBatchItemFailures): only those are
retried. A message that breaks the producer contract is not a failure: it is parked in the
DLQ with the reason and deleted from the queue, since retrying it cannot help.

Every invocation ends with one log line, ``usage batch done``, giving its start and end
(epoch seconds) and what became of its messages: the evidence of how many batches ran at once.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.failures import process_sqs_batch
from common_layer.observability import MetricUnit, instrument, logger, metrics

from usage_consumer import adapters, usage

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Created at import so warm invocations reuse the HTTPS connections.
_store = adapters.DataApiUsageStore(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)
_dead_letters = adapters.SqsDeadLetterQueue(
    boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"]
)

_METRICS = {
    usage.Outcome.STORED: "UsageRecordStored",
    usage.Outcome.DUPLICATE: "DuplicateDeliveryIgnored",
    usage.Outcome.REJECTED: "UsageRecordRejected",
}


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started_at = time.time()
    outcomes: Counter[usage.Outcome] = Counter()

    def consume(record: SQSRecord) -> None:
        message = usage.QueueMessage.from_event_record(record.raw_event)
        consumed = usage.consume(message, _store, _dead_letters)
        outcomes[consumed.outcome] += 1
        if consumed.reason is not None:
            logger.warning(
                "usage record rejected",
                extra={"reason": str(consumed.reason), "field": consumed.reason.field},
            )
        elif consumed.record is not None and consumed.outcome is usage.Outcome.DUPLICATE:
            logger.info(
                "duplicate delivery ignored",
                extra={
                    "producer": consumed.record.producer,
                    "record_id": consumed.record.record_id,
                },
            )

    received = len(event.get("Records", []))
    try:
        return process_sqs_batch(event, context, consume)
    finally:
        for outcome, name in _METRICS.items():
            if outcomes[outcome]:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=outcomes[outcome])
        logger.info(
            "usage batch done",
            extra={
                "batch_started_at": round(started_at, 3),
                "batch_finished_at": round(time.time(), 3),
                "received": received,
                **{outcome.value: outcomes[outcome] for outcome in usage.Outcome},
                "failed": received - sum(outcomes.values()),
            },
        )

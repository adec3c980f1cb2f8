"""SQS event source -> ``notifier_alerts.alerts.consume``, one message at a time.

Partial batch responses (ReportBatchItemFailures): only messages that raised are retried.
A message that breaks the contract does not raise: it is parked in the DLQ with the reason.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.failures import process_sqs_batch
from common_layer.observability import MetricUnit, instrument, logger, metrics
from notifier_contract.storage import RecordOnceTable

from notifier_alerts import adapters, alerts

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Created at import so warm invocations reuse the HTTPS connections.
_store = RecordOnceTable(boto3.resource("dynamodb").Table(os.environ["ALERTS_TABLE_NAME"]))
_dead_letters = adapters.SqsDeadLetterQueue(
    boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"], source="notifier_alerts"
)

_METRICS = {
    alerts.Outcome.RECORDED: "AlertRecorded",
    alerts.Outcome.DUPLICATE: "DuplicateAlertIgnored",
    alerts.Outcome.REJECTED: "AlertRejected",
}


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes: Counter[alerts.Outcome] = Counter()

    def consume(record: SQSRecord) -> None:
        message = alerts.QueueMessage.from_event_record(record.raw_event)
        consumed = alerts.consume(message, _store, _dead_letters)
        outcomes[consumed.outcome] += 1
        if consumed.reason is not None:
            logger.warning(
                "alert rejected",
                extra={"reason": str(consumed.reason), "field": consumed.reason.field},
            )
        elif consumed.event is not None:
            logger.info(
                f"alert {consumed.outcome.value}",
                extra={"event_id": consumed.event.event_id, "severity": consumed.event.severity},
            )

    try:
        return process_sqs_batch(event, context, consume)
    finally:
        for outcome, name in _METRICS.items():
            if outcomes[outcome]:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=outcomes[outcome])

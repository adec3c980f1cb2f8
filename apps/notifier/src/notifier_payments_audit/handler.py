"""SNS (asynchronous invoke) -> ``notifier_payments_audit.audit.audit``.

A contract violation is parked in the DLQ by ``audit`` and the invocation succeeds; any other
error propagates, so Lambda retries the event and finally sends it to the on-failure
destination (the same DLQ) with the error.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics
from notifier_contract.storage import RecordOnceTable

from notifier_payments_audit import adapters, audit

# Created at import so warm invocations reuse the HTTPS connections.
_store = RecordOnceTable(boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE_NAME"]))
_dead_letters = adapters.SqsDeadLetterQueue(
    boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"]
)

_METRICS = {
    audit.Outcome.RECORDED: "PaymentAudited",
    audit.Outcome.DUPLICATE: "DuplicatePaymentIgnored",
    audit.Outcome.REJECTED: "PaymentRejected",
}


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    results = [
        audit.audit(notification, _store, _dead_letters)
        for notification in audit.Notification.from_event(event)
    ]
    for result in results:
        metrics.add_metric(name=_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
        if result.reason is not None:
            logger.warning(
                "payment event rejected",
                extra={"reason": str(result.reason), "field": result.reason.field},
            )
        elif result.event is not None:
            logger.info(
                f"payment {result.outcome.value}",
                extra={
                    "event_id": result.event.event_id,
                    "amount": result.event.data["amountCents"],
                },
            )
    return {outcome.value: sum(r.outcome is outcome for r in results) for outcome in audit.Outcome}

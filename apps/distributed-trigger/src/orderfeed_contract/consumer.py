"""A subscriber's SQS batch: :func:`orderfeed_contract.subscriber.consume` per message.

The event source reads back the ids of the messages that raised (ReportBatchItemFailures):
only those return to the queue. Every batch ends with one log line, ``order events
consumed``, and a metric per outcome.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from common_layer.failures import process_sqs_batch
from common_layer.observability import MetricUnit, logger, metrics

from orderfeed_contract.subscriber import (
    DeadLetters,
    EventStore,
    Outcome,
    Projection,
    QueueMessage,
    consume,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

_METRICS = {
    Outcome.RECORDED: "OrderEventRecorded",
    Outcome.DUPLICATE: "DuplicateOrderEventIgnored",
    Outcome.PARKED: "OrderEventParked",
}


def consume_batch(
    event: dict[str, Any],
    context: Any,
    projection: Projection,
    store: EventStore,
    dead_letters: DeadLetters,
) -> dict[str, Any]:
    """Consume an SQS event's messages; return the partial batch response."""
    outcomes: Counter[Outcome] = Counter()

    def consume_one(record: SQSRecord) -> None:
        consumed = consume(
            QueueMessage.from_event_record(record.raw_event), projection, store, dead_letters
        )
        outcomes[consumed.outcome] += 1
        if consumed.reason is not None:
            logger.warning("order event parked", extra={"reason": str(consumed.reason)})
        elif consumed.event is not None and consumed.outcome is Outcome.DUPLICATE:
            logger.info(
                "duplicate order event ignored",
                extra={"order_id": consumed.event.order_id, "event_id": consumed.event.event_id},
            )

    received = len(event.get("Records", []))
    try:
        return process_sqs_batch(event, context, consume_one)
    finally:
        for outcome, name in _METRICS.items():
            if outcomes[outcome]:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=outcomes[outcome])
        logger.info(
            "order events consumed",
            extra={
                "service": projection.service,
                "received": received,
                **{outcome.value: outcomes[outcome] for outcome in Outcome},
                "failed": received - sum(outcomes.values()),
            },
        )

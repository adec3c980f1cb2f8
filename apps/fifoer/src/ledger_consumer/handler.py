"""SQS FIFO event source in front of the ledger rules (``ledger_consumer.ledger``).

Lambda hands over up to 10 messages at a time; within one message group (one account) they
arrive in send order, and an account's next messages wait until this batch is done.
Messages are handled one by one, in order. When one fails, the rest of its group in the
batch is not touched and is reported failed with it (``SqsFifoPartialProcessor``), so the
group resumes from exactly that message; other accounts' messages in the batch go on
(``skip_group_on_error``). The messages handed back get a backoff delay
(``ledger_consumer.retry``) instead of waiting out the queue's whole visibility timeout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.failures import process_sqs_batch
from common_layer.observability import MetricUnit, instrument, logger, metrics

from ledger_consumer import ledger, retry
from ledger_consumer.storage import DynamoDBLedgerStore, SqsDeadLetters

# Created at import so warm invocations reuse the connection pools.
_sqs = boto3.client("sqs")
_queue_url = os.environ["LEDGER_QUEUE_URL"]
_store = DynamoDBLedgerStore(
    boto3.client("dynamodb"), os.environ["ACCOUNTS_TABLE_NAME"], os.environ["LEDGER_TABLE_NAME"]
)
_dead_letters = SqsDeadLetters(_sqs, os.environ["DEAD_LETTER_QUEUE_URL"], source=_queue_url)
_backoff = retry.Backoff(
    base_seconds=int(os.environ.get("RETRY_BASE_DELAY_SECONDS", "2")),
    cap_seconds=int(os.environ.get("RETRY_MAX_DELAY_SECONDS", "60")),
)

_METRIC_OF_OUTCOME = {
    ledger.Outcome.APPLIED: "EventApplied",
    ledger.Outcome.REJECTED: "EventRejected",
    ledger.Outcome.DEAD_LETTERED: "EventDeadLettered",
    ledger.Outcome.DUPLICATE: "DuplicateSkipped",
}


def _queued(record: SQSRecord) -> ledger.QueuedMessage:
    attributes = record.attributes
    return ledger.QueuedMessage(
        message_id=record.message_id,
        body=record.body,
        group_id=attributes.message_group_id,
        receive_count=int(attributes.approximate_receive_count or 1),
    )


def handle_record(record: SQSRecord) -> None:
    """One message through the ledger rules; raises when it must be retried."""
    try:
        decision = ledger.handle_message(_queued(record), store=_store, dead_letters=_dead_letters)
    except ledger.RetryableError as error:
        if isinstance(error, ledger.SequenceGap):
            metrics.add_metric(name="SequenceGap", unit=MetricUnit.Count, value=1)
        logger.warning("event will be retried", extra={"reason": str(error)})
        raise
    metrics.add_metric(name=_METRIC_OF_OUTCOME[decision.outcome], unit=MetricUnit.Count, value=1)
    details = {
        "outcome": decision.outcome.value,
        "account_id": decision.account_id,
        "seq": decision.seq,
        "balance_after_cents": decision.balance_after_cents,
        "reason": decision.reason,
    }
    if decision.outcome in (ledger.Outcome.APPLIED, ledger.Outcome.REJECTED):
        logger.info("event recorded", extra=details)
    else:
        logger.warning("event not recorded", extra=details)


def _postpone(records: Sequence[Mapping[str, Any]]) -> None:
    """Delay the redelivery of returned messages, per group, by the backoff of the group's
    first returned message (SQS does not release a group while any of it is in flight)."""
    delays: dict[str, int] = {}
    by_delay: dict[int, list[retry.ReturnedMessage]] = {}
    for record in records:
        attributes = record.get("attributes", {})
        group = str(attributes.get("MessageGroupId", ""))
        if group not in delays:
            delays[group] = _backoff.delay(int(attributes.get("ApproximateReceiveCount", 1)))
        by_delay.setdefault(delays[group], []).append(
            retry.ReturnedMessage(record["messageId"], record["receiptHandle"])
        )
    for seconds, returned in by_delay.items():
        try:
            failed = retry.postpone(_sqs, _queue_url, returned, seconds)
        except Exception:
            logger.exception("could not postpone returned messages; they wait out the timeout")
            continue
        if failed:
            logger.warning("some returned messages keep the full timeout", extra={"ids": failed})
    metrics.add_metric(name="MessagesReturned", unit=MetricUnit.Count, value=len(records))
    logger.info("messages returned to the queue", extra={"retry_in_seconds": delays})


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        response = process_sqs_batch(
            event, context, handle_record, fifo=True, skip_group_on_error=True
        )
    except BatchProcessingError:
        # Every message failed: Lambda returns the whole batch when the invocation fails.
        _postpone(event["Records"])
        raise
    failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
    if failed:
        _postpone([record for record in event["Records"] if record["messageId"] in failed])
    return response

"""Lambda handler of the payment recorder, the worker of the handoff.

It is only ever invoked asynchronously (``InvocationType=Event``): Lambda queues the job,
runs this handler, retries a failed attempt twice, and after the last one sends the
invocation record to the failure queue. So the handler's contract is: return when the
payment is recorded (or was recorded before), raise otherwise. Raising is how a failure
reaches the failure queue; nothing is swallowed.

Lambda may deliver the same event more than once, and a replay repeats a job on purpose, so
recording is idempotent twice over: Powertools idempotency (keyed on ``payment_id``) answers
a repeat from its record without running again, and the ledger refuses a second entry for a
payment in any case. Either way a repeat is counted on the payment's entry
(``duplicate_deliveries``) and as the metric ``DuplicateDelivery``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from common_layer.idempotency import idempotent_function, register_lambda_context
from common_layer.observability import MetricUnit, instrument, logger, metrics

from payment_recorder import payments

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A repeat must find the idempotency record for as long as Lambda may still deliver the
# event: its maximum age (MaximumEventAgeInSeconds, 1 hour in the template) plus the time
# its attempts run. Two hours cover both; the ledger's own check covers anything later.
IDEMPOTENCY_SECONDS = 2 * 3600

_ledger = payments.DynamoDBLedger(boto3.client("dynamodb"), os.environ["LEDGER_TABLE_NAME"])


@dataclass
class _Run:
    """What happened inside ``record_once``; ``new`` stays None when it did not run at all
    (Powertools answered from the idempotency record)."""

    new: bool | None = None


@idempotent_function(
    "job",
    key_jmespath="payment_id",
    # The same payment id with other money is not a repeat: fail it instead of answering it.
    payload_validation_jmespath="[account_id, amount, currency]",
    expires_after_seconds=IDEMPOTENCY_SECONDS,
)
def record_once(job: dict[str, str], request_id: str, run: _Run) -> dict[str, str]:
    """Record the payment of ``job`` (once per payment id); the receipt as JSON."""
    recording = payments.record_payment(_ledger, payments.parse_job(job), request_id=request_id)
    run.new = recording.new
    return recording.receipt.to_json()


@instrument
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, str]:
    register_lambda_context(context)
    try:
        payment = payments.parse_job(event)
        run = _Run()
        try:
            receipt = record_once(job=payment.to_job(), request_id=context.aws_request_id, run=run)
        except IdempotencyValidationError:
            raise payments.PaymentConflict(
                payment.payment_id, "was handed off before with another account, amount or currency"
            ) from None
    except payments.PermanentJobError as error:
        # Raised on purpose: Lambda retries, then the failure queue keeps the job for replay.
        logger.warning(
            "payment not recorded",
            extra={"error_type": type(error).__name__, "reason": str(error)},
        )
        metrics.add_metric(name="PaymentRejected", unit=MetricUnit.Count, value=1)
        raise
    if run.new:
        logger.info("payment recorded", extra={"payment_id": payment.payment_id})
        metrics.add_metric(name="PaymentRecorded", unit=MetricUnit.Count, value=1)
        lag = payments.handoff_lag_seconds(payment, receipt["recorded_at"])
        if lag is not None:
            metrics.add_metric(name="HandoffLag", unit=MetricUnit.Seconds, value=lag)
    else:
        payments.note_duplicate(_ledger, payment)
        logger.info(
            "duplicate delivery: already recorded", extra={"payment_id": payment.payment_id}
        )
        metrics.add_metric(name="DuplicateDelivery", unit=MetricUnit.Count, value=1)
    return receipt

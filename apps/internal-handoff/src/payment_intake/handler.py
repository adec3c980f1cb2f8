"""Lambda handler of the payment intake, the caller of the handoff.

Invoked synchronously (``aws lambda invoke``, another service's SDK call) with a payment
request; answers ``{"statusCode": 202, "jobId": ...}`` as soon as the recorder's event is
queued, or ``{"statusCode": 400, "message": ..., "field": ...}`` for a request that breaks
the contract. An error of the invoke itself is raised, so the caller sees a function error
and knows the payment was not handed off.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from common_layer.observability import MetricUnit, instrument, logger, metrics
from payment_recorder.payments import InvalidPayment

from payment_intake import intake

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_handoff = intake.LambdaHandoff(boto3.client("lambda"), os.environ["RECORDER_FUNCTION_NAME"])


@instrument
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        acknowledgement = intake.hand_off_payment(_handoff, event)
    except InvalidPayment as error:
        logger.info("payment request refused", extra={"field": error.field, "reason": str(error)})
        metrics.add_metric(name="PaymentRequestRefused", unit=MetricUnit.Count, value=1)
        return intake.rejection(error)
    logger.info(
        "payment handed off",
        extra={"job_id": acknowledgement.job_id, "handoff_request_id": acknowledgement.request_id},
    )
    metrics.add_metric(name="PaymentHandedOff", unit=MetricUnit.Count, value=1)
    return acknowledgement.to_json()

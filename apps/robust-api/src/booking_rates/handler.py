"""Lambda entry point of the rates service: envelope in, quote out (no API Gateway).

The create function invokes it synchronously and needs its answer before it stores a
booking. Refusals raise the contract's typed errors (``booking_rates.contract``), so the
invocation fails with that ``errorType``; they are counted as ``ClientErrors``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from common_layer.observability import MetricUnit, instrument, logger, metrics

from booking_rates import contract, rates

# Fail fast inside the 5 s Timeout so the caller hears "Unavailable", not a timeout.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=2)
_rooms = rates.DynamoDBRooms(
    boto3.resource("dynamodb", config=_CONFIG).Table(os.environ["BOOKINGS_TABLE_NAME"])
)
_actions = rates.actions(_rooms)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlation_id = event.get("correlation_id") if isinstance(event, dict) else None
    if isinstance(correlation_id, str):
        logger.set_correlation_id(correlation_id)
    try:
        answer = contract.dispatch(event, _actions)
    except contract.CLIENT_ERRORS as error:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        logger.info("refused", extra={"error_type": type(error).__name__, "reason": str(error)})
        raise
    except contract.Unavailable as error:
        logger.warning("unavailable", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="QuotesServed", unit=MetricUnit.Count, value=1)
    return answer

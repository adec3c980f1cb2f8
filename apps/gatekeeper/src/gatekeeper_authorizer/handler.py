"""TOKEN Lambda authorizer: ``Authorization: Bearer <token>`` in, an IAM policy out.

The decision lives in ``gatekeeper_authorizer.decision``. This authorizer reads the
authorization service's clients table directly (one consistent ``GetItem``) instead of
invoking an admin function: one network hop less on every cache miss, and both belong to
the same service, which owns the table's shape.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from common_layer.observability import MetricUnit, instrument, logger, metrics
from gatekeeper_clients.clients import DynamoDBClientStore

from gatekeeper_authorizer.decision import Unauthorized, authorize, is_denied, utc_now

# An authorizer has API Gateway's 29 s at most, and the client is waiting: fail fast.
_DYNAMODB_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=2
)
# Created at import so warm invocations reuse the connection pool.
_store = DynamoDBClientStore(
    boto3.resource("dynamodb", config=_DYNAMODB_CONFIG).Table(os.environ["CLIENTS_TABLE_NAME"])
)


# Never log the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it holds the raw token.
@instrument(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        answer = authorize(
            _store, event.get("authorizationToken"), str(event.get("methodArn", "")), clock=utc_now
        )
    except Unauthorized as refusal:
        metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
        logger.info("unauthorized", extra={"reason": refusal.reason})
        # Exactly this message makes API Gateway answer 401 instead of 500.
        raise Exception("Unauthorized") from None
    if is_denied(answer):
        metrics.add_metric(name="Denied", unit=MetricUnit.Count, value=1)
        logger.info(
            "denied",
            extra={"principal": answer["principalId"], "reason": answer["context"]["denyReason"]},
        )
    else:
        metrics.add_metric(name="Allowed", unit=MetricUnit.Count, value=1)
        logger.info("allowed", extra={"client_id": answer["principalId"]})
    return answer

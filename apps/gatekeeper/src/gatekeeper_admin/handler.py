"""Entry point of the admin API (``lambda.invoke`` only): request in, action's answer out.

The actions live in ``gatekeeper_admin.admin``. Refused requests raise the contract's
typed errors so the invocation fails with that ``errorType``; they are counted as
``ClientErrors`` so the errors alarm can tell them from bugs.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics
from gatekeeper_clients.clients import DynamoDBClientStore

from gatekeeper_admin import admin

# Created at import so warm invocations reuse the connection pool.
_store = DynamoDBClientStore(boto3.resource("dynamodb").Table(os.environ["CLIENTS_TABLE_NAME"]))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = admin.handle(_store, event, clock=admin.utc_now)
    except admin.CLIENT_ERRORS as error:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        logger.info("refused", extra={"error_type": type(error).__name__, "reason": str(error)})
        raise
    # Never log the answer: add_client's holds the raw token.
    logger.info("served", extra={"action": event.get("action")})
    return result

"""Lambda entry point of the pricing service: envelope in, action's answer out.

No API Gateway in front: other functions invoke this one with the Lambda Invoke API
(``RequestResponse``), and IAM (``lambda:InvokeFunction`` on its ARN) decides who may.
A refused request raises the contract's typed error (``pricing_quotes.contract``) so the
invocation fails with that ``errorType``; those are counted as ``ClientErrors`` so the
error alarm can tell them from bugs.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from common_layer.observability import MetricUnit, instrument, logger, metrics

from pricing_quotes import contract, pricing
from pricing_quotes.catalogue import DynamoDBCatalogue

# Fail fast inside the function's 5 s: botocore's legacy mode would retry DynamoDB up to 10
# times with backoff, long enough for Lambda to kill the invocation (Sandbox.Timedout)
# before it could answer "Unavailable".
_DYNAMODB_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=2
)

# Created at import so warm invocations reuse the connection pool.
_catalogue = DynamoDBCatalogue(
    boto3.resource("dynamodb", config=_DYNAMODB_CONFIG), os.environ["CATALOGUE_TABLE_NAME"]
)
_actions = pricing.actions(_catalogue, currency=os.environ.get("CURRENCY", "USD"))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = contract.parse_request(event)
        if request.correlation_id:
            logger.set_correlation_id(request.correlation_id)
        result = contract.dispatch(request, _actions)
    except contract.CLIENT_ERRORS as error:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        logger.info(
            "request refused", extra={"error_type": type(error).__name__, "reason": str(error)}
        )
        raise
    except contract.Unavailable as error:
        logger.warning("dependency unavailable", extra={"reason": str(error)})
        raise
    metrics.add_metric(name=f"{request.action.title()}Served", unit=MetricUnit.Count, value=1)
    logger.info("served", extra={"action": request.action, "version": request.version})
    return result

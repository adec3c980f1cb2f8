"""Lambda entry point of the orders function: the example caller of the pricing service.

Invoked synchronously with ``{"customer_id": "...", "items": [{"sku", "quantity"}...]}``; it
calls the pricing service through the layer's ``LambdaServiceClient`` (its IAM policy may
invoke that one function only), stores the order and returns it. Refusals come back as
typed function errors (``ValidationFailed``, ``NotFound``, ``Unavailable``).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics

from pricing_orders import orders
from pricing_orders.pricing_client import LambdaPricing

# Created at import so warm invocations reuse them; the Lambda client inside LambdaPricing
# is created on the first call.
_store = orders.DynamoDBOrderStore(
    boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"])
)
_pricing = LambdaPricing.for_function(os.environ["PRICING_FUNCTION_NAME"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One id across both functions' logs: this invocation's request id, passed to pricing.
    correlation_id = logger.get_correlation_id() or context.aws_request_id
    logger.set_correlation_id(correlation_id)
    try:
        order = orders.place_order(
            event, pricing=_pricing, store=_store, correlation_id=correlation_id
        )
    except orders.CLIENT_ERRORS as error:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        logger.info(
            "order refused", extra={"error_type": type(error).__name__, "reason": str(error)}
        )
        raise
    except orders.Unavailable as error:
        logger.warning("order not placed: pricing unavailable", extra={"reason": str(error)})
        raise
    metrics.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=1)
    logger.info(
        "order placed", extra={"order_id": order.order_id, "total_cents": order.total_cents}
    )
    return order.to_json()

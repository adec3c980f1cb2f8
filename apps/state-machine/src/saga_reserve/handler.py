"""Step function ``reserve`` of the order saga: ``{"order_id": ...}`` in, the step's result out.

Errors are raised, not returned: their class name is the error the state machine's
Retry/Catch rules match (see ``statemachine/order_saga.asl.json``).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics
from saga_orders.orders import order_id_of, reserve_inventory
from saga_orders.store import DynamoDBOrderStore

# Created at import so warm invocations reuse the connection pool.
_store = DynamoDBOrderStore(boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"]))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    order_id = order_id_of(event)
    result = reserve_inventory(_store, order_id)
    if result["applied"]:
        metrics.add_metric(name="StepReserveApplied", unit=MetricUnit.Count, value=1)
    logger.info("reserve step done", extra={"order_id": order_id, "applied": result["applied"]})
    return result

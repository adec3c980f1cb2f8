"""Lambda entry point of the stand-in supplier (invoked with Lambda Invoke, RequestResponse).

Request: ``{"action": "check_stock", "version": 1, "payload": {"supplier_id", "sku"}}``.
Answer: ``{"supplier_id", "sku", "available", "received_at_ms"}``; or a function error
``SupplierUnavailable`` when its health switch says "failing", or ``ValidationFailed``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import instrument, logger

from breaker_supplier import supplier

_state = supplier.DynamoDBSupplierState(
    boto3.resource("dynamodb").Table(os.environ["SUPPLIER_TABLE_NAME"])
)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    supplier_id, sku = supplier.parse_request(event)
    answer = supplier.check_stock(supplier_id, sku, state=_state, request_id=context.aws_request_id)
    logger.info("stock checked", extra={"supplier_id": supplier_id, "sku": sku})
    return answer

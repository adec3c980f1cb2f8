"""Lambda entry point of the orders service (an internal API: Invoke only, no HTTP)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import instrument
from overview_services.serve import serve
from overview_services.storage import dynamodb_table, remaining_seconds

from overview_orders import orders

_store = orders.DynamoDBOrderStore(dynamodb_table(os.environ["ORDERS_TABLE_NAME"]))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(event, orders.actions(_store, remaining=remaining_seconds(context)))

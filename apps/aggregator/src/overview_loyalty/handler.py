"""Lambda entry point of the loyalty service (an internal API: Invoke only, no HTTP)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import instrument
from overview_services.serve import serve
from overview_services.storage import dynamodb_table, remaining_seconds

from overview_loyalty import loyalty

_store = loyalty.DynamoDBLoyaltyStore(dynamodb_table(os.environ["LOYALTY_TABLE_NAME"]))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(event, loyalty.actions(_store, remaining=remaining_seconds(context)))

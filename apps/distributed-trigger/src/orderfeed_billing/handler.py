"""SQS event source (the billing queue) -> billing's rules -> the billing table."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import instrument
from orderfeed_contract.consumer import consume_batch
from orderfeed_contract.storage import DynamoDbEventStore, SqsDeadLetters

from orderfeed_billing.billing import Billing

# Created at import so warm invocations reuse the connections.
_projection = Billing()
_store = DynamoDbEventStore(
    boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]), _projection.service
)
_dead_letters = SqsDeadLetters(boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consume_batch(event, context, _projection, _store, _dead_letters)

"""Lambda handler of the refunds task (invoked asynchronously by the router)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from common_layer.observability import instrument
from desk_tickets.runner import TaskRunner
from desk_tickets.tasks import DynamoDBTaskStore

from desk_refunds.refunds import TICKET_TYPE, refund_fields

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_runner = TaskRunner(
    TICKET_TYPE,
    refund_fields,
    DynamoDBTaskStore(boto3.resource("dynamodb").Table(os.environ["TASK_TABLE_NAME"])),
)


@instrument
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, str]:
    return _runner.handle(event, context)

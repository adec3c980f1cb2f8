"""Lambda handler of the ticket router, invoked asynchronously (``InvocationType=Event``).

It routes the ticket to one task and returns; or raises. Raising is the point: nobody waits
for the router's answer, so an unroutable ticket must fail the invocation, and Lambda then
writes the invocation record (``errorType``, ``errorMessage``, the original ticket) to the
router's failure queue, from where ``make redrive APP=router`` replays it once the cause is
fixed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from common_layer.observability import MetricUnit, instrument, logger, metrics
from desk_tickets.contract import TicketError

from desk_router import routing

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# The router is not retried by Lambda (MaximumRetryAttempts 0): its two calls retry here.
_config = Config(retries={"mode": "standard", "max_attempts": 5})
_customers = routing.DynamoDBCustomers(
    boto3.client("dynamodb", config=_config), os.environ["CUSTOMERS_TABLE_NAME"]
)
_dispatcher = routing.LambdaDispatcher.from_environment(
    boto3.client("lambda", config=_config), os.environ
)


@instrument
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        dispatched = routing.route_ticket(
            event,
            customers=_customers,
            dispatcher=_dispatcher,
            request_id=context.aws_request_id,
        )
    except TicketError as error:
        logger.warning(
            "ticket not routed",
            extra={"error_type": type(error).__name__, "reason": str(error)},
        )
        metrics.add_metric(name="TicketUnroutable", unit=MetricUnit.Count, value=1)
        raise
    route = dispatched.routed.routing
    logger.info(
        "ticket routed",
        extra={
            "ticket_id": dispatched.routed.ticket.ticket_id,
            "route": route.route,
            "priority": route.priority,
            "task_request_id": dispatched.task_request_id,
        },
    )
    metrics.add_metric(name="TicketRouted", unit=MetricUnit.Count, value=1)
    return {"route": route.route, "taskRequestId": dispatched.task_request_id}

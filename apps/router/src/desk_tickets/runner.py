"""The body of every task handler: parse, record once, log, count; raise on failure.

A task function is only ever invoked asynchronously (by the router, or by a replay), so its
contract is: return when the ticket is recorded (or was before), raise otherwise. Lambda
retries a raised error twice, then sends the invocation record to the task's failure queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from common_layer.idempotency import idempotent_function, register_lambda_context
from common_layer.observability import MetricUnit, logger, metrics

from desk_tickets import tasks
from desk_tickets.contract import TicketConflict, TicketError, parse_routed

# A repeat must find the idempotency record while Lambda may still deliver the event: its
# maximum age (1 hour in the template) plus the attempts' run time. The table's condition
# covers anything later.
IDEMPOTENCY_SECONDS = 2 * 3600


@dataclass
class _Run:
    """``new`` stays None when Powertools answered from the idempotency record."""

    new: bool | None = None


class TaskRunner:
    """Records the routed tickets of one type in one table."""

    def __init__(self, ticket_type: str, build: tasks.Build, store: tasks.TaskStore) -> None:
        self.ticket_type = ticket_type
        self._build = build
        self._store = store
        self._record_once = idempotent_function(
            "ticket",
            key_jmespath="ticket_id",
            # The same id with another customer, type or details is not a repeat.
            payload_validation_jmespath="[type, customer_id, details]",
            expires_after_seconds=IDEMPOTENCY_SECONDS,
        )(self._record)

    def _record(self, ticket: dict[str, Any], request_id: str, run: _Run) -> dict[str, str]:
        routed = parse_routed(ticket, self.ticket_type)
        outcome = tasks.record_ticket(self._store, routed, self._build, request_id=request_id)
        run.new = outcome.new
        return tasks.summary(outcome.item)

    def handle(self, event: Any, context: Any) -> dict[str, str]:
        register_lambda_context(context)
        try:
            routed = parse_routed(event, self.ticket_type)
            ticket_id = routed.ticket.ticket_id
            run = _Run()
            try:
                result = self._record_once(
                    ticket=routed.to_json(), request_id=context.aws_request_id, run=run
                )
            except IdempotencyValidationError:
                raise TicketConflict(
                    f"ticket {ticket_id!r} was routed before with another customer, type or details"
                ) from None
        except (TicketError, tasks.FaultDrill) as error:
            logger.warning(
                "ticket not recorded",
                extra={"error_type": type(error).__name__, "reason": str(error)},
            )
            metrics.add_metric(name="TicketFailed", unit=MetricUnit.Count, value=1)
            raise
        if run.new:
            logger.info("ticket recorded", extra={"ticket_id": ticket_id})
            metrics.add_metric(name="TicketRecorded", unit=MetricUnit.Count, value=1)
        else:
            self._store.count_duplicate(ticket_id)
            logger.info("duplicate delivery: already recorded", extra={"ticket_id": ticket_id})
            metrics.add_metric(name="DuplicateDelivery", unit=MetricUnit.Count, value=1)
        return result

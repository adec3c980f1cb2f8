"""What every task function does with a routed ticket: record it once, in its own table.

Each task (refunds, incidents, feedback) owns one DynamoDB table keyed by ``ticket_id`` and
adds fields of its own to the record (:data:`Build`). The rest is the same for all three and
lives here:

- **Once per ticket.** Lambda may deliver an asynchronous event more than once, and a
  replay repeats one on purpose. Powertools idempotency (keyed on ``ticket_id``) answers a
  repeat from its record; the table's conditional put (``attribute_not_exists``) stops any
  repeat that outlives that record. Either way the repeat is counted on the item
  (``duplicate_deliveries``) and changes nothing else.
- **Fault drills.** An operator or a test makes a task fail on purpose, on AWS as locally,
  by putting an item ``ticket_id = "drill#<ticket id>"`` with ``failures_left = N`` in the
  task's table: the next N attempts at that ticket fail with :class:`FaultDrill` (each one
  decrements the count), then the ticket goes through. N at least 3 outlasts Lambda's two
  retries, so the ticket ends in the task's failure queue. Ticket ids cannot contain ``#``,
  so drill items never collide with tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from desk_tickets.contract import RoutedTicket, TicketConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DRILL_PREFIX = "drill#"

# A task's own fields of the record, from the validated ticket.
Build = Callable[[RoutedTicket], dict[str, Any]]
Clock = Callable[[], datetime]


class FaultDrill(RuntimeError):
    """An armed fault drill failed this attempt on purpose (a transient failure: retried)."""

    def __init__(self, ticket_id: str, failures_left: int) -> None:
        super().__init__(
            f"fault drill: ticket {ticket_id!r} fails on purpose "
            f"({failures_left} more attempt(s) will fail)"
        )
        self.ticket_id = ticket_id
        self.failures_left = failures_left


class TaskStore(Protocol):
    def trip_drill(self, ticket_id: str) -> int | None:
        """If a drill with failures left is armed for the ticket, use one up and return how
        many are left after it; None when no drill fires."""
        ...

    def record(self, item: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """Put ``item`` unless the ticket is recorded already: (the stored item, whether new)."""
        ...

    def count_duplicate(self, ticket_id: str) -> None:
        """Note on the ticket's item that it was delivered again."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Mapping[str, Any]
    new: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_ticket(
    store: TaskStore,
    routed: RoutedTicket,
    build: Build,
    *,
    request_id: str,
    clock: Clock = _utc_now,
) -> Outcome:
    """Record ``routed`` in the task's table once; raises :class:`FaultDrill` when a drill
    fires and :class:`TicketConflict` when the id was recorded for another ticket."""
    ticket, routing = routed.ticket, routed.routing
    left = store.trip_drill(ticket.ticket_id)
    if left is not None:
        raise FaultDrill(ticket.ticket_id, left)
    item: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "type": ticket.ticket_type,
        "customer_id": ticket.customer_id,
        "customer_name": routing.customer_name,
        "customer_tier": routing.customer_tier,
        "priority": routing.priority,
        "routed_at": routing.routed_at,
        "router_request_id": routing.router_request_id,
        "recorded_at": timestamp(clock()),
        "request_id": request_id,
        **build(routed),
    }
    if ticket.submitted_at is not None:
        item["submitted_at"] = ticket.submitted_at
    stored, new = store.record(item)
    if not new and (stored.get("customer_id"), stored.get("type")) != (
        ticket.customer_id,
        ticket.ticket_type,
    ):
        raise TicketConflict(
            f"ticket {ticket.ticket_id!r} was recorded for customer "
            f"{stored.get('customer_id')!r} ({stored.get('type')}); this one is for "
            f"{ticket.customer_id!r} ({ticket.ticket_type})"
        )
    return Outcome(item=stored, new=new)


def summary(item: Mapping[str, Any]) -> dict[str, str]:
    """The JSON-safe result of a recording (what the idempotency record keeps)."""
    return {
        "ticket_id": str(item["ticket_id"]),
        "type": str(item["type"]),
        "priority": str(item["priority"]),
        "recorded_at": str(item["recorded_at"]),
        "request_id": str(item["request_id"]),
    }


# --- DynamoDB ------------------------------------------------------------------------------


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBTaskStore:
    """:class:`TaskStore` on the task's table (hash key ``ticket_id``)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def trip_drill(self, ticket_id: str) -> int | None:
        key = {"ticket_id": DRILL_PREFIX + ticket_id}
        # A read first: almost every ticket has no drill, and a read costs a quarter of a
        # failed conditional write.
        if "Item" not in self._table.get_item(Key=key, ConsistentRead=True):
            return None
        try:
            response = self._table.update_item(
                Key=key,
                UpdateExpression="ADD failures_left :minus_one, tripped :one",
                ConditionExpression="failures_left > :zero",
                ExpressionAttributeValues={":minus_one": -1, ":one": 1, ":zero": 0},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None  # used up: the ticket goes through
            raise
        return int(response["Attributes"]["failures_left"])  # type: ignore[arg-type]

    def record(self, item: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        try:
            self._table.put_item(
                Item=dict(item), ConditionExpression="attribute_not_exists(ticket_id)"
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            existing = self._table.get_item(
                Key={"ticket_id": item["ticket_id"]}, ConsistentRead=True
            ).get("Item")
            if existing is None:  # deleted in between: let Lambda's retry find out
                raise
            return existing, False
        return item, True

    def count_duplicate(self, ticket_id: str) -> None:
        try:
            self._table.update_item(
                Key={"ticket_id": ticket_id},
                UpdateExpression="ADD duplicate_deliveries :one",
                ConditionExpression="attribute_exists(ticket_id)",
                ExpressionAttributeValues={":one": 1},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

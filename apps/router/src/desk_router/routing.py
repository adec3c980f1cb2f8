"""Routing a ticket: validate it, look up its customer, pick its task, hand it off.

This is the pattern's "glorified switch statement": the ticket's ``type`` names the one task
function that handles it (:data:`ROUTES`), and nothing else does. On the way the router
enriches the ticket with what every task needs and the sender does not know: the customer's
name and tier (from the customers table) and a priority derived from the ticket and the
tier. Then it invokes that one task asynchronously (``InvocationType=Event``), so the
router finishes in milliseconds whatever the task does, and Lambda owns the task's
retries and failure record from there.

A ticket that cannot be routed raises a :class:`~desk_tickets.contract.TicketError`
(``InvalidTicket``, ``UnknownTicketType``, ``UnknownCustomer``): nothing is handed off, and
the router's invocation record, with the error, lands in its failure queue.

The customers table and the task functions are reached through ports (:class:`Customers`,
:class:`Dispatcher`) so the rules run in unit tests without AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from desk_tickets.contract import (
    PRIORITIES,
    TICKET_TYPES,
    TIERS,
    RoutedTicket,
    Routing,
    Ticket,
    UnknownCustomer,
    parse_ticket,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_lambda.client import LambdaClient

ACCEPTED = 202

# The switch: ticket type -> the environment variable naming its task function.
ROUTES: Mapping[str, str] = {
    "refund": "REFUNDS_FUNCTION_NAME",
    "incident": "INCIDENTS_FUNCTION_NAME",
    "feedback": "FEEDBACK_FUNCTION_NAME",
}
assert tuple(sorted(ROUTES)) == TICKET_TYPES, "every ticket type needs exactly one route"

# Refunds from this amount (any currency) need a person's approval, so they jump the queue.
LARGE_REFUND = Decimal("500")


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str
    tier: str


class Customers(Protocol):
    def find(self, customer_id: str) -> Customer | None:
        """The registered customer, or None."""
        ...


class Dispatcher(Protocol):
    def dispatch(self, route: str, routed: Mapping[str, Any]) -> str | None:
        """Hand ``routed`` to the task of ``route`` and return at once (its request id)."""
        ...


class DispatchRefused(RuntimeError):
    """Lambda did not queue the task's event (not a 202): a retry or a replay may succeed."""


@dataclass(frozen=True, slots=True)
class Dispatched:
    """The outcome of routing one ticket."""

    routed: RoutedTicket
    task_request_id: str | None


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _base_priority(ticket: Ticket) -> str:
    details = ticket.details
    if ticket.ticket_type == "incident":
        return PRIORITIES[int(details["severity"]) - 1]  # severity 1 = urgent ... 4 = low
    if ticket.ticket_type == "refund":
        return "high" if Decimal(details["amount"]) >= LARGE_REFUND else "normal"
    # Feedback: an unhappy customer gets an answer, praise is read when there is time.
    return "normal" if int(details["rating"]) <= 2 else "low"


def priority_of(ticket: Ticket, tier: str) -> str:
    """The ticket's own priority, one step higher for enterprise customers."""
    level = PRIORITIES.index(_base_priority(ticket))
    if tier == "enterprise":
        level = max(level - 1, 0)
    return PRIORITIES[level]


def route_ticket(
    event: object,
    *,
    customers: Customers,
    dispatcher: Dispatcher,
    request_id: str,
    clock: Clock = _utc_now,
) -> Dispatched:
    """Validate ``event``, enrich it and hand it to exactly one task.

    Raises ``InvalidTicket`` (naming the field), ``UnknownTicketType`` or ``UnknownCustomer``
    before anything is handed off. ``request_id`` (the router's invocation) is recorded in the
    routing, so a task's item points back at the routing that produced it.
    """
    ticket = parse_ticket(event)
    customer = customers.find(ticket.customer_id)
    if customer is None:
        raise UnknownCustomer(ticket.customer_id)
    routing = Routing(
        route=ticket.ticket_type,
        priority=priority_of(ticket, customer.tier),
        customer_name=customer.name,
        customer_tier=customer.tier,
        routed_at=timestamp(clock()),
        router_request_id=request_id,
    )
    routed = RoutedTicket(ticket=ticket, routing=routing)
    task_request_id = dispatcher.dispatch(routing.route, routed.to_json())
    return Dispatched(routed=routed, task_request_id=task_request_id)


# --- adapters ------------------------------------------------------------------------------


class DynamoDBCustomers:
    """:class:`Customers` on a table keyed by ``customer_id`` with ``name`` and ``tier``."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def find(self, customer_id: str) -> Customer | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"customer_id": {"S": customer_id}},
            ProjectionExpression="customer_id, #name, tier",
            ExpressionAttributeNames={"#name": "name"},
        ).get("Item")
        if item is None:
            return None
        tier = item.get("tier", {}).get("S", "standard")
        return Customer(
            customer_id=customer_id,
            name=item.get("name", {}).get("S", customer_id),
            # A tier this router does not know gets no special treatment.
            tier=tier if tier in TIERS else "standard",
        )


class LambdaDispatcher:
    """:class:`Dispatcher` through Lambda's Invoke API with ``InvocationType=Event``."""

    def __init__(self, client: LambdaClient, function_names: Mapping[str, str]) -> None:
        missing = sorted(set(ROUTES) - set(function_names))
        if missing:
            raise ValueError(f"no task function for route(s) {missing}")
        self._client = client
        self._function_names = dict(function_names)

    @classmethod
    def from_environment(cls, client: LambdaClient, environ: Mapping[str, str]) -> LambdaDispatcher:
        return cls(client, {route: environ[variable] for route, variable in ROUTES.items()})

    def dispatch(self, route: str, routed: Mapping[str, Any]) -> str | None:
        function_name = self._function_names[route]
        response = self._client.invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(dict(routed), separators=(",", ":")).encode(),
        )
        if response["StatusCode"] != ACCEPTED:
            raise DispatchRefused(
                f"Lambda answered {response['StatusCode']} instead of {ACCEPTED} for an Event "
                f"invoke of {function_name}"
            )
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        return str(request_id) if request_id else None

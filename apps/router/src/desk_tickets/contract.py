"""The ticket contract: what callers send the router, and what the router hands each task.

A ticket is an envelope (``ticket_id``, ``type``, ``customer_id``, optional ``submitted_at``)
around ``details`` whose shape depends on the type. The type decides the route: one task
function per type. The router validates the envelope and the type's details before routing,
so an event it cannot route fails there, with its reason, instead of deep in a task. The
router then adds ``routing`` (the enrichment: the route, the customer's name and tier, a
priority, when and by which invocation it was routed); a task accepts only a routed ticket
of its own type.

Every failure is a :class:`TicketError` subclass: the handlers raise them unchanged, so the
Lambda invocation record in the failure queue carries the class name as ``errorType`` and
the reason as ``errorMessage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common_layer.validation import SchemaViolation, validate

# Ticket and customer ids: no '#', so they never collide with the tables' drill items.
_IDENTIFIER: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
    "errorMessage": {
        "pattern": "must be 1 to 128 letters, digits, '.', '_', ':' or '-', "
        "starting with a letter or digit"
    },
}
_TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time", "maxLength": 40}
_TEXT: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2000,
    "pattern": r"\S",
    "errorMessage": {"pattern": "must not be blank"},
}

# The envelope every ticket shares; ``details`` is checked per type afterwards.
ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A support ticket",
    "type": "object",
    "properties": {
        "ticket_id": _IDENTIFIER,
        "type": {"type": "string", "minLength": 1, "maxLength": 64},
        "customer_id": _IDENTIFIER,
        "submitted_at": _TIMESTAMP,
        "details": {"type": "object"},
        # The router's own field: a task's failed ticket, sent to the router again, carries
        # it, and the router replaces it.
        "routing": {"type": "object"},
    },
    "required": ["ticket_id", "type", "customer_id", "details"],
    "additionalProperties": False,
}

DETAILS_SCHEMAS: dict[str, dict[str, Any]] = {
    "refund": {
        "type": "object",
        "properties": {
            "order_id": _IDENTIFIER,
            "amount": {
                "type": "string",
                "pattern": r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$",
                "errorMessage": {
                    "pattern": 'must be a decimal string with at most 2 decimals, like "25.00"'
                },
            },
            "currency": {
                "type": "string",
                "pattern": "^[A-Z]{3}$",
                "errorMessage": {"pattern": 'must be a three-letter ISO 4217 code, like "EUR"'},
            },
            "reason": _TEXT,
        },
        "required": ["order_id", "amount", "currency", "reason"],
        "additionalProperties": False,
    },
    "incident": {
        "type": "object",
        "properties": {
            "service": _IDENTIFIER,
            "severity": {"type": "integer", "minimum": 1, "maximum": 4},
            "summary": _TEXT,
        },
        "required": ["service", "severity", "summary"],
        "additionalProperties": False,
    },
    "feedback": {
        "type": "object",
        "properties": {
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "comment": {"type": "string", "maxLength": 2000},
        },
        "required": ["rating"],
        "additionalProperties": False,
    },
}

TICKET_TYPES = tuple(sorted(DETAILS_SCHEMAS))

TIERS = ("enterprise", "business", "standard")
PRIORITIES = ("urgent", "high", "normal", "low")

ROUTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "route": {"type": "string", "enum": list(TICKET_TYPES)},
        "priority": {"type": "string", "enum": list(PRIORITIES)},
        "customer_name": {"type": "string", "maxLength": 200},
        "customer_tier": {"type": "string", "enum": list(TIERS)},
        "routed_at": _TIMESTAMP,
        "router_request_id": {"type": "string", "maxLength": 100},
    },
    "required": [
        "route",
        "priority",
        "customer_name",
        "customer_tier",
        "routed_at",
        "router_request_id",
    ],
    "additionalProperties": False,
}


class TicketError(Exception):
    """A ticket cannot be processed as it is; retrying the same event cannot help.

    Lambda cannot tell this from a blip; the handler raises it anyway, so the invocation
    record in the failure queue names the class and the reason.
    """


class InvalidTicket(TicketError, ValueError):
    """The ticket breaks the contract; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownTicketType(TicketError):
    """No route exists for the ticket's type (a new kind of ticket, or a typo)."""

    def __init__(self, ticket_type: str) -> None:
        known = ", ".join(repr(t) for t in TICKET_TYPES)
        super().__init__(f"no route for ticket type {ticket_type!r}; known types: {known}")
        self.ticket_type = ticket_type


class UnknownCustomer(TicketError):
    """The customer is not registered, so the ticket cannot be enriched (nor prioritised)."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"customer {customer_id!r} is not registered")
        self.customer_id = customer_id


class MisroutedTicket(TicketError):
    """A task received a ticket of another type, or one the router never routed."""


class TicketConflict(TicketError):
    """The ticket id was used before for another ticket (customer, type or details differ)."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A validated ticket; ``details`` matches the schema of ``ticket_type``."""

    ticket_id: str
    ticket_type: str
    customer_id: str
    details: Mapping[str, Any]
    submitted_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ticket_id": self.ticket_id,
            "type": self.ticket_type,
            "customer_id": self.customer_id,
            "details": dict(self.details),
        }
        if self.submitted_at is not None:
            data["submitted_at"] = self.submitted_at
        return data


def _check(data: Mapping[str, Any], schema: Mapping[str, Any], prefix: str = "") -> None:
    try:
        validate(data, schema)
    except SchemaViolation as violation:
        field = violation.field or "body"
        message = violation.message
        if prefix:
            field = f"{prefix}.{field}" if violation.field else prefix
            message = message.replace("field '", f"field '{prefix}.", 1)
            if message.startswith("body "):
                message = f"field '{prefix}' " + message[len("body ") :]
        raise InvalidTicket(field, message) from None


def parse_ticket(data: object) -> Ticket:
    """The ticket in ``data``; raises :class:`InvalidTicket` naming the field, or
    :class:`UnknownTicketType` when its type has no route."""
    if not isinstance(data, Mapping):
        raise InvalidTicket("body", "body must be a JSON object")
    _check(data, ENVELOPE_SCHEMA)
    ticket_type = data["type"]
    schema = DETAILS_SCHEMAS.get(ticket_type)
    if schema is None:
        raise UnknownTicketType(ticket_type)
    _check(data["details"], schema, prefix="details")
    return Ticket(
        ticket_id=data["ticket_id"],
        ticket_type=ticket_type,
        customer_id=data["customer_id"],
        details=data["details"],
        submitted_at=data.get("submitted_at"),
    )


@dataclass(frozen=True, slots=True)
class Routing:
    """What the router adds to a ticket: where it goes, and the context the task needs."""

    route: str
    priority: str
    customer_name: str
    customer_tier: str
    routed_at: str
    router_request_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "route": self.route,
            "priority": self.priority,
            "customer_name": self.customer_name,
            "customer_tier": self.customer_tier,
            "routed_at": self.routed_at,
            "router_request_id": self.router_request_id,
        }


@dataclass(frozen=True, slots=True)
class RoutedTicket:
    ticket: Ticket
    routing: Routing

    def to_json(self) -> dict[str, Any]:
        return {**self.ticket.to_json(), "routing": self.routing.to_json()}


def parse_routed(data: object, expected_type: str) -> RoutedTicket:
    """A task's input: a routed ticket of ``expected_type`` (else :class:`MisroutedTicket`)."""
    ticket = parse_ticket(data)
    assert isinstance(data, Mapping)  # parse_ticket checked it
    routing = data.get("routing")
    if routing is None:
        raise MisroutedTicket(f"ticket {ticket.ticket_id!r} has no routing: send it to the router")
    _check(routing, ROUTING_SCHEMA, prefix="routing")
    if ticket.ticket_type != expected_type or routing["route"] != expected_type:
        raise MisroutedTicket(
            f"ticket {ticket.ticket_id!r} of type {ticket.ticket_type!r} (route "
            f"{routing['route']!r}) reached the {expected_type!r} task"
        )
    return RoutedTicket(ticket=ticket, routing=Routing(**routing))

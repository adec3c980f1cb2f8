"""The router's rules with fakes: one task per ticket, enrichment, nothing handed off on error."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from desk_router import routing
from desk_tickets.contract import InvalidTicket, UnknownCustomer, UnknownTicketType

NOW = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)


class FakeCustomers:
    def __init__(self, **tiers: str) -> None:
        self.tiers = tiers

    def find(self, customer_id: str) -> routing.Customer | None:
        tier = self.tiers.get(customer_id)
        return None if tier is None else routing.Customer(customer_id, f"{customer_id} Ltd", tier)


class FakeDispatcher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def dispatch(self, route: str, routed: Any) -> str | None:
        self.sent.append((route, dict(routed)))
        return f"task-request-{len(self.sent)}"


def _route(ticket: Any, dispatcher: FakeDispatcher, **tiers: str) -> routing.Dispatched:
    return routing.route_ticket(
        ticket,
        customers=FakeCustomers(**(tiers or {"cust-42": "business"})),
        dispatcher=dispatcher,
        request_id="router-request-1",
        clock=lambda: NOW,
    )


@pytest.mark.parametrize("ticket_type", ["refund", "incident", "feedback"])
def test_a_ticket_goes_to_exactly_the_task_of_its_type(ticket_type, make_ticket):
    dispatcher = FakeDispatcher()
    ticket = make_ticket(ticket_type)

    dispatched = _route(ticket, dispatcher)

    assert [route for route, _ in dispatcher.sent] == [ticket_type]
    (_, payload) = dispatcher.sent[0]
    assert {k: v for k, v in payload.items() if k != "routing"} == ticket
    assert payload["routing"] == {
        "route": ticket_type,
        "priority": dispatched.routed.routing.priority,
        "customer_name": "cust-42 Ltd",
        "customer_tier": "business",
        "routed_at": "2026-11-23T10:00:00.123Z",
        "router_request_id": "router-request-1",
    }
    assert dispatched.task_request_id == "task-request-1"


@pytest.mark.parametrize(
    ("ticket_type", "details", "tier", "priority"),
    [
        ("incident", {"service": "s", "severity": 1, "summary": "down"}, "standard", "urgent"),
        ("incident", {"service": "s", "severity": 3, "summary": "slow"}, "standard", "normal"),
        ("incident", {"service": "s", "severity": 3, "summary": "slow"}, "enterprise", "high"),
        ("incident", {"service": "s", "severity": 1, "summary": "down"}, "enterprise", "urgent"),
        ("refund", {"order_id": "o", "amount": "499.99", "currency": "EUR", "reason": "r"},
         "standard", "normal"),
        ("refund", {"order_id": "o", "amount": "500", "currency": "EUR", "reason": "r"},
         "standard", "high"),
        ("feedback", {"rating": 5}, "business", "low"),
        ("feedback", {"rating": 1}, "business", "normal"),
        ("feedback", {"rating": 1}, "enterprise", "high"),
    ],
)  # fmt: skip
def test_priority_follows_the_ticket_and_the_customers_tier(
    ticket_type, details, tier, priority, make_ticket
):
    dispatcher = FakeDispatcher()

    dispatched = _route(make_ticket(ticket_type, details=details), dispatcher, **{"cust-42": tier})

    assert dispatched.routed.routing.priority == priority


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"type": "warranty"}, UnknownTicketType),
        ({"details": {"service": "s"}}, InvalidTicket),
        ({"customer_id": "cust-unknown"}, UnknownCustomer),
    ],
)
def test_an_unroutable_ticket_raises_and_hands_nothing_off(overrides, error, make_ticket):
    dispatcher = FakeDispatcher()

    with pytest.raises(error):
        _route(make_ticket("incident", **overrides), dispatcher)

    assert dispatcher.sent == []


def test_a_replayed_routed_ticket_is_routed_afresh(make_routed):
    """A task's failed ticket sent to the router again carries the old routing: replaced."""
    dispatcher = FakeDispatcher()
    old = make_routed("incident", priority="low")

    _route(old, dispatcher, **{"cust-42": "enterprise"})

    (_, payload) = dispatcher.sent[0]
    assert payload["routing"]["customer_tier"] == "enterprise"
    assert payload["routing"]["router_request_id"] == "router-request-1"


class StubLambda:
    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {
            "StatusCode": self.status,
            "Payload": io.BytesIO(b""),
            "ResponseMetadata": {"RequestId": "task-req"},
        }


NAMES = {"refund": "fn-refunds", "incident": "fn-incidents", "feedback": "fn-feedback"}


def test_the_dispatcher_invokes_the_routes_function_with_event():
    client = StubLambda()
    dispatcher = routing.LambdaDispatcher(client, NAMES)

    request_id = dispatcher.dispatch("feedback", {"ticket_id": "t-1"})

    assert request_id == "task-req"
    (call,) = client.calls
    assert call["FunctionName"] == "fn-feedback"
    assert call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == {"ticket_id": "t-1"}


def test_the_dispatcher_raises_when_lambda_does_not_queue_the_event():
    dispatcher = routing.LambdaDispatcher(StubLambda(status=200), NAMES)

    with pytest.raises(routing.DispatchRefused, match="200 instead of 202"):
        dispatcher.dispatch("refund", {"ticket_id": "t-1"})


def test_the_dispatcher_needs_a_function_for_every_route():
    with pytest.raises(ValueError, match="feedback"):
        routing.LambdaDispatcher(StubLambda(), {"refund": "a", "incident": "b"})


def test_the_router_handler_reads_the_customer_and_invokes_one_task(
    router_handler, tables, make_ticket, new_context, monkeypatch
):
    tables.register("cust-42", "enterprise", name="Big Co")
    client = StubLambda()
    monkeypatch.setattr(router_handler._dispatcher, "_client", client)
    ticket = make_ticket("refund")
    context = new_context()

    answer = router_handler.lambda_handler(ticket, context)

    assert answer == {"route": "refund", "taskRequestId": "task-req"}
    (call,) = client.calls
    assert call["FunctionName"] == "router-RefundsTaskFunction"
    routed = json.loads(call["Payload"])
    assert routed["routing"]["customer_name"] == "Big Co"
    assert routed["routing"]["priority"] == "high"
    assert routed["routing"]["router_request_id"] == context.aws_request_id


def test_the_router_handler_raises_for_an_unknown_customer(
    router_handler, tables, make_ticket, new_context, monkeypatch
):
    client = StubLambda()
    monkeypatch.setattr(router_handler._dispatcher, "_client", client)

    with pytest.raises(UnknownCustomer, match="'cust-42' is not registered"):
        router_handler.lambda_handler(make_ticket("refund"), new_context())

    assert client.calls == []


def test_an_unknown_tier_in_the_customers_table_counts_as_standard(tables):
    tables.register("cust-7", "platinum")
    customers = routing.DynamoDBCustomers(tables.client, "router-customers-unit")

    found = customers.find("cust-7")

    assert found == routing.Customer("cust-7", "Example Ltd", "standard")
    assert customers.find("nobody") is None

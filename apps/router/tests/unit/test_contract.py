"""The ticket contract: what routes, and errors that name what to fix."""

from __future__ import annotations

import pytest
from desk_tickets.contract import (
    InvalidTicket,
    MisroutedTicket,
    UnknownTicketType,
    parse_routed,
    parse_ticket,
)


@pytest.mark.parametrize("ticket_type", ["refund", "incident", "feedback"])
def test_a_valid_ticket_of_each_type_parses(ticket_type, make_ticket):
    data = make_ticket(ticket_type)

    ticket = parse_ticket(data)

    assert ticket.ticket_type == ticket_type
    assert ticket.to_json() == data


def test_an_unknown_type_names_the_type_and_the_known_ones(make_ticket):
    with pytest.raises(UnknownTicketType, match=r"'warranty'.*'feedback', 'incident', 'refund'"):
        parse_ticket(make_ticket("warranty"))


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"ticket_id": None}, "ticket_id", "missing required field"),
        ({"ticket_id": "has#hash"}, "ticket_id", "letters, digits"),
        ({"colour": "red"}, "colour", "unexpected field 'colour'"),
        ({"details": "text"}, "details", "field 'details' must be an object"),
        (
            {"details": {"service": "s", "severity": 0, "summary": "x"}},
            "details.severity",
            "field 'details.severity' must be at least 1",
        ),
        (
            {"details": {"service": "s", "severity": 1, "summary": "  "}},
            "details.summary",
            "field 'details.summary' must not be blank",
        ),
        (
            {"details": {"service": "s", "severity": 1}},
            "details.summary",
            "missing required field 'details.summary'",
        ),
    ],
)
def test_an_invalid_ticket_names_the_field(overrides, field, words, make_ticket):
    with pytest.raises(InvalidTicket) as caught:
        parse_ticket(make_ticket("incident", **overrides))

    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_refund_amount_must_be_a_decimal_string(make_ticket):
    details = {"order_id": "o", "amount": 12.5, "currency": "EUR", "reason": "r"}
    with pytest.raises(InvalidTicket, match=r"details\.amount"):
        parse_ticket(make_ticket("refund", details=details))


def test_not_an_object_is_invalid():
    with pytest.raises(InvalidTicket, match="body must be a JSON object"):
        parse_ticket(["a", "list"])


def test_a_task_accepts_only_a_routed_ticket_of_its_own_type(make_ticket, make_routed):
    routed = parse_routed(make_routed("refund"), "refund")
    assert routed.routing.route == "refund"

    with pytest.raises(MisroutedTicket, match="reached the 'incident' task"):
        parse_routed(make_routed("refund"), "incident")
    with pytest.raises(MisroutedTicket, match="no routing"):
        parse_routed(make_ticket("refund"), "refund")


def test_a_routing_of_the_wrong_shape_is_invalid(make_routed):
    routed = make_routed("feedback")
    routed["routing"]["priority"] = "whenever"
    with pytest.raises(InvalidTicket) as caught:
        parse_routed(routed, "feedback")
    assert caught.value.field == "routing.priority"

"""The task handlers in process, DynamoDB played by moto: one item per ticket in the right
table, duplicates counted not repeated, drills and contract breaks raised for Lambda."""

from __future__ import annotations

from decimal import Decimal

import pytest
from desk_tickets.contract import MisroutedTicket, TicketConflict
from desk_tickets.tasks import FaultDrill


def test_a_refund_is_recorded_with_its_own_fields(task_handler, tables, make_routed, new_context):
    handler = task_handler("refund")
    ticket = make_routed("refund", details={
        "order_id": "ord-9", "amount": "500", "currency": "USD", "reason": "late"})  # fmt: skip
    context = new_context()

    result = handler.lambda_handler(ticket, context)

    assert result["ticket_id"] == ticket["ticket_id"]
    assert result["request_id"] == context.aws_request_id
    item = tables.ticket("refund", ticket["ticket_id"])
    assert item is not None
    assert Decimal(item["amount"]["N"]) == Decimal("500.00")
    assert item["status"]["S"] == "awaiting_approval"
    assert item["router_request_id"]["S"] == "router-request-1"
    assert item["customer_tier"]["S"] == "business"
    assert tables.ticket("incident", ticket["ticket_id"]) is None


def test_an_incident_gets_a_response_deadline_by_priority(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("incident")
    ticket = make_routed("incident", priority="urgent")

    handler.lambda_handler(ticket, new_context())

    item = tables.ticket("incident", ticket["ticket_id"])
    assert item is not None
    assert item["respond_within_minutes"] == {"N": "15"}
    assert item["respond_by"] == {"S": "2026-11-23T10:15:00.100Z"}
    assert item["status"] == {"S": "open"}


@pytest.mark.parametrize(
    ("rating", "sentiment", "follow_up"),
    [(5, "positive", False), (3, "neutral", False), (2, "negative", True)],
)
def test_feedback_is_filed_with_its_sentiment(
    task_handler, tables, make_routed, new_context, rating, sentiment, follow_up
):
    handler = task_handler("feedback")
    ticket = make_routed("feedback", details={"rating": rating})

    handler.lambda_handler(ticket, new_context())

    item = tables.ticket("feedback", ticket["ticket_id"])
    assert item is not None
    assert item["sentiment"] == {"S": sentiment}
    assert item["follow_up"] == {"BOOL": follow_up}
    assert "comment" not in item


def test_a_second_delivery_is_answered_from_the_record_and_counted(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("incident")
    ticket = make_routed("incident")
    first = handler.lambda_handler(ticket, new_context())

    again = handler.lambda_handler(
        {**ticket, "routing": {**ticket["routing"], "routed_at": "2026-11-23T10:05:00.000Z"}},
        new_context(),
    )

    assert again == first
    item = tables.ticket("incident", ticket["ticket_id"])
    assert item is not None
    assert item["duplicate_deliveries"] == {"N": "1"}
    assert item["request_id"] == {"S": first["request_id"]}
    (record,) = tables.idempotency_records()
    assert record["status"] == {"S": "COMPLETED"}


def test_a_repeat_after_the_idempotency_record_expired_is_stopped_by_the_table(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("feedback")
    ticket = make_routed("feedback")
    first = handler.lambda_handler(ticket, new_context())
    for record in tables.idempotency_records():
        tables.client.delete_item(TableName=tables.idempotency, Key={"id": record["id"]})

    again = handler.lambda_handler(ticket, new_context())

    assert again == first
    item = tables.ticket("feedback", ticket["ticket_id"])
    assert item is not None
    assert item["duplicate_deliveries"] == {"N": "1"}


def test_the_same_id_with_other_details_is_a_conflict(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("feedback")
    ticket = make_routed("feedback")
    handler.lambda_handler(ticket, new_context())

    with pytest.raises(TicketConflict, match="another customer, type or details"):
        handler.lambda_handler({**ticket, "details": {"rating": 1}}, new_context())


def test_an_armed_drill_fails_attempts_then_lets_the_ticket_through(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("refund")
    ticket = make_routed("refund")
    tables.arm_drill("refund", ticket["ticket_id"], failures=2)

    with pytest.raises(FaultDrill, match="1 more attempt"):
        handler.lambda_handler(ticket, new_context())
    with pytest.raises(FaultDrill, match="0 more attempt"):
        handler.lambda_handler(ticket, new_context())
    assert tables.ticket("refund", ticket["ticket_id"]) is None
    # A failed attempt leaves no idempotency record behind: the retry runs for real.
    assert tables.idempotency_records() == []

    handler.lambda_handler(ticket, new_context())

    assert tables.ticket("refund", ticket["ticket_id"]) is not None
    drill = tables.ticket("refund", f"drill#{ticket['ticket_id']}")
    assert drill is not None
    assert (drill["failures_left"], drill["tripped"]) == ({"N": "0"}, {"N": "2"})


def test_a_ticket_of_another_type_is_refused_and_writes_nothing(
    task_handler, tables, make_routed, new_context
):
    handler = task_handler("incident")
    ticket = make_routed("refund")

    with pytest.raises(MisroutedTicket):
        handler.lambda_handler(ticket, new_context())

    assert tables.ticket("incident", ticket["ticket_id"]) is None
    assert tables.ticket("refund", ticket["ticket_id"]) is None

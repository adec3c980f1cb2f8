"""The topic's message contract: what parses, and the words for what does not."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from notifier_contract.contract import (
    BillingEvent,
    ContractViolation,
    parse_event,
    sns_message_attributes,
)

ATTRIBUTES = {"eventType": "payment.failed", "severity": "critical", "source": "payments"}


def test_a_valid_event_parses(billing_event):
    event = parse_event(json.dumps(billing_event()), ATTRIBUTES)

    assert event == BillingEvent(
        event_id="payments-000123",
        event_type="payment.failed",
        severity="critical",
        source="payments",
        occurred_at=datetime(2026, 11, 22, 10, 15, tzinfo=UTC),
        summary="card declined",
        data={"customerId": "acme", "amountCents": 250000, "currency": "EUR"},
    )


def test_summary_and_data_are_optional(billing_event):
    event = parse_event(json.dumps(billing_event(summary=None, data=None)), ATTRIBUTES)

    assert event.summary is None
    assert event.data == {}


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        ({"eventId": None}, "missing required field 'eventId'", "eventId"),
        ({"severity": "urgent"}, "field 'severity' must be one of", "severity"),
        (
            {"eventType": "PaymentFailed"},
            "field 'eventType' must be a dotted lower-case name such as 'payment.failed'",
            "eventType",
        ),
        ({"eventId": "has spaces"}, "field 'eventId' must contain only letters", "eventId"),
        ({"colour": "red"}, "unexpected field 'colour'", "colour"),
        ({"data": [1, 2]}, "field 'data' must be an object", "data"),
        (
            {"occurredAt": "yesterday"},
            "field 'occurredAt' must be an ISO 8601 time such as 2026-11-22T10:15:00Z",
            "occurredAt",
        ),
        (
            {"occurredAt": "2026-11-22T10:15:00"},
            "field 'occurredAt' must include a time zone (Z or +hh:mm)",
            "occurredAt",
        ),
    ],
)
def test_a_field_that_breaks_the_schema_is_named(billing_event, changes, message, field):
    with pytest.raises(ContractViolation) as caught:
        parse_event(json.dumps(billing_event(**changes)), ATTRIBUTES)

    assert str(caught.value).startswith(message)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[1, 2]", "body must be a JSON object"),
    ],
)
def test_a_body_that_is_no_json_object_is_rejected(body, message):
    with pytest.raises(ContractViolation) as caught:
        parse_event(body, ATTRIBUTES)

    assert str(caught.value) == message


def test_every_routing_attribute_is_required(billing_event):
    attributes = {"eventType": "payment.failed", "severity": "critical"}

    with pytest.raises(ContractViolation) as caught:
        parse_event(json.dumps(billing_event()), attributes)

    assert str(caught.value) == (
        "message attribute 'source' is required (a String equal to the body's 'source')"
    )
    assert caught.value.field == "source"


def test_attributes_that_disagree_with_the_body_are_rejected(billing_event):
    # A filter admits messages on their attributes: a lying attribute misroutes the event.
    body = json.dumps(billing_event(severity="info"))

    with pytest.raises(ContractViolation) as caught:
        parse_event(body, ATTRIBUTES)

    assert (
        str(caught.value) == "message attribute 'severity' is 'critical' but the body says 'info'"
    )


def test_a_publisher_gets_the_attributes_from_the_event(billing_event):
    event = parse_event(json.dumps(billing_event()), ATTRIBUTES)

    assert sns_message_attributes(event) == {
        name: {"DataType": "String", "StringValue": value} for name, value in ATTRIBUTES.items()
    }

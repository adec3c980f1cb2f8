"""The usage rules (usage_consumer.usage) against fakes of the store and the DLQ: no AWS."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from usage_consumer import usage
from usage_consumer.usage import InvalidUsageRecord, Outcome

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def test_a_valid_message_becomes_a_usage_record(message_of, valid_body):
    record = usage.parse_record(message_of(valid_body), now=NOW)

    assert record == usage.UsageRecord(
        producer="billing",
        record_id="rec-0001",
        customer_id="acme",
        meter="api-calls",
        quantity=3,
        occurred_at=datetime(2026, 11, 22, 10, 15, tzinfo=UTC),
    )
    assert record.usage_date == date(2026, 11, 22)


def test_the_day_is_the_utc_day_of_the_timestamp(message_of, valid_body):
    # 23:30 at UTC-2 is already 01:30 the next day in UTC.
    body = {**valid_body, "occurred_at": "2026-11-22T23:30:00-02:00"}

    record = usage.parse_record(message_of(body), now=NOW)

    assert record.occurred_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert record.usage_date == date(2026, 11, 23)


def test_a_whole_float_quantity_is_an_integer(message_of, valid_body):
    record = usage.parse_record(message_of({**valid_body, "quantity": 4.0}), now=NOW)

    assert record.quantity == 4
    assert isinstance(record.quantity, int)


@pytest.mark.parametrize("version", ["1", " 1 "])
@pytest.mark.parametrize("data_type", ["String", "Number"])
def test_schema_version_1_is_accepted(message_of, string_attribute, valid_body, version, data_type):
    attributes = {
        "producer": string_attribute("billing"),
        "schema_version": string_attribute(version, data_type),
    }

    assert usage.parse_record(message_of(valid_body, attributes=attributes), now=NOW)


def test_a_custom_string_type_counts_as_string(message_of, string_attribute, valid_body):
    attributes = {"producer": string_attribute("billing", "String.service")}

    record = usage.parse_record(message_of(valid_body, attributes=attributes), now=NOW)

    assert record.producer == "billing"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quantity": "3"}, "quantity", "field 'quantity' must be an integer"),
        ({"quantity": True}, "quantity", "field 'quantity' must be an integer"),
        ({"quantity": 2.5}, "quantity", "field 'quantity' must be an integer"),
        ({"quantity": 0}, "quantity", "field 'quantity' must be at least 1"),
        ({"quantity": 10**9 + 1}, "quantity", "field 'quantity' must be at most 1000000000"),
        ({"customer_id": ""}, "customer_id", "field 'customer_id' must not be empty"),
        ({"customer_id": "acme corp"}, "customer_id", "field 'customer_id' must match"),
        ({"meter": "API-Calls"}, "meter", "field 'meter' must match"),
        ({"record_id": "a b"}, "record_id", "must be printable ASCII without spaces"),
        ({"record_id": "x" * 129}, "record_id", "at most 128 characters"),
        ({"occurred_at": "yesterday"}, "occurred_at", "field 'occurred_at' must be a valid"),
        ({"occurred_at": "2026-11-23T10:15:00"}, "occurred_at", "must be a valid date-time"),
        ({"occurred_at": "2026-02-31T10:15:00Z"}, "occurred_at", "must be a valid date-time"),
        ({"colour": "red"}, "colour", "unexpected field 'colour'"),
    ],
)
def test_invalid_fields_are_named(message_of, valid_body, change, field, message):
    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of({**valid_body, **change}), now=NOW)

    assert raised.value.field == field
    assert message in str(raised.value)


def test_a_missing_field_is_named(message_of, valid_body):
    del valid_body["meter"]

    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of(valid_body), now=NOW)

    assert str(raised.value) == "missing required field 'meter'"
    assert raised.value.field == "meter"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"record_id": "r1", ', "body is not valid JSON"),
        ("", "body is not valid JSON"),
        ("[1, 2]", "body must be a JSON object"),
        ('"just text"', "body must be a JSON object"),
    ],
)
def test_a_body_that_is_no_json_object_is_rejected(message_of, body, message):
    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of(body), now=NOW)

    assert str(raised.value).startswith(message)
    assert raised.value.field is None


def test_a_record_from_the_future_is_rejected_beyond_the_tolerance(message_of, valid_body):
    soon = (NOW + usage.FUTURE_TOLERANCE).isoformat()
    later = (NOW + usage.FUTURE_TOLERANCE + timedelta(seconds=1)).isoformat()

    assert usage.parse_record(message_of({**valid_body, "occurred_at": soon}), now=NOW)
    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of({**valid_body, "occurred_at": later}), now=NOW)
    assert raised.value.field == "occurred_at"
    assert "in the future" in str(raised.value)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "message attribute 'producer' is required"),
        ({"producer": ("billing", "Number")}, "message attribute 'producer' must be a String"),
        ({"producer": ("bad name!", "String")}, "message attribute 'producer' must be 1-64"),
        ({"producer": ("", "String")}, "message attribute 'producer' must be 1-64"),
        ({"producer": ("billing\n", "String")}, "message attribute 'producer' must be 1-64"),
        ({"producer": ("b" * 65, "String")}, "message attribute 'producer' must be 1-64"),
    ],
)
def test_the_producer_attribute_is_required(
    message_of, string_attribute, valid_body, attributes, message
):
    raw = {name: string_attribute(value, kind) for name, (value, kind) in attributes.items()}

    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of(valid_body, attributes=raw), now=NOW)

    assert str(raised.value).startswith(message)
    assert raised.value.field == "producer"


def test_a_binary_producer_attribute_is_not_a_string(message_of, binary_attribute, valid_body):
    with pytest.raises(InvalidUsageRecord, match="must be a String"):
        usage.parse_record(
            message_of(valid_body, attributes={"producer": binary_attribute(b"billing")}),
            now=NOW,
        )


def test_an_unknown_schema_version_is_rejected(message_of, string_attribute, valid_body):
    attributes = {
        "producer": string_attribute("billing"),
        "schema_version": string_attribute("2"),
    }

    with pytest.raises(InvalidUsageRecord) as raised:
        usage.parse_record(message_of(valid_body, attributes=attributes), now=NOW)

    assert str(raised.value) == "message attribute 'schema_version' must be one of 1"


def test_event_record_is_read_with_attributes_and_receive_count(
    sqs_record, string_attribute, binary_attribute
):
    raw = sqs_record(
        "payload",
        attributes={"producer": string_attribute("billing"), "blob": binary_attribute(b"\x00\x01")},
        message_id="m-1",
        receive_count=3,
    )

    message = usage.QueueMessage.from_event_record(raw)

    assert message.message_id == "m-1"
    assert message.body == "payload"
    assert message.receive_count == 3
    assert message.source == raw["eventSourceARN"]
    assert message.attributes["producer"] == usage.MessageAttribute("String", "billing")
    assert message.attributes["blob"] == usage.MessageAttribute("Binary", None, b"\x00\x01")


# --- consume: store once, or dead-letter with the reason ---------------------------------


def test_consume_stores_a_valid_record(message_of, valid_body, store, dead_letters):
    consumed = usage.consume(message_of(valid_body), store, dead_letters, clock=clock)

    assert consumed.outcome is Outcome.STORED
    assert consumed.record is not None
    assert consumed.record.record_id == "rec-0001"
    assert store.totals == {("acme", "api-calls", "2026-11-22"): (3, 1)}
    assert dead_letters.parked == []


def test_consume_adds_a_repeated_record_once(message_of, valid_body, store, dead_letters):
    # Two sends of the same record are two SQS messages with different message ids.
    first = usage.consume(message_of(valid_body), store, dead_letters, clock=clock)
    again = usage.consume(message_of(valid_body), store, dead_letters, clock=clock)
    other = usage.consume(
        message_of({**valid_body, "record_id": "rec-0002", "quantity": 4}),
        store,
        dead_letters,
        clock=clock,
    )

    assert [first.outcome, again.outcome, other.outcome] == [
        Outcome.STORED,
        Outcome.DUPLICATE,
        Outcome.STORED,
    ]
    assert store.totals == {("acme", "api-calls", "2026-11-22"): (7, 2)}
    assert store.duplicates == {("billing", "rec-0001"): 1}


def test_the_same_record_id_from_another_producer_is_another_record(
    message_of, string_attribute, valid_body, store, dead_letters
):
    other_producer = {"producer": string_attribute("shipping")}

    usage.consume(message_of(valid_body), store, dead_letters, clock=clock)
    consumed = usage.consume(
        message_of(valid_body, attributes=other_producer), store, dead_letters, clock=clock
    )

    assert consumed.outcome is Outcome.STORED
    assert store.totals == {("acme", "api-calls", "2026-11-22"): (6, 2)}


def test_consume_dead_letters_an_invalid_message_with_the_reason(
    message_of, valid_body, store, dead_letters
):
    message = message_of({**valid_body, "quantity": -1}, receive_count=2)

    consumed = usage.consume(message, store, dead_letters, clock=clock)

    assert consumed.outcome is Outcome.REJECTED
    assert consumed.reason is not None
    assert consumed.reason.field == "quantity"
    assert dead_letters.parked == [(message, consumed.reason)]
    assert store.ledger == {}


def test_a_store_failure_propagates_and_parks_nothing(message_of, valid_body, store, dead_letters):
    store.fail_on.add("rec-0001")

    with pytest.raises(ConnectionError):
        usage.consume(message_of(valid_body), store, dead_letters, clock=clock)

    assert dead_letters.parked == []


def test_a_dead_letter_failure_propagates(message_of, store):
    class BrokenDeadLetters:
        def park(self, message: usage.QueueMessage, reason: InvalidUsageRecord) -> None:
            raise ConnectionError("SQS unreachable")

    with pytest.raises(ConnectionError):
        usage.consume(message_of(json.dumps([])), store, BrokenDeadLetters(), clock=clock)

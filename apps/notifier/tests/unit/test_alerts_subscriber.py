"""The alerts subscriber's rules against fakes, and its DLQ on moto's SQS."""

from __future__ import annotations

import json

import pytest
from notifier_alerts.adapters import SqsDeadLetterQueue
from notifier_alerts.alerts import Outcome, QueueMessage, consume
from notifier_contract.contract import ContractViolation


def test_a_message_reads_its_string_and_binary_attributes(sqs_record):
    record = sqs_record(binary_attributes={"trace": b"\x00\x01"}, receive_count=3)

    message = QueueMessage.from_event_record(record)

    assert message.message_id == record["messageId"]
    assert message.receive_count == 3
    assert message.attributes["trace"] == {"DataType": "Binary", "BinaryValue": b"\x00\x01"}
    assert message.string_attributes() == {
        "eventType": "payment.failed",
        "severity": "critical",
        "source": "payments",
    }


def test_an_alert_is_recorded_once(sqs_record, store, dead_letters):
    first = QueueMessage.from_event_record(sqs_record())
    again = QueueMessage.from_event_record(sqs_record())

    assert consume(first, store, dead_letters).outcome is Outcome.RECORDED
    assert consume(again, store, dead_letters).outcome is Outcome.DUPLICATE

    item = store.items["payments-000123"]
    assert item["messageId"] == first.message_id
    assert item["severity"] == "critical"
    assert item["occurredAt"] == "2026-11-22T10:15:00+00:00"
    assert json.loads(item["data"]) == {
        "customerId": "acme",
        "amountCents": 250000,
        "currency": "EUR",
    }
    assert item["summary"] == "card declined"
    assert store.deliveries["payments-000123"] == 2
    assert dead_letters.parked == []


def test_an_alert_that_breaks_the_contract_is_parked_not_recorded(
    sqs_record, billing_event, store, dead_letters
):
    message = QueueMessage.from_event_record(sqs_record(billing_event(severity="loud")))

    consumed = consume(message, store, dead_letters)

    assert consumed.outcome is Outcome.REJECTED
    assert str(consumed.reason).startswith("field 'severity' must be one of")
    assert dead_letters.parked == [(message, consumed.reason)]
    assert store.items == {}


def test_a_store_failure_propagates_for_a_retry(sqs_record, dead_letters):
    class BrokenStore:
        def put_once(self, item: object) -> bool:
            raise ConnectionError("table unreachable")

    message = QueueMessage.from_event_record(sqs_record())

    with pytest.raises(ConnectionError):
        consume(message, BrokenStore(), dead_letters)
    assert dead_letters.parked == []


def test_the_dlq_gets_the_reason_the_body_as_received_and_the_attributes(
    sqs, dlq_url, dlq_messages, sqs_record
):
    message = QueueMessage.from_event_record(
        sqs_record("not json", attributes={"severity": "warning"})
    )
    reason = ContractViolation("body is not valid JSON: Expecting value")

    SqsDeadLetterQueue(sqs, dlq_url, source="notifier_alerts").park(message, reason)

    (parked,) = dlq_messages()
    envelope = json.loads(parked["Body"])
    assert envelope["kind"] == "common_layer.dlq-envelope/1"
    assert envelope["error"] == {
        "type": "ContractViolation",
        "message": "body is not valid JSON: Expecting value",
    }
    assert envelope["payload"] == "not json"
    assert envelope["source"] == "notifier_alerts"
    assert envelope["messageId"] == message.message_id
    assert parked["MessageAttributes"]["severity"] == {
        "DataType": "String",
        "StringValue": "warning",
    }

"""The payments auditor's rules against fakes, and its DLQ on moto's SQS."""

from __future__ import annotations

import json

import pytest
from notifier_contract.contract import ContractViolation
from notifier_payments_audit.adapters import SqsDeadLetterQueue
from notifier_payments_audit.audit import Notification, Outcome, audit, payment_event


def notification_of(event: dict) -> Notification:
    (notification,) = Notification.from_event(event)
    return notification


def test_a_notification_reads_the_sns_record(sns_event):
    event = sns_event()

    notification = notification_of(event)

    sns = event["Records"][0]["Sns"]
    assert notification.message_id == sns["MessageId"]
    assert notification.topic_arn == sns["TopicArn"]
    assert notification.message == sns["Message"]
    assert notification.attributes == {
        "eventType": "payment.failed",
        "severity": "critical",
        "source": "payments",
    }


def test_a_large_payment_is_audited_once(sns_event, store, dead_letters):
    assert audit(notification_of(sns_event()), store, dead_letters).outcome is Outcome.RECORDED
    assert audit(notification_of(sns_event()), store, dead_letters).outcome is Outcome.DUPLICATE

    item = store.items["payments-000123"]
    assert (item["customerId"], item["amountCents"], item["currency"]) == ("acme", 250000, "EUR")
    assert dead_letters.parked == []


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        (
            {"eventType": "invoice.created"},
            "eventType 'invoice.created' is not a payment event",
            "eventType",
        ),
        (
            {"data": {"customerId": "acme", "amountCents": 250000}},
            "missing required field 'data.currency'",
            "data.currency",
        ),
        (
            {"data": {"customerId": "acme", "amountCents": 2.5, "currency": "EUR"}},
            "field 'data.amountCents' must be an integer",
            "data.amountCents",
        ),
        (
            {"data": {"customerId": "acme", "amountCents": 250000, "currency": "euro"}},
            "field 'data.currency' must be an ISO 4217 code such as 'EUR'",
            "data.currency",
        ),
    ],
)
def test_what_the_auditor_needs_beyond_the_contract_is_named(
    sns_event, billing_event, changes, message, field
):
    with pytest.raises(ContractViolation) as caught:
        payment_event(notification_of(sns_event(billing_event(**changes))))

    assert str(caught.value) == message
    assert caught.value.field == field


def test_a_payment_that_breaks_the_contract_is_parked_not_audited(
    sns_event, billing_event, store, dead_letters
):
    notification = notification_of(sns_event(billing_event(), attributes={"severity": "critical"}))

    audited = audit(notification, store, dead_letters)

    assert audited.outcome is Outcome.REJECTED
    assert str(audited.reason).startswith("message attribute 'eventType' is required")
    assert dead_letters.parked == [(notification, audited.reason)]
    assert store.items == {}


def test_the_dlq_gets_the_reason_and_what_it_takes_to_publish_again(
    sqs, dlq_url, dlq_messages, sns_event
):
    notification = notification_of(sns_event())

    SqsDeadLetterQueue(sqs, dlq_url).park(notification, ContractViolation("no good"))

    (parked,) = dlq_messages()
    envelope = json.loads(parked["Body"])
    assert envelope["error"] == {"type": "ContractViolation", "message": "no good"}
    assert envelope["source"] == notification.topic_arn
    assert envelope["payload"] == {
        "MessageId": notification.message_id,
        "TopicArn": notification.topic_arn,
        "Message": notification.message,
        "MessageAttributes": notification.raw["MessageAttributes"],
    }

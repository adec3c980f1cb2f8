"""The payments audit handler in process, on moto's DynamoDB and SQS."""

from __future__ import annotations

import json

import pytest
from notifier_contract.storage import FaultDrill


def test_a_large_payment_is_recorded(audit_handler, table, sns_event, context):
    result = audit_handler.lambda_handler(sns_event(), context)

    assert result == {"recorded": 1, "duplicate": 0, "rejected": 0}
    item = table.get_item(Key={"eventId": "payments-000123"})["Item"]
    assert item["amountCents"] == 250000
    assert item["deliveries"] == 1


def test_a_violation_is_parked_and_the_invocation_succeeds(
    audit_handler, table, sns_event, billing_event, dlq_messages, context
):
    # Succeeding matters: a raised error would make Lambda retry what cannot succeed.
    event = sns_event(billing_event(data={"customerId": "acme", "amountCents": 250000}))

    result = audit_handler.lambda_handler(event, context)

    assert result == {"recorded": 0, "duplicate": 0, "rejected": 1}
    (parked,) = dlq_messages()
    assert (
        json.loads(parked["Body"])["error"]["message"] == "missing required field 'data.currency'"
    )
    assert "Item" not in table.get_item(Key={"eventId": "payments-000123"})


def test_a_transient_failure_raises_so_lambda_retries(audit_handler, table, sns_event, context):
    table.put_item(Item={"eventId": "payments-000123", "faultDrill": "armed"})

    with pytest.raises(FaultDrill):
        audit_handler.lambda_handler(sns_event(), context)

"""Record-once on moto's DynamoDB: the subscribers' idempotency and the fault drill."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from notifier_contract.storage import FaultDrill, RecordOnceTable


def test_the_first_delivery_is_recorded_and_the_next_ones_only_counted(table):
    store = RecordOnceTable(table)
    item = {"eventId": "payments-1", "severity": "critical"}

    assert store.put_once(item) is True
    assert store.put_once({**item, "severity": "info"}) is False
    assert store.put_once(item) is False

    stored = table.get_item(Key={"eventId": "payments-1"})["Item"]
    assert stored["severity"] == "critical"  # the first delivery's content is kept
    assert stored["deliveries"] == 3


def test_an_armed_fault_drill_fails_every_delivery_and_records_nothing(table):
    table.put_item(Item={"eventId": "payments-2", "faultDrill": "armed"})
    store = RecordOnceTable(table)

    for _ in range(2):
        with pytest.raises(FaultDrill, match="fault drill armed for event payments-2"):
            store.put_once({"eventId": "payments-2", "severity": "critical"})

    assert table.get_item(Key={"eventId": "payments-2"})["Item"] == {
        "eventId": "payments-2",
        "faultDrill": "armed",
    }


def test_other_errors_propagate(aws):
    missing = boto3.resource("dynamodb").Table("no-such-table")

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        RecordOnceTable(missing).put_once({"eventId": "payments-3"})

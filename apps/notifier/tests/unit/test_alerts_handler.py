"""The alerts handler in process, on moto's DynamoDB and SQS."""

from __future__ import annotations

import json


def test_a_batch_is_recorded_parked_or_retried_message_by_message(
    alerts_handler, table, sqs_record, billing_event, dlq_messages, context
):
    table.put_item(Item={"eventId": "drill-1", "faultDrill": "armed"})
    good = sqs_record(billing_event(eventId="alert-1"))
    duplicate = sqs_record(billing_event(eventId="alert-1"))
    bad = sqs_record(billing_event(eventId="alert-2", occurredAt="soon"))
    drill = sqs_record(billing_event(eventId="drill-1"))

    response = alerts_handler.lambda_handler({"Records": [good, duplicate, bad, drill]}, context)

    # Only the drill (a transient failure) is handed back to SQS for another receive.
    assert response == {"batchItemFailures": [{"itemIdentifier": drill["messageId"]}]}
    item = table.get_item(Key={"eventId": "alert-1"})["Item"]
    assert item["deliveries"] == 2
    assert item["messageId"] == good["messageId"]
    assert "Item" not in table.get_item(Key={"eventId": "alert-2"})
    (parked,) = dlq_messages()
    assert json.loads(parked["Body"])["error"]["message"].startswith(
        "field 'occurredAt' must be an ISO 8601 time"
    )

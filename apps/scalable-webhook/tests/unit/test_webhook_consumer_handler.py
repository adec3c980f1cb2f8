"""The consumer handler in process: SQS events in, partial batch responses out, the DLQ
played by moto SQS and the database by an in-memory store."""

from __future__ import annotations

import json
from pathlib import Path

from common_layer.failures import ENVELOPE_KIND, unwrap_envelope

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def dead_lettered(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_good_messages_are_stored_and_nothing_is_reported(
    consumer_module, make_message, make_record, lambda_context, store, sqs, dead_letter_queue_url
):
    messages = [make_message() for _ in range(2)]

    response = consumer_module.lambda_handler(
        {"Records": [make_record(body, event_id=eid) for eid, body in messages]}, lambda_context
    )

    assert response == {"batchItemFailures": []}
    assert set(store.rows) == {eid for eid, _ in messages}
    assert dead_lettered(sqs, dead_letter_queue_url) == []


def test_poison_is_dead_lettered_in_an_envelope_with_the_reason(
    consumer_module, make_message, make_record, lambda_context, store, sqs, dead_letter_queue_url
):
    event_id, poison = make_message(
        webhook={"type": "a", "occurred_at": "2999-01-01T00:00:00Z", "data": {}}
    )
    record = make_record(poison, event_id=event_id)

    response = consumer_module.lambda_handler({"Records": [record]}, lambda_context)

    assert response == {"batchItemFailures": []}
    assert store.rows == {}
    [envelope] = dead_lettered(sqs, dead_letter_queue_url)
    assert envelope["kind"] == ENVELOPE_KIND
    assert envelope["error"]["type"] == "Unprocessable"
    assert "'occurred_at'" in envelope["error"]["message"]
    assert envelope["attempt"] == 1
    assert envelope["source"] == record["eventSourceARN"]
    # Redrive hands the exact original message back to the queue.
    assert unwrap_envelope(json.dumps(envelope)) == poison


def test_a_message_that_cannot_be_stored_now_is_reported_for_retry(
    consumer_module, make_message, make_record, lambda_context, store, sqs, dead_letter_queue_url
):
    failing_id, failing = make_message()
    good_id, good = make_message()
    store.fail_insert_for = {failing_id}
    records = [make_record(failing, event_id=failing_id), make_record(good, event_id=good_id)]

    response = consumer_module.lambda_handler({"Records": records}, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert list(store.rows) == [good_id]
    # Not dead-lettered by the function: SQS redrives it after maxReceiveCount receives.
    assert dead_lettered(sqs, dead_letter_queue_url) == []


def test_sample_event_stores_one_and_dead_letters_the_other(
    consumer_module, lambda_context, store, sqs, dead_letter_queue_url
):
    event = json.loads((EVENTS_DIR / "consume_batch.json").read_text())

    response = consumer_module.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    assert list(store.rows) == [event["Records"][0]["messageAttributes"]["event_id"]["stringValue"]]
    [envelope] = dead_lettered(sqs, dead_letter_queue_url)
    assert "future" in envelope["error"]["message"]

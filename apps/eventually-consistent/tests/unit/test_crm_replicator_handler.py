"""The replicator handler: a stream event in, the copy written, the poison parked on SQS."""

from __future__ import annotations

import json


def test_a_batch_is_replicated_and_a_poison_record_parked_on_the_queue(
    replicator_module, model, sqs, dead_letter_queue_url, make_record, live_image, lambda_context
):
    poison = make_record("INSERT", "bad", new={**live_image(1), "plan": "gold"})
    event = {
        "Records": [
            make_record("INSERT", "acme", new=live_image(1)),
            poison,
            make_record("MODIFY", "acme", new=live_image(2)),
        ]
    }
    tally = replicator_module.lambda_handler(event, lambda_context)
    assert tally["records"] == 3
    assert tally["applied"] == 1
    assert tally["superseded"] == 1
    assert tally["parked"] == 1
    assert model.rows["acme"].version == 2

    messages = sqs.receive_message(QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10)
    [message] = messages["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["error"]["type"] == "Unmappable"
    assert "'plan' must be one of" in envelope["error"]["message"]
    assert envelope["payload"] == poison
    assert envelope["source"] == poison["eventSourceARN"]


def test_an_event_without_records_does_nothing(replicator_module, model, lambda_context):
    assert replicator_module.lambda_handler({}, lambda_context)["records"] == 0
    assert model.migrations == 0

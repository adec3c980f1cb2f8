"""The trigger on (moto) AWS: PublishBatch to the topic, parking lines, the handler."""

from __future__ import annotations

import json
from typing import Any

import pytest
from orderfeed_contract.events import OrderEvent
from orderfeed_trigger import adapters, feed


def event(n: int, **data: Any) -> OrderEvent:
    return OrderEvent(
        event_id=str(n),
        event_type="order.placed",
        order_id=f"ord-{n}",
        occurred_at="2026-11-23T10:15:00Z",
        data=data,
    )


@pytest.fixture
def topic(aws) -> tuple[str, str]:
    """A topic with a raw-delivery SQS subscription; returns (topic ARN, queue URL)."""
    sns, sqs = aws("sns"), aws("sqs")
    arn = sns.create_topic(Name="order-events")["TopicArn"]
    url = sqs.create_queue(QueueName="all-order-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return arn, url


def test_publishes_every_event_in_batches_of_ten(aws, topic, drain):
    arn, url = topic
    calls: list[int] = []
    client = aws("sns")
    original = client.publish_batch

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["PublishBatchRequestEntries"]))
        return original(**kwargs)

    client.publish_batch = counting
    events = [event(n, total=n) for n in range(23)]

    refused = adapters.SnsPublisher(client, arn).publish(events)

    assert refused == []
    assert calls == [10, 10, 3]
    messages = drain(aws("sqs"), url)
    assert sorted(json.loads(m["Body"])["order_id"] for m in messages) == sorted(
        e.order_id for e in events
    )
    attributes = {m["MessageAttributes"]["order_total"]["StringValue"] for m in messages}
    assert attributes == {str(n) for n in range(23)}


def test_a_batch_never_exceeds_the_sns_size_limit():
    big = adapters._entry(0, event(0, notes="x" * 100_000))
    chunks = list(adapters._chunks([big, big, big, adapters._entry(1, event(1))]))

    assert [len(chunk) for chunk in chunks] == [2, 2]
    assert all(sum(adapters._size(e) for e in c) <= feed.MAX_MESSAGE_BYTES for c in chunks)


class FlakySns:
    """PublishBatch that fails some entries: SenderFault ones always, others ``flaky`` times."""

    def __init__(self, flaky: int, sender_fault: frozenset[str] = frozenset()) -> None:
        self.flaky = flaky
        self.sender_fault = sender_fault
        self.calls: list[list[str]] = []

    def publish_batch(self, **request: Any) -> dict[str, Any]:
        ids = [entry["Id"] for entry in request["PublishBatchRequestEntries"]]
        self.calls.append(ids)
        failed = [
            {"Id": i, "Code": "InvalidParameter", "Message": "bad", "SenderFault": True}
            for i in ids
            if i in self.sender_fault
        ]
        if self.flaky:
            self.flaky -= 1
            failed += (
                [{"Id": ids[-1], "Code": "InternalError", "SenderFault": False}]
                if ids[-1] not in self.sender_fault
                else []
            )
        return {"Successful": [], "Failed": failed}


def test_entries_sns_failed_on_its_side_are_sent_again():
    sns = FlakySns(flaky=2)

    refused = adapters.SnsPublisher(sns, "arn:topic").publish([event(0), event(1)])

    assert refused == []
    assert sns.calls == [["e0", "e1"], ["e1"], ["e1"]]


def test_entries_sns_keeps_failing_fail_the_invocation():
    sns = FlakySns(flaky=99)

    with pytest.raises(feed.PublishFailed, match="SNS did not take 1 event"):
        adapters.SnsPublisher(sns, "arn:topic").publish([event(0), event(1)])
    assert len(sns.calls) == adapters.RETRIES + 1


def test_entries_sns_refuses_are_returned_not_retried():
    sns = FlakySns(flaky=0, sender_fault=frozenset({"e0"}))

    refused = adapters.SnsPublisher(sns, "arn:topic").publish([event(0), event(1)])

    assert refused == [(event(0), "InvalidParameter: bad")]
    assert sns.calls == [["e0", "e1"]]


def test_a_rejected_line_is_parked_with_the_reason_and_its_log_event(aws, drain, awslogs_event):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="rejected-lines")["QueueUrl"]
    batch = feed.decode_awslogs(awslogs_event(["junk"]))

    adapters.SqsRejectedLines(sqs, url).park(
        batch, feed.RejectedLine(batch.events[0], "line is not valid JSON")
    )

    [message] = drain(sqs, url)
    envelope = json.loads(message["Body"])
    assert envelope["payload"] == "junk"
    assert envelope["error"]["message"] == "line is not valid JSON"
    assert envelope["source"] == f"{batch.log_group}:{batch.log_stream}"
    assert message["MessageAttributes"]["log_event_id"]["StringValue"] == batch.events[0].id


def test_the_handler_publishes_a_logs_batch(
    aws, topic, drain, monkeypatch, fresh_import, awslogs_event, log_line, context
):
    arn, url = topic
    rejected_url = aws("sqs").create_queue(QueueName="rejected")["QueueUrl"]
    monkeypatch.setenv("TOPIC_ARN", arn)
    monkeypatch.setenv("REJECTED_LINES_QUEUE_URL", rejected_url)
    handler = fresh_import("orderfeed_trigger.handler")

    result = handler.lambda_handler(awslogs_event([log_line(), "junk"]), context)

    assert result == {"received": 2, "published": 1, "rejected": 1}
    [published] = drain(aws("sqs"), url)
    assert json.loads(published["Body"])["order_id"] == "ord-1"
    assert published["MessageAttributes"]["event_type"]["StringValue"] == "order.placed"
    [parked] = drain(aws("sqs"), rejected_url)
    assert json.loads(parked["Body"])["payload"] == "junk"


def test_the_handler_fails_on_an_event_that_is_not_from_logs(
    aws, topic, monkeypatch, fresh_import, context
):
    monkeypatch.setenv("TOPIC_ARN", topic[0])
    monkeypatch.setenv("REJECTED_LINES_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/x")
    handler = fresh_import("orderfeed_trigger.handler")

    with pytest.raises(feed.InvalidTriggerEvent):
        handler.lambda_handler({"Records": []}, context)

"""SQS FIFO deduplication over the whole 5-minute interval (localcloud.sqs.fifo_deduplication).

AWS rules (SQS Developer Guide, "Amazon SQS FIFO queue key terms", "Using the message
deduplication ID"; API Reference, SendMessage ``MessageDeduplicationId``): a message sent
with a deduplication id accepted in the last 5 minutes is accepted successfully but not
delivered, and SQS keeps tracking the id after the message was received and deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_sqs_fifo_helpers")
from _sqs_fifo_helpers import (  # noqa: E402 (after the path and rewrite setup)
    bodies,
    queue_arn,
    read_through_markers,
    send,
)

from localcloud.sqs import fifo_deduplication  # noqa: E402

# Fixtures: make_fifo_queue.
pytest_plugins = ["_sqs_fifo_helpers"]


@pytest.fixture
def advance_clock(monkeypatch: pytest.MonkeyPatch):
    """``advance_clock(seconds)``: moves the deduplication clock of the local cloud forward."""
    offset = [0.0]
    real = fifo_deduplication.clock
    monkeypatch.setattr(fifo_deduplication, "clock", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def test_a_deduplication_id_is_tracked_after_the_message_was_received_and_deleted(
    aws, make_fifo_queue
):
    """SQS keeps tracking a deduplication id after its message was received and deleted:
    a resend within 5 minutes is accepted (with the original MessageId and SequenceNumber)
    but never delivered."""
    url = make_fifo_queue()
    first = send(aws, url, "event-1", dedup="event-1")
    assert bodies(read_through_markers(aws, url, ["g"])) == ["event-1"]  # received, deleted

    again = send(aws, url, "event-1 (producer retry)", dedup="event-1")

    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert bodies(read_through_markers(aws, url, ["g"])) == []


def test_a_duplicate_of_a_message_still_queued_is_not_delivered_twice(aws, make_fifo_queue):
    """Messages sent with the same deduplication id within 5 minutes are delivered once."""
    url = make_fifo_queue()
    send(aws, url, "first", dedup="d")
    send(aws, url, "second", dedup="d")
    send(aws, url, "third", dedup="d")

    assert bodies(read_through_markers(aws, url, ["g"])) == ["first"]


def test_after_the_interval_a_deduplication_id_is_accepted_again(
    aws, make_fifo_queue, advance_clock
):
    """The deduplication interval is 5 minutes from the first send of an id: a duplicate
    does not extend it, and a send after it is a new message that is delivered."""
    url = make_fifo_queue()
    first = send(aws, url, "event-1", dedup="event-1")
    read_through_markers(aws, url, ["g"])

    advance_clock(200)
    assert send(aws, url, "retry at 200 s", dedup="event-1")["MessageId"] == first["MessageId"]
    assert bodies(read_through_markers(aws, url, ["g"])) == []

    advance_clock(99)  # 299 s after the first send: still inside
    send(aws, url, "retry at 299 s", dedup="event-1")
    assert bodies(read_through_markers(aws, url, ["g"])) == []

    advance_clock(2)  # 301 s after the first send (141 s after the last duplicate)
    late = send(aws, url, "retry at 301 s", dedup="event-1")

    assert late["MessageId"] != first["MessageId"]
    assert int(late["SequenceNumber"]) > int(first["SequenceNumber"])
    assert bodies(read_through_markers(aws, url, ["g"])) == ["retry at 301 s"]


def test_a_lowered_interval_constant_applies(aws, make_fifo_queue, monkeypatch):
    """The interval is one module constant (300 s, as on AWS); with it at 0 no id is
    remembered, which shows the check reads it at each send."""
    url = make_fifo_queue()
    send(aws, url, "one", dedup="d")
    monkeypatch.setattr(fifo_deduplication, "DEDUPLICATION_INTERVAL_SECONDS", 0.0)
    send(aws, url, "two", dedup="d")

    assert bodies(read_through_markers(aws, url, ["g"])) == ["one", "two"]


def test_queue_scope_deduplicates_across_message_groups(aws, make_fifo_queue):
    """With DeduplicationScope=queue (the default) a deduplication id is tracked for the
    whole queue: the same id in another message group is a duplicate."""
    url = make_fifo_queue()
    first = send(aws, url, "in g1", group="g1", dedup="d")
    again = send(aws, url, "in g2", group="g2", dedup="d")

    assert again["MessageId"] == first["MessageId"]
    assert bodies(read_through_markers(aws, url, ["g1", "g2"])) == ["in g1"]


def test_message_group_scope_deduplicates_within_each_group(aws, make_fifo_queue):
    """With DeduplicationScope=messageGroup a deduplication id is tracked per message group:
    the same id in two groups is two messages, and a resend within one group is dropped."""
    url = make_fifo_queue(
        DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId"
    )
    in_g1 = send(aws, url, "in g1", group="g1", dedup="d")
    in_g2 = send(aws, url, "in g2", group="g2", dedup="d")
    assert in_g1["MessageId"] != in_g2["MessageId"]
    assert sorted(bodies(read_through_markers(aws, url, ["g1", "g2"]))) == ["in g1", "in g2"]

    resent = send(aws, url, "in g1 again", group="g1", dedup="d")

    assert resent["MessageId"] == in_g1["MessageId"]
    assert bodies(read_through_markers(aws, url, ["g1", "g2"])) == []


def test_content_based_deduplication_uses_the_body_hash_over_the_interval(aws, make_fifo_queue):
    """With ContentBasedDeduplication the deduplication id is the SHA-256 of the body: the
    same body again within 5 minutes (even after the first was deleted) is not delivered,
    another body is, and an explicit MessageDeduplicationId overrides the hash."""
    url = make_fifo_queue(ContentBasedDeduplication="true")
    first = send(aws, url, "same body")
    assert bodies(read_through_markers(aws, url, ["g"])) == ["same body"]

    again = send(aws, url, "same body")
    other = send(aws, url, "another body")
    explicit = send(aws, url, "same body", dedup="explicit-id")

    assert again["MessageId"] == first["MessageId"]
    assert other["MessageId"] != first["MessageId"]
    assert explicit["MessageId"] != first["MessageId"]
    received = read_through_markers(aws, url, ["g"])
    assert bodies(received) == ["another body", "same body"]
    assert received[1]["Attributes"]["MessageDeduplicationId"] == "explicit-id"


def test_content_based_deduplication_with_message_group_scope(aws, make_fifo_queue):
    """Content-based ids follow DeduplicationScope too: with messageGroup the same body in
    two groups is delivered in both."""
    url = make_fifo_queue(
        ContentBasedDeduplication="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    send(aws, url, "same body", group="g1")
    send(aws, url, "same body", group="g2")
    send(aws, url, "same body", group="g1")

    received = read_through_markers(aws, url, ["g1", "g2"])
    assert sorted(m["Attributes"]["MessageGroupId"] for m in received) == ["g1", "g2"]


def test_a_batch_with_a_duplicate_entry_succeeds_for_each_entry_and_delivers_once(
    aws, make_fifo_queue
):
    """SendMessageBatch deduplicates entry by entry like SendMessage: every entry succeeds
    (under its own Id, a duplicate with the original MessageId) and the id is delivered once."""
    url = make_fifo_queue()
    response = aws("sqs").send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
            {"Id": "b", "MessageBody": "two", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
        ],
    )

    assert not response.get("Failed")
    by_id = {entry["Id"]: entry for entry in response["Successful"]}
    assert set(by_id) == {"a", "b"}
    assert by_id["a"]["MessageId"] == by_id["b"]["MessageId"]
    assert bodies(read_through_markers(aws, url, ["g"])) == ["one"]


def test_purging_the_queue_does_not_reset_the_deduplication_interval(aws, make_fifo_queue):
    """PurgeQueue deletes the queue's messages; SQS keeps tracking a deduplication id after
    its message is deleted, and documents no reset on purge, so a resend within 5 minutes
    after a purge is still a duplicate."""
    url = make_fifo_queue()
    send(aws, url, "before the purge", dedup="d")
    aws("sqs").purge_queue(QueueUrl=url)

    send(aws, url, "after the purge", dedup="d")

    assert bodies(read_through_markers(aws, url, ["g"])) == []


def test_moving_to_the_dead_letter_queue_is_not_deduplicated(aws, make_fifo_queue):
    """A message moved to a FIFO dead-letter queue after maxReceiveCount is not a send: two
    failed messages with the same deduplication id (in two groups of a messageGroup-scoped
    queue) both arrive in the dead-letter queue."""
    dlq = make_fifo_queue()
    source = make_fifo_queue(
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
        RedrivePolicy=f'{{"deadLetterTargetArn": "{queue_arn(aws, dlq)}", "maxReceiveCount": 1}}',
    )
    send(aws, source, "in g1", group="g1", dedup="d")
    send(aws, source, "in g2", group="g2", dedup="d")
    # Received once and made visible again at once: the next receive moves them.
    first = aws("sqs").receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert sorted(bodies(first["Messages"])) == ["in g1", "in g2"]

    leftover = aws("sqs").receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    assert "Messages" not in leftover
    moved = read_through_markers(aws, dlq, ["g1", "g2"])
    assert sorted(bodies(moved)) == ["in g1", "in g2"]

"""SQS FIFO redelivery after a visibility timeout, and sequence numbers
(localcloud.sqs.fifo_redelivery, localcloud.sqs.fifo_deduplication).

AWS rules (SQS Developer Guide, "FIFO queue delivery logic" and "Amazon SQS FIFO queue key
terms"): a message group's messages are delivered in the order they were sent; a message
received but not deleted before its visibility timeout expires is visible again, so a group
whose batch timed out comes back first unacknowledged message first. Every FIFO message has
a SequenceNumber, a large non-consecutive number that increases within a message group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_sqs_fifo_helpers")
from _sqs_fifo_helpers import (  # noqa: E402 (after the path and rewrite setup)
    bodies,
    read_through_markers,
    send,
)

# Fixtures: make_fifo_queue.
pytest_plugins = ["_sqs_fifo_helpers"]


def receive(aws, url, count, visibility=None):
    arguments = {
        "QueueUrl": url,
        "MaxNumberOfMessages": count,
        "MessageSystemAttributeNames": ["All"],
    }
    if visibility is not None:
        arguments["VisibilityTimeout"] = visibility
    return aws("sqs").receive_message(**arguments).get("Messages", [])


def receive_when_visible_again(aws, url, count):
    """Polls ReceiveMessage until it returns something (the visibility timeout expired)."""
    found = []

    def check():
        found.extend(receive(aws, url, count))
        return bool(found)

    wait_for(check, timeout=10, interval=0.05, description="messages visible again")
    return found


def test_a_timed_out_batch_of_one_group_comes_back_first_message_first(aws, make_fifo_queue):
    """After a batch of one message group times out, ReceiveMessage returns the group's
    first unacknowledged message first (one at a time: the first alone; ten at a time: the
    three in their original order), never a later one ahead of it."""
    url = make_fifo_queue()
    for n in (1, 2, 3):
        send(aws, url, f"m{n}", dedup=f"m{n}")
    first = receive(aws, url, 10, visibility=1)
    assert bodies(first) == ["m1", "m2", "m3"]

    (again,) = receive_when_visible_again(aws, url, 1)

    assert again["Body"] == "m1"
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # m2 and m3 wait behind the in-flight m1 ...
    assert receive(aws, url, 10) == []
    # ... and follow it, in order, once it is deleted.
    aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert bodies(receive(aws, url, 10)) == ["m2", "m3"]


def test_a_timed_out_batch_comes_back_whole_and_in_order(aws, make_fifo_queue):
    """A full receive after the timeout returns the group's messages in their original order,
    followed by the group's messages sent meanwhile."""
    url = make_fifo_queue()
    for n in (1, 2, 3):
        send(aws, url, f"m{n}", dedup=f"m{n}")
    assert bodies(receive(aws, url, 10, visibility=1)) == ["m1", "m2", "m3"]
    send(aws, url, "m4", dedup="m4")

    assert bodies(receive_when_visible_again(aws, url, 10)) == ["m1", "m2", "m3", "m4"]


def test_after_a_partial_delete_the_rest_of_the_group_comes_back_in_order(aws, make_fifo_queue):
    """Of a timed-out batch, the messages not deleted come back in order; other groups'
    messages are not held up by it."""
    url = make_fifo_queue()
    for group, n in (("a", 1), ("a", 2), ("b", 1), ("a", 3), ("a", 4)):
        send(aws, url, f"{group}{n}", group=group, dedup=f"{group}{n}")
    batch = receive(aws, url, 10, visibility=1)
    assert bodies(batch) == ["a1", "a2", "b1", "a3", "a4"]
    for message in batch:
        if message["Body"] in ("a1", "b1"):
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    send(aws, url, "b2", group="b", dedup="b2")

    # Group b is free (b1 deleted): b2 comes at once, while group a is still in flight.
    assert bodies(receive(aws, url, 10)) == ["b2"]
    assert bodies(receive_when_visible_again(aws, url, 10)) == ["a2", "a3", "a4"]


def test_every_fifo_message_has_an_increasing_sequence_number(aws, make_fifo_queue):
    """SQS assigns every FIFO message a SequenceNumber (also with content-based
    deduplication, where moto gave none), returned by SendMessage and ReceiveMessage, and
    increasing within a message group."""
    for attributes, dedup in (({"ContentBasedDeduplication": "true"}, None), ({}, "explicit")):
        url = make_fifo_queue(**attributes)
        sent = [
            send(aws, url, f"body {n}", dedup=None if dedup is None else f"{dedup}-{n}")
            for n in range(3)
        ]
        numbers = [int(s["SequenceNumber"]) for s in sent]
        assert numbers == sorted(set(numbers))
        assert all(len(s["SequenceNumber"]) >= 20 for s in sent)
        received = read_through_markers(aws, url, ["g"])
        assert [m["Attributes"]["SequenceNumber"] for m in received] == [
            s["SequenceNumber"] for s in sent
        ]

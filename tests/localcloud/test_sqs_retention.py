"""Message retention on ReceiveMessage (localcloud.sqs.retention_check).

AWS rule (SQS API reference, ``MessageRetentionPeriod``): a message is kept for the queue's
retention period after it was sent and never delivered after it; the period is 60 s to
14 days, 4 days by default. Receiving is the hot path of every Lambda poller, so the local
cloud checks this without computing the queue's other attributes (moto computes all of
them, each a pass over every message, per message received).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.sqs.models import Queue, sqs_backends

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def queue_url(aws: Callable[..., Any]) -> Iterator[str]:
    url = aws("sqs").create_queue(
        QueueName=f"retention-{uuid.uuid4().hex[:12]}",
        Attributes={"MessageRetentionPeriod": "60"},
    )["QueueUrl"]
    yield url
    aws("sqs").delete_queue(QueueUrl=url)


def _age_every_message(queue_url: str, seconds: float) -> None:
    """Make the queue's messages look sent ``seconds`` earlier (no test waits a minute)."""
    queue = sqs_backends[ACCOUNT][REGION].get_queue(queue_url.rsplit("/", 1)[1])
    for message in queue._messages:
        message.sent_timestamp = int(message.sent_timestamp) - int(seconds * 1000)


def test_a_message_within_the_retention_period_is_delivered(aws, queue_url):
    """Sent 59 s ago with a 60 s retention period: still delivered."""
    aws("sqs").send_message(QueueUrl=queue_url, MessageBody="fresh")
    _age_every_message(queue_url, 59)

    messages = aws("sqs").receive_message(QueueUrl=queue_url).get("Messages", [])

    assert [m["Body"] for m in messages] == ["fresh"]


def test_receiving_does_not_compute_the_queue_attributes(aws, queue_url, monkeypatch):
    """Handing out ten messages reads no queue attribute set: a receive costs the same
    whatever else the queue holds (moto's own check made a drain quadratic in depth)."""
    sqs = aws("sqs")
    for start in range(0, 50, 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "MessageBody": f"m{start + n}"} for n in range(10)],
        )
    computed: list[float] = []
    attributes = Queue.attributes

    def counting_attributes(self: Queue) -> dict[str, Any]:
        computed.append(time.monotonic())
        return attributes.fget(self)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(Queue, "attributes", property(counting_attributes))

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]

    assert len(messages) == 10
    assert computed == []

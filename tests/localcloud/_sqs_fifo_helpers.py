"""Helpers of the SQS FIFO tests (imported by the ``test_sqs_fifo_*`` modules beside it).

A FIFO queue delivers a group's messages in send order, so "a message was not delivered" is
proved without waiting: send a marker after it in the same group, and read the group until
the marker; whatever SQS kept of the message would have come before the marker.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

MARKER = "marker"


@pytest.fixture
def make_fifo_queue(aws: Callable[..., Any]) -> Iterator[Callable[..., str]]:
    """``make_fifo_queue(**attributes) -> url``: a FIFO queue of its own, deleted after."""
    urls: list[str] = []

    def make(**attributes: str) -> str:
        name = f"fifo-{uuid.uuid4().hex[:12]}.fifo"
        url = str(
            aws("sqs").create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})[
                "QueueUrl"
            ]
        )
        urls.append(url)
        return url

    yield make
    for url in urls:
        with contextlib.suppress(ClientError):
            aws("sqs").delete_queue(QueueUrl=url)


def send(
    aws: Callable[..., Any], url: str, body: str, group: str = "g", dedup: str | None = None
) -> dict[str, Any]:
    """SendMessage to a FIFO queue (no deduplication id unless given)."""
    arguments: dict[str, Any] = {"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}
    if dedup is not None:
        arguments["MessageDeduplicationId"] = dedup
    return dict(aws("sqs").send_message(**arguments))


def queue_arn(aws: Callable[..., Any], url: str) -> str:
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def read_through_markers(
    aws: Callable[..., Any], url: str, groups: list[str], timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Send a marker to each group, then receive (and delete) every message until all the
    markers came; returns the messages before them, in the order received."""
    for group in groups:
        send(aws, url, MARKER, group=group, dedup=f"{MARKER}-{uuid.uuid4().hex}")
    received: list[dict[str, Any]] = []
    markers = 0

    def more() -> bool:
        nonlocal markers
        response = aws("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if message["Body"] == MARKER:
                markers += 1
            else:
                received.append(message)
        return markers >= len(groups)

    wait_for(more, timeout=timeout, interval=0.05, description="the markers of every group")
    return received


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [str(message["Body"]) for message in messages]

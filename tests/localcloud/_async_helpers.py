"""Helpers of the asynchronous-invocation, SNS and fault-switch tests.

Fixtures (import ``<name>_fixture`` into a test module to use ``<name>``): ``fast_async``
(short retry delays and back-off for the asynchronous queue), ``make_queue`` (SQS queues
deleted afterwards), ``make_topic`` (SNS topics deleted afterwards), ``faults`` (a
:class:`FaultSwitch`; every fault is cleared after the test). Helpers: :func:`receive`,
:func:`pending`, :func:`throttles`, :func:`lines`, :func:`wait_idle`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

from localcloud.awslambda import get_runtime
from localcloud.awslambda.async_invoke import (
    EVENT_AGE_SCALE_ENV,
    RETRY_DELAYS_ENV,
    THROTTLE_BACKOFF_ENV,
    invoker_of,
)
from localcloud.faults_client import FaultSwitch

# Writes one line per invocation to event["log"] ("<request id> <epoch seconds>") and fails
# when event["fail"] is true; returns {"ok": event.get("value")} otherwise.
RECORDING = """
    import time

    def handler(event, context):
        with open(event["log"], "a") as log:
            log.write(f"{context.aws_request_id} {time.time()}\\n")
        if event.get("fail"):
            raise ValueError("failing on purpose: " + str(event.get("value")))
        return {"ok": event.get("value")}
"""

# Appends every event it gets, as one JSON line, to the file named by its LOG variable.
EVENT_RECORDER = """
    import json
    import os

    def handler(event, context):
        with open(os.environ["LOG"], "a") as log:
            log.write(json.dumps({"event": event, "requestId": context.aws_request_id}) + "\\n")
        if os.environ.get("FAIL"):
            raise RuntimeError("subscriber failed on purpose")
        return "recorded"
"""


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str
    name: str


@dataclass(frozen=True)
class Received:
    body: Any  # JSON document, or the text when the body is not JSON
    text: str
    attributes: dict[str, Any]


@pytest.fixture(name="fast_async")
def fast_async_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry delays of 0.2 s and 0.4 s, throttle back-off from 0.05 s to 0.5 s."""
    monkeypatch.setenv(RETRY_DELAYS_ENV, "0.2,0.4")
    monkeypatch.setenv(THROTTLE_BACKOFF_ENV, "0.05,0.5")
    monkeypatch.delenv(EVENT_AGE_SCALE_ENV, raising=False)


@pytest.fixture(name="make_queue")
def make_queue_fixture(aws: Callable[..., Any]) -> Iterator[Callable[..., Queue]]:
    """``make_queue(fifo=False) -> Queue``; deleted after the test."""
    sqs = aws("sqs")
    created: list[str] = []

    def make(fifo: bool = False) -> Queue:
        name = f"async-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attributes = {"FifoQueue": "true"} if fifo else {}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        created.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return Queue(url=url, arn=arn, name=name)

    yield make
    for url in created:
        with contextlib.suppress(ClientError):
            sqs.delete_queue(QueueUrl=url)


@pytest.fixture(name="make_topic")
def make_topic_fixture(aws: Callable[..., Any]) -> Iterator[Callable[..., str]]:
    """``make_topic(fifo=False) -> topic ARN``; deleted after the test."""
    sns = aws("sns")
    created: list[str] = []

    def make(fifo: bool = False) -> str:
        name = f"async-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attributes = {"FifoTopic": "true"} if fifo else {}
        arn = str(sns.create_topic(Name=name, Attributes=attributes)["TopicArn"])
        created.append(arn)
        return arn

    yield make
    for arn in created:
        with contextlib.suppress(ClientError):
            sns.delete_topic(TopicArn=arn)


@pytest.fixture(name="faults")
def faults_fixture(local_cloud: Any) -> Iterator[FaultSwitch]:
    """The fault switch of the test's local cloud; every fault is cleared afterwards."""
    switch = FaultSwitch(local_cloud.endpoint_url)
    yield switch
    switch.clear()


def receive(sqs: Any, queue: Queue, count: int = 1, timeout: float = 20.0) -> list[Received]:
    """Wait for ``count`` messages on ``queue`` and return them (deleted from the queue)."""
    got: list[Received] = []

    def poll() -> bool:
        response = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        for message in response.get("Messages", []):
            text = message["Body"]
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            got.append(Received(body, text, message.get("MessageAttributes", {})))
            sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(
        poll, timeout=timeout, interval=0.05, description=f"{count} message(s) on {queue.name}"
    )
    return got


def queue_is_empty(sqs: Any, queue: Queue) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]) == 0
        and int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0
    )


def pending(function_name: str) -> int:
    """Events of ``function_name`` still in the local cloud's asynchronous queue."""
    invoker = invoker_of(get_runtime())
    assert invoker is not None, "the asynchronous queue is not installed"
    return invoker.pending(function_name)


def throttles(function_name: str) -> int:
    """Attempts of ``function_name``'s events the asynchronous queue saw throttled."""
    invoker = invoker_of(get_runtime())
    assert invoker is not None, "the asynchronous queue is not installed"
    return invoker.throttles(function_name)


def wait_idle(function_name: str, timeout: float = 20.0) -> None:
    """Wait until the asynchronous queue holds nothing more for ``function_name``."""
    wait_for(
        lambda: pending(function_name) == 0,
        timeout=timeout,
        interval=0.05,
        description=f"async queue of {function_name} drained",
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def json_lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in lines(path)]

"""Helpers of the event source mapping tests (imported by the test modules beside it).

Handlers record what they were given in a directory the test reads: one JSON file per
invocation (``RECORDER`` is the code they share), so a test sees every invocation with its
event, start and end time, and whatever the handler decided.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

REGION = "us-east-1"

# Shared by the test handlers: record(event, **extra) writes one invocation's file;
# attempt(key) counts how often a key was seen, across invocations and environments.
RECORDER = """
import json, os, time, uuid

RECORD_DIR = os.environ["RECORD_DIR"]
STARTED = time.time()


def record(event, started, **extra):
    document = {"start": started, "end": time.time(), "event": event, "pid": os.getpid()}
    document.update(extra)
    name = "%.6f-%s.json" % (started, uuid.uuid4().hex)
    temporary = os.path.join(RECORD_DIR, name + ".partial")
    with open(temporary, "w") as handle:
        json.dump(document, handle)
    os.rename(temporary, os.path.join(RECORD_DIR, name))


def attempt(key):
    path = os.path.join(RECORD_DIR, "attempts-" + key)
    with open(path, "a") as handle:
        handle.write("x")
    with open(path) as handle:
        return len(handle.read())
"""


class Recorder:
    """The invocations a recording handler wrote, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def environment(self) -> dict[str, str]:
        return {"RECORD_DIR": str(self.directory)}

    def invocations(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self.directory.glob("*.json")):
            found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda item: item["start"])

    def records(self) -> list[dict[str, Any]]:
        """Every record of every invocation, in invocation order."""
        return [r for item in self.invocations() for r in item["event"]["Records"]]

    def wait_for_invocations(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        return wait_for(
            lambda: found if len(found := self.invocations()) >= count else None,
            timeout=timeout,
            interval=0.05,
            description=f"{count} invocations",
        )

    def wait_for_records(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            records = self.records()
            return records if predicate(records) else None

        return wait_for(check, timeout=timeout, interval=0.05, description="records")


def max_overlap(invocations: list[dict[str, Any]]) -> int:
    """The most invocations that ran at the same moment."""
    edges = sorted(
        [(item["start"], 1) for item in invocations] + [(item["end"], -1) for item in invocations],
        key=lambda edge: (edge[0], edge[1]),  # an end before a start at the same instant
    )
    running = highest = 0
    for _, change in edges:
        running += change
        highest = max(highest, running)
    return highest


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path / "invocations")


@pytest.fixture
def make_queue(aws: Callable[..., Any]) -> Iterator[Callable[..., tuple[str, str]]]:
    """``make_queue(fifo=False, dlq_arn=None, max_receive=2, **attributes) -> (url, arn)``."""
    created: list[str] = []
    sqs = aws("sqs")

    def make(
        *,
        fifo: bool = False,
        dlq_arn: str | None = None,
        max_receive: int = 2,
        **attributes: str,
    ) -> tuple[str, str]:
        name = f"esm-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        values = {key: str(value) for key, value in attributes.items()}
        if fifo:
            values["FifoQueue"] = "true"
        if dlq_arn:
            values["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}
            )
        url = sqs.create_queue(QueueName=name, Attributes=values)["QueueUrl"]
        created.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    yield make
    for url in created:
        with contextlib.suppress(ClientError):
            sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def make_mapping(
    aws: Callable[..., Any], make_function: Callable[..., str]
) -> Iterator[Callable[..., dict[str, Any]]]:
    """``make_mapping(**CreateEventSourceMapping arguments) -> the response``; deleted after.

    Depends on ``make_function`` so mappings go before their functions at teardown.
    """
    created: list[str] = []

    def make(**arguments: Any) -> dict[str, Any]:
        response: dict[str, Any] = aws("lambda").create_event_source_mapping(**arguments)
        created.append(response["UUID"])
        return response

    yield make
    for mapping_id in created:
        with contextlib.suppress(ClientError):
            aws("lambda").delete_event_source_mapping(UUID=mapping_id)


def queue_counts(aws: Callable[..., Any], url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def wait_until_empty(aws: Callable[..., Any], url: str, timeout: float = 20.0) -> None:
    wait_for(
        lambda: queue_counts(aws, url) == (0, 0),
        timeout=timeout,
        interval=0.05,
        description=f"{url} empty",
    )


def receive_all(aws: Callable[..., Any], url: str, expected: int, timeout: float = 20.0) -> list:
    """Receive (and delete) ``expected`` messages of a queue, waiting for them to arrive."""
    sqs = aws("sqs")
    received: list[dict[str, Any]] = []

    def collect() -> bool:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        for message in batch:
            received.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(received) >= expected

    wait_for(collect, timeout=timeout, interval=0.05, description=f"{expected} messages in {url}")
    return received


def mapping_state(aws: Callable[..., Any], mapping_id: str) -> str:
    return str(aws("lambda").get_event_source_mapping(UUID=mapping_id)["State"])


def wait_for_state(aws: Callable[..., Any], mapping_id: str, state: str) -> None:
    wait_for(
        lambda: mapping_state(aws, mapping_id) == state,
        timeout=15,
        interval=0.05,
        description=f"mapping {mapping_id} {state}",
    )

"""Concurrent sends, receives and deletes of one queue (localcloud.sqs.message_lock).

AWS rule (SQS Developer Guide, "Amazon SQS message lifecycle" and "at-least-once
delivery"): a message that SendMessage accepted stays in the queue until it is deleted or
its retention period ends, and a message whose DeleteMessage succeeded is not delivered
again. Both must hold while many clients (Lambda pollers, API requests) use the queue at
the same time: moto rebuilt the message list on delete without the queue's lock, so a send
or a second delete at the same moment could lose a message or bring a deleted one back.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.sqs.models import sqs_backends

ACCOUNT = "123456789012"
REGION = "us-east-1"
PRELOADED = 500
SENT_DURING_DELETES = 200
DELETERS = 6


@pytest.fixture
def queue_name(aws: Callable[..., Any]) -> Iterator[str]:
    name = f"message-lock-{uuid.uuid4().hex[:12]}"
    url = aws("sqs").create_queue(QueueName=name)["QueueUrl"]
    yield name
    aws("sqs").delete_queue(QueueUrl=url)


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every few microseconds, so a race window is hit, not hoped for."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _run_together(*jobs: Callable[[], None]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as error:  # reported below, not swallowed by the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_messages_sent_and_deleted_at_the_same_time_are_neither_lost_nor_back(
    queue_name: str, frequent_thread_switches: None
) -> None:
    backend = sqs_backends[ACCOUNT][REGION]
    for index in range(PRELOADED):
        backend.send_message(queue_name, f"old-{index}")
    received = backend.receive_message(queue_name, PRELOADED, 0, 300, [])
    assert len(received) == PRELOADED
    handles = [str(message.receipt_handle) for message in received]

    def delete_share(share: int) -> Callable[[], None]:
        def delete() -> None:
            for handle in handles[share::DELETERS]:
                backend.delete_message(queue_name, handle)

        return delete

    def send_new() -> None:
        for index in range(SENT_DURING_DELETES):
            backend.send_message(queue_name, f"new-{index}")

    _run_together(send_new, *(delete_share(share) for share in range(DELETERS)))

    bodies = sorted(message.body for message in backend.get_queue(queue_name)._messages)
    assert bodies == sorted(f"new-{index}" for index in range(SENT_DURING_DELETES))


def test_two_receivers_at_once_never_get_the_same_message(
    queue_name: str, frequent_thread_switches: None
) -> None:
    backend = sqs_backends[ACCOUNT][REGION]
    for index in range(PRELOADED):
        backend.send_message(queue_name, f"m-{index}")
    batches: list[list[str]] = [[] for _ in range(4)]

    def receive_into(batch: list[str]) -> Callable[[], None]:
        def receive() -> None:
            while messages := backend.receive_message(queue_name, 10, 0, 300, []):
                batch.extend(message.body for message in messages)

        return receive

    _run_together(*(receive_into(batch) for batch in batches))

    everything = [body for batch in batches for body in batch]
    assert len(everything) == PRELOADED
    assert len(set(everything)) == PRELOADED

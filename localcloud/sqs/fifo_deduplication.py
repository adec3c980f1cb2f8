"""FIFO deduplication and sequence numbers at SendMessage (moto 5.2.5).

AWS (SQS Developer Guide, "Amazon SQS FIFO queue key terms" and "Using the message
deduplication ID"; API Reference, SendMessage ``MessageDeduplicationId``): a message sent
with a deduplication id SQS accepted in the last 5 minutes is accepted successfully but not
delivered, and "Amazon SQS continues tracking the deduplication ID even after the message
has been received and deleted". Without an explicit id on a queue with
``ContentBasedDeduplication``, the id is the SHA-256 of the body; an explicit id wins. With
``DeduplicationScope=messageGroup`` ids are tracked per message group, else per queue. A
duplicate's response carries the original message's ``MessageId`` and ``SequenceNumber``.
Every FIFO message gets a ``SequenceNumber``: a large, non-consecutive number that keeps
increasing within a message group.

moto only compares a new message with those still in the queue (``Queue.add_message``),
ignores the scope, answers a duplicate with a fresh MessageId, and sets a random
``SequenceNumber`` only when the id was explicit. What is replaced, in
``moto/sqs/models.py``:

- ``SQSBackend.send_message`` (SendMessage, each entry of SendMessageBatch, SNS and
  EventBridge deliveries): for a FIFO queue, decides against a per-queue record of the
  deduplication ids sent in the last :data:`DEDUPLICATION_INTERVAL_SECONDS`; a duplicate
  returns a receipt for the original and adds nothing;
- ``Queue.add_message``: for a FIFO queue, drops moto's in-queue comparison (SendMessage
  decided already; a message moved to the dead-letter queue is not a send and is never
  deduplicated) and stamps the sequence number of a message being sent.

PurgeQueue leaves the record alone: AWS documents no reset of the deduplication interval on
purge (PurgeQueue deletes messages, and deleting a message does not end the tracking of its
id). Deleting the queue drops the record with it.

Tests lower :data:`DEDUPLICATION_INTERVAL_SECONDS` or move :data:`clock` forward, in the
local cloud's process.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# How long SQS remembers a deduplication id after the first send that used it.
DEDUPLICATION_INTERVAL_SECONDS: float = 300.0

# The clock the interval is measured on (seconds); a module attribute so tests can move it.
clock: Callable[[], float] = time.monotonic

# "<class>.<method>" -> (owner, moto's original), so install() runs once.
PATCHES: dict[str, tuple[Any, Any]] = {}
_install_lock = threading.Lock()

# The queue a send on this thread is adding a message to (set around moto's send_message).
_sending: contextvars.ContextVar[Any] = contextvars.ContextVar("localcloud_sqs_sending")


@dataclass(frozen=True)
class _Sent:
    """What SQS remembers of an accepted send: when, and what it answered."""

    first_sent: float
    message_id: str
    sequence_number: str | None


class _Record:
    """The deduplication ids of one FIFO queue, in the order they were first sent."""

    def __init__(self) -> None:
        self._sent: dict[tuple[str | None, str], _Sent] = {}

    def find(self, key: tuple[str | None, str], now: float) -> _Sent | None:
        self._forget_expired(now)
        return self._sent.get(key)

    def remember(self, key: tuple[str | None, str], sent: _Sent) -> None:
        self._sent.pop(key, None)
        self._sent[key] = sent

    def _forget_expired(self, now: float) -> None:
        # Oldest first: stop at the first id still inside its interval.
        while self._sent:
            key, sent = next(iter(self._sent.items()))
            if now - sent.first_sent < DEDUPLICATION_INTERVAL_SECONDS:
                return
            del self._sent[key]


_records: weakref.WeakKeyDictionary[Any, _Record] = weakref.WeakKeyDictionary()
_records_lock = threading.Lock()


def _record(queue: Any) -> _Record:
    with _records_lock:
        record = _records.get(queue)
        if record is None:
            record = _records[queue] = _Record()
        return record


# -- sequence numbers ---------------------------------------------------------------------

_sequence_lock = threading.Lock()
_last_sequence = 0


def next_sequence_number() -> str:
    """A 20-digit number larger than every one handed out before (time-based, so gaps)."""
    global _last_sequence
    with _sequence_lock:
        _last_sequence = max(_last_sequence + 1, time.time_ns() * 10)
        return str(_last_sequence)


# -- the patches --------------------------------------------------------------------------


def effective_deduplication_id(queue: Any, body: str, explicit: str | None) -> str | None:
    """The id SQS deduplicates on: the explicit one, else the body's SHA-256 (if enabled)."""
    if explicit:
        return explicit
    if getattr(queue, "content_based_deduplication", False):
        return hashlib.sha256(body.encode("utf-8")).hexdigest()
    return None


def _scope_key(queue: Any, group_id: str | None, dedup_id: str) -> tuple[str | None, str]:
    per_group = str(getattr(queue, "deduplication_scope", "queue")) == "messageGroup"
    return (group_id if per_group else None, dedup_id)


def _receipt(
    sent: _Sent,
    body: str,
    message_attributes: dict[str, Any] | None,
    system_attributes: dict[str, Any] | None,
    dedup_id: str,
    group_id: str | None,
) -> Any:
    """What SendMessage answers for a duplicate: the original's id and sequence number,
    this request's body and attributes (their MD5s); never added to a queue."""
    from moto.sqs.models import Message

    receipt = Message(sent.message_id, body, system_attributes)
    receipt.message_attributes = message_attributes or {}
    receipt.deduplication_id = dedup_id
    receipt.group_id = group_id
    receipt.sequence_number = sent.sequence_number
    receipt.mark_sent()
    return receipt


def _send_message(
    self: Any,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Any:
    """Replaces ``SQSBackend.send_message``: FIFO deduplication over the whole interval."""
    original = PATCHES["SQSBackend.send_message"][1]

    def send() -> Any:
        return original(
            self,
            queue_name,
            message_body,
            message_attributes=message_attributes,
            delay_seconds=delay_seconds,
            deduplication_id=deduplication_id,
            group_id=group_id,
            system_attributes=system_attributes,
            validate_group_id=validate_group_id,
        )

    queue = self.get_queue(queue_name)
    if not queue.fifo_queue:
        return send()
    # moto's own checks first: a request it refuses is refused, duplicate or not.
    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )
    dedup_id = effective_deduplication_id(queue, message_body, deduplication_id)
    if dedup_id is None:  # moto's validation refuses this; keep its error
        return send()
    key = _scope_key(queue, group_id, dedup_id)
    record = _record(queue)
    # The queue's lock (reentrant) makes the check and the add one step for concurrent sends.
    with queue._messages_lock:
        now = clock()
        sent = record.find(key, now)
        if sent is not None:
            return _receipt(
                sent, message_body, message_attributes, system_attributes, dedup_id, group_id
            )
        token = _sending.set(queue)
        try:
            message = send()
        finally:
            _sending.reset(token)
        record.remember(key, _Sent(now, str(message.id), message.sequence_number))
        return message


def _add_message(self: Any, message: Any) -> None:
    """Replaces ``Queue.add_message`` for FIFO queues: no comparison with the messages in the
    queue (SendMessage decided), and the message being sent gets its sequence number."""
    original = PATCHES["Queue.add_message"][1]
    if self.fifo_queue and _sending.get(None) is self:
        message.sequence_number = next_sequence_number()
    if not self.fifo_queue or self.lambda_event_source_mappings:
        # Standard queues, and moto's inline delivery to a mapping (the local pollers detach
        # every mapping, so this does not happen in the local cloud): moto as it is.
        original(self, message)
        return
    with self._messages_lock:
        self._messages.append(message)
        self._messages_lock.notify_all()


def install() -> None:
    """Replace moto's methods (once per process)."""
    from moto.sqs.models import Queue, SQSBackend

    with _install_lock:
        if PATCHES:
            return
        PATCHES["SQSBackend.send_message"] = (SQSBackend, SQSBackend.send_message)
        PATCHES["Queue.add_message"] = (Queue, Queue.add_message)
        SQSBackend.send_message = _send_message  # type: ignore[method-assign]
        Queue.add_message = _add_message  # type: ignore[method-assign]

"""SQS event source mappings, polled like the Lambda service polls a queue.

The poller talks to moto's SQS backend in-process, so everything the queue does is moto's
own logic: ``ReceiveMessage`` with the queue's visibility timeout (receive counts, FIFO
message-group locking, redrive to the dead-letter queue once ``maxReceiveCount`` is
reached) and ``DeleteMessage``, with the FIFO fixes of :mod:`localcloud.sqs` (a group whose
batch timed out comes back in its original order). What Lambda adds is here:

- long polling: an idle poller waits on the queue's own condition (moto notifies it when a
  message arrives), bounded by the moment the next in-flight or delayed message becomes
  visible; no busy loop;
- batches of up to ``BatchSize`` messages (a FIFO queue: at most 10), gathered for up to
  ``MaximumBatchingWindowInSeconds`` on a standard queue;
- scaling: one poller per mapping when the queue is quiet, one more each time a batch is
  received while messages are still waiting, up to ``ScalingConfig.MaximumConcurrency``
  (else :attr:`PollerSettings.sqs_concurrency`) batches in flight; surplus pollers leave
  when a receive comes back empty;
- outcomes: success deletes the batch; a function error deletes nothing (the messages come
  back after the visibility timeout, and moto moves them to the DLQ after maxReceiveCount);
  with ``ReportBatchItemFailures`` every message but the reported ones is deleted, and an
  invalid report fails the whole batch; messages no filter accepts are deleted uninvoked;
- throttling: an invoke refused for concurrency is retried while the messages are still
  invisible; past that they simply reappear, as on AWS.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from localcloud.awslambda.event_sources.batch_response import read_batch_response
from localcloud.awslambda.event_sources.filters import accepts, sqs_view
from localcloud.awslambda.event_sources.poller import MappingConfig, MappingPoller

log = logging.getLogger("localcloud.awslambda.event_sources")

FIFO_MAX_BATCH = 10


def _binary(value: Any) -> str:
    """A binary attribute value as the event carries it: base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """One message attribute in the event's shape (camelCase, list fields always present)."""
    attribute: dict[str, Any] = {}
    if value.get("StringValue") is not None:
        attribute["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        attribute["binaryValue"] = _binary(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [_binary(v) for v in value.get("BinaryListValues") or []]
    attribute["dataType"] = value.get("DataType")
    return attribute


def sqs_record(message: Any, queue_arn: str, region: str, fifo: bool) -> dict[str, Any]:
    """A received moto ``Message`` as one record of Lambda's SQS event."""
    attributes: dict[str, str] = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = str(
            trace.get("StringValue") if isinstance(trace, Mapping) else trace
        )
    if fifo:
        if message.sequence_number:
            attributes["SequenceNumber"] = str(message.sequence_number)
        if message.group_id:
            attributes["MessageGroupId"] = str(message.group_id)
        if message.deduplication_id:
            attributes["MessageDeduplicationId"] = str(message.deduplication_id)
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: message_attribute(value)
            for name, value in sorted((message.message_attributes or {}).items())
        },
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    record.update(
        {
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
    )
    return record


def _now_ms() -> float:
    return time.time() * 1000


class SqsPoller(MappingPoller):
    """The pollers of one SQS mapping: between one and the concurrency cap of them."""

    def __init__(self, esm: Any, settings: Any) -> None:
        super().__init__(esm, settings)
        self._workers = 0  # guarded by self._cond

    @property
    def pollers(self) -> int:
        """How many pollers (batches in flight at most) the mapping runs now."""
        with self._cond:
            return self._workers

    # -- the queue ----------------------------------------------------------------------
    def _backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        parts = str(self.esm.event_source_arn).split(":")
        return sqs_backends[parts[4]][parts[3]]

    def _queue(self) -> Any | None:
        arn = str(self.esm.event_source_arn)
        try:
            queue = self._backend().queues.get(arn.split(":")[5])
        except Exception:
            return None
        return queue if queue is not None and queue.queue_arn == arn else None

    def wake(self) -> None:
        queue = self._queue()
        if queue is not None:
            with queue._messages_lock:
                queue._messages_lock.notify_all()

    # -- the pollers ----------------------------------------------------------------------
    def _cap(self, config: MappingConfig) -> int:
        return config.maximum_concurrency or self.settings.sqs_concurrency

    def start_threads(self) -> None:
        if self._workers == 0:
            self._add_worker()

    def _add_worker(self) -> None:
        # With self._cond held.
        self._workers += 1
        self.spawn(self._work, name=f"esm-sqs-{self.uuid[:8]}-{self._workers}")

    def _leave(self, when_more_than: int) -> bool:
        """Leave (True) if more than ``when_more_than`` pollers run; counted atomically."""
        with self._cond:
            if self._workers > when_more_than:
                self._workers -= 1
                return True
            return False

    def _work(self) -> None:
        while True:
            with self._cond:
                # Checked and counted under the lock that apply() takes to start a poller:
                # a mapping enabled again meanwhile is never left without one.
                if not self.active():
                    self._workers -= 1
                    return
            config = self.config()
            if self._leave(self._cap(config)):
                return
            self.mark_running()
            try:
                if not self._poll_once(config) and self._leave(1):
                    return
            except Exception:
                # moto raising mid-receive (a queue deleted under us...): keep polling.
                log.exception("SQS poller of %s failed; polling again", self.uuid)
                self.sleep(self.settings.long_poll_seconds)

    def _poll_once(self, config: MappingConfig) -> bool:
        """Receive and process one batch; False when the queue had nothing to give."""
        queue = self._queue()
        if queue is None:
            self.sleep(self.settings.long_poll_seconds)
            return True
        received_at = time.monotonic()
        messages = self._receive(queue, config)
        if not messages:
            return False
        self._scale_up(queue, config)
        self._process(queue, messages, config, received_at)
        return True

    def _scale_up(self, queue: Any, config: MappingConfig) -> None:
        with self._cond:
            if self._workers < self._cap(config) and self._backlog(queue) and self.active():
                self._add_worker()

    @staticmethod
    def _backlog(queue: Any) -> bool:
        """Messages another poller could receive now (FIFO: of a group not in flight)."""
        visible = queue.messages
        if not queue.fifo_queue:
            return bool(visible)
        locked = queue.pending_message_groups
        return any(m.group_id not in locked for m in visible)

    # -- receiving ------------------------------------------------------------------------
    def _receive(self, queue: Any, config: MappingConfig) -> list[Any]:
        fifo = bool(queue.fifo_queue)
        count = min(config.batch_size, FIFO_MAX_BATCH) if fifo else config.batch_size
        until = time.monotonic() + self.settings.long_poll_seconds
        messages = self._receive_some(queue, count, until)
        if not messages or fifo or config.batching_window <= 0:
            return messages
        until = time.monotonic() + config.batching_window
        while len(messages) < count and time.monotonic() < until and self.active():
            messages += self._receive_some(queue, count - len(messages), until)
        return messages

    def _receive_some(self, queue: Any, count: int, until: float) -> list[Any]:
        """ReceiveMessage through moto, long-polling on the queue's condition until ``until``."""
        backend = self._backend()
        lock = queue._messages_lock
        # Receiving with the queue's lock held means a message sent meanwhile cannot slip
        # between an empty receive and the wait: its notify comes after the wait began.
        with lock:
            while True:
                visibility = int(queue.visibility_timeout or 0)
                messages: list[Any] = backend.receive_message(
                    queue.name, count, 0, visibility, ["All"]
                )
                if messages or not self.active():
                    return messages
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return []
                lock.wait(min(remaining, self._until_next_change(queue)))

    def _until_next_change(self, queue: Any) -> float:
        """Seconds until an in-flight or delayed message of the queue becomes visible."""
        now = _now_ms()
        soonest = math.inf
        for message in list(queue._messages):
            for moment in (message.visible_at, message.delayed_until):
                if moment > now:
                    soonest = min(soonest, moment)
        if soonest == math.inf:
            return self.settings.long_poll_seconds
        return max(0.005, (soonest - now) / 1000 + 0.002)

    # -- one batch ------------------------------------------------------------------------
    def _process(
        self, queue: Any, messages: list[Any], config: MappingConfig, received_at: float
    ) -> None:
        fifo = bool(queue.fifo_queue)
        region = str(self.esm.region)
        records = [sqs_record(m, queue.queue_arn, region, fifo) for m in messages]
        handles = {m.id: m.receipt_handle for m in messages}
        if config.patterns:
            kept = [r for r in records if accepts(config.patterns, sqs_view(r))]
            kept_ids = {r["messageId"] for r in kept}
            # Lambda deletes the messages no filter accepts, without invoking.
            self._delete(queue, [h for i, h in handles.items() if i not in kept_ids])
            records = kept
        if not records:
            return
        # The messages stay invisible for the queue's visibility timeout from their receipt:
        # a throttled invoke is retried until then, after which they simply reappear.
        give_up_at = received_at + max(1, int(queue.visibility_timeout or 0)) - 0.5
        result = self.deliver({"Records": records}, give_up_at)
        if result is None:
            return
        ids = [r["messageId"] for r in records]
        if result.function_error:
            log.info("SQS batch of %s failed (%s): nothing deleted", self.uuid, result.error_type)
            return
        done = ids
        if config.report_failures:
            response = read_batch_response(result.payload, ids)
            if response.complete_failure:
                log.info("SQS batch of %s: invalid batchItemFailures, nothing deleted", self.uuid)
                return
            done = [i for i in ids if i not in response.failed]
        self._delete(queue, [handles[i] for i in done])

    def _delete(self, queue: Any, receipt_handles: list[str]) -> None:
        if not receipt_handles:
            return
        backend = self._backend()
        for handle in receipt_handles:
            try:
                backend.delete_message(queue.name, handle)
            except Exception:  # purged or deleted meanwhile: nothing left to delete
                log.debug("could not delete a message of %s", queue.name, exc_info=True)
        # A FIFO group may be free again: wake the pollers waiting for one.
        with queue._messages_lock:
            queue._messages_lock.notify_all()

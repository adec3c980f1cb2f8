"""Exponential backoff for the messages a batch hands back to the queue.

Lambda leaves a failed message invisible for the rest of the queue's visibility timeout
(60 s here), and on a FIFO queue its whole message group waits with it: one transient
error would hold up an account for a minute. So the consumer sets the visibility of the
messages it returns to a delay that doubles with every receive of the failed message:
``base``, ``2 x base``, ``4 x base``... up to ``cap``. A blip costs an account seconds; a
real outage is not hammered; and after ``maxReceiveCount`` receives SQS moves the messages
to the dead-letter queue as usual.

Postponing is best effort: if the call fails, the messages simply come back after the
visibility timeout, so a failure here is logged and never fails the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

# SQS's limit per ChangeMessageVisibilityBatch call (a FIFO batch has at most 10 anyway).
_MAX_ENTRIES = 10
# SQS's ceiling for a visibility timeout: 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays before a returned message is delivered again."""

    base_seconds: int
    cap_seconds: int

    def __post_init__(self) -> None:
        if not 0 <= self.base_seconds <= self.cap_seconds <= MAX_VISIBILITY_SECONDS:
            raise ValueError(
                "need 0 <= base <= cap <= 43200 seconds, "
                f"got base {self.base_seconds}, cap {self.cap_seconds}"
            )

    def delay(self, receive_count: int) -> int:
        """Seconds to wait after the ``receive_count``-th receive of a message failed."""
        attempts = max(receive_count, 1)
        # Capped before exponentiation grows: 2**40 seconds is past any cap anyway.
        return min(self.cap_seconds, self.base_seconds * 2 ** min(attempts - 1, 40))


@dataclass(frozen=True, slots=True)
class ReturnedMessage:
    message_id: str
    receipt_handle: str


def postpone(
    client: SQSClient, queue_url: str, messages: Sequence[ReturnedMessage], seconds: int
) -> list[str]:
    """Make ``messages`` invisible for ``seconds`` from now; return the ids that failed."""
    failed: list[str] = []
    for start in range(0, len(messages), _MAX_ENTRIES):
        chunk = messages[start : start + _MAX_ENTRIES]
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {
                "Id": str(index),
                "ReceiptHandle": message.receipt_handle,
                "VisibilityTimeout": seconds,
            }
            for index, message in enumerate(chunk)
        ]
        response = client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        failed += [chunk[int(entry["Id"])].message_id for entry in response.get("Failed", [])]
    return failed

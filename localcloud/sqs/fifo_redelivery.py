"""FIFO redelivery order after a visibility timeout (moto 5.2.5).

AWS (SQS Developer Guide, "FIFO queue delivery logic"): messages of a message group are
delivered in the order they were sent; while a group has a message in flight no later
message of it is returned, and a message that was received but not deleted before its
visibility timeout expired is visible again, at its place. So a group whose batch timed out
comes back first unacknowledged message first.

moto marks received messages in ``Queue._pending_messages`` and locks a group while any of
its messages is marked. ``SQSBackend.receive_message`` unmarks an expired message only when
its loop reaches it, one at a time: of a batch of one group that timed out it skips the first
messages (the group still looks locked by the later, still marked ones) and hands out the
last one first, alone. A message whose visibility timeout expired is no longer in flight, so
the marks are dropped as soon as they expire. What is replaced, in ``moto/sqs/models.py``:

- ``Queue.pending_messages`` (property): the in-flight messages, without those visible again;
- ``Queue.pending_message_groups`` (property): the groups of those, from a snapshot of the
  set (moto iterates the live set, which another request may change meanwhile).

Both are what ``receive_message`` reads (ReceiveMessage, and the Lambda pollers of
:mod:`localcloud.awslambda.event_sources.sqs`), so either way the group is redelivered in its
original order. A message still invisible keeps its group locked (moto's rule, unchanged).
"""

from __future__ import annotations

import threading
from typing import Any

# "<class>.<attribute>" -> (owner, moto's original), so install() runs once.
PATCHES: dict[str, tuple[Any, Any]] = {}
_install_lock = threading.Lock()


def _pending_messages(self: Any) -> set[Any]:
    """Replaces ``Queue.pending_messages``: drops the marks of messages visible again."""
    pending: set[Any] = self._pending_messages
    for message in [m for m in list(pending) if m.visible]:
        pending.discard(message)
    return pending


def _pending_message_groups(self: Any) -> set[str]:
    """Replaces ``Queue.pending_message_groups``: the groups of the messages in flight."""
    return {m.group_id for m in list(self.pending_messages) if m.group_id is not None}


def install() -> None:
    """Replace moto's properties (once per process)."""
    from moto.sqs.models import Queue

    with _install_lock:
        if PATCHES:
            return
        PATCHES["Queue.pending_messages"] = (Queue, Queue.__dict__["pending_messages"])
        PATCHES["Queue.pending_message_groups"] = (
            Queue,
            Queue.__dict__["pending_message_groups"],
        )
        Queue.pending_messages = property(_pending_messages)  # type: ignore[assignment,method-assign]
        Queue.pending_message_groups = property(_pending_message_groups)  # type: ignore[assignment,method-assign]

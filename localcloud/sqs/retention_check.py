"""ReceiveMessage in time linear in the queue's depth, not quadratic.

moto 5.2.5's ``SQSBackend.is_message_valid_based_on_retention_period`` (called once per
message handed out) reads the retention period through ``get_queue_attributes``, which
computes every attribute of the queue, among them the approximate counts, each a pass over
all its messages. A queue of 2,000 messages then drained at ~15 messages a second, whatever
the consumer's concurrency. The replacement reads the one attribute it needs.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.core.utils import unix_time

# "<class>.<attribute>" -> (owner, moto's original), so install() runs once.
PATCHES: dict[str, tuple[Any, Any]] = {}
_install_lock = threading.Lock()


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    """Replaces moto's: a message is valid until ``MessageRetentionPeriod`` after its send."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


def install() -> None:
    """Replace moto's method (once per process)."""
    from moto.sqs.models import SQSBackend

    with _install_lock:
        if PATCHES:
            return
        name = "is_message_valid_based_on_retention_period"
        PATCHES[f"SQSBackend.{name}"] = (SQSBackend, getattr(SQSBackend, name))
        setattr(SQSBackend, name, _is_message_valid_based_on_retention_period)

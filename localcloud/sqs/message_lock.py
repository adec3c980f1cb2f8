"""One queue, one writer at a time: no message lost or brought back by a race (moto 5.2.5).

AWS: a message sent is kept until it is deleted or its retention period ends, and a deleted
message is never delivered again (standard queues may deliver a message more than once, but
not one whose DeleteMessage succeeded before its visibility timeout ended).

moto's ``Queue.delete_message`` rebuilds the queue's message list without the message and
assigns it back, holding no lock, while ``Queue.add_message`` appends under the queue's
``_messages_lock``. The local cloud serves requests and runs Lambda pollers on many threads,
so two races were real:

- a SendMessage landing while a delete rebuilt the list was dropped with the old list:
  the message was lost although SendMessage had answered with its id;
- two deletes at once each rebuilt from the same list: the second put the first's message
  back, still invisible; it was delivered again once its visibility timeout ended (seen as
  ~50 of 2,000 messages received twice in the queue drain benchmark at concurrency 10).

Deleting, receiving (which marks messages received and moves them to the dead-letter
queue) and purging now hold the queue's ``_messages_lock`` (a ``Condition`` on an
``RLock``, so the Lambda poller that already holds it while it receives is not blocked by
itself, and a long poll that waits on it releases it meanwhile).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

# "<class>.<attribute>" -> (owner, moto's original), so install() runs once.
PATCHES: dict[str, tuple[Any, Any]] = {}
_install_lock = threading.Lock()


def _holding_the_queue_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """``SQSBackend.<method>(queue_name, ...)`` run with that queue's lock held."""

    @functools.wraps(method)
    def locked(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            queue = backend.get_queue(queue_name)
        except Exception:  # no such queue: moto's method raises the API's error
            return method(backend, queue_name, *args, **kwargs)
        with queue._messages_lock:
            return method(backend, queue_name, *args, **kwargs)

    return locked


def _delete_message_holding_the_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """``Queue.delete_message(receipt_handle)`` run with the queue's lock held."""

    @functools.wraps(method)
    def locked(queue: Any, receipt_handle: str) -> Any:
        with queue._messages_lock:
            return method(queue, receipt_handle)

    return locked


def install() -> None:
    """Wrap moto's methods (once per process)."""
    from moto.sqs.models import Queue, SQSBackend

    with _install_lock:
        if PATCHES:
            return
        PATCHES["Queue.delete_message"] = (Queue, Queue.delete_message)
        Queue.delete_message = _delete_message_holding_the_lock(Queue.delete_message)  # type: ignore[method-assign]
        for name in ("receive_message", "purge_queue"):
            original = getattr(SQSBackend, name)
            PATCHES[f"SQSBackend.{name}"] = (SQSBackend, original)
            setattr(SQSBackend, name, _holding_the_queue_lock(original))

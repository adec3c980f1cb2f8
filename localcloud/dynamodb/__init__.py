"""DynamoDB as AWS runs it, where moto 5.2.5 differs.

- **Writes to an item are serialised.** DynamoDB applies the writes of one item one after
  the other, so an update expression (``SET version = version + :one``) or a condition
  (``version = :expected``) always sees the previous write's result: N concurrent
  increments give N distinct values. moto's server runs each request on its own thread and
  its backend takes no lock, so two concurrent ``UpdateItem`` calls can read the same item
  and one write is lost; and the item a write returns (``ReturnValues``) is read from the
  live object after the write, so it can already show the next write. Here every item
  write request (``PutItem``, ``UpdateItem``, ``DeleteItem``, ``BatchWriteItem``,
  ``TransactWriteItems``), from reading the old item to building the response, runs under
  one process-wide re-entrant lock: simple, and a write takes microseconds. Reads take no
  lock (each returns a whole item, as on AWS).

moto internals change between releases: ``tests/localcloud/test_dynamodb_*.py`` is what
tells an upgrade broke something here.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from localcloud.settings import CloudSettings

# moto's request handlers (DynamoHandler methods), one per write operation.
_WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_LOCK = threading.RLock()
_PATCHED = "_localcloud_serialised"


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(write, _PATCHED, True)
    return write


def install(settings: CloudSettings) -> None:
    """Patch moto's DynamoDB request handler in this process (idempotent); nothing to
    shut down."""
    from moto.dynamodb.responses import DynamoHandler

    del settings  # nothing to tune; the signature is the one every install shares
    for name in _WRITES:
        method = getattr(DynamoHandler, name)
        if not getattr(method, _PATCHED, False):
            setattr(DynamoHandler, name, _serialised(method))

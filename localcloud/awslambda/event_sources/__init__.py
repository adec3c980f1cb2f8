"""Event source mappings polled like the Lambda service polls them: SQS, DynamoDB Streams, Kinesis.

moto invokes a mapping's function itself, synchronously, inside SendMessage, PutItem and
PutRecord, once, with made-up event fields. ``install(settings)`` turns that off (moto's
mappings are detached from their queues, tables and streams, :mod:`.moto_patch`) and runs
pollers instead (:mod:`.manager`): they read the source through moto's backends in-process,
invoke the function through :func:`localcloud.awslambda.invoke_function` with the exact
events Lambda sends, and act on the outcome as Lambda does: delete or keep SQS messages
(:mod:`.sqs`), checkpoint, retry, bisect or give up on stream batches (:mod:`.streams`),
skip what the mapping's FilterCriteria reject (:mod:`.filters`).

A mapping gets its poller when it is created, through the Lambda API or a CloudFormation
stack, follows every UpdateEventSourceMapping, and loses it on deletion. The returned hook
ends every poller thread.

Settings from the environment: ``LOCALCLOUD_ESM_SQS_CONCURRENCY`` (batches one SQS mapping
may have in flight when it sets no ``ScalingConfig.MaximumConcurrency``, default 5),
``LOCALCLOUD_ESM_STREAM_POLL_SECONDS`` (how often an idle shard is read, default 0.25) and
``LOCALCLOUD_ESM_RETRY_SECONDS`` (first backoff between retries of a failed stream batch,
default 0.1, doubling up to 2 s).
"""

from __future__ import annotations

from collections.abc import Callable

from localcloud.awslambda.event_sources.manager import EventSourceManager, current_manager
from localcloud.awslambda.event_sources.poller import PollerSettings
from localcloud.settings import CloudSettings

__all__ = ["EventSourceManager", "PollerSettings", "current_manager", "install"]


def install(settings: CloudSettings) -> Callable[[], None]:
    """Poll every event source mapping of this process's moto; returns the stop hook."""
    from localcloud.awslambda.event_sources import moto_patch

    moto_patch.apply()
    manager = EventSourceManager(PollerSettings.from_environment())
    manager.start()
    return manager.stop

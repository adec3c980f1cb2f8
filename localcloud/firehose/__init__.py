"""Amazon Data Firehose delivery to S3 and Kinesis routing, on the local cloud.

moto's Firehose writes one S3 object per PutRecord/PutRecordBatch call and ignores a Kinesis
source. ``install(settings)`` puts a delivery engine behind it (:mod:`.engine`, hooked into
moto by :mod:`.moto_patch`): records are buffered per delivery stream and delivered as one S3
object per flush, when ``BufferingHints.SizeInMBs`` is reached or ``IntervalInSeconds`` has
passed, with AWS's object names and custom prefix expressions (:mod:`.prefixes`). A
``KinesisStreamAsSource`` stream reads every shard of its source from TRIM_HORIZON. A Lambda
processor transforms records before they are buffered for S3, and records it fails go under
the error output prefix (:mod:`.processing`). Kinesis PutRecord(s) routing is fixed to AWS's
inclusive hash key ranges (:mod:`.kinesis_patch`).

Settings from the environment, read at install:
``LOCALCLOUD_FIREHOSE_INTERVAL_SCALE`` multiplies every IntervalInSeconds (default 1: AWS's
timing; 0.01 makes 300 s three seconds), ``LOCALCLOUD_FIREHOSE_TICK_SECONDS`` (how often the
engine checks buffers and reads Kinesis sources, default 0.05).

Not emulated (refused by name at CreateDeliveryStream): processors other than Lambda
(``AppendDelimiterToRecord``, ``MetadataExtraction``...), compression other than GZIP, dynamic
partitioning expressions. The returned hook stops the engine thread and flushes what is still
buffered.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from localcloud.firehose.engine import DeliveryEngine, FirehoseSettings
from localcloud.settings import CloudSettings

__all__ = ["DeliveryEngine", "FirehoseSettings", "current_engine", "install"]

_current: DeliveryEngine | None = None


def current_engine() -> DeliveryEngine | None:
    """The engine of the running local cloud, if any."""
    return _current


def settings_from_environment() -> FirehoseSettings:
    return FirehoseSettings(
        interval_scale=float(os.environ.get("LOCALCLOUD_FIREHOSE_INTERVAL_SCALE", "1")),
        tick_seconds=float(os.environ.get("LOCALCLOUD_FIREHOSE_TICK_SECONDS", "0.05")),
    )


def install(settings: CloudSettings) -> Callable[[], None]:
    """Buffer Firehose deliveries and fix Kinesis routing in this process; returns the stop hook."""
    global _current
    from localcloud.firehose import kinesis_patch, moto_patch

    kinesis_patch.apply()
    moto_patch.apply()
    engine = DeliveryEngine(settings_from_environment())
    moto_patch.set_engine(engine)
    engine.start()
    _current = engine

    def stop() -> None:
        global _current
        engine.stop()
        moto_patch.set_engine(None)
        if _current is engine:
            _current = None

    return stop

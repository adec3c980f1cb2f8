"""The delivery engine: buffers records per delivery stream and writes one S3 object per flush.

A delivery stream's buffer is flushed when it holds ``BufferingHints.SizeInMBs`` MiB or when
``BufferingHints.IntervalInSeconds`` have passed since its oldest record arrived, whichever
comes first (AWS defaults: 5 MiB, 300 s). The object holds the records' bytes concatenated
as they were sent (Firehose adds no delimiter), gzipped when ``CompressionFormat`` is GZIP.

A ``KinesisStreamAsSource`` delivery stream reads every shard of its source stream from
TRIM_HORIZON, continuously, like a Kinesis consumer, and buffers the records in shard order.

With a Lambda processor (:mod:`.processing`) records first wait in a buffer of their own
(the processor's BufferSizeInMBs / BufferIntervalInSeconds), are transformed by the function
outside the engine's lock, and what it returns joins the S3 buffer; records it could not
process are delivered under the error output prefix (``processing-failed``), flushed with the
S3 buffer.

An S3 write that fails (no bucket, say) keeps the buffer and is retried (AWS retries S3
delivery for up to 24 hours). On shutdown the engine reads what its Kinesis sources still
hold and flushes every buffer: AWS does not lose data it has accepted, so a stopping local
cloud delivers it rather than dropping it.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from localcloud.firehose import prefixes, processing
from localcloud.firehose.processing import Processor, Record

log = logging.getLogger("localcloud.firehose")

MIB = 1024 * 1024
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_SECONDS = 300
KINESIS_READ_LIMIT = 10_000


@dataclass(frozen=True)
class FirehoseSettings:
    """``interval_scale`` multiplies every IntervalInSeconds (1.0 = AWS's timing)."""

    interval_scale: float = 1.0
    tick_seconds: float = 0.05
    retry_seconds: float = 1.0


@dataclass
class _Hose:
    account_id: str
    region: str
    partition: str
    stream: Any  # moto's DeliveryStream
    records: list[Record] = field(default_factory=list)  # the S3 buffer
    size: int = 0
    errors: list[Record] = field(default_factory=list)  # error documents awaiting delivery
    raw: list[Record] = field(default_factory=list)  # awaiting the Lambda processor
    raw_size: int = 0
    positions: dict[str, int] = field(default_factory=dict)  # shard id -> last sequence read
    retry_at: float = 0.0

    def take_in(self, record: Record, processor: Processor | None) -> None:
        if processor is None:
            self.records.append(record)
            self.size += len(record.data)
        else:
            self.raw.append(record)
            self.raw_size += len(record.data)

    def source_arn(self) -> str | None:
        source = self.stream.source or {}
        arn = source.get("KinesisStreamARN")
        if self.stream.delivery_stream_type != "KinesisStreamAsSource" or not arn:
            return None
        return str(arn)


def destination_of(stream: Any) -> dict[str, Any]:
    """The S3 destination config (ExtendedS3 first, as Firehose describes it)."""
    for destination in stream.destinations:
        if "ExtendedS3" in destination:
            return dict(destination["ExtendedS3"])
        if "S3" in destination:
            return dict(destination["S3"])
    return {}


def processor_of_stream(stream: Any) -> Processor | None:
    try:
        return processing.processor_of(destination_of(stream))
    except processing.ProcessingConfigError:
        return None  # refused at CreateDeliveryStream; never installed


def buffering_of(config: dict[str, Any]) -> tuple[int, float]:
    hints = config.get("BufferingHints") or {}
    size = int(hints.get("SizeInMBs", DEFAULT_SIZE_MB))
    interval = float(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS))
    return size * MIB, interval


class DeliveryEngine:
    """One thread that feeds Kinesis-sourced buffers and flushes every due buffer."""

    def __init__(self, settings: FirehoseSettings) -> None:
        self.settings = settings
        self._hoses: dict[str, _Hose] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="localcloud-firehose", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread, then deliver what is still buffered (nothing accepted is lost)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            hoses = list(self._hoses.values())
        for hose in hoses:
            try:
                with self._lock:
                    self._read_kinesis(hose)
                self._process(hose, force=True)
                with self._lock:
                    self._flush(hose)
            except Exception:
                log.exception("final flush of %s failed", hose.stream.delivery_stream_name)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # registry ------------------------------------------------------------------------------
    def register(self, account_id: str, region: str, partition: str, stream: Any) -> None:
        with self._lock:
            self._hoses[stream.delivery_stream_arn] = _Hose(account_id, region, partition, stream)

    def unregister(self, arn: str) -> None:
        with self._lock:
            self._hoses.pop(arn, None)

    def accept(self, arn: str, records: list[bytes]) -> bool:
        """Buffer DirectPut records; False when the stream is not known to the engine."""
        now = time.time()
        with self._lock:
            hose = self._hoses.get(arn)
            if hose is None:
                return False
            processor = processor_of_stream(hose.stream)
            for data in records:
                hose.take_in(Record(data, now), processor)
        self._wake.set()
        return True

    def buffered_bytes(self, arn: str) -> int:
        """Bytes waiting for S3 (and for the Lambda processor, if any)."""
        with self._lock:
            hose = self._hoses.get(arn)
            return 0 if hose is None else hose.size + hose.raw_size

    # the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.settings.tick_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return
            with self._lock:
                hoses = list(self._hoses.values())
            for hose in hoses:
                try:
                    with self._lock:
                        self._read_kinesis(hose)
                    self._process(hose)
                    with self._lock:
                        if self._due(hose):
                            self._flush(hose)
                except Exception:
                    log.exception("delivery of %s failed", hose.stream.delivery_stream_name)
                    hose.retry_at = time.monotonic() + self.settings.retry_seconds

    def _older_than(self, records: list[Record], interval: float) -> bool:
        # Shards are read one after another, so the oldest record need not be the first.
        age = time.time() - min(record.arrival for record in records)
        return age >= interval * self.settings.interval_scale

    def _due(self, hose: _Hose) -> bool:
        if not (hose.records or hose.errors) or time.monotonic() < hose.retry_at:
            return False
        size_limit, interval = buffering_of(destination_of(hose.stream))
        if hose.size >= size_limit:
            return True
        return self._older_than(hose.records + hose.errors, interval)

    def _process(self, hose: _Hose, *, force: bool = False) -> None:
        """Transform the processor's buffer when it is due; the function runs unlocked."""
        with self._lock:
            processor = processor_of_stream(hose.stream)
            if processor is None or not hose.raw:
                return
            due = hose.raw_size >= processor.size or self._older_than(hose.raw, processor.interval)
            if not (due or force):
                return
            batch, hose.raw, hose.raw_size = hose.raw, [], 0
        delivered, failed = processing.transform(
            batch,
            processor,
            processing.lambda_invoker(hose.account_id, hose.region),
            stream_arn=hose.stream.delivery_stream_arn,
            region=hose.region,
            source_arn=hose.source_arn(),
        )
        with self._lock:
            for record in delivered:
                hose.records.append(record)
                hose.size += len(record.data)
            hose.errors.extend(failed)

    def _read_kinesis(self, hose: _Hose) -> None:
        arn = hose.source_arn()
        if arn is None:
            return
        from moto.kinesis.models import kinesis_backends

        stream_name = arn.split("/", 1)[1]
        region = arn.split(":")[3]
        kinesis_stream = kinesis_backends[hose.account_id][region].streams.get(stream_name)
        if kinesis_stream is None:
            return
        processor = processor_of_stream(hose.stream)
        for shard_id, shard in sorted(kinesis_stream.shards.items()):
            position = hose.positions.get(shard_id, 0)  # TRIM_HORIZON
            try:
                records, last, _ = shard.get_records(str(position), KINESIS_READ_LIMIT)
            except RuntimeError:  # the shard grew while it was read: next tick
                continue
            for record in records:
                metadata = {
                    "shardId": shard_id,
                    "partitionKey": record.partition_key,
                    "approximateArrivalTimestamp": int(float(record.created_at) * 1000),
                    "sequenceNumber": str(record.sequence_number),
                    "subsequenceNumber": "",
                }
                data = base64.b64decode(record.data)
                hose.take_in(Record(data, float(record.created_at), metadata), processor)
            hose.positions[shard_id] = int(last)

    def _flush(self, hose: _Hose) -> None:
        """Write the S3 buffer and the error documents; a failed write keeps them."""
        from moto.s3.models import s3_backends

        config = destination_of(hose.stream)
        bucket = str(config.get("BucketARN", "")).split(":")[-1]
        backend = s3_backends[hose.account_id][hose.partition]
        if hose.records:
            key, body = self._object(hose, hose.records, str(config.get("Prefix", "")), None)
            backend.put_object(bucket, key, body)
            log.debug("delivered %d records to s3://%s/%s", len(hose.records), bucket, key)
            hose.records = []
            hose.size = 0
        if hose.errors:
            error_prefix = str(config.get("ErrorOutputPrefix") or "")
            key, body = self._object(hose, hose.errors, error_prefix, processing.ERROR_OUTPUT_TYPE)
            backend.put_object(bucket, key, body)
            log.debug("delivered %d failed records to s3://%s/%s", len(hose.errors), bucket, key)
            hose.errors = []
        hose.retry_at = 0.0

    def _object(
        self, hose: _Hose, records: list[Record], prefix: str, error_type: str | None
    ) -> tuple[str, bytes]:
        config = destination_of(hose.stream)
        oldest = dt.datetime.fromtimestamp(min(r.arrival for r in records), tz=dt.UTC)
        body = b"".join(record.data for record in records)
        extension = ""
        if str(config.get("CompressionFormat", "UNCOMPRESSED")).upper() == "GZIP":
            body = gzip.compress(body)
            extension = ".gz"
        key = prefixes.object_key(
            prefix,
            hose.stream.delivery_stream_name,
            str(hose.stream.version_id),
            oldest,
            extension,
            error_type,
        )
        return key, body

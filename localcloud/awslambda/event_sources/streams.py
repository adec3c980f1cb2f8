"""DynamoDB Streams and Kinesis event source mappings, polled shard by shard like Lambda.

Records are read in-process from moto's shards (``StreamShard.get`` of a table's stream,
``Shard.get_records`` of a Kinesis stream): the very records ``GetRecords`` returns, without
the shard iterators moto would keep forever for every poll. What Lambda adds is here:

- each shard is polled by its own thread, in order, from a checkpoint: ``TRIM_HORIZON``,
  ``LATEST`` (as of the mapping's creation) or, for Kinesis, ``AT_TIMESTAMP``; batches of up
  to ``BatchSize`` records, gathered for up to ``MaximumBatchingWindowInSeconds``;
- a failed batch blocks its shard: it is retried (with a backoff) until it succeeds, until
  ``MaximumRetryAttempts`` retries were made or its records are older than
  ``MaximumRecordAgeInSeconds`` (-1 for either: until the records expire, after the
  stream's retention period). ``BisectBatchOnFunctionError``
  splits a failed batch in two and retries each half (splitting uses no retry), which
  isolates a poison record. With ``ReportBatchItemFailures`` the checkpoint moves to just
  before the lowest reported sequence number and only the rest is retried;
- a batch given up on is skipped and, with ``DestinationConfig.OnFailure`` (an SQS queue or
  SNS topic), described there in AWS's invocation record (``DDBStreamBatchInfo`` or
  ``KinesisBatchInfo``: shard, first and last sequence numbers, arrival times, size);
- records no filter accepts are skipped; throttled invokes are retried and never count as
  attempts.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from localcloud.awslambda.event_sources.batch_response import read_batch_response
from localcloud.awslambda.event_sources.filters import accepts, kinesis_view
from localcloud.awslambda.event_sources.poller import (
    MappingConfig,
    MappingPoller,
    PollerSettings,
    set_last_result,
)
from localcloud.awslambda.model import InvokeResult

log = logging.getLogger("localcloud.awslambda.event_sources")

# Lambda's LastProcessingResult values for stream mappings.
NO_RECORDS = "No records processed"
OK = "OK"
FUNCTION_FAILED = "PROBLEM: Function call failed"


@dataclass(frozen=True)
class SourceRecord:
    """One stream record: where it is, when it arrived, what the function and filters see."""

    position: int  # its sequence number as an integer, for ordering and checkpoints
    sequence_number: str
    arrival: float  # epoch seconds
    event: dict[str, Any]
    view: dict[str, Any]


class StreamSource(Protocol):
    """A DynamoDB stream or a Kinesis stream, as the poller reads it."""

    batch_info_key: str

    def retention_seconds(self) -> float:
        """How long the stream keeps a record: the age at which Lambda stops retrying it."""
        ...

    def shard_ids(self) -> list[str]: ...

    def start_after(self, shard_id: str, position: str | None, timestamp: float | None) -> int:
        """The checkpoint (the position just before the first record to read)."""
        ...

    def read(self, shard_id: str, after: int, limit: int, role: str) -> list[SourceRecord]: ...


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return time.time()


def iso_timestamp(epoch: float) -> str:
    """AWS's ISO-8601 form with milliseconds: 2019-11-14T00:38:04.835Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DynamoDBStreamSource:
    """A table's stream in moto: one shard, records in ``StreamShard.items``."""

    batch_info_key = "DDBStreamBatchInfo"

    def __init__(self, stream_arn: str) -> None:
        self.arn = stream_arn
        # The stream label is a timestamp with colons: split off the five ARN fields only.
        parts = stream_arn.split(":", 5)
        self.region, self.account_id = parts[3], parts[4]
        resource = parts[5]  # table/<name>/stream/<label>
        self.table_name = resource.split("/")[1]
        self.label = resource.split("/stream/", 1)[-1]

    def _shard(self) -> Any | None:
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[self.account_id][self.region].tables.get(self.table_name)
        if table is None or table.stream_shard is None or table.latest_stream_label != self.label:
            return None
        return table.stream_shard

    def retention_seconds(self) -> float:
        return 24 * 3600.0  # DynamoDB Streams keeps records for 24 hours

    def shard_ids(self) -> list[str]:
        shard = self._shard()
        return [str(shard.id)] if shard is not None else []

    def start_after(self, shard_id: str, position: str | None, timestamp: float | None) -> int:
        shard = self._shard()
        if shard is None:
            return 0
        first = int(shard.starting_sequence_number)
        if position == "LATEST":
            return first + len(shard.items) - 1
        return first - 1

    def read(self, shard_id: str, after: int, limit: int, role: str) -> list[SourceRecord]:
        shard = self._shard()
        if shard is None or shard.id != shard_id:
            return []
        start = max(after + 1, int(shard.starting_sequence_number))
        records = []
        for item in shard.get(start, limit):
            raw = copy.deepcopy(item)
            details = dict(raw.get("dynamodb") or {})
            arrival = _epoch(details.get("ApproximateCreationDateTime"))
            details["ApproximateCreationDateTime"] = float(int(arrival))
            event = {
                "eventID": raw.get("eventID") or uuid.uuid4().hex,
                "eventName": raw.get("eventName"),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": self.region,
                "dynamodb": details,
                "eventSourceARN": self.arn,
            }
            sequence = str(details.get("SequenceNumber"))
            records.append(SourceRecord(int(sequence), sequence, arrival, event, event))
        return records


class KinesisStreamSource:
    """A Kinesis stream in moto: shards holding ``Record`` objects by sequence number."""

    batch_info_key = "KinesisBatchInfo"

    def __init__(self, stream_arn: str) -> None:
        self.arn = stream_arn
        parts = stream_arn.split(":")
        self.region, self.account_id = parts[3], parts[4]
        self.name = parts[5].split("/", 1)[1]

    def _stream(self) -> Any | None:
        from moto.kinesis.models import kinesis_backends

        stream = kinesis_backends[self.account_id][self.region].streams.get(self.name)
        return stream if stream is not None and stream.arn == self.arn else None

    def _shard(self, shard_id: str) -> Any | None:
        stream = self._stream()
        return stream.shards.get(shard_id) if stream is not None else None

    def retention_seconds(self) -> float:
        stream = self._stream()
        hours = int(getattr(stream, "retention_period_hours", 0) or 24)
        return hours * 3600.0

    def shard_ids(self) -> list[str]:
        stream = self._stream()
        return sorted(stream.shards) if stream is not None else []

    def start_after(self, shard_id: str, position: str | None, timestamp: float | None) -> int:
        shard = self._shard(shard_id)
        if shard is None:
            return 0
        if position == "LATEST":
            return int(shard.get_max_sequence_number())
        if position == "AT_TIMESTAMP" and timestamp is not None:
            return int(shard.get_sequence_number_at(timestamp))
        return 0

    def read(self, shard_id: str, after: int, limit: int, role: str) -> list[SourceRecord]:
        shard = self._shard(shard_id)
        # Idle check in O(1): the newest record is the last of the shard's ordered dict
        # (Shard.get_records walks the whole shard).
        if shard is None or not shard.records or next(reversed(shard.records)) <= after:
            return []
        found, _, _ = shard.get_records(str(after), limit)
        records = []
        for record in found:
            sequence = str(record.sequence_number)
            event = {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": sequence,
                    "data": record.data,
                    "approximateArrivalTimestamp": round(float(record.created_at), 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard_id}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role,
                "awsRegion": self.region,
                "eventSourceARN": self.arn,
            }
            records.append(
                SourceRecord(
                    int(sequence), sequence, float(record.created_at), event, kinesis_view(event)
                )
            )
        return records


def source_for(esm: Any) -> StreamSource:
    kind = esm._get_service_source_from_arn()
    if kind == "dynamodb":
        return DynamoDBStreamSource(str(esm.event_source_arn))
    return KinesisStreamSource(str(esm.event_source_arn))


@dataclass
class _Attempt:
    """Records being delivered together, with their history."""

    records: list[SourceRecord]
    invokes: int = 0
    retries: int = 0
    last: InvokeResult | None = None
    partial: bool = False  # the last outcome was a valid partial batch response


class StreamPoller(MappingPoller):
    """A supervisor thread finding shards, and one thread per shard delivering its records."""

    def __init__(self, esm: Any, settings: PollerSettings, source: StreamSource) -> None:
        super().__init__(esm, settings)
        self.source = source
        self._checkpoints: dict[str, int] = {}
        self._supervisor: Any | None = None
        self._shard_threads: dict[str, Any] = {}
        config = self.config()
        # Positions are fixed when the mapping is created: LATEST means what arrives after.
        for shard_id in source.shard_ids():
            self._checkpoints[shard_id] = source.start_after(
                shard_id, config.starting_position, config.starting_timestamp
            )
        set_last_result(esm, NO_RECORDS)

    def checkpoint(self, shard_id: str) -> int | None:
        with self._cond:
            return self._checkpoints.get(shard_id)

    # -- threads --------------------------------------------------------------------------
    def start_threads(self) -> None:
        if self._supervisor is None:
            self._supervisor = self.spawn(self._supervise, name=f"esm-stream-{self.uuid[:8]}")

    def _supervise(self) -> None:
        while True:
            with self._cond:
                if not self.active():
                    self._supervisor = None
                    return
                self.mark_running()
                for shard_id in self.source.shard_ids():
                    if shard_id in self._shard_threads:
                        continue
                    # A shard that appeared later (resharding) is read from its start.
                    self._checkpoints.setdefault(
                        shard_id, self.source.start_after(shard_id, "TRIM_HORIZON", None)
                    )
                    self._shard_threads[shard_id] = self.spawn(
                        functools.partial(self._poll_shard, shard_id),
                        name=f"esm-shard-{self.uuid[:8]}-{shard_id[-6:]}",
                    )
            self.sleep(max(1.0, self.settings.stream_poll_seconds * 4))

    def _poll_shard(self, shard_id: str) -> None:
        window_started: float | None = None
        while True:
            with self._cond:
                if not self.active():
                    self._shard_threads.pop(shard_id, None)
                    return
                after = self._checkpoints[shard_id]
            self.mark_running()
            try:
                config = self.config()
                records = self.source.read(shard_id, after, config.batch_size, self._role())
                if not records:
                    window_started = None
                    self.sleep(self.settings.stream_poll_seconds)
                    continue
                if config.batching_window > 0 and len(records) < config.batch_size:
                    window_started = window_started or time.monotonic()
                    remaining = window_started + config.batching_window - time.monotonic()
                    if remaining > 0:
                        self.sleep(min(remaining, self.settings.stream_poll_seconds))
                        continue
                window_started = None
                self._process(shard_id, records)
            except Exception:
                log.exception("stream poller %s failed on %s; polling again", self.uuid, shard_id)
                self.sleep(1.0)

    def _role(self) -> str:
        fn = self.function()
        return str(getattr(fn, "role", "") or "") if fn is not None else ""

    def _commit(self, shard_id: str, record: SourceRecord) -> None:
        with self._cond:
            self._checkpoints[shard_id] = max(self._checkpoints.get(shard_id, 0), record.position)

    # -- one batch ------------------------------------------------------------------------
    def _process(self, shard_id: str, records: list[SourceRecord]) -> None:
        """Deliver ``records`` until each is done or given up on; the shard waits meanwhile."""
        config = self.config()
        selected = [r for r in records if accepts(config.patterns, r.view)]
        pending = deque([_Attempt(selected)] if selected else [])
        while pending:
            attempt = pending[0]
            config = self.config()
            expired = self._expired(attempt.records, config)
            if expired:
                self._give_up(shard_id, attempt, expired, "RecordAgeExceeded", config)
                attempt.records = attempt.records[len(expired) :]
                if not attempt.records:
                    pending.popleft()
                continue
            if not self.active():
                return  # the checkpoint stays before these records
            result = self.deliver(
                {"Records": [r.event for r in attempt.records]}, self._give_up_at(attempt, config)
            )
            if result is None:
                if not self.active():
                    return
                # Throttled until the records (nearly) aged out: the age check gives up.
                self.sleep(0.05)
                continue
            attempt.invokes += 1
            attempt.last = result
            kind, failed_from = self._outcome(result, attempt.records, config)
            if kind == "success":
                set_last_result(self.esm, OK)
                self._commit(shard_id, attempt.records[-1])
                pending.popleft()
                continue
            set_last_result(self.esm, FUNCTION_FAILED)
            attempt.partial = kind == "partial"
            if failed_from > 0:
                self._commit(shard_id, attempt.records[failed_from - 1])
                attempt.records = attempt.records[failed_from:]
            if config.bisect and kind == "failure" and len(attempt.records) > 1:
                half = len(attempt.records) // 2
                pending.popleft()
                for part in (attempt.records[half:], attempt.records[:half]):
                    pending.appendleft(_Attempt(part, invokes=attempt.invokes, last=result))
                continue
            attempt.retries += 1
            limit = config.maximum_retry_attempts
            if 0 <= limit < attempt.retries:
                self._give_up(shard_id, attempt, attempt.records, "RetryAttemptsExhausted", config)
                pending.popleft()
                continue
            delay = self.settings.retry_base_seconds * 2 ** (attempt.retries - 1)
            self.sleep(min(delay, self.settings.retry_max_seconds))
        self._commit(shard_id, records[-1])

    def _maximum_age(self, config: MappingConfig) -> float:
        """MaximumRecordAgeInSeconds, or (-1) the stream's retention: records expire."""
        if config.maximum_record_age >= 0:
            return float(config.maximum_record_age)
        return self.source.retention_seconds()

    def _expired(self, records: list[SourceRecord], config: MappingConfig) -> list[SourceRecord]:
        cutoff = time.time() - self._maximum_age(config)
        expired: list[SourceRecord] = []
        for record in records:  # oldest first
            if record.arrival >= cutoff:
                break
            expired.append(record)
        return expired

    def _give_up_at(self, attempt: _Attempt, config: MappingConfig) -> float | None:
        """When throttled invokes stop being retried: once the oldest record is too old."""
        if not attempt.records:
            return None
        expires = attempt.records[0].arrival + self._maximum_age(config)
        return time.monotonic() + (expires - time.time())

    @staticmethod
    def _outcome(
        result: InvokeResult, records: list[SourceRecord], config: MappingConfig
    ) -> tuple[str, int]:
        """("success"|"partial"|"failure", index of the first record to retry)."""
        if result.function_error:
            return "failure", 0
        if not config.report_failures:
            return "success", len(records)
        response = read_batch_response(result.payload, [r.sequence_number for r in records])
        if response.complete_failure:
            return "failure", 0
        if response.complete_success:
            return "success", len(records)
        first = min(i for i, r in enumerate(records) if r.sequence_number in response.failed)
        return "partial", first

    # -- giving up ------------------------------------------------------------------------
    def _give_up(
        self,
        shard_id: str,
        attempt: _Attempt,
        records: list[SourceRecord],
        condition: str,
        config: MappingConfig,
    ) -> None:
        log.info(
            "mapping %s gives up on %d records of %s (%s)",
            self.uuid,
            len(records),
            shard_id,
            condition,
        )
        if config.on_failure:
            document = self._failure_record(shard_id, attempt, records, condition, config)
            send_to_destination(config.on_failure, json.dumps(document))
        self._commit(shard_id, records[-1])

    def _failure_record(
        self,
        shard_id: str,
        attempt: _Attempt,
        records: list[SourceRecord],
        condition: str,
        config: MappingConfig,
    ) -> dict[str, Any]:
        """AWS's invocation record for a batch given up on."""
        last = attempt.last
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": last.request_id if last is not None else str(uuid.uuid4()),
                "functionArn": config.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempt.invokes,
            }
        }
        if last is not None:
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": last.executed_version}
            if last.function_error and not attempt.partial:
                response["functionError"] = last.function_error
            document["responseContext"] = response
        document["version"] = "1.0"
        document["timestamp"] = iso_timestamp(time.time())
        document[self.source.batch_info_key] = {
            "shardId": shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": iso_timestamp(records[0].arrival),
            "approximateArrivalOfLastRecord": iso_timestamp(records[-1].arrival),
            "batchSize": len(records),
            "streamArn": config.source_arn,
        }
        return document


def send_to_destination(arn: str, body: str) -> None:
    """Deliver an invocation record to an SQS queue or SNS topic, through moto's backends."""
    parts = arn.split(":")
    service, region, account_id = parts[2], parts[3], parts[4]
    try:
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[account_id][region].send_message(parts[5], body)
        elif service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[account_id][region].publish(message=body, arn=arn)
        else:
            log.warning("on-failure destination %s is neither SQS nor SNS; record dropped", arn)
    except Exception:
        log.exception("could not send an invocation record to %s", arn)

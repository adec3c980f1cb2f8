"""Per-type counts of the events in the stream, each stream record counted exactly once.

A Kinesis event source delivers at least once: a batch that failed (or a batch split in two
by BisectBatchOnFunctionError) comes again, records already counted included. Counting is
therefore idempotent per record: the store counts a record and remembers its shard and
sequence number in one transaction, and a record it has seen is a duplicate, not a count.

What is counted, per event type: the total, and the count per minute of arrival in the
stream (the record's ApproximateArrivalTimestamp, so a retried record lands in the same
minute). A record that is not an event the gateway accepted (someone wrote straight to the
stream) cannot be typed: it is counted under ``UNREADABLE`` and logged, never retried,
since retrying would block its shard for nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from common_layer.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
        KinesisStreamRecord,
    )

UNREADABLE = "_unreadable"
MAX_TYPE_LENGTH = 100


@dataclass(frozen=True)
class StreamEvent:
    """What the aggregates need of one stream record."""

    shard_id: str
    sequence_number: str
    event_type: str
    minute: str  # arrival minute, UTC: "2026-11-23T12:05Z"
    reason: str | None = None  # why it is UNREADABLE


class Outcome(Enum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"
    UNREADABLE = "unreadable"


class AggregateStore(Protocol):
    """Where the counts live."""

    def count_once(self, event: StreamEvent) -> bool:
        """Count ``event`` unless this record was counted before; True when it was counted."""
        ...


def arrival_minute(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def shard_of(event_id: str) -> str:
    """``shardId-000000000001:4954...`` (a Kinesis event record's eventID) -> the shard id."""
    return event_id.split(":", 1)[0]


def event_type_of(data: bytes) -> tuple[str, str | None]:
    """The event's type, or (UNREADABLE, reason) for data that is not an accepted event."""
    try:
        document = json.loads(data)
    except ValueError:
        return UNREADABLE, "data is not JSON"
    if not isinstance(document, Mapping):
        return UNREADABLE, "data is not a JSON object"
    event_type = document.get("type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= MAX_TYPE_LENGTH:
        return UNREADABLE, "field 'type' is missing or not a string of 1-100 characters"
    return event_type, None


def read_record(record: KinesisStreamRecord) -> StreamEvent:
    kinesis = record.kinesis
    event_type, reason = event_type_of(kinesis.data_as_bytes())
    return StreamEvent(
        shard_id=shard_of(record.event_id),
        sequence_number=kinesis.sequence_number,
        event_type=event_type,
        minute=arrival_minute(kinesis.approximate_arrival_timestamp),
        reason=reason,
    )


def count_record(record: KinesisStreamRecord, store: AggregateStore) -> Outcome:
    """Count one record; anything the store raises fails the record (it is retried)."""
    event = read_record(record)
    counted = store.count_once(event)
    if event.reason is not None:
        logger.warning(
            "unreadable stream record counted as %s",
            UNREADABLE,
            extra={"reason": event.reason, "sequence_number": event.sequence_number},
        )
        return Outcome.UNREADABLE if counted else Outcome.DUPLICATE
    return Outcome.COUNTED if counted else Outcome.DUPLICATE


def aggregate_batch(
    event: Mapping[str, Any], context: Any, store: AggregateStore
) -> tuple[dict[str, Any], Counter[Outcome]]:
    """Count a Kinesis batch; return the partial batch response and what became of it.

    The response names the records whose count failed (ReportBatchItemFailures): Lambda
    retries from the lowest of them, so the records before it are not delivered again.
    """
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    outcomes: Counter[Outcome] = Counter()

    def handle(record: KinesisStreamRecord) -> None:
        outcomes[count_record(record, store)] += 1

    if not event.get("Records"):
        return {"batchItemFailures": []}, outcomes
    response = process_partial_response(
        event=dict(event),
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.KinesisDataStreams),
        context=context,
    )
    return dict(response), outcomes

"""The counting rules, with an in-memory store: what is counted, once, and what is retried."""

from __future__ import annotations

import pytest
from stream_aggregator.aggregates import (
    UNREADABLE,
    Outcome,
    aggregate_batch,
    arrival_minute,
    event_type_of,
    shard_of,
)


def test_arrival_minute_is_the_utc_minute() -> None:
    assert arrival_minute(1795000000.5) == "2026-11-18T11:06Z"
    assert arrival_minute(0) == "1970-01-01T00:00Z"


def test_shard_of_reads_the_event_id() -> None:
    assert shard_of("shardId-000000000003:4965700000000001") == "shardId-000000000003"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"id": "e1", "type": "page.viewed", "data": {}}\n', ("page.viewed", None)),
        (b"not json", (UNREADABLE, "data is not JSON")),
        (b'["page.viewed"]', (UNREADABLE, "data is not a JSON object")),
        (
            b'{"data": {}}',
            (UNREADABLE, "field 'type' is missing or not a string of 1-100 characters"),
        ),
        (
            b'{"type": 7}',
            (UNREADABLE, "field 'type' is missing or not a string of 1-100 characters"),
        ),
        (
            b'{"type": ""}',
            (UNREADABLE, "field 'type' is missing or not a string of 1-100 characters"),
        ),
    ],
)
def test_event_type_of(data: bytes, expected: tuple[str, str | None]) -> None:
    assert event_type_of(data) == expected


def test_a_batch_is_counted_per_type_and_minute(kinesis_record, store, context) -> None:
    records = [
        kinesis_record({"id": "a", "type": "page.viewed", "data": {}}, sequence="1"),
        kinesis_record(
            {"id": "b", "type": "page.viewed", "data": {}}, sequence="2", arrival=1795000060.0
        ),
        kinesis_record({"id": "c", "type": "order.placed", "data": {}}, sequence="3"),
    ]

    response, outcomes = aggregate_batch({"Records": records}, context, store)

    assert response == {"batchItemFailures": []}
    assert outcomes == {Outcome.COUNTED: 3}
    assert store.totals == {"page.viewed": 2, "order.placed": 1}
    assert store.minutes == {
        ("page.viewed", "2026-11-18T11:06Z"): 1,
        ("page.viewed", "2026-11-18T11:07Z"): 1,
        ("order.placed", "2026-11-18T11:06Z"): 1,
    }


def test_a_redelivered_batch_counts_nothing_twice(kinesis_record, store, context) -> None:
    """Kinesis event sources deliver at least once: the same records again are duplicates."""
    records = [
        kinesis_record({"id": str(n), "type": "t", "data": {}}, sequence=str(n)) for n in range(4)
    ]
    aggregate_batch({"Records": records}, context, store)

    response, outcomes = aggregate_batch({"Records": records[1:3]}, context, store)

    assert response == {"batchItemFailures": []}
    assert outcomes == {Outcome.DUPLICATE: 2}
    assert store.totals == {"t": 4}


def test_the_same_sequence_number_in_another_shard_is_another_record(
    kinesis_record, store, context
) -> None:
    body = {"id": "x", "type": "t", "data": {}}
    records = [
        kinesis_record(body, sequence="7", shard="shardId-000000000000"),
        kinesis_record(body, sequence="7", shard="shardId-000000000001"),
    ]

    aggregate_batch({"Records": records}, context, store)

    assert store.totals == {"t": 2}


def test_only_the_records_whose_count_failed_are_reported(kinesis_record, store, context) -> None:
    """ReportBatchItemFailures: Lambda retries from the lowest reported sequence number."""
    records = [
        kinesis_record({"id": str(n), "type": "t", "data": {}}, sequence=str(n)) for n in range(3)
    ]
    store.fail_on.add("1")

    response, outcomes = aggregate_batch({"Records": records}, context, store)

    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert outcomes == {Outcome.COUNTED: 2}
    # The retry from "1" delivers "2" again: it is not counted twice.
    store.fail_on.clear()
    aggregate_batch({"Records": records[1:]}, context, store)
    assert store.totals == {"t": 3}


def test_a_batch_that_fails_entirely_raises_so_it_is_retried(
    kinesis_record, store, context
) -> None:
    store.fail_on.update({"1", "2"})
    records = [
        kinesis_record({"id": str(n), "type": "t", "data": {}}, sequence=str(n)) for n in (1, 2)
    ]

    with pytest.raises(Exception, match="All records failed processing"):
        aggregate_batch({"Records": records}, context, store)


def test_unreadable_records_are_counted_apart_and_not_retried(
    kinesis_record, store, context, caplog
) -> None:
    """A record the gateway did not write (not JSON, no type) would fail every retry and
    block its shard: it is counted under _unreadable and logged instead."""
    records = [
        kinesis_record(b"\x00\x01 binary", sequence="1"),
        kinesis_record({"type": "t", "id": "ok", "data": {}}, sequence="2"),
    ]

    response, outcomes = aggregate_batch({"Records": records}, context, store)

    assert response == {"batchItemFailures": []}
    assert outcomes == {Outcome.UNREADABLE: 1, Outcome.COUNTED: 1}
    assert store.totals == {UNREADABLE: 1, "t": 1}
    assert "unreadable stream record" in caplog.text


def test_an_empty_event_is_a_success(store, context) -> None:
    response, outcomes = aggregate_batch({"Records": []}, context, store)

    assert response == {"batchItemFailures": []}
    assert not outcomes

"""The DynamoDB store on moto: one transaction per record, counted once."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from stream_aggregator.aggregates import StreamEvent
from stream_aggregator.store import MINUTE_TTL, SEEN_TTL, DynamoDbAggregateStore

NOW = 1795000000


def make_event(sequence: str = "1", event_type: str = "page.viewed") -> StreamEvent:
    return StreamEvent("shardId-000000000000", sequence, event_type, "2026-11-18T11:06Z")


@pytest.fixture
def store(dynamodb) -> DynamoDbAggregateStore:
    return DynamoDbAggregateStore(dynamodb, "streamer-unit-aggregates", clock=lambda: NOW)


def test_a_record_is_counted_in_total_and_per_minute(store, item) -> None:
    assert store.count_once(make_event("1")) is True
    assert store.count_once(make_event("2")) is True

    total = item("type#page.viewed", "total")
    minute = item("type#page.viewed", "minute#2026-11-18T11:06Z")
    assert total is not None
    assert total["count"] == {"N": "2"}
    assert total["updated_at"] == {"N": str(NOW)}
    assert minute is not None
    assert minute["count"] == {"N": "2"}
    assert minute["expires_at"] == {"N": str(NOW + MINUTE_TTL)}
    seen = item("seen#shardId-000000000000", "1")
    assert seen is not None
    assert seen["expires_at"] == {"N": str(NOW + SEEN_TTL)}
    assert seen["event_type"] == {"S": "page.viewed"}


def test_the_same_record_again_is_not_counted(store, item) -> None:
    assert store.count_once(make_event("1")) is True

    assert store.count_once(make_event("1")) is False

    total = item("type#page.viewed", "total")
    assert total is not None
    assert total["count"] == {"N": "1"}


def test_other_failures_raise_so_the_record_is_retried(dynamodb) -> None:
    missing = DynamoDbAggregateStore(dynamodb, "no-such-table", clock=lambda: NOW)

    with pytest.raises(ClientError):
        missing.count_once(make_event())

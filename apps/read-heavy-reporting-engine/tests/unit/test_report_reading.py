"""Cache-aside reads (``report_reader.reading``): the database only on a miss, fail open."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from report_reader.reading import CacheStatus, read_report
from reporting_common.cache import RedisReportCache
from reporting_common.database import DataApiReportStore
from reporting_common.reports import cache_key

TTL = 30


@pytest.fixture
def report_cache(make_cache: Callable[..., RedisReportCache]) -> RedisReportCache:
    return make_cache()


@pytest.fixture
def store(data_api: Any, make_store: Callable[[], DataApiReportStore]) -> DataApiReportStore:
    data_api.rows[("sales", "2026-11")] = [("north", 120.5), ("south", 80.0)]
    return make_store()


def test_first_read_misses_and_fills_the_cache_with_the_ttl(
    report_cache: RedisReportCache, store: DataApiReportStore, fake_redis: Any
) -> None:
    result = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert result.cache is CacheStatus.MISS
    assert result.database_queries == 1
    assert result.report.to_json()["total"] == 200.5
    key = cache_key("sales", "2026-11")
    assert json.loads(fake_redis.values[key])["rows"][0] == {"label": "north", "value": 120.5}
    assert fake_redis.ttls[key] == TTL


def test_second_read_is_a_hit_and_never_touches_the_database(
    report_cache: RedisReportCache, store: DataApiReportStore, data_api: Any
) -> None:
    first = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)
    statements = len(data_api.statements)

    second = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert second.cache is CacheStatus.HIT
    assert second.database_queries == 0
    assert len(data_api.statements) == statements
    assert second.report == first.report


def test_an_empty_report_is_cached_too(
    report_cache: RedisReportCache, store: DataApiReportStore
) -> None:
    read_report("unknown", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)
    again = read_report("unknown", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert again.cache is CacheStatus.HIT
    assert again.report.is_empty


def test_cache_outage_fails_open_to_the_database(
    report_cache: RedisReportCache, store: DataApiReportStore, fake_redis: Any
) -> None:
    fake_redis.down = True

    result = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert result.cache is CacheStatus.BYPASS
    assert result.database_queries == 1
    assert result.report.to_json()["row_count"] == 2
    assert result.cache_error is not None
    assert "Connection refused" in result.cache_error
    assert fake_redis.calls == ["GET"], "no SET is tried against a cache that just failed"


def test_a_failed_fill_still_serves_the_report(
    report_cache: RedisReportCache, store: DataApiReportStore, fake_redis: Any
) -> None:
    fake_redis.failing = {"SET"}

    result = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert result.cache is CacheStatus.MISS
    assert result.cache_error is not None
    assert "OOM" in result.cache_error
    assert result.report.to_json()["row_count"] == 2


def test_a_corrupt_entry_is_a_miss_and_is_replaced(
    report_cache: RedisReportCache, store: DataApiReportStore, fake_redis: Any
) -> None:
    key = cache_key("sales", "2026-11")
    fake_redis.values[key] = "{not json"

    result = read_report("sales", "2026-11", cache=report_cache, store=store, ttl_seconds=TTL)

    assert result.cache is CacheStatus.MISS
    assert json.loads(fake_redis.values[key])["name"] == "sales"

"""The Redis cache adapter (errors, cooldown) and the Data API store (SQL, query count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reporting_common.cache import CacheUnavailable, RedisReportCache, truthy
from reporting_common.database import DataApiReportStore
from reporting_common.reports import ReportRow

MakeCache = Callable[..., RedisReportCache]
MakeStore = Callable[[], DataApiReportStore]


def test_redis_errors_become_cache_unavailable_and_the_cache_rests_after_one(
    fake_redis: Any, make_cache: MakeCache
) -> None:
    redis = fake_redis
    now = [100.0]
    report_cache = make_cache(cooldown_seconds=5.0, monotonic=lambda: now[0])
    redis.down = True
    with pytest.raises(CacheUnavailable, match="Connection refused"):
        report_cache.get("k")

    redis.down = False
    now[0] += 4.9
    with pytest.raises(CacheUnavailable, match="recent failure"):
        report_cache.get("k")
    assert redis.calls == ["GET"], "no call reaches the cache during the cooldown"

    now[0] += 0.2
    assert report_cache.get("k") is None


def test_set_passes_the_ttl_and_delete_counts_what_it_removed(
    fake_redis: Any, make_cache: MakeCache
) -> None:
    redis = fake_redis
    report_cache = make_cache()
    report_cache.set("a", "1", 30)

    assert redis.ttls["a"] == 30
    assert report_cache.delete("a", "b") == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("", False), (None, False)],
)
def test_tls_setting_is_read_leniently(value: str | None, expected: bool) -> None:
    assert truthy(value) is expected


def test_store_loads_rows_and_counts_each_statement(data_api: Any, make_store: MakeStore) -> None:
    data_api.rows[("sales", "2026-11")] = [("b", 2.0), ("a", 1.5)]
    store = make_store()

    report = store.load("sales", "2026-11")

    assert [row.label for row in report.rows] == ["a", "b"]
    assert store.queries == 1
    assert data_api.statements[0]["resourceArn"] == "c"
    assert data_api.statements[0]["database"] == "reports"


def test_store_reads_a_missing_table_as_no_data_without_creating_it(
    data_api: Any, make_store: MakeStore
) -> None:
    data_api.table_exists = False
    store = make_store()

    report = store.load("sales", "2026-11")

    assert report.is_empty
    assert store.queries == 1
    assert not data_api.table_exists


def test_store_upserts_all_rows_in_one_statement_after_creating_the_schema_once(
    data_api: Any, make_store: MakeStore
) -> None:
    data_api.table_exists = False
    store = make_store()

    store.upsert("sales", "2026-11", [ReportRow("north", 1.0), ReportRow("south", 2.0)])
    store.upsert("sales", "2026-11", [ReportRow("north", 5.0)])

    assert store.queries == 3  # schema, upsert, upsert
    assert "ON CONFLICT" in data_api.statements[1]["sql"]
    assert sorted(data_api.rows[("sales", "2026-11")]) == [("north", 5.0), ("south", 2.0)]

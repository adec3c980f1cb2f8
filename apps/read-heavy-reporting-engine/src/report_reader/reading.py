"""Cache-aside reads: the cache first; on a miss the database, then the cache is filled.

The database is touched only on a miss. A cached report lives ``ttl_seconds`` at most: that
is the longest a reader can see stale data when an invalidation is lost (the writers'
change events normally delete the entry within a second of the write). Empty reports are
cached too, so a client polling a report that has no data yet does not reach the database
on every call either.

When the cache is down the read fails open: the report comes from the database, and the
outage is reported (``cache_error``) for the handler to log and count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from reporting_common.cache import CacheUnavailable
from reporting_common.reports import Report, cache_key


class CacheStatus(Enum):
    HIT = "HIT"
    MISS = "MISS"
    # The cache could not be asked: the database answered.
    BYPASS = "BYPASS"


class ReportCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...


class ReportStore(Protocol):
    queries: int

    def load(self, name: str, period: str) -> Report: ...


@dataclass(frozen=True)
class ReportRead:
    report: Report
    cache: CacheStatus
    database_queries: int
    cache_error: str | None = None


def read_report(
    name: str, period: str, *, cache: ReportCache, store: ReportStore, ttl_seconds: int
) -> ReportRead:
    key = cache_key(name, period)
    queries_before = store.queries
    cache_error: str | None = None
    try:
        cached = cache.get(key)
    except CacheUnavailable as error:
        cached, cache_error = None, str(error)
    if cached is not None:
        try:
            return ReportRead(Report.from_json(json.loads(cached)), CacheStatus.HIT, 0)
        except (ValueError, KeyError, TypeError):
            pass  # a corrupt entry is a miss; the fresh copy below overwrites it
    report = store.load(name, period)
    queries = store.queries - queries_before
    if cache_error is not None:
        return ReportRead(report, CacheStatus.BYPASS, queries, cache_error)
    try:
        cache.set(key, json.dumps(report.to_json()), ttl_seconds)
    except CacheUnavailable as error:
        cache_error = str(error)
    return ReportRead(report, CacheStatus.MISS, queries, cache_error)

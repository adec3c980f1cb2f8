"""The report cache on Redis/Valkey (ElastiCache), and what an outage of it means.

``RedisReportCache`` wraps a redis-py client. Every Redis error surfaces as
``CacheUnavailable``, so callers decide what an outage means: the reader fails open (serves
from the database), the invalidator fails the invocation (Lambda retries it, then its DLQ).

After a failure the cache is left alone for ``cooldown_seconds``: during an outage each
request would otherwise pay a connection timeout before reaching the database.

``connect`` creates the client once per execution environment (at cold start). redis-py
connects lazily and keeps its connection pool, so warm invocations reuse the connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol


class CacheUnavailable(Exception):
    """The cache could not be reached or answered with an error."""


class RedisClient(Protocol):
    """The part of redis-py's client this module uses."""

    def get(self, name: str) -> Any: ...

    def set(self, name: str, value: str, ex: int | None = None) -> Any: ...

    def delete(self, *names: str) -> Any: ...


# Short: a cache that takes longer than this to answer is slower than the database.
DEFAULT_TIMEOUT_SECONDS = 0.5
DEFAULT_COOLDOWN_SECONDS = 5.0


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def connect(
    host: str,
    port: int,
    *,
    tls: bool,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
) -> RedisReportCache:
    """A cache on ``host:port``; ``tls`` is required by ElastiCache Serverless."""
    # From RedisClientLayer, which only the functions that reach the cache list; imported
    # here so that the rest of reporting_common loads without it (the writer has no redis).
    import redis

    client = redis.Redis(
        host=host,
        port=port,
        ssl=tls,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # Idle connections of a frozen execution environment may have been dropped by the
        # server; a PING before reuse after 30 s idle finds out cheaply.
        health_check_interval=30,
        decode_responses=True,
    )
    return RedisReportCache(
        client, errors=(redis.exceptions.RedisError, OSError), cooldown_seconds=cooldown_seconds
    )


class RedisReportCache:
    def __init__(
        self,
        client: RedisClient,
        *,
        errors: tuple[type[BaseException], ...],
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._errors = errors
        self._cooldown_seconds = cooldown_seconds
        self._monotonic = monotonic
        self._skip_until = 0.0

    def get(self, key: str) -> str | None:
        value: str | None = self._call(lambda: self._client.get(key))
        return value

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._call(lambda: self._client.set(key, value, ex=ttl_seconds))

    def delete(self, *keys: str) -> int:
        return int(self._call(lambda: self._client.delete(*keys)))

    def _call(self, command: Callable[[], Any]) -> Any:
        if self._monotonic() < self._skip_until:
            raise CacheUnavailable("cache skipped after a recent failure")
        try:
            return command()
        except self._errors as error:
            self._skip_until = self._monotonic() + self._cooldown_seconds
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from error

"""Figures of the Read-Heavy Reporting Engine on the local cloud: a cache hit vs a cache miss.

Measured on one local cloud started in a child process (:mod:`bench._localcloud`, as the
test harness starts it), on which ``apps/read-heavy-reporting-engine`` is deployed as
``make up`` deploys it (:func:`localcloud.deploy.deploy_app`: ``sam build`` for the host,
then CloudFormation), with ``CacheTtlSeconds`` 3600 so no entry expires while measuring. The
cache is the local cloud's ``redis-server`` on loopback, the database its PostgreSQL behind
the local RDS Data API, the functions real ``awslambdaric`` processes.

Set-up: a ``PUT /reports/{name}/data`` through the API writes the report's rows (``ROWS``
labels, one period) and publishes its change event; the figures wait until the invalidator
has logged that invalidation, so no delete of the entry lands while counting.

Every request is an HTTP ``GET /reports/{name}?period=...`` over one keep-alive
``requests.Session`` from this process to the local cloud's API Gateway data plane, timed
from just before the call to the end of reading the response. Each round is:

1. ``DEL`` of the report's cache entry straight on the cache's Redis (not timed), as an
   invalidation would; then
2. a GET that must answer ``X-Cache: MISS`` with ``database_queries`` 1 (the reader's own
   count of the Data API statements it sent): the cache is asked, the row query runs through
   the Data API on PostgreSQL, the entry is written back with its TTL; then
3. a GET of the same report that must answer ``X-Cache: HIT`` with ``database_queries`` 0.

Both answers must be 200 with all ``ROWS`` rows, and the entry must exist after the miss (a
changed key layout in the app fails the figures instead of measuring nothing). So hit and
miss read the same report on the same warm execution environment, and their bodies differ
only in ``cache`` and ``database_queries``: the only difference is the cache. ``warmup``
rounds come first (the first one starts the reader's execution environment, cold); the note
counts the environments started while counting. p50 and p99 interpolate between the nearest
samples (:func:`bench._localcloud.percentile`); the miss figure's ratio is its p50 over the
hit's p50. No figure has a target: these are measurements of the local cloud on this machine
(Data API and Redis on loopback), not of AWS, where a hit costs one round trip to
ElastiCache inside the VPC and a miss adds an HTTPS call to the Data API and Aurora's query
time.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from bench._localcloud import (
    REPO,
    NewEnvironments,
    aws_client,
    load_average,
    local_cloud,
    percentile,
    spread,
    timed_ms,
)
from bench.report import Figure

APP = "read-heavy-reporting-engine"
APP_DIR = REPO / "apps" / APP
# A build folder of its own: a test run may be building the app in the default one.
BUILD_DIR = REPO / ".aws-sam" / "bench" / APP
ROUNDS = 300  # counted, each one miss and one hit
WARMUP = 10  # rounds
ROWS = 24  # labels in the report: a small dashboard table (~1 KB of JSON)
PERIOD = "2026-11"
TTL_SECONDS = 3600
HTTP_TIMEOUT = 30.0  # seconds per request: generous for a cold start
INVALIDATION_TIMEOUT = 60.0  # seconds for the set-up write's change event to be applied
# The app's cache key layout (reporting_common.reports.cache_key); checked after each miss.
CACHE_KEY = "report:v1:{name}:{period}"


@dataclass(frozen=True)
class CacheBench:
    """The samples of one run: per round, one miss then one hit of the same report."""

    hit_ms: list[float]
    miss_ms: list[float]
    warmup: int
    rows: int
    response_bytes: int
    new_environments: int  # reader execution environments started while counting
    deploy_seconds: float


@dataclass(frozen=True)
class _Answer:
    status: int
    cache: str
    database_queries: int
    rows: int
    size: int


class ReportingEngine:
    """The deployed app, as the benchmark drives it: its API, its cache, its logs."""

    def __init__(self, endpoint_url: str, outputs: dict[str, str], http: requests.Session):
        from localcloud.urls import local_execute_api_url

        self.endpoint_url = endpoint_url
        self.outputs = outputs
        self.base_url = local_execute_api_url(outputs["ApiUrl"], endpoint_url).rstrip("/")
        self.http = http
        host, _, port = outputs["CacheEndpoint"].rpartition(":")
        self.cache_host, self.cache_port = host, int(port)

    def write(self, name: str, rows: int) -> None:
        body = {
            "period": PERIOD,
            "rows": [{"label": f"region-{i:02d}", "value": 100.0 + i} for i in range(rows)],
        }
        response = self.http.put(
            f"{self.base_url}/reports/{name}/data", json=body, timeout=HTTP_TIMEOUT
        )
        if response.status_code != 200:
            raise RuntimeError(f"writing the report failed: {response.status_code} {response.text}")

    def read(self, name: str) -> tuple[float, _Answer]:
        """One timed GET of the report (the clock stops once the body is read)."""
        url = f"{self.base_url}/reports/{name}"
        elapsed, response = timed_ms(
            lambda: self.http.get(url, params={"period": PERIOD}, timeout=HTTP_TIMEOUT)
        )
        body: dict[str, Any] = response.json() if response.content else {}
        return elapsed, _Answer(
            status=response.status_code,
            cache=response.headers.get("X-Cache", ""),
            database_queries=int(body.get("database_queries", -1)),
            rows=int(body.get("row_count", -1)),
            size=len(response.content),
        )

    def wait_for_invalidation(self, name: str, timeout: float = INVALIDATION_TIMEOUT) -> None:
        """Until the invalidator has logged that it applied the change event of ``name``."""
        logs = aws_client("logs", self.endpoint_url)
        group = f"/aws/lambda/{self.outputs['ReportInvalidatorFunctionName']}"
        key = CACHE_KEY.format(name=name, period=PERIOD)
        deadline = time.monotonic() + timeout
        while True:
            # The group exists once the function has logged for the first time.
            with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
                for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
                    for event in page["events"]:
                        if "cache invalidated" in event["message"] and key in event["message"]:
                            return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the invalidation of {key} was not logged in {timeout:.0f}s")
            time.sleep(0.2)


def deploy(endpoint_url: str, stack_name: str) -> dict[str, str]:
    """Build and deploy the app on the local cloud (a long TTL); its stack outputs."""
    from localcloud.deploy import deploy_app

    return deploy_app(
        APP_DIR,
        endpoint_url=endpoint_url,
        stack_name=stack_name,
        parameter_overrides={"CacheTtlSeconds": str(TTL_SECONDS)},
        build_dir=BUILD_DIR,
        timeout=600.0,
    )


def _check(answer: _Answer, expected: str, rows: int) -> None:
    queries = 1 if expected == "MISS" else 0
    if (answer.status, answer.cache, answer.database_queries, answer.rows) != (
        200,
        expected,
        queries,
        rows,
    ):
        raise RuntimeError(
            f"expected a 200 {expected} with {queries} database query and {rows} rows, got "
            f"{answer.status} {answer.cache or '(no X-Cache)'} with "
            f"{answer.database_queries} query(ies) and {answer.rows} rows"
        )


def measure(
    endpoint_url: str,
    *,
    rounds: int = ROUNDS,
    warmup: int = WARMUP,
    rows: int = ROWS,
) -> CacheBench:
    """Deploy the app, write a report, then time ``warmup`` + ``rounds`` miss/hit rounds."""
    import redis

    if warmup < 1:
        raise ValueError("warmup must include the cold start (at least 1)")
    if rounds < 2:
        raise ValueError("p50 and p99 need at least two rounds")
    started = time.perf_counter()
    outputs = deploy(endpoint_url, f"bench-cache-{uuid.uuid4().hex[:8]}")
    deploy_seconds = time.perf_counter() - started
    name = f"bench-{uuid.uuid4().hex[:12]}"
    with requests.Session() as http:
        app = ReportingEngine(endpoint_url, outputs, http)
        cache = redis.Redis(host=app.cache_host, port=app.cache_port, socket_timeout=5)
        key = CACHE_KEY.format(name=name, period=PERIOD)
        app.write(name, rows)
        app.wait_for_invalidation(name)

        def one_round() -> tuple[float, float, int]:
            cache.delete(key)
            miss_ms, miss = app.read(name)
            _check(miss, "MISS", rows)
            if not cache.exists(key):
                raise RuntimeError(f"the miss did not fill the cache entry {key}")
            hit_ms, hit = app.read(name)
            _check(hit, "HIT", rows)
            return miss_ms, hit_ms, hit.size

        for _ in range(warmup):
            one_round()
        environments = NewEnvironments(endpoint_url, outputs["ReportReaderFunctionName"])
        samples = [one_round() for _ in range(rounds)]
        cache.close()
    return CacheBench(
        hit_ms=[hit for _, hit, _ in samples],
        miss_ms=[miss for miss, _, _ in samples],
        warmup=warmup,
        rows=rows,
        response_bytes=samples[-1][2],
        new_environments=len(environments.new_streams()),
        deploy_seconds=deploy_seconds,
    )


def _p50_p99(samples: Sequence[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 99)


def bench_figures(result: CacheBench) -> list[Figure]:
    hit50, hit99 = _p50_p99(result.hit_ms)
    miss50, miss99 = _p50_p99(result.miss_ms)
    counted = (
        f"n={len(result.hit_ms)} rounds (DEL entry, GET miss, GET hit) after {result.warmup} "
        f"warm-up (the first cold); {result.rows} rows, {result.response_bytes} B body"
    )
    how = (
        "GET /reports/{name} through the local API Gateway, keep-alive session, timed to the "
        "end of the body"
    )
    return [
        Figure(
            "localcloud.reporting_cache.hit_p50",
            hit50,
            "ms",
            note=(
                f"{how}; X-Cache HIT, 0 database queries (Redis GET only); {counted}; "
                f"{result.new_environments} new reader environment(s) while counting"
            ),
        ),
        Figure(
            "localcloud.reporting_cache.hit_p99",
            hit99,
            "ms",
            note=(
                f"same hits; mean {statistics.fmean(result.hit_ms):.2f}; "
                f"{spread(result.hit_ms)}; {load_average()}"
            ),
        ),
        Figure(
            "localcloud.reporting_cache.miss_p50",
            miss50,
            "ms",
            ratio=miss50 / hit50,
            note=(
                f"{how}; X-Cache MISS, 1 database query (Redis GET, Data API SELECT on "
                f"PostgreSQL, Redis SET with TTL); same rounds; ratio = over hit p50 "
                f"(miss - hit p50 {miss50 - hit50:+.2f} ms)"
            ),
        ),
        Figure(
            "localcloud.reporting_cache.miss_p99",
            miss99,
            "ms",
            ratio=miss99 / hit99,
            note=(
                f"same misses; mean {statistics.fmean(result.miss_ms):.2f}; "
                f"{spread(result.miss_ms)}; app deployed in {result.deploy_seconds:.0f} s; "
                f"{load_average()}"
            ),
        ),
    ]


def figures(quick: bool = False) -> list[Figure]:
    with local_cloud() as cloud:
        result = measure(
            cloud.endpoint_url, rounds=40 if quick else ROUNDS, warmup=3 if quick else WARMUP
        )
        return bench_figures(result)

"""The authorizer-overhead figures of `make bench`: what a tiny run reports, and that it
measured what it says (the uncached method ran the authorizer per request, the cached once).

Like tests/tooling/test_bench.py, these never hold the figures to a value: timing belongs
to `make bench`, not to the test suite.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from stack_testing import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
# `bench` is a folder of the repository, not an installed package (see test_bench.py).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import _localcloud, authorizer_figures  # noqa: E402
from bench.authorizer_figures import AuthorizerBench, Samples  # noqa: E402

NAMES = {
    f"localcloud.authorizer.{variant}.{figure}"
    for variant in ("open", "uncached", "cached")
    for figure in ("request_p50", "request_p99")
} | {"localcloud.authorizer.uncached.overhead_p50", "localcloud.authorizer.cached.overhead_p50"}


def _result(
    runs: dict[str, list[str | None]], *, cached_seconds: float = 1.0, warmup: int = 1
) -> AuthorizerBench:
    return AuthorizerBench(
        by_variant={
            variant: Samples(variant, [5.0 + i for i in range(len(r) - warmup)], r, warmup)
            for variant, r in runs.items()
        },
        authorizer_function="authorizer",
        cached_seconds=cached_seconds,
        cached_ttl_seconds=300,
    )


GOOD_RUNS: dict[str, list[str | None]] = {
    "open": [None] * 4,
    "uncached": ["e:1", "e:2", "e:3", "e:4"],
    "cached": ["e:5"] * 4,
}


def test_a_run_as_promised_gives_figures_with_overheads_from_the_medians() -> None:
    figures = {f.name: f for f in authorizer_figures.bench_figures(_result(GOOD_RUNS))}

    assert set(figures) == NAMES
    # Samples 5, 6, 7 (after one warm-up) for every method: a median of 6 each.
    assert figures["localcloud.authorizer.uncached.request_p50"].value == pytest.approx(6.0)
    assert figures["localcloud.authorizer.uncached.overhead_p50"].value == pytest.approx(0.0)
    assert (
        "4 authorizer runs for 4 requests"
        in figures["localcloud.authorizer.uncached.request_p50"].note
    )
    assert (
        "1 authorizer run(s) for 4 requests"
        in figures["localcloud.authorizer.cached.request_p50"].note
    )


@pytest.mark.parametrize(
    ("variant", "runs", "problem"),
    [
        ("open", [None, None, "e:9", None], "/open reached the backend with an authorizer"),
        ("uncached", ["e:1", "e:2", "e:2", "e:3"], "/uncached: 4 requests were decided by 3"),
        ("uncached", ["e:1", None, "e:2", "e:3"], "/uncached"),
        ("cached", ["e:5", "e:5", "e:6", "e:6"], "/cached: 4 requests in 1.0 s were decided by 2"),
    ],
)
def test_a_run_where_the_authorizer_ran_otherwise_fails_its_figures(
    variant: str, runs: list[str | None], problem: str
) -> None:
    with pytest.raises(RuntimeError, match=problem):
        authorizer_figures.bench_figures(_result({**GOOD_RUNS, variant: runs}))


def test_the_cache_may_run_the_authorizer_again_once_per_ttl() -> None:
    two_runs: dict[str, list[str | None]] = {**GOOD_RUNS, "cached": ["e:5", "e:5", "e:6", "e:6"]}

    figures = authorizer_figures.bench_figures(_result(two_runs, cached_seconds=301.0))

    assert len(figures) == len(NAMES)


def _invocations(endpoint_url: str, function_name: str) -> int:
    """START lines in the function's log group: one per invocation, whatever it answered."""
    logs = _localcloud.aws_client("logs", endpoint_url)
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=f"/aws/lambda/{function_name}", filterPattern='"START RequestId"'
    )
    return sum(
        1 for page in pages for event in page["events"] if event["message"].startswith("START")
    )


@pytest.mark.slow
def test_a_tiny_run_is_well_formed_and_ran_the_authorizer_as_each_method_says() -> None:
    with _localcloud.local_cloud() as cloud:
        result = authorizer_figures.measure(cloud.endpoint_url, requests_count=10, warmup=2)

        # Counted from the authorizer's own logs, independently of what the responses echoed:
        # 12 requests of /uncached ran it 12 times, 12 requests of /cached once.
        expected = 12 + 1

        def counted() -> Any:
            found = _invocations(cloud.endpoint_url, result.authorizer_function)
            return found if found >= expected else None

        assert wait_for(counted, timeout=10, description="the authorizer's START lines") == expected

    uncached, cached = result.by_variant["uncached"], result.by_variant["cached"]
    assert len(uncached.runs) == len(cached.runs) == 12
    assert uncached.distinct_runs == 12
    assert cached.distinct_runs == 1
    assert result.by_variant["open"].distinct_runs == 0
    figures = {f.name: f for f in authorizer_figures.bench_figures(result)}
    assert set(figures) == NAMES
    for figure in figures.values():
        assert figure.unit == "ms"
        assert math.isfinite(figure.value)
        assert (figure.target, figure.met) == (None, None)
    for variant in ("open", "uncached", "cached"):
        p50 = figures[f"localcloud.authorizer.{variant}.request_p50"].value
        assert 0 < p50 <= figures[f"localcloud.authorizer.{variant}.request_p99"].value
        assert len(result.by_variant[variant].latencies_ms) == 10
    overhead = figures["localcloud.authorizer.uncached.overhead_p50"]
    assert overhead.value == pytest.approx(
        figures["localcloud.authorizer.uncached.request_p50"].value
        - figures["localcloud.authorizer.open.request_p50"].value
    )
    assert (
        "n=10 per method after 2 warm-up" in figures["localcloud.authorizer.open.request_p50"].note
    )
    # Stopped cleanly: the child handled SIGTERM and exited 0.
    assert cloud.process is not None
    assert cloud.process.returncode == 0

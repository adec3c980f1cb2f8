"""The cache figures of `make bench` (bench/cache_figures.py): well-formed on a tiny run.

Like tests/tooling/test_bench.py, these check that the figures are measured as documented
and reported well-formed; they never judge the numbers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# `bench` is a folder of the repository, not an installed package (see test_bench.py).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import _localcloud, cache_figures  # noqa: E402
from bench.cache_figures import CacheBench, _Answer, _check  # noqa: E402

NAMES = [
    "localcloud.reporting_cache.hit_p50",
    "localcloud.reporting_cache.hit_p99",
    "localcloud.reporting_cache.miss_p50",
    "localcloud.reporting_cache.miss_p99",
]


def _result(**changes: object) -> CacheBench:
    fields: dict[str, object] = {
        "hit_ms": [2.0, 3.0, 4.0, 5.0],
        "miss_ms": [10.0, 12.0, 14.0, 40.0],
        "warmup": 2,
        "rows": 24,
        "response_bytes": 1500,
        "new_environments": 0,
        "deploy_seconds": 42.0,
    }
    fields.update(changes)
    return CacheBench(**fields)  # type: ignore[arg-type]


def test_the_figures_are_hit_and_miss_p50_p99_with_no_target() -> None:
    figures = {figure.name: figure for figure in cache_figures.bench_figures(_result())}

    assert list(figures) == NAMES
    for figure in figures.values():
        assert (figure.unit, figure.target, figure.met) == ("ms", None, None)
        assert math.isfinite(figure.value)
        assert figure.note
    # Linear interpolation between the nearest samples (inclusive method).
    assert figures["localcloud.reporting_cache.hit_p50"].value == pytest.approx(3.5)
    assert figures["localcloud.reporting_cache.miss_p50"].value == pytest.approx(13.0)
    assert figures["localcloud.reporting_cache.miss_p99"].value == pytest.approx(39.22)
    assert figures["localcloud.reporting_cache.miss_p50"].ratio == pytest.approx(13.0 / 3.5)
    note = figures["localcloud.reporting_cache.hit_p50"].note
    assert "n=4 rounds" in note
    assert "after 2 warm-up" in note
    assert "24 rows, 1500 B body" in note
    assert "0 database queries" in note
    assert "1 database query" in figures["localcloud.reporting_cache.miss_p50"].note


@pytest.mark.parametrize(
    ("answer", "expected", "message"),
    [
        (_Answer(200, "HIT", 0, 3, 100), "MISS", "got 200 HIT with 0 query"),
        (_Answer(200, "MISS", 1, 3, 100), "HIT", "got 200 MISS with 1 query"),
        (_Answer(200, "HIT", 1, 3, 100), "HIT", "with 1 query(ies)"),
        (_Answer(502, "", -1, -1, 30), "MISS", "got 502 (no X-Cache)"),
        (_Answer(200, "MISS", 1, 2, 100), "MISS", "and 2 rows"),
    ],
)
def test_an_answer_that_is_not_the_expected_hit_or_miss_fails_the_figures(
    answer: _Answer, expected: str, message: str
) -> None:
    """A miss that did not query the database once, or a hit that did, is not measured."""
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _check(answer, expected, 3)
    _check(_Answer(200, expected, 1 if expected == "MISS" else 0, 3, 100), expected, 3)


def test_a_run_needs_a_cold_warm_up_and_two_rounds() -> None:
    with pytest.raises(ValueError, match="warmup"):
        cache_figures.measure("http://127.0.0.1:1", warmup=0)
    with pytest.raises(ValueError, match="two rounds"):
        cache_figures.measure("http://127.0.0.1:1", rounds=1)


@pytest.fixture(scope="module")
def cloud() -> Iterator[_localcloud.LocalCloudProcess]:
    with _localcloud.local_cloud() as started:
        yield started


@pytest.mark.slow
def test_a_tiny_run_of_the_deployed_app_gives_well_formed_figures(
    cloud: _localcloud.LocalCloudProcess,
) -> None:
    """The app deployed on a local cloud; every round was a checked miss then a checked hit."""
    result = cache_figures.measure(cloud.endpoint_url, rounds=4, warmup=1, rows=3)

    assert len(result.hit_ms) == len(result.miss_ms) == 4
    assert all(sample > 0 for sample in result.hit_ms + result.miss_ms)
    assert (result.rows, result.warmup) == (3, 1)
    assert result.response_bytes > 0
    assert result.new_environments >= 0
    figures = cache_figures.bench_figures(result)
    assert [figure.name for figure in figures] == NAMES
    for figure in figures:
        assert (figure.unit, figure.target, figure.met) == ("ms", None, None)
        assert math.isfinite(figure.value)
        assert figure.value > 0
    by_name = {figure.name: figure.value for figure in figures}
    assert by_name[NAMES[1]] >= by_name[NAMES[0]]
    assert by_name[NAMES[3]] >= by_name[NAMES[2]]
    assert "n=4 rounds" in figures[0].note

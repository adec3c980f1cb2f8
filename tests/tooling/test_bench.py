"""`make bench` machinery: the report it writes, and the local cloud's figures on a tiny run.

These tests check that the benchmarks run and report well-formed figures; they never hold
the figures to their targets (timing belongs to `make bench`, not to the test suite).
"""

from __future__ import annotations

import json
import math
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# `bench` is a folder of the repository, not an installed package: `python -m pytest` (what
# `make test` runs) finds it from the working directory, a bare `pytest` would not.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import __main__ as bench_main  # noqa: E402
from bench import _localcloud, async_figures, localcloud_figures  # noqa: E402
from bench.report import Figure, render_table, write_json  # noqa: E402
from localcloud.process import LocalCloudProcess  # noqa: E402

JSON_KEYS = {"name", "value", "unit", "target", "met"}

SAMPLE = [
    Figure("demo.baseline", 231.4271, "ms", note="no target"),
    Figure("demo.met", 4.2, "ms", target="<= 10 ms", met=True, ratio=0.42),
    Figure("demo.missed", 60.0, "ms", target="<= 50 ms", met=False),
]


def test_write_json_writes_one_object_per_figure_with_the_required_keys(tmp_path: Path) -> None:
    path = tmp_path / "results.json"

    write_json(SAMPLE, path)

    written = json.loads(path.read_text())
    assert [set(entry) for entry in written] == [JSON_KEYS] * 3
    assert written[0] == {
        "name": "demo.baseline",
        "value": 231.427,
        "unit": "ms",
        "target": None,
        "met": None,
    }
    assert [entry["met"] for entry in written] == [None, True, False]
    assert written[1]["target"] == "<= 10 ms"


def test_the_table_has_a_line_per_figure_with_its_verdict() -> None:
    lines = render_table(SAMPLE).splitlines()

    assert lines[0].split() == ["figure", "value", "unit", "ratio", "target", "met", "note"]
    cells = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(cells) == {"demo.baseline", "demo.met", "demo.missed"}
    assert cells["demo.met"][:7] == ["demo.met", "4.20", "ms", "0.42x", "<=", "10", "ms"]
    assert cells["demo.met"][7] == "yes"
    assert cells["demo.missed"][-1] == "NO"
    assert cells["demo.baseline"][:4] == ["demo.baseline", "231", "ms", "-"]


def test_a_failing_module_does_not_hide_the_figures_of_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(quick: bool) -> list[Figure]:
        raise RuntimeError("boom")

    def working(quick: bool) -> list[Figure]:
        return [Figure("demo.quick" if quick else "demo.full", 1.0, "ms")]

    monkeypatch.setattr(
        bench_main,
        "MODULES",
        [
            types.SimpleNamespace(__name__="bench.broken_figures", figures=broken),
            types.SimpleNamespace(__name__="bench.working_figures", figures=working),
        ],
    )
    path = tmp_path / "results.json"

    status = bench_main.main(["--quick", "--json", str(path)])

    assert status == 1
    assert [entry["name"] for entry in json.loads(path.read_text())] == ["demo.quick"]


def test_percentiles_interpolate_between_the_nearest_samples() -> None:
    samples = [float(v) for v in range(100, 0, -1)]  # order does not matter

    assert _localcloud.percentile(samples, 50) == pytest.approx(50.5)
    assert _localcloud.percentile(samples, 99) == pytest.approx(99.01)
    with pytest.raises(ValueError, match="at least two samples"):
        _localcloud.percentile([1.0], 50)


def test_the_local_cloud_is_stopped_even_when_a_figure_fails() -> None:
    started: list[LocalCloudProcess] = []

    def failing_figure() -> None:
        with _localcloud.local_cloud() as cloud:
            started.append(cloud)
            assert cloud.endpoint_url.startswith("http://127.0.0.1:")
            raise RuntimeError("figure failed")

    with pytest.raises(RuntimeError, match="figure failed") as raised:
        failing_figure()

    [cloud] = started
    assert cloud.process is not None
    assert cloud.process.returncode == 0  # terminated and waited for: it stopped cleanly
    assert not cloud.state_dir.exists()
    # The error carries the end of the child's log, for the report of `make bench`.
    assert any("local cloud log" in note for note in raised.value.__notes__)


def _assert_well_formed(figure: Figure) -> None:
    assert figure.unit == "ms"
    assert math.isfinite(figure.value)
    assert figure.value > 0
    # A figure with a target has a verdict; a baseline has neither.
    assert (figure.target is None) == (figure.met is None)


@pytest.mark.slow
def test_the_local_cloud_figures_are_well_formed_on_a_tiny_run() -> None:
    with _localcloud.local_cloud() as cloud:
        invoke = localcloud_figures.invoke_figures(cloud.endpoint_url, invokes=20, warmup=2)
        api = localcloud_figures.api_figures(
            cloud.endpoint_url, requests_count=20, warmup=2, cold_starts=1
        )

    by_name = {figure.name: figure for figure in invoke + api}
    assert set(by_name) == {
        "localcloud.lambda_invoke.warm_p50",
        "localcloud.lambda_invoke.warm_p99",
        "localcloud.api.request_p50",
        "localcloud.api.request_p99",
        "localcloud.api.cold_start.first_after_deploy",
        "localcloud.api.cold_start.after_config_update",
    }
    for figure in by_name.values():
        _assert_well_formed(figure)
    for prefix in ("localcloud.lambda_invoke.warm", "localcloud.api.request"):
        assert by_name[f"{prefix}_p99"].value >= by_name[f"{prefix}_p50"].value
    assert "n=20 after 2 warm-up" in by_name["localcloud.api.request_p50"].note
    assert by_name["localcloud.api.request_p50"].met is not None
    assert by_name["localcloud.api.cold_start.after_config_update"].met is None
    # Stopped cleanly: the child handled SIGTERM (it stops its Lambda workers) and exited 0.
    assert cloud.process is not None
    assert cloud.process.returncode == 0


# -- the asynchronous figures ----------------------------------------------------------------

# Writes every record but one (the message whose body ends with -0000003) to the table.
LOSSY_DRAIN_HANDLER = """\
import os

import boto3

dynamodb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        if not record["body"].endswith("-0000003"):
            dynamodb.put_item(
                TableName=os.environ["TABLE_NAME"], Item={"id": {"S": record["body"]}}
            )
"""


def _drain(**changes: object) -> async_figures.Drain:
    fields: dict[str, object] = {
        "concurrency": 10,
        "messages": 50,
        "seconds": 2.0,
        "finished": True,
        "items": 50,
        "left_in_queue": 0,
        "in_dead_letter_queue": 0,
        "redelivered": 0,
        "warm_environments": 10,
        "new_environments": 0,
    }
    fields.update(changes)
    return async_figures.Drain(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"items": 49}, "the table holds 49 of 50 items"),
        ({"left_in_queue": 2}, "2 message\\(s\\) still in the queue"),
        ({"in_dead_letter_queue": 1}, "1 message\\(s\\) in the dead-letter queue"),
        ({"finished": False}, "not drained within"),
    ],
)
def test_a_drain_that_lost_a_message_fails_its_figure(
    changes: dict[str, object], problem: str
) -> None:
    with pytest.raises(RuntimeError, match=problem):
        async_figures.drain_figure(_drain(**changes))


def test_a_complete_drain_reports_messages_per_second_without_a_target() -> None:
    figure = async_figures.drain_figure(_drain(redelivered=3))

    assert figure.name == "localcloud.sqs_drain.concurrency_10"
    assert figure.value == pytest.approx(25.0)  # 50 messages in 2 s
    assert (figure.unit, figure.target, figure.met) == ("msg/s", None, None)
    assert "3 delivered again" in figure.note


@pytest.fixture(scope="module")
def cloud() -> Iterator[_localcloud.LocalCloudProcess]:
    with _localcloud.local_cloud() as started:
        yield started


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", async_figures.DRAIN_CONCURRENCIES)
def test_a_tiny_queue_drain_loses_no_message(
    cloud: _localcloud.LocalCloudProcess, concurrency: int
) -> None:
    result = async_figures.drain(cloud.endpoint_url, messages=30, concurrency=concurrency)

    # No message lost: every one reached the table, none is left in a queue.
    assert result.finished
    assert (result.items, result.lost) == (30, 0)
    assert (result.left_in_queue, result.in_dead_letter_queue) == (0, 0)
    assert 1 <= result.warm_environments <= concurrency
    figure = async_figures.drain_figure(result)
    assert figure.name == f"localcloud.sqs_drain.concurrency_{concurrency}"
    assert (figure.unit, figure.target, figure.met) == ("msg/s", None, None)
    assert math.isfinite(figure.value)
    assert figure.value > 0
    assert "n=30 preloaded" in figure.note
    how = "reserved concurrency 1" if concurrency == 1 else "MaximumConcurrency"
    assert how in figure.note


@pytest.mark.slow
def test_a_drain_whose_handler_drops_a_record_fails_the_figure(
    cloud: _localcloud.LocalCloudProcess,
) -> None:
    result = async_figures.drain(
        cloud.endpoint_url,
        messages=12,
        concurrency=2,
        handler=LOSSY_DRAIN_HANDLER,
        settle_seconds=0.5,
    )

    # The batch succeeded, so its messages were deleted: the queue is empty, one item short.
    assert (result.items, result.lost, result.left_in_queue) == (11, 1, 0)
    assert not result.finished
    with pytest.raises(RuntimeError, match="the table holds 11 of 12 items"):
        async_figures.drain_figure(result)


@pytest.mark.slow
def test_the_async_invoke_figures_are_well_formed_on_a_tiny_run(
    cloud: _localcloud.LocalCloudProcess,
) -> None:
    result = async_figures.async_latency(
        cloud.endpoint_url, invokes=10, warmup=2, pace_seconds=0.02
    )

    # Every counted Event invoke ran its handler once, after it was sent.
    assert len(result.latencies_ms) == len(result.invoke_calls_ms) == 10
    assert all(latency > 0 for latency in result.latencies_ms)
    figures = {figure.name: figure for figure in async_figures.async_figures(result)}
    assert set(figures) == {
        "localcloud.async_invoke.to_handler_p50",
        "localcloud.async_invoke.to_handler_p99",
    }
    for figure in figures.values():
        _assert_well_formed(figure)
        assert figure.target is None
    p50, p99 = (figures[f"localcloud.async_invoke.to_handler_{p}"].value for p in ("p50", "p99"))
    assert p99 >= p50
    assert "n=10 after 2 warm-up" in figures["localcloud.async_invoke.to_handler_p50"].note


def test_the_async_figures_are_part_of_make_bench() -> None:
    assert async_figures in bench_main.MODULES

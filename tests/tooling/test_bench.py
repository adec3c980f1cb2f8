"""`make bench` machinery: the report it writes, and the local cloud's figures on a tiny run.

These tests check that the benchmarks run and report well-formed figures; they never hold
the figures to their targets (timing belongs to `make bench`, not to the test suite).
"""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# `bench` is a folder of the repository, not an installed package: `python -m pytest` (what
# `make test` runs) finds it from the working directory, a bare `pytest` would not.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import __main__ as bench_main  # noqa: E402
from bench import localcloud_figures  # noqa: E402
from bench.report import Figure, render_table, write_json  # noqa: E402

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

    assert localcloud_figures.percentile(samples, 50) == pytest.approx(50.5)
    assert localcloud_figures.percentile(samples, 99) == pytest.approx(99.01)
    with pytest.raises(ValueError, match="at least two samples"):
        localcloud_figures.percentile([1.0], 50)


def test_the_local_cloud_is_stopped_even_when_a_figure_fails() -> None:
    started: list[localcloud_figures.LocalCloudProcess] = []

    def failing_figure() -> None:
        with localcloud_figures.local_cloud() as cloud:
            started.append(cloud)
            assert cloud.endpoint_url.startswith("http://127.0.0.1:")
            raise RuntimeError("figure failed")

    with pytest.raises(RuntimeError, match="figure failed"):
        failing_figure()

    [cloud] = started
    assert cloud.process is not None
    assert cloud.process.returncode == 0  # terminated and waited for: it stopped cleanly
    assert not cloud.state_dir.exists()


def _assert_well_formed(figure: Figure) -> None:
    assert figure.unit == "ms"
    assert math.isfinite(figure.value)
    assert figure.value > 0
    # A figure with a target has a verdict; a baseline has neither.
    assert (figure.target is None) == (figure.met is None)


@pytest.mark.slow
def test_the_local_cloud_figures_are_well_formed_on_a_tiny_run() -> None:
    with localcloud_figures.local_cloud() as cloud:
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

"""`make eject` turns one app into a standalone SAM project that works on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
APP = "simple-web-service"


@pytest.fixture(scope="module")
def ejected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("ejected") / "my-service"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "eject.py"), APP, str(dest)], check=True
    )
    return dest


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST"))}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def test_ejected_project_needs_nothing_from_the_monorepo(ejected: Path) -> None:
    template = (ejected / "template.yaml").read_text()
    assert "../../shared" not in template
    assert "ContentUri: layer" in template
    assert (ejected / "layer" / "common_layer" / "__init__.py").is_file()
    assert (ejected / "layer" / "Makefile").is_file()
    assert (ejected / "tests" / "stack_testing.py").is_file()
    assert (ejected / "tools" / "redrive.py").is_file()
    with (ejected / "samconfig.toml").open("rb") as handle:
        config = tomllib.load(handle)
    assert config["default"]["deploy"]["parameters"]["stack_name"] == APP
    assert config["default"]["build"]["parameters"]["template_file"] == "template.yaml"


def test_ejected_project_validates(ejected: Path) -> None:
    result = subprocess.run(
        ["sam", "validate", "--lint"], cwd=ejected, env=_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ejected_project_passes_its_unit_tests(ejected: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"],
        cwd=ejected,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.slow
def test_ejected_project_builds_for_lambda(ejected: Path) -> None:
    """sam build runs the vendored layer's Makefile (arm64 wheels, cross-installed)."""
    result = subprocess.run(
        ["sam", "build"], cwd=ejected, env=_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    built_layer = ejected / ".aws-sam" / "build" / "CommonLayer" / "python"
    assert (built_layer / "common_layer" / "__init__.py").is_file()
    assert (built_layer / "aws_lambda_powertools").is_dir()


def test_eject_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "eject.py"), APP, str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "not empty" in result.stderr


def _ejected_dev_dependencies(app: str, dest: Path) -> list[str]:
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "eject.py"), app, str(dest)], check=True
    )
    with (dest / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["project"]["optional-dependencies"]["dev"])


def test_ejected_project_pins_the_opt_in_layers_its_template_declares(tmp_path: Path) -> None:
    # The reporting engine's cache functions list RedisClientLayer: their unit tests import
    # redis, so the standalone project's environment must install it, at the layer's pin.
    with_cache = _ejected_dev_dependencies("read-heavy-reporting-engine", tmp_path / "reports")
    without_cache = _ejected_dev_dependencies(APP, tmp_path / "items")

    redis_pin = next(
        line
        for line in (REPO_ROOT / "shared" / "layer" / "redis-client-requirements.txt")
        .read_text()
        .splitlines()
        if line.startswith("redis==")
    )
    assert redis_pin in with_cache
    assert not any(spec.startswith("redis") for spec in without_cache)

"""shared/layer/Makefile: the layer SAM builds, for Lambda (arm64, cp313) or for this host."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from layer_helpers import LAYER_SRC, python_env

RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "dateutil", "urllib3", "jmespath", "six.py"]


def make(*args: str, dry_run: bool = False) -> subprocess.CompletedProcess[str]:
    command = ["make", "-C", str(LAYER_SRC), *(["-n"] if dry_run else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_the_default_build_cross_installs_for_lambda_arm64_python313(tmp_path):
    result = make("build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", dry_run=True)
    assert result.returncode == 0, result.stderr
    assert (
        "--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 "
        "--implementation cp --python-version 3.13 --only-binary=:all: --no-compile"
    ) in " ".join(result.stdout.split())
    assert f'--target "{tmp_path}/python"' in result.stdout


def test_the_host_build_installs_for_the_host_interpreter(tmp_path):
    args = ["build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", "LAYER_TARGET=host", "PYTHON=py3x"]
    result = make(*args, dry_run=True)
    assert result.returncode == 0, result.stderr
    assert "--platform" not in result.stdout
    assert "py3x -m pip install" in result.stdout
    assert "py3x -m compileall" in result.stdout


def test_a_wrong_target_or_a_missing_artifacts_dir_is_refused(tmp_path):
    wrong = make("build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", "LAYER_TARGET=wasm")
    assert wrong.returncode != 0
    assert "LAYER_TARGET must be lambda or host, not 'wasm'" in wrong.stderr
    missing = make("build-CommonLayer", "ARTIFACTS_DIR=")
    assert missing.returncode != 0
    assert "ARTIFACTS_DIR is not set" in missing.stderr


@pytest.mark.slow
def test_a_host_build_is_importable_on_its_own_and_ships_no_boto3(tmp_path):
    """Needs PyPI. The built folder plus what the runtime ships (no site-packages) must do."""
    args = ["build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", "LAYER_TARGET=host"]
    result = make(*args, f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stdout + result.stderr
    layer = tmp_path / "python"

    assert (layer / "common_layer" / "observability.py").is_file()
    assert (layer / "aws_lambda_powertools").is_dir()
    assert [name for name in RUNTIME_PROVIDED if (layer / name).exists()] == []
    assert list(layer.glob("boto*.dist-info")) == []
    assert not (layer / "bin").exists()
    assert not (layer / "aws_lambda_powertools" / "utilities" / "parser").exists()
    assert list(layer.rglob("*.pyi")) == []

    # .pyc compiled as on Lambda: hash-based and never checked against the source.
    tag = sys.implementation.cache_tag
    pyc = layer / "common_layer" / "__pycache__" / f"observability.{tag}.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01

    # What the Lambda runtime provides beside the layer: boto3 and its dependencies.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name.removesuffix(".py"))
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        (runtime / name).symlink_to(origin.parent if origin.name == "__init__.py" else origin)

    code = (
        "import sys\n"
        "import boto3, aws_lambda_powertools, fastjsonschema, wrapt\n"
        "import common_layer.observability as o, common_layer.http as h\n"
        "import common_layer.failures, common_layer.idempotency\n"
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
        "from aws_lambda_powertools.utilities.batch import BatchProcessor\n"
        "h.parse_json_object('{\"a\": 1}', {'type': 'object'})\n"
        "mods = [aws_lambda_powertools, fastjsonschema, wrapt, o, h]\n"
        "outside = [m.__name__ for m in mods if not m.__file__.startswith(sys.argv[1])]\n"
        "print('TRACING', o.tracing_enabled(), 'OUTSIDE', outside)\n"
        "print('BOTO3', boto3.__file__.startswith(sys.argv[2]))\n"
    )
    env = python_env(
        PYTHONPATH=f"{layer}:{runtime}",
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_REGION="us-east-1",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(layer), str(runtime)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "TRACING True OUTSIDE []" in out.stdout
    assert "BOTO3 True" in out.stdout

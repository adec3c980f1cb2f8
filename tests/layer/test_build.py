"""shared/layer/Makefile: the layers SAM builds, for Lambda (arm64, cp313) or for this host."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from layer_helpers import LAYER_SRC, python_env

RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "dateutil", "urllib3", "jmespath", "six.py"]
REPO = LAYER_SRC.parents[1]


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


def test_each_layer_installs_its_own_requirements_file(tmp_path):
    """One recipe, two layers: the common layer ships requirements.txt plus common_layer;
    the Redis client layer only redis-client-requirements.txt, with the same wheel
    selection (arm64, cp313) and the same pruning of what the runtime provides."""
    common = make("build-CommonLayer", f"ARTIFACTS_DIR={tmp_path}", dry_run=True)
    redis_client = make("build-RedisClientLayer", f"ARTIFACTS_DIR={tmp_path}", dry_run=True)
    assert common.returncode == 0, common.stderr
    assert redis_client.returncode == 0, redis_client.stderr

    assert f'-r "{LAYER_SRC}/requirements.txt"' in common.stdout
    assert f'cp -R "{LAYER_SRC}/common_layer"' in common.stdout
    assert f'-r "{LAYER_SRC}/redis-client-requirements.txt"' in redis_client.stdout
    assert f"{LAYER_SRC}/requirements.txt" not in redis_client.stdout
    assert "common_layer" not in redis_client.stdout
    assert "--platform manylinux2014_aarch64" in redis_client.stdout
    assert "rm -rf boto3 botocore" in redis_client.stdout
    # The Powertools pruning belongs to the common layer only.
    assert "aws_lambda_powertools/utilities/parser" in common.stdout
    assert "aws_lambda_powertools" not in redis_client.stdout


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.]+)", requirement)
            assert match, f"{path.name}: {requirement!r} is not pinned exactly"
            pins[match[1].lower()] = match[2]
    return pins


def test_the_redis_client_layer_pins_the_client_the_dev_tools_test_with():
    """The layer's redis-py is the version the local cloud's tests use (constraints.txt), so
    what runs in Lambda is what was tested; every requirement of both layers is exact."""
    layer = _pins(LAYER_SRC / "redis-client-requirements.txt")
    assert _pins(LAYER_SRC / "requirements.txt")
    assert set(layer) == {"redis"}
    assert _pins(REPO / "constraints.txt")["redis"] == layer["redis"]
    assert f'"redis=={layer["redis"]}"' in (REPO / "pyproject.toml").read_text()


@pytest.mark.slow
def test_a_host_build_of_the_redis_client_layer_holds_redis_py_alone(tmp_path):
    """Needs PyPI. The Redis client layer is redis-py and nothing else (none of the common
    layer's packages twice), byte-compiled, and connects with no other package present."""
    args = ["build-RedisClientLayer", f"ARTIFACTS_DIR={tmp_path}", "LAYER_TARGET=host"]
    result = make(*args, f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stdout + result.stderr
    layer = tmp_path / "python"

    assert sorted(p.name for p in layer.iterdir()) == ["redis", "redis-7.4.0.dist-info"]
    tag = sys.implementation.cache_tag
    assert (layer / "redis" / "__pycache__" / f"client.{tag}.pyc").is_file()

    code = (
        "import sys, redis\n"
        "client = redis.Redis(host='127.0.0.1', port=1, socket_connect_timeout=0.2)\n"
        "try:\n"
        "    client.ping()\n"
        "except redis.exceptions.ConnectionError:\n"
        "    print('REFUSED')\n"
        "print('FROM_LAYER', redis.__file__.startswith(sys.argv[1]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(layer)],
        env=python_env(PYTHONPATH=str(layer)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "REFUSED" in out.stdout
    assert "FROM_LAYER True" in out.stdout


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

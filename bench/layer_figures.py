"""Figures of the common layer: cold start, warm overhead per invocation, size.

Cold start is measured as Lambda pays it: a fresh interpreter started with a Lambda-like
environment (``LAMBDA_TASK_ROOT``, a sampled ``_X_AMZN_TRACE_ID``, an X-Ray daemon address,
so tracing is on), ``sys.path`` made only of the function code, the layer built by its own
Makefile (for this host, with .pyc compiled as on Lambda) and what the runtime ships (boto3
and its dependencies); no site-packages. The time runs from spawning the interpreter to the
end of the first invocation: start-up, imports, init code and the first call, without
interpreter teardown. Variants run interleaved (one round = one run of each), and each
variant's median is reported; ratios are medians of per-round ratios, so a change in the
machine's load (other jobs on a shared VM) hits both sides of a ratio alike. The child's
CPU time is reported beside, as a cross-check that does not count waiting for a core.

(a) a bare handler that imports boto3 and creates a DynamoDB client;
(b) the same with ``common_layer.observability`` (``instrument``, one metric, ``traced``);
(c) the same with Powertools Logger, Tracer and Metrics created eagerly, three decorators.

Everything is written under ``.aws-sam/bench`` (ignored by git).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from bench.report import Figure

REPO = Path(__file__).resolve().parents[1]
LAYER_SRC = REPO / "shared" / "layer"
WORK = REPO / ".aws-sam" / "bench"

# What the Lambda Python runtime ships beside the layer (the Makefile strips these).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

COLD_START_TARGET = 1.15  # (b) may cost at most 15% more than (a)
WARM_TARGET_US = 35.0
SIZE_TARGET_MB = 6.0

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

VARIANTS: dict[str, str] = {
    "bare": """
        import boto3

        ddb = boto3.client("dynamodb")


        def load(key):
            return {"id": key}


        def lambda_handler(event, context):
            load("1")
            return {"statusCode": 200}
        """,
    "common_layer": """
        import boto3
        from common_layer.observability import MetricUnit, instrument, metrics, traced

        ddb = boto3.client("dynamodb")


        @traced
        def load(key):
            return {"id": key}


        @instrument
        def lambda_handler(event, context):
            metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
            load("1")
            return {"statusCode": 200}
        """,
    "eager_powertools": """
        import boto3
        from aws_lambda_powertools import Logger, Metrics, Tracer
        from aws_lambda_powertools.metrics import MetricUnit

        logger = Logger()
        tracer = Tracer()
        metrics = Metrics()
        ddb = boto3.client("dynamodb")


        @tracer.capture_method
        def load(key):
            return {"id": key}


        @logger.inject_lambda_context
        @tracer.capture_lambda_handler
        @metrics.log_metrics(capture_cold_start_metric=True)
        def lambda_handler(event, context):
            metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
            load("1")
            return {"statusCode": 200}
        """,
}

# Stands in for the runtime's bootstrap: import the handler, invoke it once.
DRIVER = """
import importlib
import sys
import time


class Context:
    function_name = "bench-fn"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-fn"
    aws_request_id = "8f5ee2b9-4a4e-4a5f-9f3c-1b0f5c2e7a11"
    log_group_name = "/aws/lambda/bench-fn"
    log_stream_name = "2026/11/23/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 3000


handler = importlib.import_module("app").lambda_handler
handler({"requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}}, Context())
sys.stderr.write(f"__first_invocation_done__ {time.perf_counter_ns()} {time.process_time_ns()}\\n")
"""

WARM = """
import os
import statistics
import sys
import time

from common_layer.observability import MetricUnit, instrument, metrics


class Context:
    function_name = "bench-fn"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-fn"
    aws_request_id = "8f5ee2b9-4a4e-4a5f-9f3c-1b0f5c2e7a11"


def plain(event, context):
    return {"statusCode": 200}


@instrument
def decorated(event, context):
    metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}


event, context, calls = {"requestContext": {"requestId": "r"}}, Context(), int(sys.argv[1])
sys.stdout = open(os.devnull, "w")  # EMF is printed on every flush, as on Lambda
decorated(event, context)  # the first call is the cold start's, not ours


def per_call_ns(handler):
    start = time.perf_counter_ns()
    for _ in range(calls):
        handler(event, context)
    return (time.perf_counter_ns() - start) / calls


samples = {"plain": [], "decorated": []}
for _ in range(9):
    samples["plain"].append(per_call_ns(plain))
    samples["decorated"].append(per_call_ns(decorated))
sys.stderr.write(
    "__warm__ %f %f\\n"
    % (statistics.median(samples["plain"]), statistics.median(samples["decorated"]))
)
"""


def _is_python313(executable: str) -> bool:
    try:
        probe = subprocess.run(
            [executable, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 13))"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return probe.returncode == 0


def find_python() -> str:
    """A Python 3.13 interpreter (Lambda's runtime) that works, else this interpreter.

    A pyenv shim named python3.13 may exist and still fail, so each candidate is run.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        sys.executable,
        shutil.which("python3.13") or "",
        *sorted(str(p) for p in pyenv_root.glob("versions/3.13*/bin/python3.13")),
        "/usr/local/bin/python3.13",
        "/usr/bin/python3.13",
    ]
    for candidate in candidates:
        if candidate and _is_python313(candidate):
            return candidate
    return sys.executable


def build_layer(dest: Path, *, target: str, python: str) -> Path:
    """Build the layer with its Makefile, as ``sam build`` does; return its python/ folder."""
    command = [
        "make",
        "-s",
        "-C",
        str(LAYER_SRC),
        "build-CommonLayer",
        f"ARTIFACTS_DIR={dest}",
        f"LAYER_TARGET={target}",
        f"PYTHON={python}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"layer build ({target}) failed:\n{result.stdout}\n{result.stderr}")
    return dest / "python"


def runtime_dir(dest: Path, python: str) -> Path:
    """boto3 and its dependencies as the runtime ships them: copied, compiled for ``python``."""
    if not dest.is_dir():
        staging = Path(tempfile.mkdtemp(dir=dest.parent))
        for name in RUNTIME_PROVIDED:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.origin is None:
                raise RuntimeError(f"{name} is not installed beside the benchmark")
            origin = Path(spec.origin)
            if origin.name == "__init__.py":
                shutil.copytree(origin.parent, staging / name, ignore=_no_cache)
            else:
                shutil.copy2(origin, staging / origin.name)
        staging.rename(dest)
    # Idempotent: compileall skips what is already compiled for this interpreter.
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(dest),
        ],
        capture_output=True,
        timeout=900,
        check=True,
    )
    return dest


def _no_cache(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


def lambda_env(code: Path, layer: Path, runtime: Path, home: Path) -> dict[str, str]:
    """The environment Lambda gives a function with active tracing; sys.path like Lambda's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # empty: no ~/.aws of the machine's user
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(code), str(layer), str(runtime)]),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: the handler compiles each time
        "LAMBDA_TASK_ROOT": str(code),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_LAMBDA_FUNCTION_NAME": "bench-fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench-fn",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHMARK",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_SESSION_TOKEN": "benchmark",
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }


def _marker(stderr: str, name: str) -> list[str]:
    for line in stderr.splitlines():
        if line.startswith(f"__{name}__ "):
            return line.split()[1:]
    raise RuntimeError(f"no {name} marker; the child said:\n{stderr}")


def cold_start(python: str, driver: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """One cold start: (wall ms from spawn to first invocation done, CPU ms of the child)."""
    start = time.perf_counter_ns()  # CLOCK_MONOTONIC: the child reads the same clock
    child = subprocess.run(
        [python, "-S", str(driver)],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"cold start run failed:\n{child.stderr}")
    end, cpu = _marker(child.stderr, "first_invocation_done")
    return (int(end) - start) / 1e6, int(cpu) / 1e6


def cold_start_figures(python: str, layer: Path, runtime: Path, runs: int) -> list[Figure]:
    driver = WORK / "driver.py"
    driver.write_text(DRIVER.lstrip(), encoding="utf-8")
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    envs = {}
    for name, source in VARIANTS.items():
        code = WORK / "code" / name
        code.mkdir(parents=True, exist_ok=True)
        (code / "app.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        envs[name] = lambda_env(code, layer, runtime, home)
        cold_start(python, driver, envs[name])  # warms the OS file cache, not counted
    wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(runs):
        for name in VARIANTS:  # interleaved: a change in machine load hits every variant
            wall_ms, cpu_ms = cold_start(python, driver, envs[name])
            wall[name].append(wall_ms)
            cpu[name].append(cpu_ms)

    def paired(numerator: str, denominator: str, samples: dict[str, list[float]]) -> float:
        """Median of the per-round ratios: runs of one round saw the same machine load."""
        pairs = zip(samples[numerator], samples[denominator], strict=True)
        return statistics.median(n / d for n, d in pairs)

    def note(name: str) -> str:
        return (
            f"CPU {statistics.median(cpu[name]):.0f} ms; "
            f"wall min {min(wall[name]):.0f} max {max(wall[name]):.0f}; n={runs}"
        )

    median = {name: statistics.median(samples) for name, samples in wall.items()}
    layer_ratio = paired("common_layer", "bare", wall)
    versus_eager = paired("common_layer", "eager_powertools", wall)
    return [
        Figure(
            "layer.cold_start.bare_boto3",
            median["bare"],
            "ms",
            note=f"(a) import boto3 + DynamoDB client; {note('bare')}",
        ),
        Figure(
            "layer.cold_start.common_layer",
            median["common_layer"],
            "ms",
            target=f"<= {COLD_START_TARGET:.2f}x (a)",
            met=layer_ratio <= COLD_START_TARGET,
            ratio=layer_ratio,
            note=(
                f"(b) (a) + instrument, 1 metric, traced; tracing on; {note('common_layer')}; "
                f"CPU ratio {paired('common_layer', 'bare', cpu):.2f}x"
            ),
        ),
        Figure(
            "layer.cold_start.eager_powertools",
            median["eager_powertools"],
            "ms",
            ratio=paired("eager_powertools", "bare", wall),
            note=(
                f"(c) (a) + eager Logger/Tracer/Metrics; tracing on; {note('eager_powertools')}; "
                f"CPU ratio {paired('eager_powertools', 'bare', cpu):.2f}x"
            ),
        ),
        Figure(
            "layer.cold_start.common_layer_vs_eager",
            versus_eager,
            "x",
            target="< 1.00x (c)",
            met=versus_eager < 1.0,
            note=(
                f"(b)/(c), median of paired runs; medians differ by "
                f"{median['common_layer'] - median['eager_powertools']:+.1f} ms; "
                f"CPU ratio {paired('common_layer', 'eager_powertools', cpu):.3f}x"
            ),
        ),
    ]


def warm_figures(python: str, layer: Path, runtime: Path, calls: int) -> list[Figure]:
    script = WORK / "warm.py"
    script.write_text(WARM.lstrip(), encoding="utf-8")
    home = WORK / "home"
    figures = []
    for traced, label in ((False, "instrument"), (True, "instrument_traced")):
        env = lambda_env(WORK / "code" / "bare", layer, runtime, home)
        if not traced:
            env["POWERTOOLS_TRACE_DISABLED"] = "true"
        child = subprocess.run(
            [python, "-S", str(script), str(calls)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"warm run failed:\n{child.stderr}")
        plain_ns, decorated_ns = (float(v) for v in _marker(child.stderr, "warm"))
        overhead_us = (decorated_ns - plain_ns) / 1000
        what = "X-Ray subsegment sent per call" if traced else "tracing off"
        figures.append(
            Figure(
                f"layer.warm_overhead.{label}",
                overhead_us,
                "us",
                target=None if traced else f"<= {WARM_TARGET_US:.0f} us",
                met=None if traced else overhead_us <= WARM_TARGET_US,
                note=f"per invocation, 1 metric, vs undecorated ({plain_ns / 1000:.2f} us); {what}",
            )
        )
    return figures


def size_figures(layer: Path) -> list[Figure]:
    files = sorted(p for p in layer.rglob("*") if p.is_file() and not p.is_symlink())
    unzipped = sum(p.stat().st_size for p in files) / 1e6
    archive = WORK / "layer-arm64.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, Path("python") / path.relative_to(layer))
    pyc = sum(1 for p in files if p.suffix == ".pyc")
    return [
        Figure(
            "layer.size_unzipped_arm64",
            unzipped,
            "MB",
            target=f"<= {SIZE_TARGET_MB:.0f} MB",
            met=unzipped <= SIZE_TARGET_MB,
            note=f"{len(files)} files, {pyc} .pyc, as deployed (Lambda's 250 MB limit counts this)",
        ),
        Figure(
            "layer.size_zipped_arm64",
            archive.stat().st_size / 1e6,
            "MB",
            note="deflate, what is uploaded",
        ),
    ]


def figures(quick: bool = False) -> list[Figure]:
    WORK.mkdir(parents=True, exist_ok=True)
    python = find_python()
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host_layer = build_layer(WORK / "layer-host", target="host", python=python)
    arm_layer = build_layer(WORK / "layer-arm64", target="lambda", python=python)
    runtime = runtime_dir(WORK / f"runtime-py{version}", python)
    results = [
        *cold_start_figures(python, host_layer, runtime, runs=5 if quick else 15),
        *warm_figures(python, host_layer, runtime, calls=2_000 if quick else 20_000),
        *size_figures(arm_layer),
    ]
    (WORK / "interpreter.json").write_text(json.dumps({"python": python, "version": version}))
    return results

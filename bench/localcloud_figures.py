"""Figures of the embedded local cloud: warm Lambda invoke, an API request, a cold start.

All three are measured on one local cloud started in a child process, as the test harness
starts it (``python -m localcloud serve --port 0`` with a temporary state dir), and stopped
(terminate, wait) when the figures are done or fail. Every latency is what a client on this
machine sees, from just before the call to the end of reading the response; every sample
after the stated warm-up is kept (no outlier is dropped). Percentiles interpolate linearly
between the two nearest samples (``statistics.quantiles``, inclusive method).

(1) ``lambda.invoke`` round trip: boto3 -> moto server -> the local Runtime API -> a real
    ``awslambdaric`` process running an echo handler -> back. The first warm-up invoke is
    the cold start of the function; the warm-up invokes are not counted.
(2) API Gateway -> Lambda -> DynamoDB: apps/simple-web-service deployed with
    ``localcloud.deploy.deploy_app``, requests over one keep-alive ``requests.Session`` to
    the stack's ApiUrl mapped onto the local cloud, alternating GET /items/{id} (an item
    created first) and POST /items; every status code is checked.
(3) Cold start of that API function: the first request after the deploy, and the first
    request after each update of an environment variable of the function (which retires its
    workers, as a configuration change does on Lambda). Each is checked to have run in a
    new execution environment (a new log stream whose REPORT line has an Init Duration).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import Figure

REPO = Path(__file__).resolve().parents[1]
API_APP = REPO / "apps" / "simple-web-service"
STACK_NAME = "bench-simple-web-service"
# A build folder of its own (and so a SAM cache of its own): `make test` builds the app into
# the default .aws-sam/local/<app>, and a run of it beside the bench would race on it.
BUILD_DIR = REPO / ".aws-sam" / "bench" / "local" / API_APP.name
REGION = "us-east-1"
ACCESS_KEY = SECRET_KEY = "testing"  # the local cloud takes any credentials

INVOKE_P50_TARGET_MS = 10.0
API_P50_TARGET_MS = 15.0
API_P99_TARGET_MS = 50.0

INVOKES = 1_000
INVOKE_WARMUP = 50
REQUESTS = 1_000
REQUEST_WARMUP = 50
COLD_STARTS = 5  # after the first request after the deploy
HTTP_TIMEOUT = 30.0  # seconds per request: generous for a cold start

ECHO_HANDLER = """\
def handler(event, context):
    return {"echo": event}
"""
INVOKE_EVENT = json.dumps({"order": 42, "items": ["a", "b", "c"]}).encode()
ITEM = {"name": "bench item", "price": 9.5, "tags": ["bench"]}
COLD_START_VARIABLE = "BENCH_COLD_START"

_INIT_DURATION = re.compile(r"Init Duration: (?P<ms>[0-9.]+) ms")
_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


# -- the local cloud in a child process ------------------------------------------------------


class LocalCloudProcess:
    """``python -m localcloud serve`` in a child process, as ``stack_testing`` runs it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.log_file = state_dir / "localcloud.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""

    def start(self, timeout: float = 60.0) -> str:
        ready_file = self.state_dir / "ready.json"
        with self.log_file.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "localcloud", "serve", "--port", "0"),
                    *("--state-dir", str(self.state_dir), "--ready-file", str(ready_file)),
                ],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the local cloud exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, ValueError):  # absent, or written half-way
                self.endpoint_url = str(json.loads(ready_file.read_text())["endpoint_url"])
                return self.endpoint_url
            if time.monotonic() > deadline:
                raise TimeoutError(f"the local cloud was not ready within {timeout:.0f}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        """Terminate the child (it stops its Lambda workers on SIGTERM) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the child's log, without werkzeug's line per HTTP request."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines() if " INFO werkzeug: " not in line]
        return "\n".join(kept[-lines:])


@contextlib.contextmanager
def local_cloud(timeout: float = 60.0) -> Iterator[LocalCloudProcess]:
    """A local cloud with its state in a temporary directory; stopped on exit, even on errors."""
    with tempfile.TemporaryDirectory(prefix="bench-localcloud-") as state:
        cloud = LocalCloudProcess(Path(state))
        try:
            cloud.start(timeout)
            yield cloud
        finally:
            cloud.stop()


def _client(service: str, endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    # Any: the stubs type client() per literal service name.
    session: Any = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    # No retries: a failed call must fail the figure, not hide inside its latency.
    config = Config(retries={"total_max_attempts": 1}, read_timeout=HTTP_TIMEOUT)
    return session.client(service, endpoint_url=endpoint_url, config=config)


# -- statistics ----------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 < q < 100, integer), linear between the nearest samples."""
    if len(samples) < 2:
        raise ValueError("a percentile needs at least two samples")
    if not (0 < q < 100 and float(q).is_integer()):
        raise ValueError(f"q must be an integer between 1 and 99, not {q}")
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def _timed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter_ns()
    result = call()
    return (time.perf_counter_ns() - start) / 1e6, result


def _spread(samples: Sequence[float]) -> str:
    return f"min {min(samples):.2f} max {max(samples):.2f}"


def _load() -> str:
    """The machine's 1-minute load average: other jobs on these 2 cores move the tail."""
    return f"load avg {os.getloadavg()[0]:.2f}"


# -- (1) warm lambda.invoke ----------------------------------------------------------------


def _echo_function(endpoint_url: str) -> str:
    iam = _client("iam", endpoint_url)
    role = iam.create_role(
        RoleName=f"bench-{uuid.uuid4().hex[:12]}", AssumeRolePolicyDocument=_TRUST_POLICY
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", ECHO_HANDLER)
    name = f"bench-echo-{uuid.uuid4().hex[:12]}"
    _client("lambda", endpoint_url).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Timeout=10,
        MemorySize=128,
    )
    return name


def invoke_figures(
    endpoint_url: str, *, invokes: int = INVOKES, warmup: int = INVOKE_WARMUP
) -> list[Figure]:
    """p50 and p99 of synchronous invokes of an echo function, after ``warmup`` invokes."""
    if warmup < 1:
        raise ValueError("warmup must include the cold start (at least 1)")
    client = _client("lambda", endpoint_url)
    name = _echo_function(endpoint_url)
    expected = {"echo": json.loads(INVOKE_EVENT)}

    def invoke() -> bytes:
        response = client.invoke(FunctionName=name, Payload=INVOKE_EVENT)
        body: bytes = response["Payload"].read()
        if response["StatusCode"] != 200 or "FunctionError" in response:
            raise RuntimeError(f"invoke of {name} failed: {response.get('FunctionError')} {body!r}")
        return body

    for _ in range(warmup):
        invoke()
    samples: list[float] = []
    for _ in range(invokes):
        elapsed, body = _timed_ms(invoke)
        samples.append(elapsed)
        if json.loads(body) != expected:
            raise RuntimeError(f"the echo function answered {body!r}")
    load = _load()
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    counted = f"n={invokes} after {warmup} warm-up (the first one cold)"
    return [
        Figure(
            "localcloud.lambda_invoke.warm_p50",
            p50,
            "ms",
            target=f"<= {INVOKE_P50_TARGET_MS:.0f} ms",
            met=p50 <= INVOKE_P50_TARGET_MS,
            note=f"boto3 -> moto server -> awslambdaric echo handler -> back; {counted}",
        ),
        Figure(
            "localcloud.lambda_invoke.warm_p99",
            p99,
            "ms",
            note=(
                f"same samples; mean {statistics.fmean(samples):.2f}; {_spread(samples)}; {load}"
            ),
        ),
    ]


# -- (2) and (3): API Gateway -> Lambda -> DynamoDB ----------------------------------------


@dataclass(frozen=True)
class DeployedApi:
    items_url: str
    function_name: str
    deploy_seconds: float


def deploy_api(endpoint_url: str) -> DeployedApi:
    """Deploy apps/simple-web-service on the local cloud as ``make up`` and the tests do."""
    from localcloud.deploy import deploy_app
    from localcloud.urls import local_execute_api_url

    start = time.perf_counter()
    outputs = deploy_app(
        API_APP, endpoint_url=endpoint_url, stack_name=STACK_NAME, build_dir=BUILD_DIR
    )
    api_url = local_execute_api_url(outputs["ApiUrl"], endpoint_url)
    return DeployedApi(
        items_url=api_url.rstrip("/") + "/items",
        function_name=outputs["ItemsFunctionName"],
        deploy_seconds=time.perf_counter() - start,
    )


class _NewEnvironments:
    """Tells which requests ran in a new execution environment: each has its log stream."""

    def __init__(self, endpoint_url: str, function_name: str) -> None:
        self._logs = _client("logs", endpoint_url)
        self._group = f"/aws/lambda/{function_name}"
        self._seen = self._streams()

    def _streams(self) -> set[str]:
        names: set[str] = set()
        with contextlib.suppress(self._logs.exceptions.ResourceNotFoundException):
            for page in self._logs.get_paginator("describe_log_streams").paginate(
                logGroupName=self._group
            ):
                names.update(s["logStreamName"] for s in page["logStreams"])
        return names

    def new_streams(self) -> set[str]:
        """Log streams (one per execution environment) created since the last call."""
        streams = self._streams()
        new = streams - self._seen
        self._seen = streams
        return new

    def init_duration_ms(self) -> float:
        """The Init Duration of the one environment started since the last call."""
        new = self.new_streams()
        if len(new) != 1:
            raise RuntimeError(f"expected one new execution environment, found {len(new)}")
        events = self._logs.get_log_events(
            logGroupName=self._group, logStreamName=new.pop(), startFromHead=True
        )["events"]
        for event in events:
            found = _INIT_DURATION.search(event["message"])
            if event["message"].startswith("REPORT") and found:
                return float(found.group("ms"))
        raise RuntimeError("the new execution environment logged no Init Duration")


def _expect(response: Any, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url} answered {response.status_code} "
            f"(expected {status}): {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


def _force_new_workers(client: Any, function_name: str, marker: str) -> None:
    """Change an environment variable: Lambda retires environments of the old configuration."""
    current = client.get_function_configuration(FunctionName=function_name)
    variables = dict(current.get("Environment", {}).get("Variables", {}))
    variables[COLD_START_VARIABLE] = marker
    client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": variables}
    )


def api_figures(
    endpoint_url: str,
    *,
    requests_count: int = REQUESTS,
    warmup: int = REQUEST_WARMUP,
    cold_starts: int = COLD_STARTS,
) -> list[Figure]:
    """Deploy the API, then measure its cold starts and warm request latency."""
    import requests

    api = deploy_api(endpoint_url)
    environments = _NewEnvironments(endpoint_url, api.function_name)
    lambda_client = _client("lambda", endpoint_url)
    body = json.dumps(ITEM).encode()
    headers = {"Content-Type": "application/json"}

    with requests.Session() as http:

        def post() -> Any:
            return http.post(api.items_url, data=body, headers=headers, timeout=HTTP_TIMEOUT)

        # (3) the first request after the deploy: it also creates the item the GETs read.
        first_ms, response = _timed_ms(post)
        item_id = str(_expect(response, 201)["id"])
        first_init_ms = environments.init_duration_ms()
        item_url = f"{api.items_url}/{item_id}"

        def get() -> Any:
            return http.get(item_url, timeout=HTTP_TIMEOUT)

        # (2) the mix: even requests GET the item, odd ones create an item.
        def request(index: int) -> tuple[str, float]:
            method, call, status = ("GET", get, 200) if index % 2 == 0 else ("POST", post, 201)
            elapsed, response = _timed_ms(call)
            item = _expect(response, status)
            if method == "GET" and item.get("id") != item_id:
                raise RuntimeError(f"GET {item_url} answered another item: {response.text[:300]}")
            return method, elapsed

        for index in range(warmup):
            request(index)
        by_method: dict[str, list[float]] = {"GET": [], "POST": []}
        samples: list[float] = []
        for index in range(requests_count):
            method, elapsed = request(index)
            by_method[method].append(elapsed)
            samples.append(elapsed)
        load = _load()
        # Counted, not excluded: a request served by a new environment stays in the samples.
        started_while_warm = len(environments.new_streams())

        # (3) again: the first request after each configuration change.
        cold_ms: list[float] = []
        cold_init_ms: list[float] = []
        for run in range(cold_starts):
            _force_new_workers(lambda_client, api.function_name, f"{run}-{uuid.uuid4().hex[:8]}")
            elapsed, response = _timed_ms(post)
            _expect(response, 201)
            cold_ms.append(elapsed)
            cold_init_ms.append(environments.init_duration_ms())

    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    per_method = ", ".join(
        f"{method} p50 {statistics.median(values):.2f} p99 {percentile(values, 99):.2f}"
        for method, values in by_method.items()
        if len(values) >= 2
    )
    counted = f"n={requests_count} after {warmup} warm-up, GET/POST alternating"
    figures = [
        Figure(
            "localcloud.api.request_p50",
            p50,
            "ms",
            target=f"<= {API_P50_TARGET_MS:.0f} ms",
            met=p50 <= API_P50_TARGET_MS,
            note=(
                f"requests keep-alive -> API GW -> Lambda -> DynamoDB; {counted}; "
                f"{per_method}; {started_while_warm} new environment(s) during warm-up+samples"
            ),
        ),
        Figure(
            "localcloud.api.request_p99",
            p99,
            "ms",
            target=f"<= {API_P99_TARGET_MS:.0f} ms",
            met=p99 <= API_P99_TARGET_MS,
            note=(
                f"same samples; mean {statistics.fmean(samples):.2f}; {_spread(samples)}; {load}"
            ),
        ),
        Figure(
            "localcloud.api.cold_start.first_after_deploy",
            first_ms,
            "ms",
            note=(
                f"POST /items, 1 sample; runtime Init Duration {first_init_ms:.0f} ms; "
                f"deploy took {api.deploy_seconds:.1f} s"
            ),
        ),
    ]
    if cold_ms:
        figures.append(
            Figure(
                "localcloud.api.cold_start.after_config_update",
                statistics.median(cold_ms),
                "ms",
                note=(
                    f"POST /items after an env var update, median of {len(cold_ms)}; "
                    f"{_spread(cold_ms)}; runtime Init Duration median "
                    f"{statistics.median(cold_init_ms):.0f} ms"
                ),
            )
        )
    return figures


def figures(quick: bool = False) -> list[Figure]:
    with local_cloud() as cloud:
        try:
            return [
                *invoke_figures(cloud.endpoint_url, invokes=200 if quick else INVOKES),
                *api_figures(
                    cloud.endpoint_url,
                    requests_count=200 if quick else REQUESTS,
                    cold_starts=2 if quick else COLD_STARTS,
                ),
            ]
        except Exception as error:
            error.add_note(f"local cloud log ({cloud.log_file}):\n{cloud.log_tail()}")
            raise

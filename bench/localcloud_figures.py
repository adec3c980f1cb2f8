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

import json
import re
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench._localcloud import (
    REPO,
    NewEnvironments,
    aws_client,
    create_function,
    load_average,
    local_cloud,
    percentile,
    spread,
    timed_ms,
)
from bench.report import Figure

API_APP = REPO / "apps" / "simple-web-service"
STACK_NAME = "bench-simple-web-service"
# A build folder of its own (and so a SAM cache of its own): `make test` builds the app into
# the default .aws-sam/local/<app>, and a run of it beside the bench would race on it.
BUILD_DIR = REPO / ".aws-sam" / "bench" / "local" / API_APP.name

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


# -- (1) warm lambda.invoke ----------------------------------------------------------------


def invoke_figures(
    endpoint_url: str, *, invokes: int = INVOKES, warmup: int = INVOKE_WARMUP
) -> list[Figure]:
    """p50 and p99 of synchronous invokes of an echo function, after ``warmup`` invokes."""
    if warmup < 1:
        raise ValueError("warmup must include the cold start (at least 1)")
    client = aws_client("lambda", endpoint_url)
    name = create_function(endpoint_url, ECHO_HANDLER, prefix="bench-echo")
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
        elapsed, body = timed_ms(invoke)
        samples.append(elapsed)
        if json.loads(body) != expected:
            raise RuntimeError(f"the echo function answered {body!r}")
    load = load_average()
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
            note=f"same samples; mean {statistics.fmean(samples):.2f}; {spread(samples)}; {load}",
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


class _NewEnvironments(NewEnvironments):
    """Tells which requests ran in a new execution environment, and its Init Duration."""

    def init_duration_ms(self) -> float:
        """The Init Duration of the one environment started since the last call."""
        new = self.new_streams()
        if len(new) != 1:
            raise RuntimeError(f"expected one new execution environment, found {len(new)}")
        for event in self.log_events(new.pop()):
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
    lambda_client = aws_client("lambda", endpoint_url)
    body = json.dumps(ITEM).encode()
    headers = {"Content-Type": "application/json"}

    with requests.Session() as http:

        def post() -> Any:
            return http.post(api.items_url, data=body, headers=headers, timeout=HTTP_TIMEOUT)

        # (3) the first request after the deploy: it also creates the item the GETs read.
        first_ms, response = timed_ms(post)
        item_id = str(_expect(response, 201)["id"])
        first_init_ms = environments.init_duration_ms()
        item_url = f"{api.items_url}/{item_id}"

        def get() -> Any:
            return http.get(item_url, timeout=HTTP_TIMEOUT)

        # (2) the mix: even requests GET the item, odd ones create an item.
        def request(index: int) -> tuple[str, float]:
            method, call, status = ("GET", get, 200) if index % 2 == 0 else ("POST", post, 201)
            elapsed, response = timed_ms(call)
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
        load = load_average()
        # Counted, not excluded: a request served by a new environment stays in the samples.
        started_while_warm = len(environments.new_streams())

        # (3) again: the first request after each configuration change.
        cold_ms: list[float] = []
        cold_init_ms: list[float] = []
        for run in range(cold_starts):
            _force_new_workers(lambda_client, api.function_name, f"{run}-{uuid.uuid4().hex[:8]}")
            elapsed, response = timed_ms(post)
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
            note=f"same samples; mean {statistics.fmean(samples):.2f}; {spread(samples)}; {load}",
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
                    f"{spread(cold_ms)}; runtime Init Duration median "
                    f"{statistics.median(cold_init_ms):.0f} ms"
                ),
            )
        )
    return figures


def figures(quick: bool = False) -> list[Figure]:
    with local_cloud() as cloud:
        return [
            *invoke_figures(cloud.endpoint_url, invokes=200 if quick else INVOKES),
            *api_figures(
                cloud.endpoint_url,
                requests_count=200 if quick else REQUESTS,
                cold_starts=2 if quick else COLD_STARTS,
            ),
        ]

"""Figures of a Lambda authorizer's overhead on a REST API, with and without its cache.

Measured on one local cloud started in a child process (:mod:`bench._localcloud`, as the
test harness starts it), with resources created through boto3: one REST API whose three
``GET`` methods share one trivial backend function (an ``AWS_PROXY`` integration that answers
200 with the ``requestContext.authorizer`` it received):

- ``/open``: no authorizer (the baseline);
- ``/uncached``: a TOKEN Lambda authorizer with ``authorizerResultTtlInSeconds`` 0, so
  every request runs the authorizer function before the backend;
- ``/cached``: the same function as a second TOKEN authorizer with a TTL of 300 s (API
  Gateway's default), so one run per token per 300 s and the cached policy otherwise.

The authorizer function allows the whole API for any token and answers a context naming its
run (``{execution environment id}:{invocation number}``), which API Gateway passes to the
backend and the backend echoes: every response says which authorizer run let it through.
That is how the figures prove what they measured: each counted request of ``/uncached`` must
carry a run no other request carried, and every request of ``/cached`` (warm-up included)
the same one run (one more per 300 s the benchmark lasted, which it never does).

Every request is an HTTP GET over one keep-alive ``requests.Session`` from this process to
the local cloud's API Gateway data plane, timed from just before the call to the end of
reading the response, with the same bearer token; its status (200) and echoed context are
checked. Warm-up: ``warmup`` requests per method (the first of ``/open`` and of ``/uncached``
start the backend's and the authorizer's execution environments). Counted requests go round
robin over the three methods, so load from other jobs on the machine falls on all three
alike; every sample is kept. p50 and p99 interpolate between the nearest samples
(:func:`bench._localcloud.percentile`). The overhead of a variant is its p50 minus the
baseline's p50 (a difference of medians, not a median of differences); the table's ratio
is the variant's p50 over the baseline's. No figure has a target: these are measurements of
the local cloud's data plane on this machine, not of AWS.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench._localcloud import (
    REGION,
    aws_client,
    create_function,
    load_average,
    local_cloud,
    percentile,
    spread,
    timed_ms,
)
from bench.report import Figure

REQUESTS = 500  # counted, per method
WARMUP = 20  # per method
HTTP_TIMEOUT = 30.0  # seconds per request: generous for a cold start
STAGE = "bench"
CACHED_TTL_SECONDS = 300  # API Gateway's default authorizer cache TTL
VARIANTS = ("open", "uncached", "cached")
TOKEN = "Bearer bench-token"

BACKEND_HANDLER = """\
import json


def handler(event, context):
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return {"statusCode": 200, "body": json.dumps({"run": authorizer.get("run")})}
"""

# Allows every method of the API and stage that called it; names its run in the context.
AUTHORIZER_HANDLER = """\
import uuid

ENVIRONMENT = uuid.uuid4().hex[:12]
invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    every_method = "/".join(event["methodArn"].split("/")[:2]) + "/*"
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": every_method}
    return {
        "principalId": "bench",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": {"run": f"{ENVIRONMENT}:{invocations}"},
    }
"""


@dataclass(frozen=True)
class Samples:
    """What the requests of one method measured, and the authorizer runs that decided them."""

    variant: str
    latencies_ms: list[float]  # counted requests only
    runs: list[str | None]  # authorizer run of every request, warm-up first (None: no authorizer)
    warmup: int

    @property
    def counted_runs(self) -> list[str | None]:
        return self.runs[self.warmup :]

    @property
    def distinct_runs(self) -> int:
        """Authorizer runs behind all the requests, warm-up included."""
        return len({run for run in self.runs if run is not None})


@dataclass(frozen=True)
class AuthorizerBench:
    """The samples of the three methods and how long the cached authorizer was exercised."""

    by_variant: dict[str, Samples]
    authorizer_function: str  # its name: its logs tell how often it ran
    cached_seconds: float  # from the first request of /cached to the last
    cached_ttl_seconds: int

    def check(self) -> None:
        """Raise unless the authorizer ran as each method promises (what was measured)."""
        problems = []
        open_runs = self.by_variant["open"].runs
        if any(run is not None for run in open_runs):
            problems.append("/open reached the backend with an authorizer context")
        uncached = self.by_variant["uncached"]
        if None in uncached.runs or len(set(uncached.runs)) != len(uncached.runs):
            problems.append(
                f"/uncached: {len(uncached.runs)} requests were decided by "
                f"{uncached.distinct_runs} authorizer runs, not one each"
            )
        cached = self.by_variant["cached"]
        allowed = 1 + int(self.cached_seconds // self.cached_ttl_seconds)
        if None in cached.runs or not 1 <= cached.distinct_runs <= allowed:
            problems.append(
                f"/cached: {len(cached.runs)} requests in {self.cached_seconds:.1f} s were "
                f"decided by {cached.distinct_runs} authorizer runs (TTL "
                f"{self.cached_ttl_seconds} s allows at most {allowed})"
            )
        if problems:
            raise RuntimeError("authorizer benchmark: " + "; ".join(problems))


@dataclass(frozen=True)
class _Api:
    api_id: str
    urls: dict[str, str]  # variant -> URL of its method


def _lambda_uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def _create_api(
    endpoint_url: str, backend_arn: str, authorizer_arn: str, cached_ttl_seconds: int
) -> _Api:
    apigw = aws_client("apigateway", endpoint_url)
    api_id = apigw.create_rest_api(name=f"bench-authorizer-{uuid.uuid4().hex[:12]}")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    authorizers = {
        variant: apigw.create_authorizer(
            restApiId=api_id,
            name=f"{variant}-token-authorizer",
            type="TOKEN",
            authorizerUri=_lambda_uri(authorizer_arn),
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=ttl,
        )["id"]
        for variant, ttl in (("uncached", 0), ("cached", cached_ttl_seconds))
    }
    for variant in VARIANTS:
        resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=variant)["id"]
        auth: dict[str, Any] = {"authorizationType": "NONE"}
        if variant in authorizers:
            auth = {"authorizationType": "CUSTOM", "authorizerId": authorizers[variant]}
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="GET", **auth)
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=_lambda_uri(backend_arn),
        )
    apigw.create_deployment(restApiId=api_id, stageName=STAGE)
    base = f"{endpoint_url}/_aws/execute-api/{api_id}/{STAGE}"
    return _Api(api_id, {variant: f"{base}/{variant}" for variant in VARIANTS})


@contextmanager
def _functions(endpoint_url: str) -> Iterator[tuple[str, str]]:
    """The backend and the authorizer function (ARNs); deleted on exit, their logs kept."""
    lambda_client = aws_client("lambda", endpoint_url)
    names = [
        create_function(endpoint_url, BACKEND_HANDLER, prefix="bench-authz-backend"),
        create_function(endpoint_url, AUTHORIZER_HANDLER, prefix="bench-authz-authorizer"),
    ]
    try:
        backend, authorizer = (
            str(lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
            for name in names
        )
        yield backend, authorizer
    finally:
        for name in names:
            lambda_client.delete_function(FunctionName=name)


def measure(
    endpoint_url: str,
    *,
    requests_count: int = REQUESTS,
    warmup: int = WARMUP,
    cached_ttl_seconds: int = CACHED_TTL_SECONDS,
) -> AuthorizerBench:
    """Create the API, warm each method up, then time round-robin requests over the three."""
    import requests

    if warmup < 1:
        raise ValueError("warmup must include the cold start (at least 1)")
    if requests_count < 2:
        raise ValueError("a percentile needs at least two requests per method")
    with _functions(endpoint_url) as (backend_arn, authorizer_arn):
        api = _create_api(endpoint_url, backend_arn, authorizer_arn, cached_ttl_seconds)
        latencies: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        runs: dict[str, list[str | None]] = {variant: [] for variant in VARIANTS}
        try:
            with requests.Session() as http:
                http.headers["Authorization"] = TOKEN

                def request(variant: str) -> float:
                    url = api.urls[variant]
                    elapsed, response = timed_ms(lambda: http.get(url, timeout=HTTP_TIMEOUT))
                    if response.status_code != 200:
                        raise RuntimeError(
                            f"GET {url} answered {response.status_code}: {response.text[:300]}"
                        )
                    runs[variant].append(json.loads(response.content)["run"])
                    return float(elapsed)

                cached_started = 0.0
                for variant in VARIANTS:
                    if variant == "cached":
                        cached_started = time.monotonic()
                    for _ in range(warmup):
                        request(variant)
                for _ in range(requests_count):
                    for variant in VARIANTS:
                        latencies[variant].append(request(variant))
                cached_seconds = time.monotonic() - cached_started
        finally:
            aws_client("apigateway", endpoint_url).delete_rest_api(restApiId=api.api_id)
    return AuthorizerBench(
        by_variant={
            variant: Samples(variant, latencies[variant], runs[variant], warmup)
            for variant in VARIANTS
        },
        authorizer_function=authorizer_arn.rsplit(":", 1)[-1],
        cached_seconds=cached_seconds,
        cached_ttl_seconds=cached_ttl_seconds,
    )


def _p50_p99(samples: Sequence[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 99)


def bench_figures(result: AuthorizerBench) -> list[Figure]:
    """p50/p99 per method and the p50 overhead of each authorizer; raises if it ran wrongly."""
    result.check()
    load = load_average()
    open_samples = result.by_variant["open"]
    base_p50, _ = _p50_p99(open_samples.latencies_ms)
    counted = (
        f"n={len(open_samples.latencies_ms)} per method after {open_samples.warmup} warm-up "
        f"each, round robin over /open, /uncached, /cached"
    )
    described = {
        "open": "no authorizer: requests keep-alive -> API GW -> Lambda proxy",
        "uncached": (
            "TOKEN authorizer, TTL 0: every request runs the authorizer Lambda, then the backend"
        ),
        "cached": (
            f"TOKEN authorizer, TTL {result.cached_ttl_seconds} s: one token, policy cached "
            f"after the first request"
        ),
    }
    figures: list[Figure] = []
    for variant in VARIANTS:
        samples = result.by_variant[variant]
        p50, p99 = _p50_p99(samples.latencies_ms)
        if variant == "open":
            runs = "no authorizer run"
        elif variant == "uncached":
            runs = f"{samples.distinct_runs} authorizer runs for {len(samples.runs)} requests"
        else:
            runs = f"{samples.distinct_runs} authorizer run(s) for {len(samples.runs)} requests"
        figures += [
            Figure(
                f"localcloud.authorizer.{variant}.request_p50",
                p50,
                "ms",
                ratio=None if variant == "open" else p50 / base_p50,
                note=f"{described[variant]}; {counted}; {runs} (checked from echoed context)",
            ),
            Figure(
                f"localcloud.authorizer.{variant}.request_p99",
                p99,
                "ms",
                note=(
                    f"same samples; mean {statistics.fmean(samples.latencies_ms):.2f}; "
                    f"{spread(samples.latencies_ms)}; {load}"
                ),
            ),
        ]
    costs = {
        "uncached": "an authorizer Lambda invoke per request",
        "cached": "a cache lookup and a policy evaluation per request",
    }
    for variant, cost in costs.items():
        p50 = percentile(result.by_variant[variant].latencies_ms, 50)
        figures.append(
            Figure(
                f"localcloud.authorizer.{variant}.overhead_p50",
                p50 - base_p50,
                "ms",
                note=f"p50 of /{variant} ({p50:.2f}) - p50 of /open ({base_p50:.2f}): {cost}",
            )
        )
    return figures


def figures(quick: bool = False) -> list[Figure]:
    with local_cloud() as cloud:
        result = measure(cloud.endpoint_url, requests_count=100 if quick else REQUESTS)
    return bench_figures(result)

"""What the figures measured on the local cloud share: the child process, clients, statistics.

The local cloud runs in a child process, as the test harness starts it
(:class:`localcloud.process.LocalCloudProcess` with a temporary state dir), and is stopped
(terminate, wait) when the figures are done or fail. Percentiles interpolate linearly
between the two nearest samples (``statistics.quantiles``, inclusive method).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from localcloud.process import LocalCloudProcess

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCESS_KEY = SECRET_KEY = "testing"  # the local cloud takes any credentials
READ_TIMEOUT = 30.0  # seconds per API call: generous for a cold start

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


@contextlib.contextmanager
def local_cloud(timeout: float = 60.0) -> Iterator[LocalCloudProcess]:
    """A local cloud with its state in a temporary directory; stopped on exit, even on errors.

    An error raised inside gets the end of the child's log as a note.
    """
    with tempfile.TemporaryDirectory(prefix="bench-localcloud-") as state:
        cloud = LocalCloudProcess(Path(state))
        try:
            cloud.start(timeout)
            try:
                yield cloud
            except Exception as error:
                error.add_note(f"local cloud log ({cloud.log_file}):\n{cloud.log_tail()}")
                raise
        finally:
            cloud.stop()


def aws_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client of the local cloud that never retries."""
    import boto3
    from botocore.config import Config

    # Any: the stubs type client() per literal service name.
    session: Any = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    # No retries: a failed call must fail the figure, not hide inside its latency.
    config = Config(retries={"total_max_attempts": 1}, read_timeout=READ_TIMEOUT)
    return session.client(service, endpoint_url=endpoint_url, config=config)


# -- Lambda functions from inline code -------------------------------------------------------


def create_role(endpoint_url: str) -> str:
    """An execution role functions can be created with (moto checks that it exists)."""
    return str(
        aws_client("iam", endpoint_url).create_role(
            RoleName=f"bench-{uuid.uuid4().hex[:12]}", AssumeRolePolicyDocument=_TRUST_POLICY
        )["Role"]["Arn"]
    )


def create_function(
    endpoint_url: str,
    source: str,
    *,
    prefix: str,
    environment: Mapping[str, str] | None = None,
    timeout: int = 10,
) -> str:
    """A python3.13 function whose ``app.py`` is ``source`` (handler ``app.handler``)."""
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", source)
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    options: dict[str, Any] = {}
    if environment:
        options["Environment"] = {"Variables": dict(environment)}
    aws_client("lambda", endpoint_url).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=create_role(endpoint_url),
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Timeout=timeout,
        MemorySize=128,
        **options,
    )
    return name


class NewEnvironments:
    """Tells how many execution environments a function started: each has its log stream."""

    def __init__(self, endpoint_url: str, function_name: str) -> None:
        self._logs = aws_client("logs", endpoint_url)
        self.group = f"/aws/lambda/{function_name}"
        self._seen = self._streams()

    def _streams(self) -> set[str]:
        names: set[str] = set()
        with contextlib.suppress(self._logs.exceptions.ResourceNotFoundException):
            for page in self._logs.get_paginator("describe_log_streams").paginate(
                logGroupName=self.group
            ):
                names.update(s["logStreamName"] for s in page["logStreams"])
        return names

    def new_streams(self) -> set[str]:
        """Log streams (one per execution environment) created since the last call."""
        streams = self._streams()
        new = streams - self._seen
        self._seen = streams
        return new

    def log_events(self, stream: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._logs.get_log_events(
            logGroupName=self.group, logStreamName=stream, startFromHead=True
        )["events"]
        return events


# -- statistics ----------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 < q < 100, integer), linear between the nearest samples."""
    if len(samples) < 2:
        raise ValueError("a percentile needs at least two samples")
    if not (0 < q < 100 and float(q).is_integer()):
        raise ValueError(f"q must be an integer between 1 and 99, not {q}")
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def timed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter_ns()
    result = call()
    return (time.perf_counter_ns() - start) / 1e6, result


def spread(samples: Sequence[float]) -> str:
    return f"min {min(samples):.2f} max {max(samples):.2f}"


def load_average() -> str:
    """The machine's 1-minute load average: other jobs on these 2 cores move the tail."""
    return f"load avg {os.getloadavg()[0]:.2f}"

"""Concurrency limits: reserved concurrency caps a function, the account quota the rest.

Synchronous invokes beyond the limit get 429 TooManyRequestsException ("Rate Exceeded.")
with the Reason AWS gives; the excess is not queued.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from stack_testing import wait_for

# Holds its execution environment until the test lets go: writes "<dir>/started-<id>", then
# waits for "<dir>/release" (bounded by the function timeout).
GATED = """
    import os
    import time

    def handler(event, context):
        gate = event["gate"]
        open(os.path.join(gate, "started-" + context.aws_request_id), "w").close()
        while not os.path.exists(os.path.join(gate, "release")):
            time.sleep(0.01)
        return {"pid": os.getpid()}
"""

NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=30)


class Gate:
    """Runs invokes of a gated function in the background and opens the gate."""

    def __init__(self, directory: Path, invoke: Callable[..., Any], client: Any) -> None:
        self.directory = directory
        self._invoke = invoke
        self._client = client
        self.results: list[Any] = []
        self._threads: list[threading.Thread] = []

    def start(self, name: str) -> None:
        def run() -> None:
            self.results.append(
                self._invoke(name, {"gate": str(self.directory)}, client=self._client)
            )

        thread = threading.Thread(target=run)
        thread.start()
        self._threads.append(thread)

    def started(self) -> int:
        return len(list(self.directory.glob("started-*")))

    def release(self) -> list[Any]:
        (self.directory / "release").touch()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.results


@pytest.fixture
def gate(tmp_path: Path, invoke, aws) -> Iterator[Gate]:
    opened = Gate(tmp_path, invoke, aws("lambda", config=NO_RETRIES))
    yield opened
    opened.release()  # never leave a function parked, even when the test failed


def test_reserved_concurrency_throttles_the_excess_invoke(aws, make_function, invoke, gate):
    """With ReservedConcurrentExecutions=1, a second concurrent synchronous invoke gets 429
    TooManyRequestsException, Reason ReservedFunctionConcurrentInvocationLimitExceeded."""
    name = make_function(GATED, reserved_concurrency=1, timeout=20)
    gate.start(name)
    wait_for(gate.started, timeout=15, interval=0.02, description="first invoke running")

    with pytest.raises(ClientError) as raised:
        aws("lambda", config=NO_RETRIES).invoke(
            FunctionName=name, Payload=f'{{"gate": "{gate.directory}"}}'.encode()
        )
    first = gate.release()

    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert [result.function_error for result in first] == [None]
    assert gate.started() == 1  # the throttled invoke never reached the function


def test_concurrency_is_available_again_after_the_invocation(make_function, invoke, gate):
    """Reserved concurrency limits invocations in flight, not invocations over time."""
    name = make_function(GATED, reserved_concurrency=1, timeout=20)
    (gate.directory / "release").touch()

    results = [invoke(name, {"gate": str(gate.directory)}) for _ in range(3)]

    assert [result.function_error for result in results] == [None, None, None]
    assert len({result.payload["pid"] for result in results}) == 1  # one warm environment


def test_environments_scale_out_up_to_the_reservation(make_function, gate):
    """Below the limit, concurrent invokes each get their own execution environment."""
    name = make_function(GATED, reserved_concurrency=2, timeout=20)
    gate.start(name)
    gate.start(name)
    wait_for(lambda: gate.started() == 2, timeout=15, interval=0.02, description="two running")

    results = gate.release()

    assert [result.function_error for result in results] == [None, None]
    assert len({result.payload["pid"] for result in results}) == 2


def test_zero_reserved_concurrency_disables_the_function(make_function, aws):
    """ReservedConcurrentExecutions=0 throttles every invoke (the "off switch")."""
    name = make_function("def handler(event, context):\n    return 1\n", reserved_concurrency=0)

    with pytest.raises(ClientError) as raised:
        aws("lambda", config=NO_RETRIES).invoke(FunctionName=name)

    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def _reserved_in_account(aws) -> int:
    total = 0
    for page in aws("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            concurrency = aws("lambda").get_function_concurrency(
                FunctionName=function["FunctionName"]
            )
            total += concurrency.get("ReservedConcurrentExecutions") or 0
    return total


def test_account_quota_throttles_unreserved_functions(
    aws, make_function, gate, monkeypatch: pytest.MonkeyPatch
):
    """Functions without reservation share what the account quota leaves unreserved; past
    it, invokes get 429 with Reason ConcurrentInvocationLimitExceeded."""
    from localcloud.awslambda import get_runtime

    # Invocations other tests left running (a handler outliving its caller's timeout) use
    # the unreserved pool too: start from an idle account.
    wait_for(
        lambda: get_runtime().in_flight("123456789012", "us-east-1") == 0,
        timeout=30,
        description="no invocation in flight",
    )
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(_reserved_in_account(aws) + 1))
    busy = make_function(GATED, timeout=20)
    other = make_function("def handler(event, context):\n    return 1\n")
    gate.start(busy)
    wait_for(gate.started, timeout=15, interval=0.02, description="first invoke running")

    with pytest.raises(ClientError) as raised:
        aws("lambda", config=NO_RETRIES).invoke(FunctionName=other)
    gate.release()

    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"


def test_event_sources_wait_for_capacity_instead_of_failing(make_function, gate):
    """Lambda's own pollers are never answered 429: an internal invoke past the limit waits
    for the running invocation to finish."""
    from moto.awslambda.models import lambda_backends

    from localcloud.awslambda import InvokeRequest, invoke_function

    name = make_function(GATED, reserved_concurrency=1, timeout=20)
    gate.start(name)
    wait_for(gate.started, timeout=15, interval=0.02, description="first invoke running")
    fn = lambda_backends["123456789012"]["us-east-1"].get_function(name)
    payload = f'{{"gate": "{gate.directory}", "id": "{uuid.uuid4()}"}}'.encode()
    waited: list[Any] = []
    poller = threading.Thread(
        target=lambda: waited.append(invoke_function(fn, InvokeRequest(payload=payload)))
    )
    poller.start()

    gate.release()
    poller.join(timeout=30)

    assert [result.function_error for result in waited] == [None]
    assert gate.started() == 2

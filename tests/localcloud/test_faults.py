"""The fault switch: a test makes a function fail, time out or be throttled on demand.

Injected faults take the shapes AWS gives the real ones, so the code under test cannot tell
the difference: an Unhandled function error with errorType/errorMessage, a timeout as
Sandbox.Timedout ("Task timed out after N seconds") that resets the environment, and a
throttle as 429 TooManyRequestsException for synchronous invokes, while Lambda's own
asynchronous queue and pollers keep retrying throttled events.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _async_helpers import (
    RECORDING,
    faults_fixture,  # noqa: F401
    lines,
    make_queue_fixture,  # noqa: F401
    receive,
    wait_idle,
)

from localcloud.awslambda import InvokeRequest, invoke_function
from localcloud.faults_client import FaultSwitch, FaultSwitchError
from localcloud.settings import ADMIN_PREFIX

NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=30)

# Counts its runs in event["log"] and reports its process id.
COUNTING = """
    import os

    def handler(event, context):
        with open(event["log"], "a") as log:
            log.write(context.aws_request_id + "\\n")
        return {"pid": os.getpid()}
"""


@pytest.fixture
def counting(make_function, tmp_path):
    """A function that records each run; returns (name, event, log path)."""
    log = tmp_path / "runs"
    return make_function(COUNTING), {"log": str(log)}, log


def test_fail_the_next_two_invocations_then_run_again(faults, counting, invoke):
    """``fail`` with count=2: the next two invocations end with an Unhandled function error
    whose payload carries the chosen errorType and errorMessage (and the requestId), without
    running the handler; the third runs normally and the fault is gone."""
    name, event, log = counting
    faults.fail(name, count=2, error_type="DatabaseDown", error_message="db is down")

    results = [invoke(name, event, log_type="Tail") for _ in range(3)]

    for failed in results[:2]:
        assert failed.status == 200
        assert failed.function_error == "Unhandled"
        assert failed.payload["errorType"] == "DatabaseDown"
        assert failed.payload["errorMessage"] == "db is down"
        assert failed.payload["requestId"]
        assert "[ERROR] DatabaseDown: db is down" in failed.log
    assert results[2].function_error is None
    assert "pid" in results[2].payload
    assert len(lines(log)) == 1  # only the third invocation ran the handler
    assert faults.list() == []


def test_timeout_has_the_shape_of_a_real_timeout(faults, counting, invoke):
    """``timeout``: the invocation ends as Lambda's timeout does (Unhandled, errorType
    Sandbox.Timedout, "Task timed out after 3.00 seconds" for a 3-second function) and the
    execution environment is reset, so the next invocation runs in a new process."""
    name, event, log = counting
    before = invoke(name, event).payload["pid"]
    faults.timeout(name, count=1)

    timed_out = invoke(name, event)
    after = invoke(name, event).payload["pid"]

    assert timed_out.function_error == "Unhandled"
    assert timed_out.payload["errorType"] == "Sandbox.Timedout"
    assert timed_out.payload["errorMessage"].endswith("Task timed out after 3.00 seconds")
    assert timed_out.payload["errorMessage"].startswith("RequestId: ")
    assert after != before
    assert len(lines(log)) == 2


def test_throttle_answers_429_to_synchronous_invokes(aws, faults, counting, invoke):
    """``throttle``: the Invoke API answers 429 TooManyRequestsException ("Rate Exceeded.")
    with a throttle Reason, as for an exhausted concurrency limit."""
    name, event, log = counting
    faults.throttle(name, count=1)
    client = aws("lambda", config=NO_RETRIES)

    with pytest.raises(ClientError) as error:
        client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    recovered = invoke(name, event, client=client)

    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert recovered.function_error is None
    assert len(lines(log)) == 1


def test_throttle_makes_internal_callers_wait_and_retry(faults, counting):
    """Lambda's pollers (event source mappings) do not drop a throttled batch: they retry.
    An internal caller of the runtime (throttle=False) waits out a throttle fault and then
    runs the function."""
    from moto.awslambda.models import lambda_backends

    name, event, log = counting
    faults.throttle(name, count=3)
    fn = lambda_backends["123456789012"]["us-east-1"].get_function(name)

    result = invoke_function(fn, InvokeRequest(payload=json.dumps(event).encode()))

    assert result.function_error is None
    assert len(lines(log)) == 1
    assert faults.list() == []  # the three throttles were used up by the waiting caller


def test_rate_with_a_seed_is_reproducible(faults, counting, invoke):
    """``rate`` applies the fault to a share of the invocations, drawn from a generator seeded
    with ``seed``: the same seed gives the same sequence of failures."""
    name, event, log = counting
    faults.fail(name, rate=0.5, seed=7)
    draws = random.Random(7)
    expected = [draws.random() < 0.5 for _ in range(20)]

    observed = [invoke(name, event).function_error is not None for _ in range(20)]

    assert observed == expected
    assert 0 < sum(observed) < 20
    [fault] = faults.list()
    assert (fault["seen"], fault["injected"]) == (20, sum(expected))
    assert len(lines(log)) == 20 - sum(expected)


def test_clear_and_the_context_manager(local_cloud, counting, make_function, invoke):
    """A fault lasts until cleared: ``clear(function)`` clears one function's faults,
    ``clear()`` every fault, and leaving a ``with FaultSwitch(...)`` block clears the faults
    it set."""
    name, event, _ = counting
    other = make_function(COUNTING)
    with FaultSwitch(local_cloud.endpoint_url) as switch:
        switch.fail(name)
        switch.fail(other)
        assert invoke(name, event).function_error == "Unhandled"
        assert invoke(name, event).function_error == "Unhandled"  # no count: still there
        assert switch.clear(name) == 1
        assert invoke(name, event).function_error is None
        assert invoke(other, event).function_error == "Unhandled"
    assert invoke(other, event).function_error is None
    assert FaultSwitch(local_cloud.endpoint_url).list() == []


def test_a_fault_can_target_one_version_or_alias(aws, faults, counting, invoke):
    """A fault set for a qualifier (a version, or an alias resolved to its version) only
    affects invocations of that version; one set by ARN works like one set by name."""
    name, event, _ = counting
    lam = aws("lambda")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    faults.fail(f"{arn}:{version}", count=1)
    assert invoke(name, event).function_error is None  # $LATEST is not that version
    assert invoke(name, event, Qualifier=version).function_error == "Unhandled"

    faults.fail(name, qualifier="live", count=1)
    assert invoke(name, event).function_error is None
    assert invoke(name, event, Qualifier="live").function_error == "Unhandled"


def test_faults_reach_asynchronous_invocations(aws, faults, make_function, make_queue, tmp_path):
    """The asynchronous queue invokes through the same runtime: an injected failure counts
    as a function error (retried), so with one injected failure the event succeeds on its
    second attempt."""
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue.arn}}
    )
    faults.fail(name, count=1)
    log = tmp_path / "log"

    aws("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"log": str(log)})
    )
    [message] = receive(aws("sqs"), queue, timeout=30)
    wait_idle(name)

    assert message.body["requestContext"]["condition"] == "Success"
    assert message.body["requestContext"]["approximateInvokeCount"] == 2
    assert len(lines(log)) == 1


def test_admin_api(local_cloud, counting):
    """POST /_localcloud/faults sets a fault (201), GET lists them, DELETE /faults/<id>
    clears one (404 when unknown), and an invalid specification is refused with 400."""
    name, _, _ = counting
    url = f"{local_cloud.endpoint_url}{ADMIN_PREFIX}/faults"

    created = requests.post(
        url, json={"function": name, "mode": "timeout", "count": 5, "rate": None}, timeout=5
    )
    listed = requests.get(url, timeout=5).json()["faults"]
    bad = requests.post(url, json={"function": name, "mode": "explode"}, timeout=5)
    bad_rate = requests.post(url, json={"function": name, "mode": "fail", "rate": 2}, timeout=5)
    deleted = requests.delete(f"{url}/{created.json()['id']}", timeout=5)
    again = requests.delete(f"{url}/{created.json()['id']}", timeout=5)

    assert created.status_code == 201
    assert created.json()["mode"] == "timeout"
    assert created.json()["count"] == 5
    assert [fault["id"] for fault in listed if fault["function"] == name] == [created.json()["id"]]
    assert bad.status_code == 400
    assert "mode" in bad.json()["message"]
    assert bad_rate.status_code == 400
    assert deleted.json() == {"cleared": 1}
    assert again.status_code == 404
    with pytest.raises(FaultSwitchError) as error:
        FaultSwitch(local_cloud.endpoint_url).set(name, "explode")
    assert error.value.status == 400


def test_setting_a_fault_again_replaces_it(faults, counting, invoke):
    """One fault per function and qualifier: setting another replaces the first."""
    name, event, _ = counting
    faults.fail(name, error_type="First")
    faults.fail(name, error_type="Second", count=1)

    first = invoke(name, event)
    second = invoke(name, event)

    assert first.payload["errorType"] == "Second"
    assert second.function_error is None

"""CloudWatch Logs subscription filter -> Lambda: asynchronous delivery with AWS's event.

Needed by apps/distributed-trigger (a log group's subscription filter triggers the function
that publishes to the service's topic). AWS rules ("Using CloudWatch Logs subscription
filters" with Lambda, "Invoking a Lambda function asynchronously"): CloudWatch Logs invokes
the destination function asynchronously with ``{"awslogs": {"data": ...}}``, the data being
base64 of a gzip'd JSON document with ``messageType`` DATA_MESSAGE, ``owner``, ``logGroup``,
``logStream``, ``subscriptionFilters`` and ``logEvents`` (``id``, ``timestamp``,
``message``); PutLogEvents does not wait for the function, and Lambda's asynchronous retries
and dead-letter queue apply to a failing one.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _async_helpers import (
    EVENT_RECORDER,
    fast_async_fixture,  # noqa: F401
    json_lines,
    make_queue_fixture,  # noqa: F401
    pending,
    receive,
    wait_idle,
)


def _subscribed_group(aws: Any, function_name: str) -> tuple[str, str, str]:
    """A new log group and stream whose subscription filter targets ``function_name``."""
    logs = aws("logs")
    group = f"/test/logs-subscription/{uuid.uuid4().hex[:12]}"
    stream = "app"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    arn = aws("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    logs.put_subscription_filter(
        logGroupName=group, filterName="to-lambda", filterPattern="", destinationArn=arn
    )
    return group, stream, arn


def _decode(event: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return data


def test_put_log_events_returns_before_the_function_runs_with_the_aws_event(
    aws, make_function, tmp_path
):
    gate = tmp_path / "go"
    log = tmp_path / "events"
    name = make_function(
        """
        import json, os, time

        def handler(event, context):
            while not os.path.exists(os.environ["GATE"]):
                time.sleep(0.01)
            with open(os.environ["LOG"], "a") as log:
                log.write(json.dumps(event) + "\\n")
        """,
        environment={"GATE": str(gate), "LOG": str(log)},
        timeout=20,
    )
    group, stream, _ = _subscribed_group(aws, name)
    now = int(time.time() * 1000)

    aws("logs").put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "first"}, {"timestamp": now, "message": "2nd"}],
    )
    assert pending(name) == 1  # PutLogEvents returned while the event waits in Lambda's queue
    assert not log.exists()
    gate.touch()

    [event] = wait_for(
        lambda: json_lines(log), timeout=20, interval=0.05, description="the logs event"
    )
    assert set(event) == {"awslogs"}
    data = _decode(event)
    assert data["messageType"] == "DATA_MESSAGE"
    assert data["owner"] == "123456789012"
    assert (data["logGroup"], data["logStream"]) == (group, stream)
    assert data["subscriptionFilters"] == ["to-lambda"]
    assert [e["message"] for e in data["logEvents"]] == ["first", "2nd"]
    assert all(e["timestamp"] == now for e in data["logEvents"])
    ids = [e["id"] for e in data["logEvents"]]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    assert len(set(ids)) == 2


def test_failing_function_is_retried_then_dead_lettered(
    aws, make_function, make_queue, tmp_path, fast_async
):
    """Three attempts under one request id, then the DLQ gets the awslogs event itself."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log), "FAIL": "1"})
    dlq = make_queue()
    aws("lambda").update_function_configuration(
        FunctionName=name, DeadLetterConfig={"TargetArn": dlq.arn}
    )
    group, stream, _ = _subscribed_group(aws, name)

    aws("logs").put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "poison"}],
    )
    [dead_letter] = receive(aws("sqs"), dlq)
    wait_idle(name)

    attempts = json_lines(log)
    assert len(attempts) == 3
    assert len({attempt["requestId"] for attempt in attempts}) == 1
    assert dead_letter.body == attempts[0]["event"]
    assert [e["message"] for e in _decode(dead_letter.body)["logEvents"]] == ["poison"]
    assert dead_letter.attributes["ErrorMessage"]["StringValue"] == "subscriber failed on purpose"

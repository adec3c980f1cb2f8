"""Asynchronous invocation (InvocationType=Event): Lambda's queue, retries and destinations.

The rules are AWS's ("Invoking a Lambda function asynchronously", "How Lambda handles
errors and retries with asynchronous invocation", "Capturing records of Lambda asynchronous
invocations", "Dead-letter queues"). Retry delays are shortened with the setting
LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS (fixture ``fast_async``), not skipped.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _async_helpers import (
    RECORDING,
    Queue,
    fast_async_fixture,  # noqa: F401
    faults_fixture,  # noqa: F401
    lines,
    make_queue_fixture,  # noqa: F401
    make_topic_fixture,  # noqa: F401
    pending,
    queue_is_empty,
    receive,
    throttles,
    wait_idle,
)
from _cfn_helpers import create, outputs, unique, upload_zip

from localcloud.awslambda.async_invoke import EVENT_AGE_SCALE_ENV

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Waits for <gate>/go, then writes <gate>/done-<request id>.
GATED = """
    import os
    import time

    def handler(event, context):
        gate = event["gate"]
        open(os.path.join(gate, "started-" + context.aws_request_id), "w").close()
        while not os.path.exists(os.path.join(gate, "go")):
            time.sleep(0.01)
        open(os.path.join(gate, "done-" + context.aws_request_id), "w").close()
        return "done"
"""


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _event_invoke(aws, name: str, event: dict) -> tuple[int, bytes]:
    response = aws("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    return response["StatusCode"], response["Payload"].read()


def _started(gate: Path) -> list[str]:
    """Request ids of the gated invocations that started."""
    return sorted(p.name.removeprefix("started-") for p in gate.glob("started-*"))


def _attempts(path: Path) -> list[tuple[str, float]]:
    return [(line.split()[0], float(line.split()[1])) for line in lines(path)]


def test_event_invoke_answers_202_while_the_handler_is_still_running(aws, make_function, tmp_path):
    """Invoke with InvocationType=Event returns 202 with an empty body as soon as the event
    is queued, while the function is still running."""
    name = make_function(GATED, timeout=20)

    status, body = _event_invoke(aws, name, {"gate": str(tmp_path)})

    assert status == 202
    assert body == b""
    # The handler cannot finish before "go" exists, which is created only now.
    [request_id] = wait_for(
        lambda: _started(tmp_path), timeout=20, interval=0.02, description="handler started"
    )
    assert not (tmp_path / f"done-{request_id}").exists()
    (tmp_path / "go").touch()
    wait_for(
        lambda: (tmp_path / f"done-{request_id}").exists(),
        timeout=20,
        interval=0.02,
        description="handler finished",
    )


def test_success_runs_once_and_sends_the_record_to_the_on_success_destination(
    aws, make_function, make_queue, tmp_path
):
    """A successful asynchronous invocation runs the handler exactly once and sends the
    on-success destination an invocation record: version 1.0, timestamp, requestContext
    (requestId, functionArn with its qualifier, condition Success, approximateInvokeCount),
    requestPayload, responseContext (statusCode 200, executedVersion) and responsePayload."""
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue.arn}}
    )
    log = tmp_path / "log"
    event = {"log": str(log), "value": 7}

    status, _ = _event_invoke(aws, name, event)
    [message] = receive(aws("sqs"), queue)
    wait_idle(name)

    assert status == 202
    [(request_id, _)] = _attempts(log)  # the handler ran exactly once
    record = message.body
    assert record["version"] == "1.0"
    assert TIMESTAMP.match(record["timestamp"])
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": 7}


def test_function_error_is_retried_twice_then_recorded_in_the_on_failure_destination(
    aws, make_function, make_queue, tmp_path, fast_async
):
    """By default Lambda retries a failed asynchronous invocation two more times (three
    attempts, each under the same request id, the retries spaced by the retry delays), then
    sends the on-failure destination a record with condition RetriesExhausted,
    approximateInvokeCount 3, functionError Unhandled and the error as responsePayload."""
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue.arn}}
    )
    log = tmp_path / "log"
    event = {"log": str(log), "fail": True, "value": "x"}

    _event_invoke(aws, name, event)
    [message] = receive(aws("sqs"), queue)
    wait_idle(name)

    attempts = _attempts(log)
    request_id = attempts[0][0]
    record = message.body
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestPayload"] == event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "failing on purpose: x"
    assert [rid for rid, _ in attempts] == [request_id] * 3
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(attempts)]
    # LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS=0.2,0.4
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.4


def test_maximum_retry_attempts_zero_means_a_single_attempt(
    aws, make_function, make_queue, tmp_path, fast_async
):
    """EventInvokeConfig MaximumRetryAttempts=0: a failed event is not retried; the record
    says approximateInvokeCount 1."""
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue.arn}},
    )
    log = tmp_path / "log"

    _event_invoke(aws, name, {"log": str(log), "fail": True})
    [message] = receive(aws("sqs"), queue)
    wait_idle(name)

    assert message.body["requestContext"]["condition"] == "RetriesExhausted"
    assert message.body["requestContext"]["approximateInvokeCount"] == 1
    assert len(lines(log)) == 1


def test_maximum_retry_attempts_one_means_two_attempts(
    aws, make_function, make_queue, tmp_path, fast_async
):
    """MaximumRetryAttempts=1: one retry after the first failure, two attempts in all."""
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue.arn}},
    )
    log = tmp_path / "log"

    _event_invoke(aws, name, {"log": str(log), "fail": True})
    [message] = receive(aws("sqs"), queue)
    wait_idle(name)

    assert message.body["requestContext"]["approximateInvokeCount"] == 2
    assert len(lines(log)) == 2


def test_event_older_than_maximum_event_age_is_recorded_as_event_age_exceeded(
    aws, make_function, make_queue, tmp_path, fast_async, faults, monkeypatch
):
    """Throttled events stay in the queue and are retried, but not past
    MaximumEventAgeInSeconds: then the on-failure destination gets condition
    EventAgeExceeded. The function never ran, so the record has no responseContext.
    (Ages are scaled with LOCALCLOUD_ASYNC_EVENT_AGE_SCALE: 60 s last 0.6 s here.)"""
    monkeypatch.setenv(EVENT_AGE_SCALE_ENV, "0.01")
    name = make_function(RECORDING)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": queue.arn}},
    )
    faults.throttle(name)  # until cleared
    log = tmp_path / "log"
    started = time.monotonic()

    _event_invoke(aws, name, {"log": str(log)})
    [message] = receive(aws("sqs"), queue)
    waited = time.monotonic() - started
    wait_idle(name)

    record = message.body
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert UUID.match(record["requestContext"]["requestId"])
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record
    assert waited >= 0.6
    # Kept and retried while throttled: three throttles would have used up the default two
    # retries if throttles counted as attempts.
    assert throttles(name) >= 3
    assert not log.exists()


def test_dead_letter_queue_gets_the_original_payload_and_error_attributes(
    aws, make_function, make_queue, tmp_path, fast_async
):
    """With a DeadLetterConfig and no on-failure destination, the event that exhausted its
    retries goes to the dead-letter queue as the original payload, unmodified, with message
    attributes RequestID (String), ErrorCode (Number, the 3-digit HTTP status: 200 for a
    function error) and ErrorMessage (String, at most 1 KB)."""
    name = make_function(RECORDING)
    dlq = make_queue()
    lam = aws("lambda")
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": dlq.arn})
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {
        "TargetArn": dlq.arn
    }
    log = tmp_path / "log"
    payload = json.dumps({"log": str(log), "fail": True, "value": "dlq"})

    lam.invoke(FunctionName=name, InvocationType="Event", Payload=payload.encode())
    [message] = receive(aws("sqs"), dlq)
    wait_idle(name)

    assert message.text == payload
    request_ids = {rid for rid, _ in _attempts(log)}
    assert message.attributes["RequestID"] == {
        "DataType": "String",
        "StringValue": request_ids.pop(),
    }
    assert message.attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert message.attributes["ErrorMessage"] == {
        "DataType": "String",
        "StringValue": "failing on purpose: dlq",
    }
    assert len(lines(log)) == 3
    assert not request_ids  # every attempt ran under that one id


def test_sns_dead_letter_topic_and_lambda_on_failure_destination_both_get_the_event(
    aws, make_function, make_queue, make_topic, tmp_path, fast_async
):
    """A dead-letter queue and an on-failure destination can be configured together: both
    receive the failed event. An SNS topic as DLQ publishes the payload with the same
    attributes; a Lambda function as destination is invoked with the record as its event."""
    name = make_function(RECORDING)
    recorder_log = tmp_path / "records"
    recorder = make_function(
        """
        import json, os

        def handler(event, context):
            with open(os.environ["LOG"], "a") as log:
                log.write(json.dumps(event) + "\\n")
        """,
        environment={"LOG": str(recorder_log)},
    )
    topic = make_topic()
    subscriber = make_queue()
    sns = aws("sns")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=subscriber.arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    lam = aws("lambda")
    recorder_arn = lam.get_function(FunctionName=recorder)["Configuration"]["FunctionArn"]
    lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": topic})
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": recorder_arn}},
    )
    payload = {"log": str(tmp_path / "log"), "fail": True, "value": "both"}

    _event_invoke(aws, name, payload)
    [dead_letter] = receive(aws("sqs"), subscriber)
    records = wait_for(
        lambda: lines(recorder_log), timeout=20, interval=0.05, description="record delivered"
    )

    [(request_id, _)] = _attempts(tmp_path / "log")
    assert dead_letter.body == payload
    assert dead_letter.attributes["RequestID"]["StringValue"] == request_id
    assert dead_letter.attributes["ErrorCode"]["StringValue"] == "200"
    [record] = [json.loads(line) for line in records]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestPayload"] == payload


def test_on_success_destination_on_sns_and_eventbridge(
    aws, make_function, make_queue, make_topic, tmp_path
):
    """Destinations may be SNS topics (the record is the message) and EventBridge buses
    (an event with source "lambda", detail-type "Lambda Function Invocation Result -
    Success" and the record as detail)."""
    name = make_function(RECORDING)
    topic = make_topic()
    via_topic = make_queue()
    via_bus = make_queue()
    aws("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=via_topic.arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    events = aws("events")
    bus = f"async-bus-{name}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_rule(
        Name="results", EventBusName=bus, EventPattern=json.dumps({"source": ["lambda"]})
    )
    events.put_targets(Rule="results", EventBusName=bus, Targets=[{"Id": "q", "Arn": via_bus.arn}])
    lam = aws("lambda")
    try:
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}}
        )
        _event_invoke(aws, name, {"log": str(tmp_path / "a"), "value": "sns"})
        [by_topic] = receive(aws("sqs"), via_topic)

        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}}
        )
        _event_invoke(aws, name, {"log": str(tmp_path / "b"), "value": "bus"})
        [by_bus] = receive(aws("sqs"), via_bus)
    finally:
        events.remove_targets(Rule="results", EventBusName=bus, Ids=["q"])
        events.delete_rule(Name="results", EventBusName=bus)
        events.delete_event_bus(Name=bus)

    assert by_topic.body["requestContext"]["condition"] == "Success"
    assert by_topic.body["responsePayload"] == {"ok": "sns"}
    assert by_bus.body["source"] == "lambda"
    assert by_bus.body["detail-type"] == "Lambda Function Invocation Result - Success"
    assert by_bus.body["detail"]["responsePayload"] == {"ok": "bus"}


def test_throttled_event_waits_for_capacity_and_is_not_lost(
    aws, make_function, tmp_path, fast_async
):
    """Past the function's reserved concurrency an asynchronous event is throttled: Lambda
    returns it to the queue and retries it later (throttles do not use up retry attempts),
    so with ReservedConcurrentExecutions=1 the second event runs once the first is done."""
    name = make_function(GATED, timeout=20, reserved_concurrency=1)

    _event_invoke(aws, name, {"gate": str(tmp_path)})
    [first] = wait_for(
        lambda: _started(tmp_path), timeout=20, interval=0.02, description="first event running"
    )
    _event_invoke(aws, name, {"gate": str(tmp_path)})
    # The second event meets the reservation taken by the first, several times.
    wait_for(lambda: throttles(name) >= 3, timeout=20, interval=0.02, description="throttles")
    assert _started(tmp_path) == [first]
    assert pending(name) == 2
    (tmp_path / "go").touch()
    wait_idle(name)

    done = {p.name.removeprefix("done-") for p in tmp_path.glob("done-*")}
    assert len(done) == 2
    assert first in done


def test_reserved_concurrency_zero_sends_events_to_the_failure_destination_unrun(
    aws, make_function, make_queue, tmp_path
):
    """With reserved concurrency 0, Lambda sends asynchronous events straight to the
    on-failure destination (or DLQ), without retries and without running the function."""
    name = make_function(RECORDING, reserved_concurrency=0)
    queue = make_queue()
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue.arn}}
    )
    log = tmp_path / "log"

    _event_invoke(aws, name, {"log": str(log)})
    [message] = receive(aws("sqs"), queue)

    assert message.body["requestContext"]["condition"] == "RetriesExhausted"
    assert message.body["requestContext"]["approximateInvokeCount"] == 0
    assert message.body["requestPayload"] == {"log": str(log)}
    assert not log.exists()


def test_fifo_queues_and_topics_are_refused_as_targets(aws, make_function, make_queue, make_topic):
    """Only standard SQS queues and SNS topics can receive asynchronous failures: Lambda
    refuses a FIFO queue or topic as a destination or dead-letter queue
    (InvalidParameterValueException) and keeps the previous configuration."""
    name = make_function(RECORDING)
    fifo_queue = make_queue(fifo=True)
    fifo_topic = make_topic(fifo=True)
    standard = make_queue()
    lam = aws("lambda")
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": standard.arn}}
    )

    refused = []
    for call in (
        lambda: lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnFailure": {"Destination": fifo_queue.arn}}
        ),
        lambda: lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": fifo_topic}}
        ),
        lambda: lam.update_function_configuration(
            FunctionName=name, DeadLetterConfig={"TargetArn": fifo_queue.arn}
        ),
    ):
        with pytest.raises(ClientError) as error:
            call()
        refused.append(error.value.response["Error"]["Code"])

    assert refused == ["InvalidParameterValueException"] * 3
    config = lam.get_function_event_invoke_config(FunctionName=name)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == standard.arn
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName=name)


def test_put_replaces_and_update_merges_the_event_invoke_config(aws, make_function, make_queue):
    """PutFunctionEventInvokeConfig replaces the whole configuration ("if you exclude any
    settings, they are removed"); UpdateFunctionEventInvokeConfig changes only the settings
    it names."""
    name = make_function(RECORDING)
    queue = make_queue()
    lam = aws("lambda")
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue.arn}},
    )
    lam.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=120)

    config = lam.get_function_event_invoke_config(FunctionName=name)
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 120
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue.arn


def test_events_of_a_deleted_function_are_dropped(aws, make_function, tmp_path, fast_async):
    """An event whose function is deleted while it waits for a retry is discarded: nothing
    runs it any more and the queue lets it go."""
    name = make_function(RECORDING)
    log = tmp_path / "log"

    _event_invoke(aws, name, {"log": str(log), "fail": True})
    wait_for(lambda: lines(log), timeout=20, interval=0.02, description="first attempt")
    aws("lambda").delete_function(FunctionName=name)
    wait_idle(name)

    assert len(lines(log)) == 1


def test_sam_dead_letter_queue_and_event_invoke_config_apply(aws, tmp_path, fast_async):
    """A SAM function's DeadLetterQueue (DeadLetterConfig) and EventInvokeConfig
    (AWS::Lambda::EventInvokeConfig) deployed by CloudFormation govern its asynchronous
    invocations: MaximumRetryAttempts 1 gives two attempts, then the DLQ gets the payload."""
    cfn = aws("cloudformation")
    code = upload_zip(aws, {"app.py": RECORDING})
    stack_name = unique("async-sam")
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "DeadLetterQueue": {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                    "EventInvokeConfig": {"MaximumRetryAttempts": 1},
                },
            },
        },
        "Outputs": {
            "Fn": {"Value": {"Ref": "Fn"}},
            "DlqUrl": {"Value": {"Ref": "Dlq"}},
            "DlqName": {"Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}},
        },
    }
    try:
        values = outputs(create(cfn, stack_name, template))
        log = tmp_path / "log"
        payload = {"log": str(log), "fail": True, "value": "sam"}
        _event_invoke(aws, values["Fn"], payload)
        dlq = Queue(url=values["DlqUrl"], arn="", name=values["DlqName"])
        [message] = receive(aws("sqs"), dlq)
        wait_idle(values["Fn"])
        assert message.body == payload
        assert len(lines(log)) == 2
        assert queue_is_empty(aws("sqs"), dlq)
    finally:
        cfn.delete_stack(StackName=stack_name)


def test_a_published_version_uses_the_function_settings_and_is_named_in_the_record(
    aws, make_function, make_queue, tmp_path
):
    """An Event invoke of a version runs that version under the function's asynchronous
    settings; the record names the qualified function ARN and the executed version."""
    name = make_function(RECORDING)
    queue = make_queue()
    lam = aws("lambda")
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue.arn}}
    )

    lam.invoke(
        FunctionName=name,
        Qualifier=version,
        InvocationType="Event",
        Payload=json.dumps({"log": str(tmp_path / "log"), "value": "v"}),
    )
    [message] = receive(aws("sqs"), queue)

    record = message.body
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}:{version}")
    assert record["responseContext"]["executedVersion"] == version
    assert record["responsePayload"] == {"ok": "v"}

"""SQS event source mappings: Lambda polls the queue and acts on each batch's outcome."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_event_source_helpers")
from _event_source_helpers import (  # noqa: E402 (after the path and rewrite setup)
    RECORDER,
    max_overlap,
    queue_counts,
    receive_all,
    wait_until_empty,
)

# Fixtures: recorder, make_queue, make_mapping.
pytest_plugins = ["_event_source_helpers"]

# Records each batch and succeeds; sleeps SLEEP seconds when set (to overlap invocations).
RECORDING = (
    RECORDER
    + """
def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("SLEEP", "0")))
    record(event, started)
"""
)

# Fails every batch.
FAILING = (
    RECORDER
    + """
def handler(event, context):
    record(event, time.time())
    raise RuntimeError("boom")
"""
)

# Reports the messages whose body starts with "bad" as failed.
PARTIAL = (
    RECORDER
    + """
def handler(event, context):
    record(event, time.time())
    failed = [r["messageId"] for r in event["Records"] if r["body"].startswith("bad")]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
"""
)

# On a first delivery answers RESPONSE (a JSON document), later succeeds.
MALFORMED = (
    RECORDER
    + """
def handler(event, context):
    record(event, time.time())
    if event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
        return json.loads(os.environ["RESPONSE"])
    return {"batchItemFailures": []}
"""
)


def send_batch(aws, url, bodies):
    """SendMessageBatch in chunks of 10; returns the message ids in order."""
    ids = []
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
        ]
        response = aws("sqs").send_message_batch(QueueUrl=url, Entries=entries)
        by_entry = {item["Id"]: item["MessageId"] for item in response["Successful"]}
        ids += [by_entry[str(i)] for i in range(len(entries))]
    return ids


def test_event_has_the_shape_lambda_sends_and_success_deletes(
    aws, make_function, make_queue, make_mapping, recorder
):
    """Lambda's SQS event: Records with messageId, receiptHandle, body, attributes
    (ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp,
    AWSTraceHeader), messageAttributes in camelCase, md5OfBody, md5OfMessageAttributes,
    eventSource aws:sqs, eventSourceARN, awsRegion. A successful batch is deleted."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    sent = aws("sqs").send_message(
        QueueUrl=url,
        MessageBody='{"order": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
        },
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )

    make_mapping(EventSourceArn=arn, FunctionName=name)

    (invocation,) = recorder.wait_for_invocations(1)
    (record,) = invocation["event"]["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["receiptHandle"]
    assert record["body"] == '{"order": 1}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"].isdigit()
    assert attributes["ApproximateFirstReceiveTimestamp"].isdigit()
    assert attributes["SenderId"]
    assert attributes["AWSTraceHeader"] == trace
    assert record["messageAttributes"] == {
        "blob": {
            "binaryValue": "AAEC",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
        "count": {
            "stringValue": "3",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
    }
    wait_until_empty(aws, url)


def test_batches_hold_at_most_batch_size_messages(
    aws, make_function, make_queue, make_mapping, recorder
):
    """Lambda reads up to BatchSize messages per invocation; each message of a successful
    batch is delivered once and deleted."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    ids = send_batch(aws, url, [f"m{i}" for i in range(10)])

    make_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=3)

    records = recorder.wait_for_records(lambda found: len(found) >= 10)
    sizes = [len(item["event"]["Records"]) for item in recorder.invocations()]
    assert max(sizes) == 3
    assert sorted(r["messageId"] for r in records) == sorted(ids)
    wait_until_empty(aws, url)


def test_batch_size_above_ten_gathers_messages_in_one_invocation(
    aws, make_function, make_queue, make_mapping, recorder
):
    """A standard queue's BatchSize goes up to 10,000 (above 10 with a batching window):
    Lambda gathers that many messages into one invocation, beyond ReceiveMessage's 10."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    ids = send_batch(aws, url, [f"m{i}" for i in range(25)])

    make_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=50, MaximumBatchingWindowInSeconds=1
    )

    (invocation,) = recorder.wait_for_invocations(1)
    assert sorted(r["messageId"] for r in invocation["event"]["Records"]) == sorted(ids)
    wait_until_empty(aws, url)


def test_failed_batch_returns_after_visibility_timeout_then_goes_to_the_dlq(
    aws, make_function, make_queue, make_mapping, recorder
):
    """A function error deletes nothing: the message becomes visible again after the queue's
    visibility timeout, is received again (ApproximateReceiveCount 2), and once it was
    received maxReceiveCount times SQS moves it to the dead-letter queue."""
    dlq_url, dlq_arn = make_queue()
    url, arn = make_queue(dlq_arn=dlq_arn, max_receive=2, VisibilityTimeout=1)
    name = make_function(FAILING, environment=recorder.environment, timeout=1)
    sent = aws("sqs").send_message(QueueUrl=url, MessageBody="poison")

    make_mapping(EventSourceArn=arn, FunctionName=name)

    (dead,) = receive_all(aws, dlq_url, 1)
    assert dead["MessageId"] == sent["MessageId"]
    assert dead["Body"] == "poison"
    first, second = (item["event"]["Records"][0] for item in recorder.invocations())
    assert [
        first["attributes"]["ApproximateReceiveCount"],
        second["attributes"]["ApproximateReceiveCount"],
    ] == ["1", "2"]
    # The second receive waited for the visibility timeout (1 s) counted from the first.
    first_receive = int(first["attributes"]["ApproximateFirstReceiveTimestamp"]) / 1000
    assert recorder.invocations()[1]["start"] - first_receive >= 0.95
    assert queue_counts(aws, url) == (0, 0)


def test_report_batch_item_failures_keeps_only_the_failed_messages(
    aws, make_function, make_queue, make_mapping, recorder
):
    """With FunctionResponseTypes [ReportBatchItemFailures] Lambda deletes every message
    of the batch except those listed in batchItemFailures, which come back later."""
    dlq_url, dlq_arn = make_queue()
    url, arn = make_queue(dlq_arn=dlq_arn, max_receive=2, VisibilityTimeout=1)
    name = make_function(PARTIAL, environment=recorder.environment, timeout=1)
    ids = send_batch(aws, url, ["good-1", "bad-1", "good-2"])

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    (dead,) = receive_all(aws, dlq_url, 1)
    assert dead["MessageId"] == ids[1]
    first, second = recorder.invocations()
    assert sorted(r["messageId"] for r in first["event"]["Records"]) == sorted(ids)
    assert [r["messageId"] for r in second["event"]["Records"]] == [ids[1]]
    assert queue_counts(aws, url) == (0, 0)


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-the-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "wrong-key-name"}]},
        {"batchItemFailures": "not-a-list"},
        "not a JSON object",
    ],
    ids=["unknown-id", "empty-id", "null-id", "bad-key", "not-a-list", "not-an-object"],
)
def test_malformed_batch_item_failures_fail_the_whole_batch(
    aws, make_function, make_queue, make_mapping, recorder, response
):
    """Lambda treats an invalid partial batch response (an identifier that is unknown, empty
    or null, a bad key name, an invalid document) as the failure of the whole batch: every
    message is received again."""
    url, arn = make_queue(VisibilityTimeout=1)
    environment = {**recorder.environment, "RESPONSE": json.dumps(response)}
    name = make_function(MALFORMED, environment=environment, timeout=1)
    ids = send_batch(aws, url, ["a", "b"])

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    records = recorder.wait_for_records(lambda found: len(found) >= 4)
    redelivered = [r for r in records if r["attributes"]["ApproximateReceiveCount"] == "2"]
    assert sorted(r["messageId"] for r in redelivered) == sorted(ids)
    wait_until_empty(aws, url)


def test_batch_item_failures_are_ignored_without_report_batch_item_failures(
    aws, make_function, make_queue, make_mapping, recorder
):
    """Unless the mapping enables ReportBatchItemFailures, Lambda ignores the function's
    batchItemFailures: a successful invocation deletes the whole batch."""
    url, arn = make_queue(VisibilityTimeout=1)
    name = make_function(PARTIAL, environment=recorder.environment, timeout=1)
    send_batch(aws, url, ["good", "bad"])

    make_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)

    wait_until_empty(aws, url)
    assert len(recorder.records()) == 2


def test_maximum_concurrency_caps_the_batches_in_flight(
    aws, make_function, make_queue, make_mapping, recorder
):
    """ScalingConfig.MaximumConcurrency is the most concurrent invocations the mapping makes:
    pollers scale up with the backlog, and never beyond the cap."""
    url, arn = make_queue()
    environment = {**recorder.environment, "SLEEP": "0.3"}
    name = make_function(RECORDING, environment=environment)
    send_batch(aws, url, [f"m{i}" for i in range(18)])

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=1,
        ScalingConfig={"MaximumConcurrency": 3},
    )

    recorder.wait_for_records(lambda found: len(found) >= 18, timeout=30)
    overlap = max_overlap(recorder.invocations())
    assert 1 < overlap <= 3
    wait_until_empty(aws, url)


def test_pollers_scale_down_when_the_queue_is_drained(
    aws, make_function, make_queue, make_mapping, recorder
):
    """Lambda adds pollers while messages wait and removes them once the queue is empty:
    one poller remains, long-polling."""
    from localcloud.awslambda.event_sources import current_manager

    url, arn = make_queue()
    environment = {**recorder.environment, "SLEEP": "0.2"}
    name = make_function(RECORDING, environment=environment)
    send_batch(aws, url, [f"m{i}" for i in range(12)])

    mapping = make_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=1, ScalingConfig={"MaximumConcurrency": 4}
    )

    manager = current_manager()
    assert manager is not None
    poller = manager.poller(mapping["UUID"])
    wait_for(lambda: poller.pollers > 1, timeout=15, interval=0.02, description="scaled up")
    wait_until_empty(aws, url)
    wait_for(lambda: poller.pollers == 1, timeout=15, interval=0.05, description="scaled down")


def test_throttled_invokes_are_retried_while_the_messages_are_in_flight(
    aws, make_function, make_queue, make_mapping, recorder
):
    """When reserved concurrency throttles the mapping's invokes, Lambda retries them: no
    message is lost or sent back (a redrive after one receive would show any re-receive)."""
    dlq_url, dlq_arn = make_queue()
    url, arn = make_queue(dlq_arn=dlq_arn, max_receive=1)
    environment = {**recorder.environment, "SLEEP": "0.2"}
    name = make_function(RECORDING, environment=environment, reserved_concurrency=1)
    ids = send_batch(aws, url, [f"m{i}" for i in range(8)])

    make_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)

    records = recorder.wait_for_records(lambda found: len(found) >= 8, timeout=30)
    assert sorted(r["messageId"] for r in records) == sorted(ids)
    assert {r["attributes"]["ApproximateReceiveCount"] for r in records} == {"1"}
    assert max_overlap(recorder.invocations()) == 1
    wait_until_empty(aws, url)
    assert queue_counts(aws, dlq_url) == (0, 0)


def test_messages_sent_while_idle_are_delivered_promptly(
    aws, make_function, make_queue, make_mapping, recorder
):
    """An idle mapping long-polls: a message sent later is picked up as it arrives."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    make_mapping(EventSourceArn=arn, FunctionName=name)
    body = f"late-{uuid.uuid4()}"

    aws("sqs").send_message(QueueUrl=url, MessageBody=body)

    records = recorder.wait_for_records(lambda found: len(found) >= 1, timeout=10)
    assert [r["body"] for r in records] == [body]

"""SQS FIFO event source mappings: batches of at most 10, strict order per message group."""

from __future__ import annotations

import itertools
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_event_source_helpers")
from _event_source_helpers import (  # noqa: E402 (after the path and rewrite setup)
    RECORDER,
    max_overlap,
    wait_until_empty,
)

# Fixtures: recorder, make_queue, make_mapping.
pytest_plugins = ["_event_source_helpers"]

# Records each batch; sleeps SLEEP seconds so batches of several groups overlap.
RECORDING = (
    RECORDER
    + """
def handler(event, context):
    started = time.time()
    time.sleep(float(os.environ.get("SLEEP", "0")))
    record(event, started)
"""
)

# Like Powertools' SqsFifoPartialProcessor: on the first delivery of FAIL_BODY, reports it
# and every later message of its group in the batch as failed.
FIFO_PARTIAL = (
    RECORDER
    + """
def handler(event, context):
    started = time.time()
    failures, failed_groups = [], set()
    for r in event["Records"]:
        group = r["attributes"]["MessageGroupId"]
        first_time = r["attributes"]["ApproximateReceiveCount"] == "1"
        if group in failed_groups or (r["body"] == os.environ["FAIL_BODY"] and first_time):
            failed_groups.add(group)
            failures.append({"itemIdentifier": r["messageId"]})
    record(event, started, failed=[f["itemIdentifier"] for f in failures])
    return {"batchItemFailures": failures}
"""
)


def send_fifo(aws, url, messages):
    """Send (group, body) pairs one by one, in order; returns their message ids."""
    ids = []
    for index, (group, body) in enumerate(messages):
        sent = aws("sqs").send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=f"{body}-{index}",
        )
        ids.append(sent["MessageId"])
    return ids


def test_fifo_records_carry_group_deduplication_and_sequence(
    aws, make_function, make_queue, make_mapping, recorder
):
    """A FIFO queue's records add MessageGroupId, MessageDeduplicationId and SequenceNumber
    to the attributes."""
    url, arn = make_queue(fifo=True)
    name = make_function(RECORDING, environment=recorder.environment)
    sent = aws("sqs").send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d1"
    )

    make_mapping(EventSourceArn=arn, FunctionName=name)

    (record,) = recorder.wait_for_records(lambda found: len(found) >= 1)
    attributes = record["attributes"]
    assert attributes["MessageGroupId"] == "g1"
    assert attributes["MessageDeduplicationId"] == "d1"
    assert attributes["SequenceNumber"] == sent["SequenceNumber"]
    wait_until_empty(aws, url)


def test_fifo_keeps_order_per_group_with_several_groups_in_flight(
    aws, make_function, make_queue, make_mapping, recorder
):
    """Lambda processes a FIFO queue in order within each message group: a group's next
    batch waits until its previous batch finished, while batches of other groups run at the
    same time."""
    url, arn = make_queue(fifo=True)
    environment = {**recorder.environment, "SLEEP": "0.15"}
    name = make_function(RECORDING, environment=environment)
    groups = ["a", "b", "c", "d"]
    messages = [(group, f"{group}-{n}") for n in range(6) for group in groups]  # interleaved
    send_fifo(aws, url, messages)

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=2,
        ScalingConfig={"MaximumConcurrency": 4},
    )

    recorder.wait_for_records(lambda found: len(found) >= len(messages), timeout=30)
    invocations = recorder.invocations()
    seen: dict[str, list[str]] = defaultdict(list)
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for invocation in invocations:
        for group in {r["attributes"]["MessageGroupId"] for r in invocation["event"]["Records"]}:
            spans[group].append((invocation["start"], invocation["end"]))
        for r in invocation["event"]["Records"]:
            seen[r["attributes"]["MessageGroupId"]].append(r["body"])
    for group in groups:
        assert seen[group] == [f"{group}-{n}" for n in range(6)], group
        # Two batches of one group never overlap in time.
        ordered = sorted(spans[group])
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(ordered))
    assert max_overlap(invocations) > 1
    wait_until_empty(aws, url)


def test_fifo_partial_failure_retries_the_failed_message_and_the_rest_of_its_group(
    aws, make_function, make_queue, make_mapping, recorder
):
    """With ReportBatchItemFailures on a FIFO queue, the reported message and those after it
    in its group stay on the queue and come back, in order, after the visibility timeout; the
    messages before it and the other groups' messages are deleted."""
    url, arn = make_queue(fifo=True, VisibilityTimeout=1)
    environment = {**recorder.environment, "FAIL_BODY": "a-2"}
    name = make_function(FIFO_PARTIAL, environment=environment, timeout=1)
    messages = [("a", "a-1"), ("a", "a-2"), ("b", "b-1"), ("a", "a-3"), ("a", "a-4")]
    send_fifo(aws, url, messages)

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    wait_until_empty(aws, url)
    first, second = recorder.invocations()
    assert [r["body"] for r in first["event"]["Records"]] == ["a-1", "a-2", "b-1", "a-3", "a-4"]
    assert [r["body"] for r in second["event"]["Records"]] == ["a-2", "a-3", "a-4"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in second["event"]["Records"]} == {"2"}

"""Figures of the asynchronous paths of the local cloud: an SQS queue drained, an Event invoke.

Both are measured on one local cloud started in a child process (:mod:`bench._localcloud`,
as the test harness starts it), with resources created through boto3: IAM roles, Lambda
functions from inline code, DynamoDB tables, SQS queues. They are reported without a target.

(1) Queue drain throughput: N messages are preloaded into a standard queue (SendMessageBatch)
    whose redrive policy has a dead-letter queue; an event source mapping (BatchSize 10) is
    created disabled, then enabled; its function writes every record of a batch to a
    DynamoDB table in one BatchWriteItem (key: the message body, unique per message). The
    clock runs from just before UpdateEventSourceMapping(Enabled=True) until the queue is
    empty (visible + in flight + delayed = 0, polled) and a Scan(Select=COUNT) of the table
    counts N items; messages per second = N / that time. The figure fails unless the table
    holds N items, the queue is empty and the dead-letter queue too: no message lost. A
    message delivered again (SQS is at-least-once; its item records the receive count) is
    not a loss, but the note counts them: each costs a visibility timeout (30 s) of waiting.
    Concurrency 10 is the mapping's ``ScalingConfig.MaximumConcurrency``. Lambda accepts no
    MaximumConcurrency below 2, so concurrency 1 is the function's reserved concurrency of 1
    and no ScalingConfig: the mapping's pollers (the local cloud runs up to 5 batches in
    flight per mapping without a ScalingConfig) are throttled down to one invoke at a time
    and retry, as on Lambda. Before the clock starts, the function is warmed with as many
    simultaneous empty invokes as the concurrency allows, so execution environments exist;
    the note says how many more started during the drain.
(2) Async invoke latency: ``Invoke(InvocationType=Event)`` of a function whose handler
    reads ``time.time()`` first and writes it to DynamoDB under the payload's id. Latency =
    that handler start - ``time.time()`` read just before the Invoke call: both clocks are
    the same host's wall clock (the handler runs in a child process of the local cloud).
    It includes the Invoke HTTP call up to the 202, the local async queue, and the hand-off
    to a warm ``awslambdaric`` worker through the Runtime API; it may end before the 202
    reaches the client. Invokes are paced at a fixed interval (not a flood); the warm-up
    invokes (the first one cold) are recorded and waited for before the counted ones.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench._localcloud import (
    NewEnvironments,
    aws_client,
    create_function,
    load_average,
    local_cloud,
    percentile,
    spread,
)
from bench.report import Figure

DRAIN_MESSAGES = 2_000
DRAIN_BATCH_SIZE = 10
DRAIN_CONCURRENCIES = (1, 10)
DRAIN_DEADLINE_SECONDS = 300.0
# How often the queue is looked at while it drains: moto's GetQueueAttributes reads every
# message of the queue (tens of ms for a deep queue), so the wait is 20 times the last call
# (the polling takes at most ~5% of the local cloud's time), at least 50 ms, at most 1 s.
DRAIN_POLL_MIN_SECONDS = 0.05
DRAIN_POLL_MAX_SECONDS = 1.0
DRAIN_POLL_FACTOR = 20
# Once the queue is empty every write is done (a message is deleted only after its batch
# returned), so the count is final; this grace only guards against a lagging read.
DRAIN_SETTLE_SECONDS = 2.0
DRAIN_FUNCTION_TIMEOUT = 5  # seconds
# SQS's default, and AWS's advice for a mapping: at least 6 times the function's timeout.
QUEUE_VISIBILITY_TIMEOUT = 30
MAX_RECEIVE_COUNT = 5

ASYNC_INVOKES = 200
ASYNC_WARMUP = 20
ASYNC_PACE_SECONDS = 0.05  # one Event invoke every 50 ms
ASYNC_DEADLINE_SECONDS = 60.0

DRAIN_HANDLER = """\
import os
import time

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def item(record):
    return {
        "id": {"S": record["body"]},
        "messageId": {"S": record["messageId"]},
        "receiveCount": {"N": record["attributes"]["ApproximateReceiveCount"]},
    }


def handler(event, context):
    writes = [{"PutRequest": {"Item": item(r)}} for r in event["Records"]]
    for start in range(0, len(writes), 25):  # BatchWriteItem takes up to 25 writes
        pending = {TABLE: writes[start : start + 25]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
            if pending:
                time.sleep(0.05)
    return {"written": len(writes)}
"""

ASYNC_HANDLER = """\
import os
import time

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    started = time.time()
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "id": {"S": event["id"]},
            "started": {"N": repr(started)},
            "requestId": {"S": context.aws_request_id},
        },
    )
"""


# -- shared resources ------------------------------------------------------------------------


def _create_table(endpoint_url: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    dynamodb = aws_client("dynamodb", endpoint_url)
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return name


def _scan(endpoint_url: str, table: str, **options: Any) -> list[dict[str, Any]]:
    """Every page of a Scan of ``table``."""
    pages = aws_client("dynamodb", endpoint_url).get_paginator("scan")
    return list(pages.paginate(TableName=table, ConsistentRead=True, **options))


def count_items(endpoint_url: str, table: str, **options: Any) -> int:
    """The items of ``table`` (that pass a FilterExpression in ``options``): Select=COUNT."""
    return sum(int(page["Count"]) for page in _scan(endpoint_url, table, Select="COUNT", **options))


_DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _queue_depth(sqs: Any, url: str) -> int:
    """Messages still in the queue: visible, in flight and delayed."""
    # "All", not the three names: moto 5 computes every attribute of the queue once per
    # named attribute and again per lookup (each a pass over all messages); "All" once.
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in _DEPTH_ATTRIBUTES)


# -- (1) queue drain -------------------------------------------------------------------------


@dataclass(frozen=True)
class Drain:
    """What one drain of a preloaded queue did, and the checks that nothing was lost."""

    concurrency: int
    messages: int
    seconds: float  # from enabling the mapping until done (or the deadline)
    finished: bool  # the queue emptied and the table reached the count before the deadline
    items: int  # in the table at the end
    left_in_queue: int
    in_dead_letter_queue: int
    redelivered: int  # items last written by a delivery with ApproximateReceiveCount > 1
    warm_environments: int  # execution environments started by the warm-up
    new_environments: int  # execution environments started during the drain

    @property
    def lost(self) -> int:
        return self.messages - self.items

    @property
    def throughput(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds

    def check(self) -> None:
        """Raise unless every message reached the table and no queue holds any."""
        problems = []
        if self.items != self.messages:
            problems.append(f"the table holds {self.items} of {self.messages} items")
        if self.left_in_queue:
            problems.append(f"{self.left_in_queue} message(s) still in the queue")
        if self.in_dead_letter_queue:
            problems.append(f"{self.in_dead_letter_queue} message(s) in the dead-letter queue")
        if not self.finished and not problems:
            problems.append(f"not drained within {self.seconds:.0f} s")
        if problems:
            raise RuntimeError(
                f"queue drain at concurrency {self.concurrency} failed: " + "; ".join(problems)
            )


def _send_all(sqs: Any, url: str, bodies: Sequence[str]) -> None:
    for start in range(0, len(bodies), 10):  # SendMessageBatch takes up to 10 messages
        entries = [
            {"Id": str(index), "MessageBody": body}
            for index, body in enumerate(bodies[start : start + 10])
        ]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"SendMessageBatch failed: {failed}")


def _warm(endpoint_url: str, function_name: str, concurrency: int) -> None:
    """Start up to ``concurrency`` execution environments with simultaneous empty batches."""
    lambda_client = aws_client("lambda", endpoint_url)

    def invoke(_: int) -> None:
        response = lambda_client.invoke(
            FunctionName=function_name, Payload=json.dumps({"Records": []}).encode()
        )
        body = response["Payload"].read()
        if "FunctionError" in response:
            raise RuntimeError(f"the warm-up of {function_name} failed: {body!r}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(invoke, range(concurrency)))


def _wait_for_state(lambda_client: Any, mapping: str, state: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        current = lambda_client.get_event_source_mapping(UUID=mapping)["State"]
        if current == state:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"mapping {mapping} stayed {current}, not {state}")
        time.sleep(0.05)


def drain(
    endpoint_url: str,
    *,
    messages: int = DRAIN_MESSAGES,
    concurrency: int,
    handler: str = DRAIN_HANDLER,
    deadline_seconds: float = DRAIN_DEADLINE_SECONDS,
    settle_seconds: float = DRAIN_SETTLE_SECONDS,
) -> Drain:
    """Preload ``messages``, enable a mapping at ``concurrency``, time the queue's drain.

    ``concurrency`` 1 is the function's reserved concurrency (no ScalingConfig); 2 to 1000
    is the mapping's ``ScalingConfig.MaximumConcurrency``. ``handler`` is the function's
    code (the default writes each record to the table named by ``TABLE_NAME``).
    """
    if not 1 <= concurrency <= 1000:
        raise ValueError(f"concurrency must be 1 to 1000, not {concurrency}")
    sqs = aws_client("sqs", endpoint_url)
    lambda_client = aws_client("lambda", endpoint_url)
    run = uuid.uuid4().hex[:12]
    table = _create_table(endpoint_url, "bench-drain")
    dlq_url = sqs.create_queue(QueueName=f"bench-drain-dlq-{run}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName=f"bench-drain-{run}",
        Attributes={
            "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function = create_function(
        endpoint_url,
        handler,
        prefix="bench-drain",
        environment={"TABLE_NAME": table},
        timeout=DRAIN_FUNCTION_TIMEOUT,
    )
    mapping_options: dict[str, Any] = {}
    if concurrency == 1:
        lambda_client.put_function_concurrency(
            FunctionName=function, ReservedConcurrentExecutions=1
        )
    else:
        mapping_options["ScalingConfig"] = {"MaximumConcurrency": concurrency}
    mapping = ""
    try:
        environments = NewEnvironments(endpoint_url, function)
        _warm(endpoint_url, function, concurrency)
        warm = len(environments.new_streams())

        _send_all(sqs, url, [f"{run}-{index:07d}" for index in range(messages)])
        if (depth := _queue_depth(sqs, url)) != messages:
            raise RuntimeError(f"preloaded {messages} messages, the queue holds {depth}")
        mapping = lambda_client.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=function,
            BatchSize=DRAIN_BATCH_SIZE,
            Enabled=False,
            **mapping_options,
        )["UUID"]
        _wait_for_state(lambda_client, mapping, "Disabled")

        start = time.perf_counter()
        lambda_client.update_event_source_mapping(UUID=mapping, Enabled=True)
        deadline = start + deadline_seconds
        empty_since: float | None = None
        finished = False
        while True:
            now = time.perf_counter()
            depth = _queue_depth(sqs, url)
            pause = (time.perf_counter() - now) * DRAIN_POLL_FACTOR
            if depth == 0:
                empty_since = now if empty_since is None else empty_since
                if count_items(endpoint_url, table) >= messages:
                    finished = True
                    break
                if now - empty_since > settle_seconds:
                    break
            if now > deadline:
                break
            time.sleep(min(max(pause, DRAIN_POLL_MIN_SECONDS), DRAIN_POLL_MAX_SECONDS))
        seconds = time.perf_counter() - start

        lambda_client.delete_event_source_mapping(UUID=mapping)
        mapping = ""
        return Drain(
            concurrency=concurrency,
            messages=messages,
            seconds=seconds,
            finished=finished,
            items=count_items(endpoint_url, table),
            left_in_queue=_queue_depth(sqs, url),
            in_dead_letter_queue=_queue_depth(sqs, dlq_url),
            redelivered=count_items(
                endpoint_url,
                table,
                FilterExpression="receiveCount > :once",
                ExpressionAttributeValues={":once": {"N": "1"}},
            ),
            warm_environments=warm,
            new_environments=len(environments.new_streams()),
        )
    finally:
        # Stop the pollers and the function's workers: the next figure runs on a quiet cloud.
        if mapping:
            lambda_client.delete_event_source_mapping(UUID=mapping)
        lambda_client.delete_function(FunctionName=function)


def drain_figure(result: Drain) -> Figure:
    """The throughput of a drain; raises (fails the figure) if a message was lost."""
    result.check()
    if result.concurrency == 1:
        how = (
            "concurrency 1 = function reserved concurrency 1, no ScalingConfig "
            "(MaximumConcurrency is 2 at least): pollers throttled and retried"
        )
    else:
        how = f"concurrency {result.concurrency} = ScalingConfig.MaximumConcurrency"
    return Figure(
        f"localcloud.sqs_drain.concurrency_{result.concurrency}",
        result.throughput,
        "msg/s",
        note=(
            f"SQS -> ESM (BatchSize {DRAIN_BATCH_SIZE}) -> Lambda -> DynamoDB BatchWriteItem; "
            f"{how}; n={result.messages} preloaded, {result.seconds:.2f} s from enable to "
            f"queue empty + Scan COUNT = n (queue polled every {DRAIN_POLL_MIN_SECONDS * 1000:.0f}"
            f"-{DRAIN_POLL_MAX_SECONDS * 1000:.0f} ms, ~5% of the server); "
            f"0 lost, DLQ empty, {result.redelivered} delivered again (receive count > 1, "
            f"visibility timeout {QUEUE_VISIBILITY_TIMEOUT} s); "
            f"{result.warm_environments} env(s) warmed before, "
            f"{result.new_environments} started during; {load_average()}"
        ),
    )


# -- (2) Event invoke to handler start -------------------------------------------------------


@dataclass(frozen=True)
class AsyncLatency:
    """The samples of Event invokes: from just before Invoke to the handler's start."""

    latencies_ms: list[float]
    invoke_calls_ms: list[float]  # the Invoke call itself, up to its 202
    started_before_accepted: int  # handlers that started before their Invoke call returned
    warmup: int
    pace_seconds: float
    new_environments: int  # execution environments started during the counted invokes


def _wait_for_records(
    endpoint_url: str, table: str, ids: set[str], timeout: float
) -> dict[str, float]:
    """The handler start times recorded under ``ids``, once all of them are there."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            item["id"]["S"]: float(item["started"]["N"])
            for page in _scan(endpoint_url, table)
            for item in page["Items"]
            if item["id"]["S"] in ids
        }
        if len(found) == len(ids):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(ids) - len(found)} of {len(ids)} Event invokes never ran their handler "
                f"within {timeout:.0f} s"
            )
        time.sleep(0.1)


def async_latency(
    endpoint_url: str,
    *,
    invokes: int = ASYNC_INVOKES,
    warmup: int = ASYNC_WARMUP,
    pace_seconds: float = ASYNC_PACE_SECONDS,
    deadline_seconds: float = ASYNC_DEADLINE_SECONDS,
) -> AsyncLatency:
    """Send ``warmup`` then ``invokes`` paced Event invokes; measure each one's start."""
    if warmup < 1:
        raise ValueError("warmup must include the cold start (at least 1)")
    lambda_client = aws_client("lambda", endpoint_url)
    table = _create_table(endpoint_url, "bench-async")
    function = create_function(
        endpoint_url, ASYNC_HANDLER, prefix="bench-async", environment={"TABLE_NAME": table}
    )
    run = uuid.uuid4().hex[:12]

    def send(ids: Sequence[str]) -> dict[str, tuple[float, float]]:
        """Event invokes at the pace; per id, the wall clock before and after the call."""
        sent: dict[str, tuple[float, float]] = {}
        next_at = time.monotonic()
        for invoke_id in ids:
            if (wait := next_at - time.monotonic()) > 0:
                time.sleep(wait)
            next_at += pace_seconds
            payload = json.dumps({"id": invoke_id}).encode()
            before = time.time()
            response = lambda_client.invoke(
                FunctionName=function, InvocationType="Event", Payload=payload
            )
            after = time.time()
            if response["StatusCode"] != 202:
                raise RuntimeError(f"Event invoke answered {response['StatusCode']}")
            sent[invoke_id] = (before, after)
        return sent

    try:
        warmup_ids = [f"{run}-warm-{index}" for index in range(warmup)]
        send(warmup_ids)
        _wait_for_records(endpoint_url, table, set(warmup_ids), deadline_seconds)
        environments = NewEnvironments(endpoint_url, function)

        sent = send([f"{run}-{index}" for index in range(invokes)])
        started = _wait_for_records(endpoint_url, table, set(sent), deadline_seconds)
        return AsyncLatency(
            latencies_ms=[(started[i] - before) * 1000 for i, (before, _) in sent.items()],
            invoke_calls_ms=[(after - before) * 1000 for before, after in sent.values()],
            started_before_accepted=sum(1 for i, (_, after) in sent.items() if started[i] < after),
            warmup=warmup,
            pace_seconds=pace_seconds,
            new_environments=len(environments.new_streams()),
        )
    finally:
        lambda_client.delete_function(FunctionName=function)


def async_figures(result: AsyncLatency) -> list[Figure]:
    samples = result.latencies_ms
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    counted = (
        f"n={len(samples)} after {result.warmup} warm-up (the first one cold), "
        f"one every {result.pace_seconds * 1000:.0f} ms"
    )
    return [
        Figure(
            "localcloud.async_invoke.to_handler_p50",
            p50,
            "ms",
            note=(
                f"Invoke(Event) -> handler start: handler time.time() - time.time() just "
                f"before the call, same host clock; {counted}; the Invoke call itself (202) "
                f"p50 {statistics.median(result.invoke_calls_ms):.2f} ms; "
                f"{result.started_before_accepted} handler(s) started before their 202 "
                f"arrived; {result.new_environments} new environment(s) while counting"
            ),
        ),
        Figure(
            "localcloud.async_invoke.to_handler_p99",
            p99,
            "ms",
            note=(
                f"same samples; mean {statistics.fmean(samples):.2f}; {spread(samples)}; "
                f"{load_average()}"
            ),
        ),
    ]


def figures(quick: bool = False) -> list[Figure]:
    with local_cloud() as cloud:
        results = [
            drain_figure(
                drain(
                    cloud.endpoint_url,
                    messages=500 if quick else DRAIN_MESSAGES,
                    concurrency=concurrency,
                )
            )
            for concurrency in DRAIN_CONCURRENCIES
        ]
        latency = async_latency(cloud.endpoint_url, invokes=50 if quick else ASYNC_INVOKES)
        return [*results, *async_figures(latency)]

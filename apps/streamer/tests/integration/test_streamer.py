"""The Streamer as its users see it: producers POST events, the S3 archive receives each one
exactly once under a date partition, bad payloads stop at the gateway, and the aggregates
count every event once.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Each test
tags its events with its own unique id and reads back only those.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

TIMEOUT = 30
SENDERS = 8
# Firehose may hold an event for BufferIntervalSeconds, and reading the stream adds a few
# seconds on AWS: the deadline for an event to reach S3 is that plus this margin.
DELIVERY_MARGIN = 120
PARTITION = re.compile(r"^events/year=(\d{4})/month=(\d{2})/day=(\d{2})/[^/]+\.gz$")

Post = Callable[[str, Any], requests.Response]


@pytest.fixture
def post() -> Iterator[Post]:
    """``post(url, body)``: POST JSON (a str body is sent as it is)."""
    session = requests.Session()

    def send(url: str, body: Any, content_type: str = "application/json") -> requests.Response:
        data = body if isinstance(body, str) else json.dumps(body)
        return session.post(
            url, data=data.encode(), headers={"Content-Type": content_type}, timeout=TIMEOUT
        )

    yield send
    session.close()


def event(unique_id: str, n: int, event_type: str = "page.viewed") -> dict[str, Any]:
    return {"id": f"{unique_id}-{n}", "type": event_type, "data": {"n": n, "path": "/pricing"}}


class Archive:
    """The stack's bucket, read as an analyst would: gzipped JSON lines under events/."""

    def __init__(self, stack: Stack) -> None:
        self._s3 = stack.client("s3")
        self._bucket = stack.output("BucketName")
        self._prefix = stack.output("EventPrefix")
        self._bodies: dict[str, bytes] = {}  # objects are written once: read each once

    def keys(self) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        ):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def lines(self, marker: str) -> list[tuple[str, dict[str, Any]]]:
        """(object key, event) for every delivered event whose id starts with ``marker``."""
        found = []
        for key in self.keys():
            if key not in self._bodies:
                body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
                self._bodies[key] = gzip.decompress(body)
            for line in self._bodies[key].decode().splitlines():
                document = json.loads(line)
                if str(document.get("id", "")).startswith(marker):
                    found.append((key, document))
        return found


def delivery_deadline(stack: Stack) -> float:
    return float(stack.output("BufferIntervalSeconds")) + DELIVERY_MARGIN


# --- the pattern's promise -------------------------------------------------------------------


def test_n_events_in_are_n_records_in_s3_under_their_date_partition(
    stack: Stack, post: Post, unique_id: str
) -> None:
    """300 events from 8 concurrent producers, one by one and in batches: every one is
    answered 200 with its sequence number, and the archive holds each exactly once (nothing
    lost, nothing duplicated) as a JSON line of a gzipped object under
    events/year=/month=/day= of the day it arrived (UTC)."""
    before = datetime.now(UTC)
    singles = [event(unique_id, n) for n in range(100)]
    batches = [
        [event(unique_id, n, "cart.updated") for n in range(start, start + 50)]
        for start in range(100, 300, 50)
    ]

    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        single_answers = list(senders.map(lambda body: post(stack.url("IngestUrl"), body), singles))
        batch_answers = list(
            senders.map(
                lambda events: post(stack.url("BatchIngestUrl"), {"events": events}), batches
            )
        )

    for answer in single_answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["sequence_number"]
    for answer, sent in zip(batch_answers, batches, strict=True):
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["failed"] == 0, result
        assert len(result["records"]) == len(sent)
        assert all(record["sequence_number"] for record in result["records"])
    shards = {a.json()["shard_id"] for a in single_answers} | {
        record["shard_id"] for a in batch_answers for record in a.json()["records"]
    }
    assert len(shards) > 1, "300 events with distinct partition keys all went to one shard"

    archive = Archive(stack)
    expected = {e["id"]: e for e in singles + [e for batch in batches for e in batch]}
    delivered = wait_for(
        lambda: (found := archive.lines(unique_id)) and len(found) >= len(expected) and found,
        timeout=delivery_deadline(stack),
        interval=2.0,
        description=f"{len(expected)} events in S3",
    )

    counts = Counter(document["id"] for _, document in delivered)
    assert set(counts) == set(expected), "an event is missing from the archive"
    assert max(counts.values()) == 1, [i for i, c in counts.items() if c > 1]
    for _, document in delivered:
        assert document == expected[document["id"]]
    days = {before.date(), datetime.now(UTC).date()}
    for key, _ in delivered:
        match = PARTITION.match(key)
        assert match, key
        year, month, day = (int(part) for part in match.groups())
        assert datetime(year, month, day, tzinfo=UTC).date() in days, key


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status"),
    [
        ("IngestUrl", {"id": "x", "data": {}}, "application/json", 400),  # no type
        ("IngestUrl", {"id": "x", "type": "t", "data": "text"}, "application/json", 400),
        ("IngestUrl", {"id": "x", "type": "t", "data": {}, "extra": 1}, "application/json", 400),
        ("IngestUrl", {"id": "has space", "type": "t", "data": {}}, "application/json", 400),
        (
            "IngestUrl",
            {"id": "x", "type": "t", "occurred_at": "yesterday", "data": {}},
            "application/json",
            400,
        ),
        ("IngestUrl", ["not", "an", "object"], "application/json", 400),
        ("IngestUrl", "{not json", "application/json", 400),
        ("IngestUrl", "id=x&type=t", "application/x-www-form-urlencoded", 415),
        ("BatchIngestUrl", {"events": []}, "application/json", 400),
        ("BatchIngestUrl", {"events": [{"id": "x", "type": "t"}]}, "application/json", 400),
        ("BatchIngestUrl", {"records": []}, "application/json", 400),
    ],
    ids=[
        "missing-type",
        "data-not-object",
        "unknown-field",
        "bad-id",
        "bad-timestamp",
        "array",
        "not-json",
        "form-encoded",
        "empty-batch",
        "batch-item-invalid",
        "batch-wrong-shape",
    ],
)
def test_bad_payloads_are_refused_at_the_gateway(
    stack: Stack, post: Post, path: str, body: Any, content_type: str, status: int
) -> None:
    """The API's models refuse what breaks the event contract with 400 (415 for a body
    that is not JSON at all), before anything is written to the stream."""
    answer = post(stack.url(path), body, content_type)

    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["message"] == "Invalid request body"


def test_a_batch_over_500_events_is_refused(stack: Stack, post: Post, unique_id: str) -> None:
    """PutRecords takes at most 500 records: a bigger batch is refused at the gateway."""
    answer = post(
        stack.url("BatchIngestUrl"), {"events": [event(unique_id, n) for n in range(501)]}
    )

    assert answer.status_code == 400, answer.text


def test_refused_payloads_never_reach_the_stream(stack: Stack, post: Post, unique_id: str) -> None:
    """What the gateway refused is not in the stream: reading every shard from just before
    the test finds the accepted event of this test and none of the refused ones."""
    kinesis = stack.client("kinesis")
    stream = stack.output("StreamName")
    since = datetime.now(UTC) - timedelta(seconds=5)
    refused = [
        {"id": f"{unique_id}-refused-{n}", "type": "t", "data": "not an object"} for n in range(3)
    ]
    for body in refused:
        assert post(stack.url("IngestUrl"), body).status_code == 400
    assert (
        post(stack.url("BatchIngestUrl"), {"events": [*refused, event(unique_id, 0)]})
    ).status_code == 400
    accepted = post(stack.url("IngestUrl"), event(unique_id, 1))
    assert accepted.status_code == 200, accepted.text

    found: list[str] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream,
            ShardId=shard["ShardId"],
            ShardIteratorType="AT_TIMESTAMP",
            Timestamp=since,
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in page["Records"]:
                document = json.loads(record["Data"])
                if str(document.get("id", "")).startswith(unique_id):
                    found.append(document["id"])
            # Caught up with the tip of the shard: everything put before now has been read.
            if page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    assert found == [f"{unique_id}-1"]


# --- the aggregates ----------------------------------------------------------------------------


def test_the_consumer_counts_each_event_once_per_type_and_minute(
    stack: Stack, post: Post, unique_id: str
) -> None:
    """The stream consumer counts every event of a type once, in total and per minute of
    arrival: 7 events of one type and 3 of another (one batch, some single) give 7 and 3."""
    dynamodb = stack.client("dynamodb")
    table = stack.output("AggregatesTableName")
    clicked, bought = f"{unique_id}.clicked", f"{unique_id}.bought"
    events = [event(unique_id, n, clicked) for n in range(7)]
    events += [event(unique_id, n, bought) for n in range(7, 10)]
    for body in events[:4]:
        assert post(stack.url("IngestUrl"), body).status_code == 200
    answer = post(stack.url("BatchIngestUrl"), {"events": events[4:]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["failed"] == 0, answer.text

    def totals() -> dict[str, int] | None:
        found = {}
        for event_type in (clicked, bought):
            item = dynamodb.get_item(
                TableName=table,
                Key={"pk": {"S": f"type#{event_type}"}, "sk": {"S": "total"}},
                ConsistentRead=True,
            ).get("Item")
            found[event_type] = int(item["count"]["N"]) if item else 0
        return found if found == {clicked: 7, bought: 3} else None

    wait_for(totals, timeout=120, interval=1.0, description="counts 7 and 3")
    for event_type, total in ((clicked, 7), (bought, 3)):
        items = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :minute)",
            ExpressionAttributeValues={
                ":pk": {"S": f"type#{event_type}"},
                ":minute": {"S": "minute#"},
            },
            ConsistentRead=True,
        )["Items"]
        assert sum(int(item["count"]["N"]) for item in items) == total
        for item in items:
            assert re.fullmatch(r"minute#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z", item["sk"]["S"])

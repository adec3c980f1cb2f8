"""DynamoDB Streams and Kinesis event source mappings: in order per shard, failures block the
shard until retried away, bisected or sent to the on-failure destination."""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_event_source_helpers")
from _event_source_helpers import (  # noqa: E402 (after the path and rewrite setup)
    RECORDER,
    receive_all,
)

# Fixtures: recorder, make_queue, make_mapping.
pytest_plugins = ["_event_source_helpers"]

RECORDING = (
    RECORDER
    + """
def handler(event, context):
    record(event, time.time())
"""
)

# Fails while any record of the batch is poison (a DynamoDB item with poison = true, or
# Kinesis data {"poison": true}); FAIL_TIMES > 0 fails only that many attempts per record.
POISONED = (
    RECORDER
    + """
import base64

def is_poison(r):
    if "dynamodb" in r:
        return "poison" in (r["dynamodb"].get("NewImage") or {})
    return json.loads(base64.b64decode(r["kinesis"]["data"])).get("poison", False)

def key(r):
    return r["dynamodb"]["SequenceNumber"] if "dynamodb" in r else r["eventID"]

def handler(event, context):
    started = time.time()
    poison = [r for r in event["Records"] if is_poison(r)]
    limit = int(os.environ.get("FAIL_TIMES", "0"))
    failing = [r for r in poison if not limit or attempt(key(r)) <= limit]
    record(event, started, failed=bool(failing))
    if failing:
        raise ValueError("poison record")
"""
)

# Reports the first record of its first invocation as failed, later succeeds.
STREAM_PARTIAL = (
    RECORDER
    + """
def handler(event, context):
    started = time.time()
    records = event["Records"]
    if attempt("batch") == 1:
        failed = records[2]["kinesis"]["sequenceNumber"]
        record(event, started, failed=failed)
        return {"batchItemFailures": [{"itemIdentifier": failed}]}
    record(event, started)
    return {"batchItemFailures": []}
"""
)


@pytest.fixture
def make_table(aws):
    created = []

    def make(view="NEW_AND_OLD_IMAGES"):
        name = f"esm-{uuid.uuid4().hex[:12]}"
        table = aws("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
        )["TableDescription"]
        created.append(name)
        return name, table["LatestStreamArn"]

    yield make
    for name in created:
        with contextlib.suppress(ClientError):
            aws("dynamodb").delete_table(TableName=name)


@pytest.fixture
def make_stream(aws):
    created = []

    def make(shards=1):
        name = f"esm-{uuid.uuid4().hex[:12]}"
        aws("kinesis").create_stream(StreamName=name, ShardCount=shards)
        created.append(name)
        description = aws("kinesis").describe_stream(StreamName=name)["StreamDescription"]
        return name, description["StreamARN"], [s["ShardId"] for s in description["Shards"]]

    yield make
    for name in created:
        with contextlib.suppress(ClientError):
            aws("kinesis").delete_stream(StreamName=name)


def put(aws, table, pk, **attributes):
    item = {"pk": {"S": pk}, **{k: {"S": str(v)} for k, v in attributes.items()}}
    aws("dynamodb").put_item(TableName=table, Item=item)


def put_records(aws, stream, documents, hash_key="0"):
    """PutRecord each document (JSON) to the shard owning ``hash_key``; returns sequences."""
    sequences = []
    for document in documents:
        sequences.append(
            aws("kinesis").put_record(
                StreamName=stream,
                Data=json.dumps(document).encode(),
                PartitionKey="pk",
                ExplicitHashKey=hash_key,
            )["SequenceNumber"]
        )
    return sequences


def kinesis_documents(records):
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records]


def test_dynamodb_stream_event_has_the_shape_lambda_sends(
    aws, make_function, make_table, make_mapping, recorder
):
    """Lambda's DynamoDB Streams event: eventID, eventName INSERT/MODIFY/REMOVE, eventVersion,
    eventSource aws:dynamodb, awsRegion, eventSourceARN, and dynamodb with
    ApproximateCreationDateTime (epoch seconds), Keys, NewImage, OldImage, SequenceNumber,
    SizeBytes and StreamViewType."""
    table, stream_arn = make_table()
    name = make_function(RECORDING, environment=recorder.environment)
    make_mapping(EventSourceArn=stream_arn, FunctionName=name, StartingPosition="TRIM_HORIZON")

    put(aws, table, "k1", colour="red")
    put(aws, table, "k1", colour="blue")
    aws("dynamodb").delete_item(TableName=table, Key={"pk": {"S": "k1"}})

    records = recorder.wait_for_records(lambda found: len(found) >= 3)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    for record in records:
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventVersion"] == "1.1"
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSourceARN"] == stream_arn
        assert record["eventID"]
        details = record["dynamodb"]
        assert details["Keys"] == {"pk": {"S": "k1"}}
        assert details["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(details["ApproximateCreationDateTime"], float)
        assert abs(details["ApproximateCreationDateTime"] - time.time()) < 120
        assert details["SizeBytes"] > 0
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "k1"}, "colour": {"S": "red"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["colour"] == {"S": "red"}
    assert modify["dynamodb"]["NewImage"]["colour"] == {"S": "blue"}
    assert remove["dynamodb"]["OldImage"]["colour"] == {"S": "blue"}
    assert "NewImage" not in remove["dynamodb"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences)


def test_stream_records_survive_delivery(aws, make_function, make_table, make_mapping, recorder):
    """Lambda reads a stream without consuming it: after the mapping delivered the records,
    GetRecords from TRIM_HORIZON still returns them (moto's inline delivery cleared them)."""
    table, stream_arn = make_table()
    name = make_function(RECORDING, environment=recorder.environment)
    make_mapping(EventSourceArn=stream_arn, FunctionName=name, StartingPosition="LATEST")

    put(aws, table, "kept")

    recorder.wait_for_records(lambda found: len(found) >= 1)
    streams = aws("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["kept"]


def test_failed_batch_blocks_the_shard_until_a_retry_succeeds(
    aws, make_function, make_table, make_mapping, recorder
):
    """A failed stream batch is retried, and nothing after it in the shard is delivered
    before it succeeds (MaximumRetryAttempts -1: retried until the records expire): the
    order of every key's changes is kept."""
    table, stream_arn = make_table()
    environment = {**recorder.environment, "FAIL_TIMES": "3"}
    name = make_function(POISONED, environment=environment)
    put(aws, table, "k1", version=1)
    put(aws, table, "k2", version=1, poison="yes")
    put(aws, table, "k1", version=2)
    put(aws, table, "k2", version=2)

    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=2,
    )

    recorder.wait_for_records(lambda found: sum(1 for _ in found) >= 3 * 2 + 4)
    invocations = recorder.invocations()
    failed = [item for item in invocations if item["failed"]]
    successes = [item for item in invocations if not item["failed"]]
    assert len(failed) == 3
    assert [keys(item) for item in failed] == [["k1/1", "k2/1"]] * 3
    # The batch succeeded on its fourth attempt, and only then did the shard move on.
    assert [keys(item) for item in successes] == [["k1/1", "k2/1"], ["k1/2", "k2/2"]]
    assert successes[1]["start"] >= max(item["end"] for item in failed)


def keys(invocation):
    return [
        r["dynamodb"]["Keys"]["pk"]["S"] + "/" + r["dynamodb"]["NewImage"]["version"]["S"]
        for r in invocation["event"]["Records"]
    ]


def test_bisect_isolates_a_poison_record_and_reports_it(
    aws, make_function, make_table, make_queue, make_mapping, recorder
):
    """BisectBatchOnFunctionError splits a failed batch in two and retries each half (a
    split uses no retry): the good records succeed, and the poison record alone, its
    retries exhausted, goes to the on-failure destination."""
    table, stream_arn = make_table()
    dlq_url, dlq_arn = make_queue()
    name = make_function(POISONED, environment=recorder.environment)
    put(aws, table, "a")
    put(aws, table, "b")
    put(aws, table, "c", poison="yes")
    put(aws, table, "d")

    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )

    (message,) = receive_all(aws, dlq_url, 1)
    document = json.loads(message["Body"])
    successes = [item for item in recorder.invocations() if not item["failed"]]
    processed = sorted(
        r["dynamodb"]["Keys"]["pk"]["S"] for i in successes for r in i["event"]["Records"]
    )
    assert processed == ["a", "b", "d"]
    failures = [item for item in recorder.invocations() if item["failed"]]
    assert [len(item["event"]["Records"]) for item in failures] == [4, 2, 1]
    poison_sequence = failures[-1]["event"]["Records"][0]["dynamodb"]["SequenceNumber"]
    info = document["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_sequence
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_exhausted_retries_send_the_batch_to_the_on_failure_destination(
    aws, make_function, make_table, make_queue, make_mapping, recorder
):
    """After MaximumRetryAttempts retries Lambda gives the batch up: the on-failure
    destination gets AWS's invocation record (requestContext, responseContext, version,
    timestamp, DDBStreamBatchInfo pointing at the batch) and the shard moves on."""
    table, stream_arn = make_table()
    dlq_url, dlq_arn = make_queue()
    name = make_function(POISONED, environment=recorder.environment)
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    put(aws, table, "p1", poison="yes")
    put(aws, table, "p2")

    mapping = make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )

    (message,) = receive_all(aws, dlq_url, 1)
    put(aws, table, "after")

    records = recorder.wait_for_records(
        lambda found: any(r["dynamodb"]["Keys"]["pk"]["S"] == "after" for r in found)
    )
    failures = [item for item in recorder.invocations() if item["failed"]]
    assert len(failures) == 3  # the first attempt and two retries
    batch = failures[0]["event"]["Records"]
    document = json.loads(message["Body"])
    assert document["version"] == "1.0"
    assert document["timestamp"].endswith("Z")
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert document["requestContext"]["functionArn"] == function_arn
    assert document["requestContext"]["requestId"]
    assert document["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = document["DDBStreamBatchInfo"]
    assert info["shardId"].startswith("shardId-")
    assert info["startSequenceNumber"] == batch[0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == batch[-1]["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == len(batch) == 2
    assert info["streamArn"] == stream_arn
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert info["approximateArrivalOfLastRecord"].endswith("Z")
    assert records[-1]["dynamodb"]["Keys"]["pk"]["S"] == "after"
    state = aws("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    assert state["LastProcessingResult"] == "OK"


def test_kinesis_shards_are_read_in_order_and_independently(
    aws, make_function, make_stream, make_mapping, recorder
):
    """Lambda reads each shard of a Kinesis stream in order, shards in parallel: a failing
    batch blocks only its own shard. Records carry kinesis {kinesisSchemaVersion,
    partitionKey, sequenceNumber, data (base64), approximateArrivalTimestamp}, eventSource
    aws:kinesis, eventVersion, eventID shardId:sequenceNumber, eventName
    aws:kinesis:record, invokeIdentityArn (the function's role), awsRegion, eventSourceARN."""
    stream, stream_arn, shards = make_stream(shards=2)
    environment = {**recorder.environment, "FAIL_TIMES": "3"}
    name = make_function(POISONED, environment=environment)
    role = aws("lambda").get_function(FunctionName=name)["Configuration"]["Role"]
    first = put_records(aws, stream, [{"n": 1, "poison": True}, {"n": 2}, {"n": 3}], hash_key="0")
    second = put_records(aws, stream, [{"n": 10}, {"n": 11}, {"n": 12}], hash_key=str(3 * 2**126))

    make_mapping(
        EventSourceArn=stream_arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=2
    )

    records = recorder.wait_for_records(
        lambda found: {d["n"] for d in kinesis_documents(found)} >= {1, 2, 3, 10, 11, 12}
    )
    successes = [item for item in recorder.invocations() if not item["failed"]]
    by_shard: dict[str, list[str]] = {}
    for item in successes:
        for r in item["event"]["Records"]:
            by_shard.setdefault(r["eventID"].split(":")[0], []).append(
                r["kinesis"]["sequenceNumber"]
            )
    assert by_shard == {shards[0]: first, shards[1]: second}
    # Shard 1 was done while shard 0 was still retrying its poison batch.
    failures = [item for item in recorder.invocations() if item["failed"]]
    shard_one_done = max(
        item["end"]
        for item in successes
        if item["event"]["Records"][0]["eventID"].startswith(shards[1])
    )
    assert shard_one_done < max(item["start"] for item in failures)
    sample = next(r for r in records if r["eventID"] == f"{shards[1]}:{second[0]}")
    assert sample["eventSource"] == "aws:kinesis"
    assert sample["eventVersion"] == "1.0"
    assert sample["eventName"] == "aws:kinesis:record"
    assert sample["eventID"] == f"{shards[1]}:{second[0]}"
    assert sample["invokeIdentityArn"] == role
    assert sample["awsRegion"] == "us-east-1"
    assert sample["eventSourceARN"] == stream_arn
    assert sample["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert sample["kinesis"]["partitionKey"] == "pk"
    assert json.loads(base64.b64decode(sample["kinesis"]["data"])) == {"n": 10}
    assert abs(sample["kinesis"]["approximateArrivalTimestamp"] - time.time()) < 120


def test_stream_partial_batch_response_checkpoints_before_the_reported_record(
    aws, make_function, make_stream, make_mapping, recorder
):
    """With ReportBatchItemFailures on a stream, Lambda checkpoints before the lowest
    reported sequence number and retries only the records from there on."""
    stream, stream_arn, _ = make_stream()
    name = make_function(STREAM_PARTIAL, environment=recorder.environment)
    sequences = put_records(aws, stream, [{"n": n} for n in range(4)])

    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    recorder.wait_for_invocations(2)
    first, second = recorder.invocations()[:2]
    assert [r["kinesis"]["sequenceNumber"] for r in first["event"]["Records"]] == sequences
    assert [r["kinesis"]["sequenceNumber"] for r in second["event"]["Records"]] == sequences[2:]


def test_latest_starts_after_the_records_already_in_the_stream(
    aws, make_function, make_stream, make_mapping, recorder
):
    """StartingPosition LATEST reads only the records added after the mapping was created;
    TRIM_HORIZON reads the stream from its oldest record."""
    stream, stream_arn, _ = make_stream()
    put_records(aws, stream, [{"n": "old"}])
    latest = make_function(RECORDING, environment=recorder.environment)
    make_mapping(EventSourceArn=stream_arn, FunctionName=latest, StartingPosition="LATEST")

    put_records(aws, stream, [{"n": "new"}])

    records = recorder.wait_for_records(lambda found: len(found) >= 1)
    assert kinesis_documents(records) == [{"n": "new"}]


def test_at_timestamp_starts_at_the_first_record_from_that_moment(
    aws, make_function, make_stream, make_mapping, recorder
):
    """Kinesis StartingPosition AT_TIMESTAMP reads from the first record that arrived at or
    after StartingPositionTimestamp."""
    stream, stream_arn, _ = make_stream()
    put_records(aws, stream, [{"n": "before"}])
    moment = time.time()
    put_records(aws, stream, [{"n": "after"}])
    name = make_function(RECORDING, environment=recorder.environment)

    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="AT_TIMESTAMP",
        StartingPositionTimestamp=moment,
    )

    records = recorder.wait_for_records(lambda found: len(found) >= 1)
    assert kinesis_documents(records) == [{"n": "after"}]


def test_records_older_than_the_maximum_age_are_given_up_without_invoking(
    aws, make_function, make_stream, make_queue, make_mapping, recorder
):
    """MaximumRecordAgeInSeconds: Lambda discards records older than that (condition
    RecordAgeExceeded at the on-failure destination) and goes on with the younger ones."""
    from moto.kinesis.models import kinesis_backends

    stream, stream_arn, shards = make_stream()
    dlq_url, dlq_arn = make_queue()
    old, young = put_records(aws, stream, [{"n": "old"}, {"n": "young"}])
    shard = kinesis_backends["123456789012"]["us-east-1"].streams[stream].shards[shards[0]]
    shard.records[int(old)].created_at = time.time() - 120  # it arrived two minutes ago
    name = make_function(RECORDING, environment=recorder.environment)

    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )

    (message,) = receive_all(aws, dlq_url, 1)
    document = json.loads(message["Body"])
    assert document["requestContext"]["condition"] == "RecordAgeExceeded"
    assert document["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in document
    assert document["KinesisBatchInfo"]["startSequenceNumber"] == old
    assert document["KinesisBatchInfo"]["batchSize"] == 1
    records = recorder.wait_for_records(lambda found: len(found) >= 1)
    assert [r["kinesis"]["sequenceNumber"] for r in records] == [young]


def test_on_failure_destination_can_be_an_sns_topic(
    aws, make_function, make_stream, make_queue, make_mapping, recorder
):
    """An SNS topic as on-failure destination receives the invocation record as the
    message (here read through an SQS subscription with raw delivery)."""
    stream, stream_arn, _ = make_stream()
    sns = aws("sns")
    topic_arn = sns.create_topic(Name=f"esm-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, queue_arn = make_queue()
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    name = make_function(POISONED, environment=recorder.environment)
    make_mapping(
        EventSourceArn=stream_arn,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic_arn}},
    )

    (sequence,) = put_records(aws, stream, [{"poison": True}])

    (message,) = receive_all(aws, url, 1)
    document = json.loads(message["Body"])
    assert document["KinesisBatchInfo"]["startSequenceNumber"] == sequence
    assert document["requestContext"]["approximateInvokeCount"] == 1
    with contextlib.suppress(ClientError):
        sns.delete_topic(TopicArn=topic_arn)

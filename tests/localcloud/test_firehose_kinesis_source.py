"""Firehose with a Kinesis data stream as its source, and the CloudFormation resources."""

from __future__ import annotations

import json
import random
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_firehose_helpers")
from _cfn_helpers import create, delete, outputs  # noqa: E402 (after the path setup)
from _firehose_helpers import ROLE_ARN, objects  # noqa: E402

pytest_plugins = ["_firehose_helpers"]


@pytest.fixture
def source_stream(aws: Callable[..., Any]) -> Iterator[str]:
    """A 3-shard Kinesis stream; yields its ARN."""
    kinesis = aws("kinesis")
    name = f"source-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=3)
    yield str(
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    )
    kinesis.delete_stream(StreamName=name)


def _put_lines(kinesis: Any, stream_arn: str, lines: list[dict[str, Any]]) -> None:
    for start in range(0, len(lines), 100):
        chunk = lines[start : start + 100]
        answer = kinesis.put_records(
            StreamARN=stream_arn,
            Records=[
                {"Data": (json.dumps(line) + "\n").encode(), "PartitionKey": line["key"]}
                for line in chunk
            ],
        )
        assert answer["FailedRecordCount"] == 0


def _delivered_lines(s3: Any, bucket: str) -> list[dict[str, Any]]:
    body = b"".join(o["Body"] for o in objects(s3, bucket))
    return [json.loads(line) for line in body.decode().splitlines()]


def test_kinesis_source_delivers_every_record_once_in_order_per_shard(
    aws: Callable[..., Any],
    bucket: str,
    source_stream: str,
    make_delivery_stream: Callable[..., str],
) -> None:
    """AWS rule (Firehose, Kinesis data stream as source): Firehose reads every shard of the
    source stream from TRIM_HORIZON, so records put before the delivery stream existed are
    delivered too, and records keep their per-shard order; nothing is lost or duplicated."""
    kinesis, s3 = aws("kinesis"), aws("s3")
    rng = random.Random(7)
    keys = [f"device-{n}" for n in range(20)]
    counters: Counter[str] = Counter()
    lines = []
    for _ in range(300):
        key = rng.choice(keys)
        counters[key] += 1
        lines.append({"key": key, "n": counters[key], "pad": "x" * rng.randint(0, 40)})
    _put_lines(kinesis, source_stream, lines[:120])  # before the delivery stream exists
    make_delivery_stream(
        bucket,
        source_arn=source_stream,
        Prefix="from-kinesis/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
    )
    _put_lines(kinesis, source_stream, lines[120:])

    delivered = wait_for(
        lambda: (found := _delivered_lines(s3, bucket)) and len(found) >= 300 and found,
        timeout=15,
        description="300 records in S3",
    )
    assert len(delivered) == 300
    assert sorted(json.dumps(x, sort_keys=True) for x in delivered) == sorted(
        json.dumps(x, sort_keys=True) for x in lines
    )
    for key in keys:
        sequence = [line["n"] for line in delivered if line["key"] == key]
        assert sequence == list(range(1, counters[key] + 1)), key
    assert all(o["Key"].startswith("from-kinesis/") for o in objects(s3, bucket))


def test_put_record_on_a_kinesis_sourced_delivery_stream_is_refused(
    aws: Callable[..., Any],
    bucket: str,
    source_stream: str,
    make_delivery_stream: Callable[..., str],
) -> None:
    """AWS rule (Firehose PutRecord/PutRecordBatch): a delivery stream whose source is a
    Kinesis data stream takes no direct puts; the call fails with InvalidArgumentException."""
    firehose = aws("firehose")
    name = make_delivery_stream(bucket, source_arn=source_stream)
    for call in (
        lambda: firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"}),
        lambda: firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}]),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert "KinesisStreamAsSource" in caught.value.response["Error"]["Message"]


def _template() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "ErrorLogs": {"Type": "AWS::Logs::LogGroup"},
            "ErrorLogStream": {
                "Type": "AWS::Logs::LogStream",
                "Properties": {"LogGroupName": {"Ref": "ErrorLogs"}},
            },
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": "2"}},
            "OnDemandStream": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
            },
            "Delivery": {
                "Type": "AWS::KinesisFirehose::DeliveryStream",
                "Properties": {
                    "DeliveryStreamType": "KinesisStreamAsSource",
                    "KinesisStreamSourceConfiguration": {
                        "KinesisStreamARN": {"Fn::GetAtt": ["Stream", "Arn"]},
                        "RoleARN": ROLE_ARN,
                    },
                    "ExtendedS3DestinationConfiguration": {
                        "BucketARN": {"Fn::GetAtt": ["Bucket", "Arn"]},
                        "RoleARN": ROLE_ARN,
                        "Prefix": "events/!{timestamp:yyyy}/",
                        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                        "BufferingHints": {"SizeInMBs": "1", "IntervalInSeconds": "0"},
                        "CloudWatchLoggingOptions": {
                            "Enabled": True,
                            "LogGroupName": {"Ref": "ErrorLogs"},
                            "LogStreamName": {"Ref": "ErrorLogStream"},
                        },
                    },
                },
            },
        },
        "Outputs": {
            "BucketName": {"Value": {"Ref": "Bucket"}},
            "StreamName": {"Value": {"Ref": "Stream"}},
            "OnDemandStreamName": {"Value": {"Ref": "OnDemandStream"}},
            "DeliveryName": {"Value": {"Ref": "Delivery"}},
            "DeliveryArn": {"Value": {"Fn::GetAtt": ["Delivery", "Arn"]}},
            "LogGroup": {"Value": {"Ref": "ErrorLogs"}},
            "LogStream": {"Value": {"Ref": "ErrorLogStream"}},
        },
    }


def test_template_with_stream_delivery_stream_and_bucket_deploys_and_delivers(
    aws: Callable[..., Any],
) -> None:
    """AWS rules (CloudFormation AWS::Kinesis::Stream, AWS::KinesisFirehose::DeliveryStream,
    AWS::Logs::LogStream): ShardCount sets the shard count, StreamModeDetails ON_DEMAND makes
    an on-demand stream, Ref of a delivery stream is its name and Fn::GetAtt Arn its ARN, Ref
    of a log stream is its (generated) name in LogGroupName; the deployed pipeline delivers
    what is put into the stream, and deleting the stack deletes the streams."""
    cfn, kinesis, s3, firehose = aws("cloudformation"), aws("kinesis"), aws("s3"), aws("firehose")
    logs = aws("logs")
    stack_name = f"firehose-{uuid.uuid4().hex[:10]}"
    stack = create(cfn, stack_name, _template())
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    out = outputs(stack)
    try:
        assert len(kinesis.list_shards(StreamName=out["StreamName"])["Shards"]) == 2
        summary = kinesis.describe_stream_summary(StreamName=out["OnDemandStreamName"])
        assert summary["StreamDescriptionSummary"]["StreamModeDetails"] == {
            "StreamMode": "ON_DEMAND"
        }
        description = firehose.describe_delivery_stream(DeliveryStreamName=out["DeliveryName"])
        assert description["DeliveryStreamDescription"]["DeliveryStreamARN"] == out["DeliveryArn"]
        assert description["DeliveryStreamDescription"]["DeliveryStreamType"] == (
            "KinesisStreamAsSource"
        )
        log_streams = logs.describe_log_streams(logGroupName=out["LogGroup"])["logStreams"]
        assert [stream["logStreamName"] for stream in log_streams] == [out["LogStream"]]
        assert out["LogStream"].startswith(f"{stack_name}-ErrorLogStream-")
        for n in range(10):
            kinesis.put_record(
                StreamName=out["StreamName"], Data=f"{n};".encode(), PartitionKey=f"k{n}"
            )
        body = wait_for(
            lambda: (
                (data := b"".join(o["Body"] for o in objects(s3, out["BucketName"])))
                and data.count(b";") >= 10
                and data
            ),
            timeout=15,
            description="stack pipeline delivery",
        )
        assert sorted(body.decode().strip(";").split(";"), key=int) == [str(n) for n in range(10)]
        assert all(o["Key"].startswith("events/") for o in objects(s3, out["BucketName"]))
    finally:
        for item in s3.list_objects_v2(Bucket=out["BucketName"]).get("Contents", []):
            s3.delete_object(Bucket=out["BucketName"], Key=item["Key"])
        delete(cfn, stack_name)
    with pytest.raises(ClientError):
        firehose.describe_delivery_stream(DeliveryStreamName=out["DeliveryName"])
    with pytest.raises(ClientError):
        kinesis.describe_stream_summary(StreamName=out["StreamName"])
    with pytest.raises(ClientError):
        logs.describe_log_streams(logGroupName=out["LogGroup"])

"""Firehose data transformation by a Lambda function, and the error output prefix."""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_firehose_helpers")
from _firehose_helpers import objects  # noqa: E402 (after the path and rewrite setup)

pytest_plugins = ["_firehose_helpers"]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Upper-cases each record and adds a newline; "drop" records are Dropped, "fail" records
# ProcessingFailed. It also writes what it was given into the output, so tests can read it.
TRANSFORM = """
import base64, json

def handler(event, context):
    out = []
    for record in event["records"]:
        text = base64.b64decode(record["data"]).decode()
        if text == "drop":
            out.append({"recordId": record["recordId"], "result": "Dropped", "data": ""})
            continue
        if text == "fail":
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed",
                        "data": record["data"]})
            continue
        line = json.dumps({
            "text": text.upper(),
            "stream": event["deliveryStreamArn"],
            "region": event["region"],
            "source": event.get("sourceKinesisStreamArn"),
            "kinesis": record.get("kinesisRecordMetadata"),
            "arrival": record["approximateArrivalTimestamp"],
            "invocation": event["invocationId"],
        }) + "\\n"
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(line.encode()).decode()})
    return {"records": out}
"""

FAILING = """
def handler(event, context):
    raise RuntimeError("transformation exploded")
"""

FORGETFUL = """
def handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                        for r in event["records"][1:]]}
"""


def lambda_processor(
    aws: Callable[..., Any], function_name: str, **parameters: str
) -> dict[str, Any]:
    arn = aws("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": arn},
                    *(
                        {"ParameterName": key, "ParameterValue": value}
                        for key, value in parameters.items()
                    ),
                ],
            }
        ],
    }


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


def _split(delivered: list[dict[str, Any]], error_prefix: str) -> tuple[list[Any], list[Any]]:
    errors = [o for o in delivered if o["Key"].startswith(error_prefix)]
    data = [o for o in delivered if not o["Key"].startswith(error_prefix)]
    return data, errors


def test_lambda_transforms_drops_and_fails_records_and_failures_go_to_the_error_prefix(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    make_function: Callable[..., str],
) -> None:
    """AWS rules (Firehose data transformation): the function gets the buffered records
    (recordId, approximateArrivalTimestamp in ms, base64 data) with the delivery stream's ARN
    and region; Ok records are delivered as the function returned them, Dropped ones not at
    all, and ProcessingFailed ones are written under ErrorOutputPrefix, where
    !{firehose:error-output-type} is processing-failed, as JSON documents with attemptsMade,
    arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData and lambdaArn."""
    firehose, s3 = aws("firehose"), aws("s3")
    function = make_function(TRANSFORM)
    name = make_delivery_stream(
        bucket,
        Prefix="ok/!{timestamp:yyyy}/",
        ErrorOutputPrefix="failed/!{firehose:error-output-type}/!{timestamp:yyyy}/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
        ProcessingConfiguration=lambda_processor(aws, function, BufferIntervalInSeconds="0"),
    )
    stream_arn = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]["DeliveryStreamARN"]
    firehose.put_record_batch(
        DeliveryStreamName=name,
        Records=[{"Data": text.encode()} for text in ("one", "drop", "fail", "two")],
    )

    delivered = wait_for(
        lambda: (found := objects(s3, bucket)) and len(found) >= 2 and found,
        timeout=30,
        description="transformed and failed objects",
    )
    data, errors = _split(delivered, "failed/")
    year = r"\d{4}"
    assert len(data) == 1
    assert re.fullmatch(rf"ok/{year}/{name}-1-[\d-]{{19}}-{UUID}", data[0]["Key"])
    lines = _lines(data[0]["Body"])
    assert [line["text"] for line in lines] == ["ONE", "TWO"]
    assert {line["stream"] for line in lines} == {stream_arn}
    assert {line["region"] for line in lines} == {"us-east-1"}
    assert all(line["source"] is None and line["kinesis"] is None for line in lines)
    assert all(isinstance(line["arrival"], int) and line["arrival"] > 1e12 for line in lines)

    assert len(errors) == 1
    assert re.fullmatch(
        rf"failed/processing-failed/{year}/{name}-1-[\d-]{{19}}-{UUID}", errors[0]["Key"]
    )
    [failure] = _lines(errors[0]["Body"])
    assert base64.b64decode(failure["rawData"]) == b"fail"
    assert failure["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert failure["attemptsMade"] == 1
    assert failure["lambdaArn"].endswith(f":function:{function}")
    assert failure["attemptEndingTimestamp"] >= failure["arrivalTimestamp"] > 1e12
    assert failure["errorMessage"]


def test_the_function_gets_batches_of_at_most_the_processor_buffer_size(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    make_function: Callable[..., str],
) -> None:
    """AWS rule (data transformation flow): Firehose buffers incoming data up to the Lambda
    processor's BufferSizeInMBs (or its BufferIntervalInSeconds) and invokes the function with
    each buffered batch: 3 records of 100 KiB with a 0.2 MB buffer make two invocations."""
    firehose, s3 = aws("firehose"), aws("s3")
    function = make_function(TRANSFORM, timeout=10)
    name = make_delivery_stream(
        bucket,
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
        ProcessingConfiguration=lambda_processor(aws, function, BufferSizeInMBs="0.2"),
    )
    firehose.put_record_batch(
        DeliveryStreamName=name,
        Records=[{"Data": letter * 102400} for letter in (b"a", b"b", b"c")],
    )

    delivered = wait_for(lambda: objects(s3, bucket), timeout=30, description="delivery")
    lines = [line for o in delivered for line in _lines(o["Body"])]
    assert [line["text"][:1] for line in lines] == ["A", "B", "C"]
    invocations = [line["invocation"] for line in lines]
    assert invocations[0] == invocations[1] != invocations[2]


def test_a_failing_function_is_retried_then_its_records_go_to_the_processing_failed_folder(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    make_function: Callable[..., str],
) -> None:
    """AWS rules (handle failure in data transformation): a failed invocation is retried
    NumberOfRetries times, then the batch is skipped and each record written as an error
    document (attemptsMade = 1 + retries, the function's error message); with no
    ErrorOutputPrefix they go to the bucket's processing-failed folder (yyyy/MM/dd/HH/ under
    it, as for any prefix without expressions)."""
    firehose, s3 = aws("firehose"), aws("s3")
    function = make_function(FAILING)
    name = make_delivery_stream(
        bucket,
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
        ProcessingConfiguration=lambda_processor(
            aws, function, NumberOfRetries="2", BufferIntervalInSeconds="0"
        ),
    )
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a"}, {"Data": b"b"}])

    delivered = wait_for(lambda: objects(s3, bucket), timeout=60, description="error object")
    assert len(delivered) == 1
    assert re.fullmatch(
        rf"processing-failed/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/{name}-1-[\d-]{{19}}-{UUID}",
        delivered[0]["Key"],
    )
    failures = _lines(delivered[0]["Body"])
    assert [base64.b64decode(f["rawData"]) for f in failures] == [b"a", b"b"]
    assert {f["attemptsMade"] for f in failures} == {3}
    assert {f["errorCode"] for f in failures} == {"Lambda.FunctionError"}
    assert all("transformation exploded" in f["errorMessage"] for f in failures)


def test_an_answer_missing_a_record_id_fails_the_whole_batch(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    make_function: Callable[..., str],
) -> None:
    """AWS rule (required parameters for data transformation): every record id given to the
    function must come back; a mismatch is a transformation failure of the batch."""
    firehose, s3 = aws("firehose"), aws("s3")
    function = make_function(FORGETFUL)
    name = make_delivery_stream(
        bucket,
        ErrorOutputPrefix="errors/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
        ProcessingConfiguration=lambda_processor(
            aws, function, NumberOfRetries="0", BufferIntervalInSeconds="0"
        ),
    )
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}, {"Data": b"y"}])

    delivered = wait_for(lambda: objects(s3, bucket), timeout=30, description="error object")
    assert [o["Key"].split("/")[:2] for o in delivered] == [["errors", "processing-failed"]]
    failures = _lines(delivered[0]["Body"])
    assert [base64.b64decode(f["rawData"]) for f in failures] == [b"x", b"y"]
    assert {f["errorCode"] for f in failures} == {"Lambda.MissingRecordId"}
    assert {f["attemptsMade"] for f in failures} == {1}


@pytest.fixture
def source_stream(aws: Callable[..., Any]) -> Iterator[str]:
    kinesis = aws("kinesis")
    name = f"processed-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    yield str(
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    )
    kinesis.delete_stream(StreamName=name)


def test_records_from_a_kinesis_source_carry_their_kinesis_metadata(
    aws: Callable[..., Any],
    bucket: str,
    source_stream: str,
    make_delivery_stream: Callable[..., str],
    make_function: Callable[..., str],
) -> None:
    """AWS rule (data transformation with Kinesis Data Streams as the source): the event also
    names sourceKinesisStreamArn, and each record carries kinesisRecordMetadata (shardId,
    partitionKey, approximateArrivalTimestamp, sequenceNumber)."""
    kinesis, s3 = aws("kinesis"), aws("s3")
    function = make_function(TRANSFORM)
    make_delivery_stream(
        bucket,
        source_arn=source_stream,
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
        ProcessingConfiguration=lambda_processor(aws, function, BufferIntervalInSeconds="0"),
    )
    put = kinesis.put_record(StreamARN=source_stream, Data=b"hello", PartitionKey="device-7")

    delivered = wait_for(lambda: objects(s3, bucket), timeout=30, description="delivery")
    [line] = _lines(delivered[0]["Body"])
    assert line["text"] == "HELLO"
    assert line["source"] == source_stream
    assert line["kinesis"]["shardId"] == put["ShardId"]
    assert line["kinesis"]["sequenceNumber"] == put["SequenceNumber"]
    assert line["kinesis"]["partitionKey"] == "device-7"
    assert line["kinesis"]["approximateArrivalTimestamp"] > 1e12


@pytest.mark.parametrize(
    ("processing", "reason"),
    [
        (
            {"Enabled": True, "Processors": [{"Type": "MetadataExtraction", "Parameters": []}]},
            "MetadataExtraction is not supported by the local cloud",
        ),
        (
            {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": []}]},
            "needs a LambdaArn",
        ),
    ],
)
def test_processors_the_local_cloud_cannot_run_are_refused(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    processing: dict[str, Any],
    reason: str,
) -> None:
    """AWS rule (CreateDeliveryStream): a Lambda processor needs its LambdaArn parameter. Other
    processor types, which the local cloud does not run, are refused by name instead of being
    silently skipped."""
    with pytest.raises(ClientError) as caught:
        make_delivery_stream(bucket, ProcessingConfiguration=processing)
    assert caught.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert reason in caught.value.response["Error"]["Message"]

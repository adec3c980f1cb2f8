"""Event source mappings as resources: API checks, states, updates, deletion, CloudFormation
and SAM, and the shutdown of their pollers."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

from localcloud.awslambda.event_sources import current_manager
from localcloud.awslambda.event_sources.moto_patch import PATCHES

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_event_source_helpers")
from _cfn_helpers import create, delete, outputs, unique, update, upload_zip  # noqa: E402
from _event_source_helpers import (  # noqa: E402 (after the path and rewrite setup)
    RECORDER,
    mapping_state,
    queue_counts,
    wait_for_state,
    wait_until_empty,
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


def poller_of(mapping_id):
    manager = current_manager()
    assert manager is not None
    return manager.poller(mapping_id)


def test_moto_patches_keep_the_signatures_they_replace(local_cloud):
    """Each replaced moto method is installed and keeps the parameters of moto's original,
    so moto's callers (its responses, its CloudFormation model) still reach it."""
    assert set(PATCHES) == {
        "LambdaBackend.create_event_source_mapping",
        "LambdaBackend.update_event_source_mapping",
        "LambdaBackend.delete_event_source_mapping",
        "EventSourceMapping.get_configuration",
    }
    for label, (owner, original, replacement) in PATCHES.items():
        assert inspect.getattr_static(owner, label.split(".")[1]) is replacement, label
        assert list(inspect.signature(original).parameters) == list(
            inspect.signature(replacement).parameters
        ), label


def test_states_follow_enable_disable_and_delete(
    aws, make_function, make_queue, make_mapping, recorder
):
    """A mapping is Creating then Enabled; disabling it (Disabling, then Disabled) stops the
    polling, enabling it resumes, and DeleteEventSourceMapping answers Deleting and stops the
    poller for good."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    lam = aws("lambda")

    created = make_mapping(EventSourceArn=arn, FunctionName=name)
    assert created["State"] in ("Creating", "Enabled")
    wait_for_state(aws, created["UUID"], "Enabled")

    disabled = lam.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    assert disabled["State"] in ("Disabling", "Disabled")
    wait_for_state(aws, created["UUID"], "Disabled")
    poller = poller_of(created["UUID"])
    assert poller.join(time.monotonic())  # no polling thread left
    aws("sqs").send_message(QueueUrl=url, MessageBody="while disabled")
    assert queue_counts(aws, url) == (1, 0)

    enabled = lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    assert enabled["State"] in ("Enabling", "Enabled")
    wait_for_state(aws, created["UUID"], "Enabled")
    records = recorder.wait_for_records(lambda found: len(found) >= 1)
    assert [r["body"] for r in records] == ["while disabled"]

    deleted = lam.delete_event_source_mapping(UUID=created["UUID"])
    assert deleted["State"] == "Deleting"
    wait_for(lambda: poller.join(time.monotonic()), timeout=10, description="poller stopped")
    assert poller_of(created["UUID"]) is None
    with pytest.raises(ClientError) as raised:
        lam.get_event_source_mapping(UUID=created["UUID"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    aws("sqs").send_message(QueueUrl=url, MessageBody="after deletion")
    assert queue_counts(aws, url) == (1, 0)


def test_updates_take_effect_on_the_next_batch(
    aws, make_function, make_queue, make_mapping, recorder
):
    """UpdateEventSourceMapping changes apply to the batches that follow: a new BatchSize
    and Enabled take effect without recreating the mapping."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    created = make_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1, Enabled=False)
    assert mapping_state(aws, created["UUID"]) == "Disabled"
    aws("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(6)]
    )

    updated = aws("lambda").update_event_source_mapping(
        UUID=created["UUID"], BatchSize=6, Enabled=True
    )

    assert updated["BatchSize"] == 6
    (invocation,) = recorder.wait_for_invocations(1)
    assert len(invocation["event"]["Records"]) == 6
    wait_until_empty(aws, url)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("batch-above-10-without-window", "InvalidParameterValueException"),
        ("fifo-with-window", "InvalidParameterValueException"),
        ("fifo-batch-above-10", "InvalidParameterValueException"),
        ("concurrency-above-1000", "ValidationException"),
        ("invalid-filter", "InvalidParameterValueException"),
        ("visibility-below-timeout", "InvalidParameterValueException"),
        ("stream-retries-above-10000", "InvalidParameterValueException"),
        ("stream-age-below-60", "InvalidParameterValueException"),
    ],
)
def test_create_refuses_what_lambda_refuses(aws, make_function, make_queue, case, code):
    """CreateEventSourceMapping enforces Lambda's rules: BatchSize above 10 on a standard
    queue needs a batching window; a FIFO queue takes at most 10 and no window;
    MaximumConcurrency is 2-1000; filter patterns must be valid; the queue's visibility
    timeout must cover the function timeout; MaximumRetryAttempts is -1..10000 and
    MaximumRecordAgeInSeconds -1 or 60..604800."""
    name = make_function(RECORDING, environment={"RECORD_DIR": "/nonexistent"}, timeout=5)
    _, standard = make_queue()
    _, fifo = make_queue(fifo=True)
    stream = f"esm-{uuid.uuid4().hex[:12]}"
    aws("kinesis").create_stream(StreamName=stream, ShardCount=1)
    stream_arn = aws("kinesis").describe_stream(StreamName=stream)["StreamDescription"]["StreamARN"]
    arguments = {
        "batch-above-10-without-window": {"EventSourceArn": standard, "BatchSize": 11},
        "fifo-with-window": {"EventSourceArn": fifo, "MaximumBatchingWindowInSeconds": 1},
        "fifo-batch-above-10": {"EventSourceArn": fifo, "BatchSize": 11},
        "concurrency-above-1000": {
            "EventSourceArn": standard,
            "ScalingConfig": {"MaximumConcurrency": 1001},
        },
        "invalid-filter": {
            "EventSourceArn": standard,
            "FilterCriteria": {"Filters": [{"Pattern": '{"body": "not-a-list"}'}]},
        },
        "visibility-below-timeout": {"EventSourceArn": make_queue(VisibilityTimeout=2)[1]},
        "stream-retries-above-10000": {
            "EventSourceArn": stream_arn,
            "StartingPosition": "LATEST",
            "MaximumRetryAttempts": 10001,
        },
        "stream-age-below-60": {
            "EventSourceArn": stream_arn,
            "StartingPosition": "LATEST",
            "MaximumRecordAgeInSeconds": 30,
        },
    }[case]
    try:
        with pytest.raises(ClientError) as raised:
            aws("lambda").create_event_source_mapping(FunctionName=name, **arguments)
        assert raised.value.response["Error"]["Code"] == code
        assert (
            aws("lambda").list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []
        )
    finally:
        aws("kinesis").delete_stream(StreamName=stream)


def test_one_mapping_per_source_and_function(aws, make_function, make_queue, make_mapping):
    """A second mapping between the same source and function is refused with
    ResourceConflictException naming the existing one."""
    name = make_function(RECORDING, environment={"RECORD_DIR": "/nonexistent"})
    _, arn = make_queue()
    first = make_mapping(EventSourceArn=arn, FunctionName=name)

    with pytest.raises(ClientError) as raised:
        aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=name)

    assert raised.value.response["Error"]["Code"] == "ResourceConflictException"
    assert first["UUID"] in raised.value.response["Error"]["Message"]


def sam_template(code, record_dir):
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"KinesisEnabled": {"Type": "String", "Default": "false"}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
            "FailureQueue": {"Type": "AWS::SQS::Queue"},
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                },
            },
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Environment": {"Variables": {"RECORD_DIR": record_dir}},
                    "Events": {
                        "FromQueue": {
                            "Type": "SQS",
                            "Properties": {
                                "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                                "BatchSize": 20,
                                "MaximumBatchingWindowInSeconds": 1,
                                "ScalingConfig": {"MaximumConcurrency": 2},
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                "FilterCriteria": {
                                    "Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]
                                },
                            },
                        },
                        "FromTable": {
                            "Type": "DynamoDB",
                            "Properties": {
                                "Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
                                "StartingPosition": "TRIM_HORIZON",
                                "BatchSize": 5,
                                "BisectBatchOnFunctionError": True,
                                "MaximumRetryAttempts": 2,
                                "MaximumRecordAgeInSeconds": 60,
                                "DestinationConfig": {
                                    "OnFailure": {
                                        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}
                                    }
                                },
                            },
                        },
                        "FromStream": {
                            "Type": "Kinesis",
                            "Properties": {
                                "Stream": {"Fn::GetAtt": ["Stream", "Arn"]},
                                "StartingPosition": "LATEST",
                                "BatchSize": 7,
                                "Enabled": {"Ref": "KinesisEnabled"},
                            },
                        },
                    },
                },
            },
        },
        "Outputs": {
            "FunctionName": {"Value": {"Ref": "Fn"}},
            "QueueUrl": {"Value": {"Ref": "Queue"}},
            "QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
            "FailureQueueArn": {"Value": {"Fn::GetAtt": ["FailureQueue", "Arn"]}},
            "TableName": {"Value": {"Ref": "Table"}},
            "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}},
        },
    }


def test_sam_events_create_mappings_that_keep_their_properties_and_poll(aws, recorder):
    """SAM's SQS, DynamoDB and Kinesis events become AWS::Lambda::EventSourceMapping
    resources with every property (ScalingConfig, FilterCriteria, FunctionResponseTypes,
    batching window, bisect, retries, record age, on-failure destination, Enabled from a
    parameter); they poll as soon as the stack exists, follow stack updates, and go away
    with the stack."""
    cfn = aws("cloudformation")
    stack_name = unique("esm-sam")
    code = upload_zip(aws, {"app.py": textwrap.dedent(RECORDING)})
    template = sam_template(code, str(recorder.directory))
    try:
        stack = create(cfn, stack_name, template)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        out = outputs(stack)
        lam = aws("lambda")
        mappings = {
            m["EventSourceArn"]: m
            for m in lam.list_event_source_mappings(FunctionName=out["FunctionName"])[
                "EventSourceMappings"
            ]
        }
        sqs_mapping = mappings[out["QueueArn"]]
        assert sqs_mapping["BatchSize"] == 20
        assert sqs_mapping["MaximumBatchingWindowInSeconds"] == 1
        assert sqs_mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
        assert sqs_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert sqs_mapping["FilterCriteria"] == {
            "Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]
        }
        table_mapping = next(m for arn, m in mappings.items() if ":dynamodb:" in arn)
        assert table_mapping["StartingPosition"] == "TRIM_HORIZON"
        assert table_mapping["BatchSize"] == 5
        assert table_mapping["BisectBatchOnFunctionError"] is True
        assert table_mapping["MaximumRetryAttempts"] == 2
        assert table_mapping["MaximumRecordAgeInSeconds"] == 60
        assert table_mapping["DestinationConfig"] == {
            "OnFailure": {"Destination": out["FailureQueueArn"]}
        }
        stream_mapping = mappings[out["StreamArn"]]
        assert stream_mapping["StartingPosition"] == "LATEST"
        assert stream_mapping["BatchSize"] == 7
        wait_for_state(aws, stream_mapping["UUID"], "Disabled")

        aws("sqs").send_message(QueueUrl=out["QueueUrl"], MessageBody='{"kind": "order"}')
        aws("dynamodb").put_item(TableName=out["TableName"], Item={"pk": {"S": "from-table"}})
        records = recorder.wait_for_records(lambda found: len(found) >= 2)
        assert {r["eventSource"] for r in records} == {"aws:sqs", "aws:dynamodb"}

        updated = update(cfn, stack_name, template, KinesisEnabled="true")
        assert updated["StackStatus"] == "UPDATE_COMPLETE", updated.get("StackStatusReason")
        wait_for_state(aws, stream_mapping["UUID"], "Enabled")
        pollers = [poller_of(m["UUID"]) for m in mappings.values()]
    finally:
        delete(cfn, stack_name)

    for mapping in mappings.values():
        with pytest.raises(ClientError):
            aws("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    for poller in pollers:
        wait_for(lambda p=poller: p.join(time.monotonic()), timeout=10, description="stopped")


_SHUTDOWN_SCRIPT = r"""
import io, json, sys, threading, time, zipfile
from pathlib import Path

import boto3

from localcloud.server import LocalCloud

cloud = LocalCloud(state_dir=Path(sys.argv[1]))
cloud.start()
session = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
client = lambda name: session.client(name, endpoint_url=cloud.endpoint_url)
role = client("iam").create_role(RoleName="esm-stop", AssumeRolePolicyDocument="{}")["Role"]
package = io.BytesIO()
with zipfile.ZipFile(package, "w") as archive:
    archive.writestr("app.py", "import time\ndef handler(event, context):\n    time.sleep(0.2)\n")
client("lambda").create_function(
    FunctionName="consumer", Runtime="python3.13", Role=role["Arn"], Handler="app.handler",
    Code={"ZipFile": package.getvalue()},
)
url = client("sqs").create_queue(QueueName="work")["QueueUrl"]
queue_arn = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
client("kinesis").create_stream(StreamName="events", ShardCount=2)
stream = client("kinesis").describe_stream(StreamName="events")["StreamDescription"]
stream_arn = stream["StreamARN"]
for arn in (queue_arn["Attributes"]["QueueArn"], stream_arn):
    client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="consumer", StartingPosition="TRIM_HORIZON"
    )
for n in range(20):
    client("sqs").send_message(QueueUrl=url, MessageBody=str(n))
client("kinesis").put_record(StreamName="events", Data=b"{}", PartitionKey="p")
deadline = time.monotonic() + 30
while time.monotonic() < deadline:  # stop while batches are in flight
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    if int(attributes["ApproximateNumberOfMessagesNotVisible"]):
        break
started = time.monotonic()
cloud.stop()
print(json.dumps({
    "threads": [t.name for t in threading.enumerate()],
    "stop_seconds": time.monotonic() - started,
}), flush=True)
"""


def test_stop_leaves_no_poller_thread(tmp_path):
    """LocalCloud.stop() ends every poller thread, even with batches in flight.

    Run in a separate process: a second local cloud must not share this session's moto.
    """
    finished = subprocess.run(
        [sys.executable, "-c", _SHUTDOWN_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert [name for name in report["threads"] if name.startswith("esm-")] == []

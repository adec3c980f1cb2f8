"""`make redrive` (tools/redrive.py): failures go back where they came from, nothing is lost.

The replay logic runs in process against moto's SQS with a fake Lambda client (which
records the invokes); the command itself runs end to end against a local cloud, the way
`make redrive` runs it beside `make up`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from common_layer.failures import dlq_envelope
from moto import mock_aws
from stack_testing import wait_for

from localcloud.process import LocalCloudProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "redrive.py"
TARGET = "orders-worker"
ACCOUNT = "123456789012"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("redrive_tool", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


redrive = _load_tool()


def failure_record(
    payload: Any,
    *,
    function: str = TARGET,
    timestamp: str | None = None,
    condition: str = "RetriesExhausted",
) -> dict[str, Any]:
    """An invocation record as Lambda sends it to an on-failure destination (by default,
    written a minute ago)."""
    if timestamp is None:
        timestamp = _iso(datetime.now(UTC) - timedelta(minutes=1))
    return {
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError"},
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeLambda:
    """Records Event invokes; ``refuse`` maps a payload's ``id`` to an error or a status."""

    def __init__(self, refuse: dict[str, int | Exception] | None = None) -> None:
        self.invokes: list[dict[str, Any]] = []
        self.refuse = refuse or {}

    def invoke(self, **request: Any) -> dict[str, Any]:
        payload = json.loads(request["Payload"])
        outcome = self.refuse.get(payload.get("id") if isinstance(payload, dict) else None)
        if isinstance(outcome, Exception):
            raise outcome
        self.invokes.append({**request, "Payload": payload})
        return {"StatusCode": outcome or 202}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def sqs(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs")


@pytest.fixture
def queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"failures-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def _put(sqs: Any, queue_url: str, *bodies: Any) -> None:
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        sqs.send_message(QueueUrl=queue_url, MessageBody=text)


def _depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def _visible_bodies(sqs: Any, queue_url: str) -> list[Any]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [json.loads(m["Body"]) if m["Body"].startswith("{") else m["Body"] for m in messages]


# --- replaying asynchronous-invocation failures --------------------------------------------


def test_each_record_is_replayed_as_an_event_invoke_of_its_request_payload(sqs, queue):
    """AWS: the on-failure record's requestPayload is the original event; invoking the
    function again with it (InvocationType Event) is the replay."""
    payloads = [{"id": "a", "n": 1}, {"id": "b", "nested": {"x": [1, 2]}}, "plain text"]
    _put(sqs, queue, *(failure_record(p) for p in payloads))
    lambda_client = FakeLambda()

    report = redrive.replay_async_failures(sqs, lambda_client, queue, TARGET, wait_seconds=0)

    assert report.replayed == 3
    assert report.left == []
    assert sorted(json.dumps(i["Payload"]) for i in lambda_client.invokes) == sorted(
        json.dumps(p) for p in payloads
    )
    assert {(i["FunctionName"], i["InvocationType"]) for i in lambda_client.invokes} == {
        (TARGET, "Event")
    }
    assert _depth(sqs, queue) == (0, 0)


def test_a_target_given_as_an_arn_matches_records_of_that_function(sqs, queue):
    _put(sqs, queue, failure_record({"id": "a"}))

    report = redrive.replay_async_failures(
        sqs,
        FakeLambda(),
        queue,
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{TARGET}",
        wait_seconds=0,
    )

    assert report.replayed == 1


@pytest.mark.parametrize(
    "refusal",
    [
        ClientError({"Error": {"Code": "ServiceException", "Message": "down"}}, "Invoke"),
        500,
    ],
)
def test_a_message_is_deleted_only_after_lambda_accepted_the_invoke(sqs, queue, refusal):
    _put(sqs, queue, failure_record({"id": "ok"}), failure_record({"id": "refused"}))
    lambda_client = FakeLambda(refuse={"refused": refusal})

    report = redrive.replay_async_failures(sqs, lambda_client, queue, TARGET, wait_seconds=0)

    assert report.replayed == 1
    assert len(report.left) == 1
    assert "invoke" in report.left[0]
    # Still there, and visible again at once for the next run.
    (left,) = _visible_bodies(sqs, queue)
    assert left["requestPayload"] == {"id": "refused"}


def test_what_is_not_a_record_of_the_target_stays_in_the_queue(sqs, queue):
    _put(
        sqs,
        queue,
        "not json at all",
        {"some": "other message"},
        failure_record({"id": "x"}, function="another-function"),
    )
    lambda_client = FakeLambda()

    report = redrive.replay_async_failures(sqs, lambda_client, queue, TARGET, wait_seconds=0)

    assert report.replayed == 0
    assert lambda_client.invokes == []
    reasons = " | ".join(report.left)
    assert reasons.count("not a Lambda invocation record") == 2
    assert "another-function" in reasons
    assert len(_visible_bodies(sqs, queue)) == 3


def test_a_record_written_after_the_run_started_waits_for_the_next_run(sqs, queue):
    """A replay that fails again comes back to the queue while the tool may still run (at
    once on the local cloud): replaying it again in the same run would loop."""
    started = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    before = _iso(started - timedelta(minutes=5))
    after = _iso(started + timedelta(seconds=3))
    _put(sqs, queue, failure_record({"id": "old"}, timestamp=before))
    _put(sqs, queue, failure_record({"id": "new"}, timestamp=after))
    lambda_client = FakeLambda()

    report = redrive.replay_async_failures(
        sqs, lambda_client, queue, TARGET, wait_seconds=0, started_at=started
    )

    assert [i["Payload"] for i in lambda_client.invokes] == [{"id": "old"}]
    assert "failed again" in report.left[0]


def test_a_dry_run_lists_the_records_and_changes_nothing(sqs, queue):
    _put(sqs, queue, failure_record({"id": "a"}), failure_record({"id": "b"}))
    lambda_client = FakeLambda()

    report = redrive.replay_async_failures(
        sqs, lambda_client, queue, TARGET, wait_seconds=0, dry_run=True
    )

    assert report.replayed == 0
    assert len(report.would_replay) == 2
    assert all("RetriesExhausted" in line for line in report.would_replay)
    assert lambda_client.invokes == []
    assert len(_visible_bodies(sqs, queue)) == 2


def test_max_messages_bounds_a_run(sqs, queue):
    _put(sqs, queue, *(failure_record({"id": str(n)}) for n in range(5)))

    report = redrive.replay_async_failures(
        sqs, FakeLambda(), queue, TARGET, wait_seconds=0, max_messages=2
    )

    assert report.replayed == 2
    assert _depth(sqs, queue)[0] == 3


# --- moving dead letters back to a source queue ---------------------------------------------


def test_a_source_queue_target_gets_the_original_bodies_back(sqs, queue):
    """The layer's DLQ envelope is unwrapped: the source gets the body it first had."""
    source = sqs.create_queue(QueueName=f"source-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    _put(sqs, queue, dlq_envelope({"order": 1}, "boom", attempt=3), "raw body")

    report = redrive.replay_to_queue(sqs, queue, source)

    assert report.replayed == 2
    assert _depth(sqs, queue) == (0, 0)
    moved = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in moved) == sorted([json.dumps({"order": 1}), "raw body"])


# --- finding the app and the stack ----------------------------------------------------------


def test_the_stack_name_comes_from_the_root_samconfig() -> None:
    app = redrive.app_dir("internal-handoff")

    assert app == REPO_ROOT / "apps" / "internal-handoff"
    assert redrive.default_stack_name(app) == "internal-handoff"


def test_an_ejected_app_names_its_stack_in_its_own_samconfig(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "my-payments"\n'
    )

    assert redrive.default_stack_name(redrive.app_dir(str(tmp_path))) == "my-payments"


def test_an_unknown_app_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert redrive.main(["no-such-app"]) == 2
    assert "no app 'no-such-app'" in capsys.readouterr().err


def _outputs_stack(outputs: dict[str, Any]) -> str:
    name = f"redrive-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Failures": {"Type": "AWS::SQS::Queue"},
            "Source": {"Type": "AWS::SQS::Queue"},
        },
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def test_a_stack_without_the_outputs_is_a_usage_error_naming_them(sqs, capsys):
    name = _outputs_stack({"QueueUrl": {"Ref": "Failures"}})

    assert redrive.main(["internal-handoff", "--stack-name", name]) == 2
    error = capsys.readouterr().err
    assert "RedriveQueueUrl" in error
    assert "RedriveTargetFunctionName" in error
    assert "QueueUrl" in error


def test_a_missing_stack_is_a_usage_error(sqs, capsys):
    assert redrive.main(["internal-handoff", "--stack-name", "nope"]) == 2
    assert "stack 'nope' does not exist" in capsys.readouterr().err


def test_the_command_replays_a_dlq_to_the_source_the_outputs_name(sqs, capsys):
    name = _outputs_stack(
        {"RedriveQueueUrl": {"Ref": "Failures"}, "RedriveTargetQueueUrl": {"Ref": "Source"}}
    )
    outputs = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    urls = {o["OutputKey"]: o["OutputValue"] for o in outputs["Outputs"]}
    _put(sqs, urls["RedriveQueueUrl"], "one", "two")

    assert redrive.main(["internal-handoff", "--stack-name", name]) == 0

    assert "replayed 2 message(s)" in capsys.readouterr().out
    assert _depth(sqs, urls["RedriveTargetQueueUrl"])[0] == 2


# --- the command against a local cloud -----------------------------------------------------

SINK_HANDLER = """
import json, os
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK_QUEUE_URL"], MessageBody=json.dumps(event))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cloud = LocalCloudProcess(tmp_path_factory.mktemp("redrive-cloud"))
    try:
        yield cloud.start()
    finally:
        cloud.stop()


def _local(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_make_redrive_replays_failed_async_invocations_on_the_local_cloud(local_cloud):
    """The whole contract: outputs RedriveQueueUrl + RedriveTargetFunctionName, the endpoint
    from AWS_ENDPOINT_URL, the function invoked again with each record's payload."""
    cfn = _local(local_cloud, "cloudformation")
    stack_name = f"redrive-e2e-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Failures": {"Type": "AWS::SQS::Queue"},
            "Sink": {"Type": "AWS::SQS::Queue"},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Worker": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": SINK_HANDLER},
                    "Environment": {"Variables": {"SINK_QUEUE_URL": {"Ref": "Sink"}}},
                },
            },
        },
        "Outputs": {
            "RedriveQueueUrl": {"Value": {"Ref": "Failures"}},
            "RedriveTargetFunctionName": {"Value": {"Ref": "Worker"}},
            "SinkQueueUrl": {"Value": {"Ref": "Sink"}},
        },
    }
    cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
    stack = wait_for(
        lambda: next(
            (
                s
                for s in cfn.describe_stacks(StackName=stack_name)["Stacks"]
                if not s["StackStatus"].endswith("_IN_PROGRESS")
            ),
            None,
        ),
        description="the stack settled",
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    urls = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    sqs = _local(local_cloud, "sqs")
    payloads = [{"id": "p-1", "amount": "25.00"}, {"id": "p-2", "amount": "7.10"}]
    _put(
        sqs,
        urls["RedriveQueueUrl"],
        *(failure_record(p, function=urls["RedriveTargetFunctionName"]) for p in payloads),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": local_cloud})

    result = subprocess.run(
        [sys.executable, str(TOOL), "internal-handoff", "--stack-name", stack_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "replayed 2 message(s)" in result.stdout
    assert _depth(sqs, urls["RedriveQueueUrl"]) == (0, 0)
    received: list[Any] = []

    def both_delivered() -> bool:
        for message in sqs.receive_message(
            QueueUrl=urls["SinkQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            received.append(json.loads(message["Body"]))
        return len(received) >= 2

    wait_for(both_delivered, timeout=60, description="the worker got both payloads again")
    assert sorted(received, key=lambda p: p["id"]) == payloads

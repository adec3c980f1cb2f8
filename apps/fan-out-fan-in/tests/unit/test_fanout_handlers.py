"""The three handlers end to end on moto: API events, an SQS batch, the aggregator's event."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

Loader = Callable[[str], ModuleType]


def api_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    resource = "/jobs/{job_id}" if path.count("/") > 1 else "/jobs"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"job_id": path.rsplit("/", 1)[1]} if resource != "/jobs" else None,
        "requestContext": {"requestId": "r-1", "stage": "v1", "path": f"/v1{path}"},
        "body": body,
        "isBase64Encoded": False,
    }


def test_post_then_get_a_job(aws: Any, fresh_module: Loader, context: Any) -> None:
    api = fresh_module("fanout_jobs.handler")
    body = json.dumps({"inputs": ["uploads/a.csv"]})
    response = api.lambda_handler(api_event("POST", "/jobs", body), context)
    assert response["statusCode"] == 202
    job_id = json.loads(response["body"])["job_id"]
    assert len(aws.drain(aws.task_queue_url)) == 1
    status = api.lambda_handler(api_event("GET", f"/jobs/{job_id}"), context)
    assert status["statusCode"] == 200
    assert json.loads(status["body"])["progress"]["expected"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("POST", "/jobs", "{", 400),
        ("POST", "/jobs", json.dumps({"inputs": "uploads/a"}), 400),
        ("GET", "/jobs/not-an-id", None, 404),
        ("GET", f"/jobs/{'a' * 32}", None, 404),
    ],
)
def test_the_api_refuses_clearly(
    aws: Any,
    fresh_module: Loader,
    context: Any,
    method: str,
    path: str,
    body: str | None,
    code: int,
) -> None:
    api = fresh_module("fanout_jobs.handler")
    response = api.lambda_handler(api_event(method, path, body), context)
    assert response["statusCode"] == code
    assert json.loads(response["body"])["message"]


def sqs_event(aws: Any, bodies: list[str]) -> dict[str, Any]:
    for body in bodies:
        aws.sqs.send_message(QueueUrl=aws.task_queue_url, MessageBody=body)
    messages = aws.drain(aws.task_queue_url)
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout-tasks-unit",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def test_the_worker_counts_tasks_fans_in_and_parks_bad_ones(
    aws: Any, store: Any, fresh_module: Loader, context: Any
) -> None:
    store.create_job("j", ["uploads/a.csv", "uploads/b.csv"])
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/a.csv", Body=b"region,amount_cents\neu,7\n")
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/b.csv", Body=b"region,amount_cents\neu,x\n")
    worker = fresh_module("fanout_worker.handler")
    event = sqs_event(
        aws,
        [
            json.dumps({"job_id": "j", "task": 0, "input": "uploads/a.csv"}),
            json.dumps({"job_id": "j", "task": 1, "input": "uploads/b.csv"}),
        ],
    )
    with mock.patch.object(worker._aggregator, "trigger") as trigger:
        response = worker.lambda_handler(event, context)
    assert response == {"batchItemFailures": []}
    trigger.assert_called_once_with("j")
    job = store.get_job("j")
    assert (job.completed, job.failed) == (1, 1)
    [letter] = aws.drain(aws.dlq_url)
    envelope = json.loads(letter["Body"])
    assert envelope["payload"]["task"] == 1
    assert "'x'" in envelope["error"]["message"]


def test_the_worker_backs_off_a_transient_failure(
    aws: Any, store: Any, fresh_module: Loader, context: Any
) -> None:
    store.create_job("j", ["uploads/a.csv", "uploads/b.csv"])
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/a.csv", Body=b"region,amount_cents\neu,7\n")
    worker = fresh_module("fanout_worker.handler")
    event = sqs_event(
        aws,
        [
            json.dumps({"job_id": "j", "task": 0, "input": "uploads/a.csv"}),
            json.dumps({"job_id": "j", "task": 1, "input": "uploads/b.csv"}),
        ],
    )
    real_read = worker._reader.read

    def flaky(key: str, max_bytes: int) -> bytes:
        if key == "uploads/b.csv":
            raise ConnectionError("throttled")
        return real_read(key, max_bytes)

    with (
        mock.patch.object(worker._reader, "read", side_effect=flaky),
        mock.patch.object(worker._visibility, "delay") as delay,
    ):
        response = worker.lambda_handler(event, context)
    failed_id = event["Records"][1]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    delay.assert_called_once_with(event["Records"][1]["receiptHandle"], 2)
    assert store.get_job("j").counted == 1


def test_a_missing_input_is_rejected_by_the_s3_reader(aws: Any, fresh_module: Loader) -> None:
    from fanout_worker.adapters import S3InputReader
    from fanout_worker.tasks import TaskRejected

    reader = S3InputReader(aws.s3, aws.bucket)
    with pytest.raises(TaskRejected, match="does not exist"):
        reader.read("uploads/none.csv", 100)
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/big.csv", Body=b"x" * 101)
    with pytest.raises(TaskRejected, match="101 bytes"):
        reader.read("uploads/big.csv", 100)


def test_the_aggregator_handler_finishes_the_job(
    aws: Any, store: Any, fresh_module: Loader, context: Any
) -> None:
    from fanout_store.jobs import TaskRecord

    store.create_job("j", ["uploads/a.csv"])
    store.put_task_result(
        "j", 0, TaskRecord(task=0, state="DONE", input="uploads/a.csv", rows=1, totals={"eu": 3})
    )
    store.count_task("j", 0, "DONE")
    aggregator = fresh_module("fanout_aggregator.handler")
    result = aggregator.lambda_handler({"job_id": "j"}, context)
    assert result == {"job_id": "j", "status": "COMPLETED", "result_key": "results/j.json"}
    assert store.get_job("j").status == "COMPLETED"

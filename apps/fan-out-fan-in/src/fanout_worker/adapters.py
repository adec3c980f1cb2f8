"""The worker's AWS side: input files in S3, the aggregator's async invoke, the DLQ."""

from __future__ import annotations

import json
from typing import Any

from common_layer.failures import send_to_dlq

from fanout_worker.tasks import TaskRejected


class S3InputReader:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def read(self, key: str, max_bytes: int) -> bytes:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise TaskRejected(f"input {key!r} does not exist") from None
            raise
        if int(head["ContentLength"]) > max_bytes:
            raise TaskRejected(f"input {key!r} is {head['ContentLength']} bytes; max {max_bytes}")
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body


class LambdaAggregator:
    """Triggers the aggregator with an asynchronous invoke (Lambda retries it on error)."""

    def __init__(self, client: Any, function_name: str) -> None:
        self._client = client
        self._function = function_name

    def trigger(self, job_id: str) -> None:
        self._client.invoke(
            FunctionName=self._function,
            InvocationType="Event",
            Payload=json.dumps({"job_id": job_id}).encode(),
        )


class SqsDeadLetters:
    def __init__(self, client: Any, queue_url: str, source: str) -> None:
        self._client = client
        self._url = queue_url
        self._source = source

    def park(self, body: str, reason: str, attempt: int) -> None:
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body
        send_to_dlq(self._client, self._url, payload, reason, attempt, self._source)


class SqsVisibility:
    """Backoff for a transient failure: the message comes back after the delay."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

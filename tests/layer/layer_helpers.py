"""Helpers for the common layer's tests: fake Lambda context, sample events, subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAYER_SRC = REPO / "shared" / "layer"


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context that Powertools reads."""

    function_name: str = "orders-fn"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/orders-fn"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef"
    remaining_millis: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def rest_event(
    method: str = "GET",
    path: str = "/",
    body: str | None = None,
    *,
    request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "resourceId": "r1",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": 1795400000000,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    group_id: str | None = None,
    queue: str = "orders",
) -> dict[str, Any]:
    """One record of an SQS event, FIFO when ``group_id`` is given."""
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1795400000000",
        "SenderId": "AIDAEXAMPLE",
        "ApproximateFirstReceiveTimestamp": "1795400000001",
    }
    if group_id is not None:
        attributes |= {
            "MessageGroupId": group_id,
            "MessageDeduplicationId": str(uuid.uuid4()),
            "SequenceNumber": "18849496460467696128",
        }
        queue += ".fifo"
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF documents among printed lines."""
    blobs = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def metric_names(blob: Mapping[str, Any]) -> list[str]:
    return [
        metric["Name"]
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    ]


def python_env(**extra: str) -> dict[str, str]:
    """A clean environment for a fresh interpreter: nothing Lambda, AWS or Powertools leaks in."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    # An outer PYTHONPATH (e.g. a host-built layer for another interpreter) still applies.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LAYER_SRC), os.getenv("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(code: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (import-time decisions made anew); fail loudly."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result

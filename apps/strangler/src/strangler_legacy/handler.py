"""Stand-in legacy HTTP API behind its own REST API (``ANY /`` and ``ANY /{proxy+}``).

The handler reads the REST (v1) proxy event into a ``LegacyRequest`` and returns the
answer of ``strangler_legacy.legacy``. It uses no Powertools router on purpose: a legacy
system has its own routing, and this one must echo every request, routed or not.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import instrument

from strangler_legacy import legacy


def _request_of(event: dict[str, Any]) -> legacy.LegacyRequest:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    return legacy.LegacyRequest(
        method=str(event.get("httpMethod", "GET")),
        path=str(event.get("path") or "/"),
        query=event.get("multiValueQueryStringParameters") or {},
        body=body,
        content_type=headers.get("content-type"),
    )


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = legacy.answer(_request_of(event))
    return {
        "statusCode": result.status,
        "headers": {"Content-Type": "application/json", "X-Served-By": legacy.SERVED_BY},
        "body": json.dumps(result.body),
    }

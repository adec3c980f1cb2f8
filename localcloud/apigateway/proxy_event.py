"""The Lambda proxy event of a REST API: payload format version 1.0.

Field by field as API Gateway builds it for an ``AWS_PROXY`` integration: single-value maps
keep the last value of a repeated header or query parameter, the ``multiValue`` maps keep them
all, and every map that would be empty is ``null`` (not ``{}``), which handlers must cope with.
"""

from __future__ import annotations

import base64
import fnmatch
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from localcloud.apigateway.messages import HttpRequest
from localcloud.apigateway.model import DeployedStage, ResourceSpec

_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
    }
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RequestIds:
    """The identifiers API Gateway gives one request, echoed in the response headers."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # AWS's extended id is 16 characters of base64 ending in "=", also sent as x-amz-apigw-id.
    extended_request_id: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(11)).decode()
    )
    trace_id: str = field(default_factory=lambda: new_trace_id())
    epoch_millis: int = field(default_factory=lambda: int(time.time() * 1000))


def new_trace_id(now: float | None = None) -> str:
    """An X-Ray trace header value: ``Root=1-{epoch seconds hex}-{96 random bits hex}``."""
    seconds = int(now if now is not None else time.time())
    return f"Root=1-{seconds:08x}-{secrets.token_hex(12)}"


def trace_id_for(request: HttpRequest, now: float | None = None) -> str:
    """The client's trace header when it sent one (API Gateway continues that trace)."""
    incoming = request.header("X-Amzn-Trace-Id")
    if incoming and "Root=" in incoming:
        return incoming
    return new_trace_id(now)


def media_type_matches(content_type: str | None, patterns: Iterable[str]) -> bool:
    """Whether a media type is one of the API's ``binaryMediaTypes`` (``*`` wildcards allowed)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(media_type, pattern.strip().lower()) for pattern in patterns)


def request_time(epoch_millis: int) -> str:
    """``requestTime`` as AWS writes it: ``09/Apr/2015:12:34:56 +0000`` (English months)."""
    moment = datetime.fromtimestamp(epoch_millis / 1000, tz=UTC)
    month = _MONTHS[moment.month - 1]
    return f"{moment.day:02d}/{month}/{moment.year}:{moment:%H:%M:%S} +0000"


def _single_and_multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def event_headers(
    request: HttpRequest, trace_id: str, forwarded_port: str, forwarded_proto: str
) -> list[tuple[str, str]]:
    """The client's headers plus those API Gateway adds on the way to the integration.

    Hop-by-hop headers describe the client's connection to the gateway, not the request, so a
    proxy does not pass them on (RFC 9110, section 7.6.1); the gateway's own headers replace
    any the client sent.
    """
    headers = [(key, value) for key, value in request.headers if key.lower() not in _NOT_FORWARDED]
    # X-Forwarded-For keeps the client's own chain and appends the address API Gateway saw.
    forwarded_for = request.header("X-Forwarded-For")
    chain = f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    headers += [
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", chain),
        ("X-Forwarded-Port", forwarded_port),
        ("X-Forwarded-Proto", forwarded_proto),
    ]
    return headers


def build_proxy_event(
    request: HttpRequest,
    *,
    stage: DeployedStage,
    resource: ResourceSpec,
    path_parameters: Mapping[str, str],
    ids: RequestIds,
    forwarded_port: str = "443",
    forwarded_proto: str = "https",
    operation_name: str | None = None,
) -> dict[str, Any]:
    """The event an ``AWS_PROXY`` integration passes to the function."""
    headers, multi_headers = _single_and_multi(
        event_headers(request, ids.trace_id, forwarded_port, forwarded_proto)
    )
    query, multi_query = _single_and_multi(parse_qsl(request.query_string, keep_blank_values=True))
    body: str | None = None
    is_base64 = False
    if request.body:
        # Only a Content-Type listed in binaryMediaTypes makes the body binary; everything
        # else reaches the function as (UTF-8) text, as on AWS.
        if media_type_matches(request.header("Content-Type"), stage.binary_media_types):
            body = base64.b64encode(request.body).decode("ascii")
            is_base64 = True
        else:
            body = request.body.decode("utf-8", errors="replace")
    domain_name = f"{stage.api_id}.execute-api.{stage.region}.amazonaws.com"
    request_context: dict[str, Any] = {
        "accountId": stage.account_id,
        "apiId": stage.api_id,
        "domainName": domain_name,
        "domainPrefix": stage.api_id,
        "extendedRequestId": ids.extended_request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{stage.stage_name}{request.path}",
        "protocol": request.protocol,
        "requestId": ids.request_id,
        "requestTime": request_time(ids.epoch_millis),
        "requestTimeEpoch": ids.epoch_millis,
        "resourceId": resource.id,
        "resourcePath": resource.path,
        "stage": stage.stage_name,
    }
    if operation_name:
        request_context["operationName"] = operation_name
    return {
        "resource": resource.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": dict(stage.stage_variables) or None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }

"""The Lambda events of HTTP APIs: payload format versions 2.0 and 1.0.

API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs":

- 2.0: header names are lower case and repeated headers are joined with commas, as are
  repeated query parameters; ``Cookie`` headers become the ``cookies`` list; ``rawPath`` and
  ``requestContext.http.path`` keep the stage segment of a named stage (``/dev/items``);
  fields with nothing to say (``cookies``, ``queryStringParameters``, ``pathParameters``,
  ``stageVariables``, ``body``) are left out.
- 1.0: the REST proxy shape (``multiValue*`` maps, ``null`` for what is empty) plus
  ``version``; header names are lower case in both versions.
- The body is text only for ``text/*``, ``application/json``, ``application/xml`` and
  ``application/javascript``; anything else (no Content-Type included) is base64 with
  ``isBase64Encoded`` true. HTTP APIs have no binaryMediaTypes setting.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from localcloud.apigatewayv2.messages import HttpRequest
from localcloud.apigatewayv2.model import HttpApiSpec, RouteSpec, StageSpec
from localcloud.apigatewayv2.routing import DEFAULT, split_route_key

_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
# Connection-level headers are not part of the request the integration sees (RFC 9110 7.6.1).
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


def _new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class RequestIds:
    """The identifiers of one request; ``request_id`` is also the ``apigw-requestid`` header."""

    # HTTP APIs' request ids look like "JKJaXmPLvHcESHA=": base64 of 10 random bytes.
    request_id: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(10)).decode()
    )
    trace_id: str = field(default_factory=_new_trace_id)
    epoch_millis: int = field(default_factory=lambda: int(time.time() * 1000))
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


def trace_id_for(request: HttpRequest) -> str:
    """The client's X-Ray header when it sent one (API Gateway continues that trace)."""
    incoming = request.header("X-Amzn-Trace-Id")
    return incoming if incoming and "Root=" in incoming else _new_trace_id()


def request_time(epoch_millis: int) -> str:
    """``12/Mar/2020:19:03:58 +0000`` (English month names, whatever the locale)."""
    moment = datetime.fromtimestamp(epoch_millis / 1000, tz=UTC)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} +0000"


def is_text(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_TYPES


def encode_body(request: HttpRequest) -> tuple[str | None, bool]:
    """``(body, isBase64Encoded)`` of the request as the integration receives it."""
    if not request.body:
        return None, False
    if is_text(request.header("Content-Type")):
        return request.body.decode("utf-8", errors="replace"), False
    return base64.b64encode(request.body).decode("ascii"), True


@dataclass(frozen=True)
class EventContext:
    """Everything about the request the events are built from."""

    request: HttpRequest
    api: HttpApiSpec
    stage: StageSpec
    route: RouteSpec
    # Still-encoded path after the stage segment, and the path the client sent after the API
    # id (stage segment included for a named stage): what rawPath holds.
    stage_path: str
    raw_path: str
    path_parameters: dict[str, str]
    ids: RequestIds
    forwarded_port: str = "443"
    forwarded_proto: str = "https"

    @property
    def domain_name(self) -> str:
        return f"{self.api.api_id}.execute-api.{self.api.region}.amazonaws.com"

    def forwarded_headers(self) -> list[tuple[str, str]]:
        """The client's headers, then those API Gateway adds on the way to the integration."""
        request = self.request
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_FORWARDED]
        chain = request.header("X-Forwarded-For")
        headers += [
            ("X-Amzn-Trace-Id", self.ids.trace_id),
            ("X-Forwarded-For", f"{chain}, {request.source_ip}" if chain else request.source_ip),
            ("X-Forwarded-Port", self.forwarded_port),
            ("X-Forwarded-Proto", self.forwarded_proto),
        ]
        return headers

    def route_arn(self) -> str:
        """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}``."""
        return (
            f"arn:aws:execute-api:{self.api.region}:{self.api.account_id}:"
            f"{self.api.api_id}/{self.stage.name}/{self.request.method}{unquote(self.stage_path)}"
        )


def _joined(pairs: list[tuple[str, str]], lower: bool) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower() if lower else key
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def cookies_of(request: HttpRequest) -> list[str]:
    return [
        part.strip()
        for header in request.header_values("Cookie")
        for part in header.split(";")
        if part.strip()
    ]


def v2_request_context(context: EventContext) -> dict[str, Any]:
    request = context.request
    ids = context.ids
    return {
        "accountId": context.api.account_id,
        "apiId": context.api.api_id,
        "domainName": context.domain_name,
        "domainPrefix": context.api.api_id,
        "http": {
            "method": request.method,
            "path": unquote(context.raw_path),
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("User-Agent") or "",
        },
        "requestId": ids.request_id,
        "routeKey": context.route.route_key,
        "stage": context.stage.name,
        "time": request_time(ids.epoch_millis),
        "timeEpoch": ids.epoch_millis,
    }


def v2_common(context: EventContext) -> dict[str, Any]:
    """The request fields shared by the 2.0 integration event and the 2.0 authorizer event."""
    request = context.request
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route.route_key,
        "rawPath": context.raw_path,
        "rawQueryString": request.query_string,
    }
    cookies = cookies_of(request)
    if cookies:
        event["cookies"] = cookies
    headers = [(k, v) for k, v in context.forwarded_headers() if k.lower() != "cookie"]
    event["headers"] = _joined(headers, lower=True)
    query = _joined(parse_qsl(request.query_string, keep_blank_values=True), lower=False)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = v2_request_context(context)
    if context.path_parameters:
        event["pathParameters"] = dict(context.path_parameters)
    if context.stage.stage_variables:
        event["stageVariables"] = dict(context.stage.stage_variables)
    return event


def build_v2_event(context: EventContext, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    """The payload format 2.0 event of an ``AWS_PROXY`` integration."""
    event = v2_common(context)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    body, is_base64 = encode_body(context.request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def v1_common(context: EventContext) -> dict[str, Any]:
    """The request fields shared by the 1.0 integration event and the 1.0 authorizer event."""
    request = context.request
    ids = context.ids
    key = split_route_key(context.route.route_key)
    resource = DEFAULT if key is None else key[1]
    headers, multi_headers = _single_and_multi(
        [(name.lower(), value) for name, value in context.forwarded_headers()]
    )
    query, multi_query = _single_and_multi(parse_qsl(request.query_string, keep_blank_values=True))
    path = unquote(context.raw_path)
    return {
        "version": "1.0",
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": {
            "accountId": context.api.account_id,
            "apiId": context.api.api_id,
            "domainName": context.domain_name,
            "domainPrefix": context.api.api_id,
            "extendedRequestId": ids.request_id,
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
            "path": path,
            "protocol": request.protocol,
            "requestId": ids.request_id,
            "requestTime": request_time(ids.epoch_millis),
            "requestTimeEpoch": ids.epoch_millis,
            "resourceId": context.route.route_key,
            "resourcePath": resource,
            "stage": context.stage.name,
        },
        "pathParameters": dict(context.path_parameters) or None,
        "stageVariables": dict(context.stage.stage_variables) or None,
    }


def build_v1_event(context: EventContext, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    """The payload format 1.0 event of an ``AWS_PROXY`` integration."""
    event = v1_common(context)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    body, is_base64 = encode_body(context.request)
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event

"""A Lambda function's answer as the HTTP response of an HTTP API.

API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs", response
formats:

- 2.0: an object with ``statusCode`` is read as ``statusCode``, ``headers``, ``cookies`` (each
  one a ``Set-Cookie`` header), ``body`` and ``isBase64Encoded``. Any other valid JSON is the
  body of a 200 ``application/json`` response; a JSON string is that string.
- 1.0: only the REST proxy response (``statusCode``, ``headers``, ``multiValueHeaders``,
  ``body``, ``isBase64Encoded``) is accepted; "API Gateway doesn't make assumptions".
- Anything malformed is a 500 ``{"message":"Internal Server Error"}``. A base64 body is always
  decoded: HTTP APIs have no binaryMediaTypes.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from localcloud.apigatewayv2.messages import HttpResponse

# Recomputed from the body sent, or describing the gateway's own connection.
_DROPPED = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})
# What a 2.0 answer with a statusCode but no Content-Type is sent as.
DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8"


class MalformedResponse(Exception):
    """The function's answer cannot be turned into a response (AWS: 500)."""


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"{where} must be a string, got {type(value).__name__}")


def _status(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedResponse("statusCode must be an integer")
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.strip().isdigit():
        status = int(value)
    else:
        raise MalformedResponse(f"statusCode must be an integer, got {value!r}")
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status} is not an HTTP status")
    return status


def _body(document: dict[str, Any]) -> bytes:
    body = document.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    is_base64 = document.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise MalformedResponse("isBase64Encoded must be a boolean")
    if not is_base64:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedResponse(f"body is not valid base64: {error}") from error


def _headers(value: Any, where: str = "headers") -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedResponse(f"{where} must be an object")
    return [
        (str(name), _scalar(item, f"{where}[{name!r}]"))
        for name, item in value.items()
        if str(name).lower() not in _DROPPED
    ]


def _parse(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedResponse(f"not JSON: {error}") from error


def map_v2_response(payload: bytes) -> HttpResponse:
    """The client response for a payload format 2.0 answer, or :class:`MalformedResponse`."""
    document = _parse(payload)
    if not isinstance(document, dict) or "statusCode" not in document:
        text = document if isinstance(document, str) else payload.decode("utf-8")
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode("utf-8"))
    status = _status(document["statusCode"])
    headers = _headers(document.get("headers"))
    cookies = document.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list):
            raise MalformedResponse("cookies must be a list of strings")
        headers += [("Set-Cookie", _scalar(cookie, "cookies[]")) for cookie in cookies]
    body = _body(document)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", DEFAULT_CONTENT_TYPE))
    return HttpResponse(status, headers, body)


def map_v1_response(payload: bytes) -> HttpResponse:
    """The client response for a payload format 1.0 answer, or :class:`MalformedResponse`."""
    document = _parse(payload)
    if not isinstance(document, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(document).__name__}")
    if "statusCode" not in document:
        raise MalformedResponse("statusCode is missing")
    status = _status(document["statusCode"])
    multi = document.get("multiValueHeaders")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedResponse("multiValueHeaders must be an object")
    headers: list[tuple[str, str]] = []
    multi_names: set[str] = set()
    for name, values in (multi or {}).items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] must be a list")
        if str(name).lower() in _DROPPED:
            continue
        multi_names.add(str(name).lower())
        headers += [(str(name), _scalar(v, f"multiValueHeaders[{name!r}]")) for v in values]
    headers += [
        (k, v) for k, v in _headers(document.get("headers")) if k.lower() not in multi_names
    ]
    body = _body(document)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, body)

"""Turning a Lambda proxy response into the HTTP response API Gateway sends back.

A REST API accepts only a JSON object with ``statusCode`` and, optionally, ``headers``,
``multiValueHeaders``, ``body`` (a string) and ``isBase64Encoded``; anything else is a
"Malformed Lambda proxy response" that the client sees as 502. A base64 body is decoded only
when the client's first ``Accept`` type is one of the API's binaryMediaTypes; otherwise the
client gets the base64 text, exactly the surprise it would get on AWS.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from localcloud.apigateway.messages import HttpResponse
from localcloud.apigateway.proxy_event import media_type_matches

_ALLOWED_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
# API Gateway does not let an integration set these on the client response: it renames them
# to x-amzn-Remapped-<name> (hop-by-hop headers could not be sent through WSGI anyway).
_REMAPPED = frozenset(
    {
        "authorization",
        "connection",
        "content-md5",
        "date",
        "max-forwards",
        "proxy-authenticate",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "www-authenticate",
    }
)
# Recomputed from the body actually sent.
_DROPPED = frozenset({"content-length"})


class MalformedProxyResponse(Exception):
    """The function's answer is not a valid proxy response (AWS: 502)."""


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponse(f"{where} must be a string, got {type(value).__name__}")


def _status_code(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedProxyResponse("statusCode must be an integer")
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.strip().isdigit():
        status = int(value)
    else:
        raise MalformedProxyResponse(f"statusCode must be an integer, got {value!r}")
    if not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status} is not an HTTP status")
    return status


def merged_headers(headers: Any, multi_value_headers: Any) -> list[tuple[str, str]]:
    """``headers`` and ``multiValueHeaders`` as one list.

    AWS merges the two; for a name present in both, only the ``multiValueHeaders`` values
    are kept.
    """
    if headers is not None and not isinstance(headers, dict):
        raise MalformedProxyResponse("headers must be an object")
    if multi_value_headers is not None and not isinstance(multi_value_headers, dict):
        raise MalformedProxyResponse("multiValueHeaders must be an object")
    merged: list[tuple[str, str]] = []
    multi_names = set()
    for name, values in (multi_value_headers or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        multi_names.add(name.lower())
        merged += [(name, _scalar(v, f"multiValueHeaders[{name!r}]")) for v in values]
    for name, value in (headers or {}).items():
        if name.lower() not in multi_names:
            merged.append((name, _scalar(value, f"headers[{name!r}]")))
    return merged


def _client_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _DROPPED:
            continue
        if lowered in _REMAPPED:
            name = f"x-amzn-Remapped-{name}"
        out.append((name, value))
    return out


def map_proxy_response(
    payload: bytes, *, binary_media_types: Iterable[str], accept: str | None
) -> HttpResponse:
    """The client response for a function's proxy response, or :class:`MalformedProxyResponse`."""
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedProxyResponse(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedProxyResponse(f"expected a JSON object, got {type(document).__name__}")
    unknown = sorted(set(document) - _ALLOWED_KEYS)
    if unknown:
        raise MalformedProxyResponse(f"unexpected fields {unknown}")
    if "statusCode" not in document:
        raise MalformedProxyResponse("statusCode is missing")
    status = _status_code(document["statusCode"])
    headers = _client_headers(
        merged_headers(document.get("headers"), document.get("multiValueHeaders"))
    )
    body = document.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    is_base64 = document.get("isBase64Encoded")
    if is_base64 is not None and not isinstance(is_base64, bool):
        raise MalformedProxyResponse("isBase64Encoded must be a boolean")
    data = (body or "").encode("utf-8")
    if is_base64 and body and _wants_binary(accept, binary_media_types):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedProxyResponse(f"body is not valid base64: {error}") from error
    if not any(name.lower() == "content-type" for name, _ in headers):
        # "API Gateway returns the default Content-Type:application/json header if the
        # content type of a payload is unspecified" (proxy integrations).
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status=status, headers=headers, body=data)


def _wants_binary(accept: str | None, binary_media_types: Iterable[str]) -> bool:
    # "API Gateway uses the first Accept header from clients to determine if a response
    # should return binary media."
    first = (accept or "").split(",", 1)[0]
    return media_type_matches(first, binary_media_types)

"""``HTTP_PROXY`` integrations of HTTP APIs: the request passed on to a URL, the answer back.

The integration URI may hold the route's path variables (``https://backend/{proxy}``); the
client's method (unless the integration names one other than ``ANY``), query string, headers
and body go to it, and its status, headers and body come back unchanged. Hop-by-hop headers
(RFC 9110 section 7.6.1) are not forwarded either way. No answer within the timeout: 504
``{"message":"Gateway Timeout"}``; no connection at all: 500 ``{"message":"Internal Server
Error"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

import requests

from localcloud.apigatewayv2.messages import HttpRequest, HttpResponse, error_response
from localcloud.apigatewayv2.model import IntegrationSpec

log = logging.getLogger("localcloud.apigatewayv2")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def target_url(uri: str, path_parameters: Mapping[str, str], query_string: str) -> str:
    url = uri
    for name, value in path_parameters.items():
        # A greedy variable keeps its slashes; any other value is one segment.
        url = url.replace(f"{{{name}+}}", quote(value, safe="/"))
        url = url.replace(f"{{{name}}}", quote(value, safe="/" if "/" in value else ""))
    if query_string:
        url += ("&" if "?" in url else "?") + query_string
    return url


def call_http_proxy(
    integration: IntegrationSpec,
    request: HttpRequest,
    path_parameters: Mapping[str, str],
    forwarded: list[tuple[str, str]],
    timeout: float,
) -> HttpResponse:
    url = target_url(integration.uri or "", path_parameters, request.query_string)
    method = request.method
    if integration.method and integration.method.upper() != "ANY":
        method = integration.method.upper()
    headers = {name: value for name, value in forwarded if name.lower() not in HOP_BY_HOP}
    try:
        answer = requests.request(
            method,
            url,
            headers=headers,
            data=request.body or None,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        log.warning("HTTP integration timed out after %.3f s: %s %s", timeout, method, url)
        return error_response(504, "Gateway Timeout")
    except requests.RequestException as error:
        log.warning("HTTP integration failed: %s %s: %s", method, url, error)
        return error_response(500, "Internal Server Error")
    response_headers = [
        (name, value)
        for name, value in answer.raw.headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding"
    ]
    return HttpResponse(answer.status_code, response_headers, answer.content)

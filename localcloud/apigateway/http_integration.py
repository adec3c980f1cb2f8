"""HTTP and HTTP_PROXY integrations: API Gateway calling any HTTP endpoint.

"Set up HTTP integrations in API Gateway": an ``HTTP_PROXY`` integration passes the client's
method, query string, headers and body to the URI (its ``{name}`` variables, ``{proxy}`` of a
greedy resource included, taken from ``integration.request.path.{name}``) and returns the
endpoint's status, headers and body unchanged. A non-proxy ``HTTP`` integration sends the
integration's ``httpMethod`` with the body the request template made (:mod:`.mapping`), only
the headers and query parameters ``requestParameters`` name, and maps the answer through the
integration responses.

Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded either way; ``Host`` names the
target. An endpoint slower than the timeout (29 s, or the method's ``timeoutInMillis``) is a
504 "Endpoint request timed out"; an endpoint that cannot be reached (connection refused,
unknown host) is a 502 "Internal server error".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from localcloud.apigateway import gateway_responses
from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.integration_uri import substitute_stage_variables
from localcloud.apigateway.mapping import (
    MethodRequest,
    integration_body,
    integration_parameters,
    integration_response,
    substitute_uri,
)
from localcloud.apigateway.messages import HttpResponse
from localcloud.apigateway.model import IntegrationSpec

log = logging.getLogger("localcloud.apigateway")

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


def timeout_error() -> GatewayError:
    return GatewayError(gateway_responses.INTEGRATION_TIMEOUT, 504, "Endpoint request timed out")


def unreachable_error() -> GatewayError:
    return GatewayError(
        gateway_responses.DEFAULT_5XX, 502, "Internal server error", "InternalServerErrorException"
    )


def _target_url(uri: str, query: list[tuple[str, str]]) -> str:
    parts = urlsplit(uri)
    merged = parse_qsl(parts.query, keep_blank_values=True) + query
    return urlunsplit(parts._replace(query=urlencode(merged)))


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> requests.Response | GatewayError:
    """One request to the endpoint, or the gateway error its failure is."""
    try:
        return requests.request(
            method,
            url,
            headers=headers,
            data=body or None,
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.Timeout:
        log.warning("Execution failed due to a timeout error (%.3f s): %s %s", timeout, method, url)
        return timeout_error()
    except requests.RequestException as error:
        log.warning("Execution failed due to a network error: %s %s: %s", method, url, error)
        return unreachable_error()


# Calls ``(method, url, headers, body, timeout)`` on an API of the local cloud in-process;
# None when the URL names no such API (then the call goes out over the network).
LocalDispatch = Callable[
    [str, str, dict[str, str], bytes, float], HttpResponse | GatewayError | None
]


def call_http(
    integration: IntegrationSpec,
    method_request: MethodRequest,
    timeout: float,
    trace_id: str,
    local: LocalDispatch | None = None,
) -> HttpResponse | GatewayError:
    """The answer of an ``HTTP`` or ``HTTP_PROXY`` integration."""
    request = method_request.request
    proxy = integration.type == "HTTP_PROXY"
    parameters = integration_parameters(integration, method_request)
    uri = substitute_uri(
        substitute_stage_variables(integration.uri or "", method_request.stage_variables),
        parameters.path,
        method_request.path_parameters,
    )
    headers: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    if proxy:
        for name, value in request.headers:
            if name.lower() not in HOP_BY_HOP:
                headers[name] = value
        query = parse_qsl(request.query_string, keep_blank_values=True)
        body = request.body
        http_method = request.method
        if (integration.http_method or "ANY").upper() != "ANY":
            http_method = (integration.http_method or http_method).upper()
    else:
        body = integration_body(integration, method_request)
        http_method = (integration.http_method or request.method).upper()
        if request.header("Content-Type"):
            headers["Content-Type"] = request.header("Content-Type") or ""
    headers.update(parameters.headers)
    query = [(k, v) for k, v in query if k not in parameters.querystring]
    query += list(parameters.querystring.items())
    headers["X-Amzn-Trace-Id"] = trace_id
    url = _target_url(uri, query)
    answered = local(http_method, url, headers, body, timeout) if local is not None else None
    if answered is None:
        answered = over_the_network(http_method, url, headers, body, timeout)
    if isinstance(answered, GatewayError):
        return answered
    answer_headers = [(k, v) for k, v in answered.headers if k.lower() not in HOP_BY_HOP]
    if proxy:
        return HttpResponse(status=answered.status, headers=answer_headers, body=answered.body)
    return integration_response(
        integration.responses,
        answered.status,
        dict(answer_headers),
        answered.body,
        method_request,
    )


def over_the_network(
    method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
) -> HttpResponse | GatewayError:
    """The endpoint's answer as an :class:`HttpResponse`, or the gateway error of a failure."""
    answer = send(method, url, headers, body, timeout)
    if isinstance(answer, GatewayError):
        return answer
    # requests decodes gzip transparently: answer.content is decoded, so the encoding header
    # no longer describes it.
    return HttpResponse(
        status=answer.status_code,
        headers=[
            (name, value)
            for name, value in answer.raw.headers.iteritems()
            if name.lower() != "content-encoding"
        ],
        body=answer.content,
    )

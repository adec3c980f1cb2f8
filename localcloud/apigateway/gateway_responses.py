"""Gateway responses: the errors API Gateway answers itself, as the API customised them.

An API customises them with PutGatewayResponse or, in a SAM template, ``GatewayResponses``
(``x-amazon-apigateway-gateway-responses`` in the OpenAPI document). The rules applied here
(API Gateway developer guide, "Gateway response types for API Gateway" and "Set up gateway
responses to customize error responses"):

- every error the gateway produces has a response type; a customisation of that type wins;
- otherwise a customised ``DEFAULT_4XX`` (for a 4xx) or ``DEFAULT_5XX`` (for a 5xx) applies,
  and its status code, when set, replaces the error's status;
- otherwise the built-in answer: ``{"message": ...}`` with the error's status;
- a customisation without a status code keeps the type's default status from the table
  (:data:`DEFAULT_STATUS`), so an ``INTEGRATION_FAILURE`` customised without one answers 504
  where the built-in answer is 500 (as reported on AWS re:Post for throttled functions);
- ``413 REQUEST_TOO_LARGE`` cannot be customised ("Amazon API Gateway important notes", REST
  APIs): the data plane answers it before looking the API up, so no customisation applies.

What the data plane produces, by type: a route without resource or method is
``MISSING_AUTHENTICATION_TOKEN`` (403); an integration slower than the timeout is
``INTEGRATION_TIMEOUT`` (504); Lambda refusing or throttling the invoke is
``INTEGRATION_FAILURE`` (500 built in); an integration that cannot be called as configured
(undefined stage variable in the URI, MOCK without a matching integration response) is
``API_CONFIGURATION_ERROR`` (500); a request its validator refuses is
``BAD_REQUEST_PARAMETERS`` or ``BAD_REQUEST_BODY`` (400, with
``$context.error.validationErrorString``). A function error or a malformed Lambda proxy
response (502 "Internal server error") has no type of its own in the table: only
``DEFAULT_5XX`` applies to it.
A stage that does not exist (403 "Forbidden") has no deployment, hence no gateway responses;
the 500s naming what the local cloud does not implement are not AWS errors and stay as they are.

Header values (``gatewayresponse.header.{name}``) may be static (``'...'``) or name
``method.request.header|querystring|path.{name}``, ``stageVariables.{name}`` or
``context.{name}`` among :func:`context_variables`; a value that cannot be resolved leaves the
header out. The ``application/json`` template is the body (default
``{"message":$context.error.messageString}``). Templates are not run through Velocity: only the
``$context`` references of :func:`context_variables` are replaced (``$context.x``,
``${context.x}``, ``$!context.x``); any other reference, ``$util``/``$input`` call or ``#``
directive is served as written, with a warning in the log.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from localcloud.apigateway.messages import HttpRequest, HttpResponse, gateway_error
from localcloud.apigateway.model import GatewayResponseSpec

log = logging.getLogger("localcloud.apigateway")

DEFAULT_4XX = "DEFAULT_4XX"
DEFAULT_5XX = "DEFAULT_5XX"
MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
INTEGRATION_TIMEOUT = "INTEGRATION_TIMEOUT"
INTEGRATION_FAILURE = "INTEGRATION_FAILURE"
API_CONFIGURATION_ERROR = "API_CONFIGURATION_ERROR"

# "Gateway response types for API Gateway": the default status of each type (the two
# DEFAULT_ types have none: they keep the status of the error they stand in for).
DEFAULT_STATUS: Mapping[str, int] = {
    "ACCESS_DENIED": 403,
    API_CONFIGURATION_ERROR: 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "EXPIRED_TOKEN": 403,
    INTEGRATION_FAILURE: 504,
    INTEGRATION_TIMEOUT: 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    MISSING_AUTHENTICATION_TOKEN: 403,
    "QUOTA_EXCEEDED": 429,
    REQUEST_TOO_LARGE: 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}
# Documented as not customisable for REST APIs.
NOT_CUSTOMIZABLE = frozenset({REQUEST_TOO_LARGE})

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_HEADER_PREFIX = "gatewayresponse.header."
# $context.a.b, ${context.a.b}, $!context.a.b, $!{context.a.b}
_CONTEXT_REFERENCE = re.compile(
    r"\$(!?)(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))"
)
_VTL_LEFTOVER = re.compile(r"#(?:set|if|elseif|else|end|foreach)\b|\$!?\{?(?:util|input)\.")


@dataclass(frozen=True)
class GatewayError:
    """An error the gateway answers itself: its response type and its built-in answer."""

    response_type: str
    status: int
    message: str
    error_type: str | None = None
    # Why request validation failed ($context.error.validationErrorString).
    validation_error: str = ""

    def default_response(self) -> HttpResponse:
        return gateway_error(self.status, self.message, self.error_type)


@dataclass(frozen=True)
class ErrorContext:
    """What the values of a gateway response may refer to."""

    request: HttpRequest
    request_id: str = ""
    extended_request_id: str = ""
    api_id: str = ""
    stage: str = ""
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    path_parameters: Mapping[str, str] = field(default_factory=dict)


def context_variables(error: GatewayError, context: ErrorContext) -> dict[str, str]:
    """The ``$context`` variables a gateway response can use here, by name."""
    return {
        "error.message": error.message,
        # The message as a JSON string literal, quotes included.
        "error.messageString": json.dumps(error.message),
        "error.responseType": error.response_type,
        "error.validationErrorString": error.validation_error,
        "requestId": context.request_id,
        "extendedRequestId": context.extended_request_id,
        "apiId": context.api_id,
        "stage": context.stage,
        "httpMethod": context.request.method,
    }


def select(
    error: GatewayError, configured: Mapping[str, GatewayResponseSpec]
) -> tuple[GatewayResponseSpec, int] | None:
    """The customisation that applies to ``error`` and the status to send, or None."""
    if error.response_type in NOT_CUSTOMIZABLE:
        return None
    specific = configured.get(error.response_type)
    if specific is not None:
        fallback = DEFAULT_STATUS.get(error.response_type, error.status)
        return specific, _status(specific, fallback)
    family = DEFAULT_4XX if error.status < 500 else DEFAULT_5XX
    default = configured.get(family)
    if default is None:
        return None
    return default, _status(default, error.status)


def _status(spec: GatewayResponseSpec, fallback: int) -> int:
    text = (spec.status_code or "").strip()
    if text.isdigit() and 100 <= int(text) <= 599:
        return int(text)
    if text:
        log.warning(
            "gateway response %s: statusCode %r is not an HTTP status, keeping %d",
            spec.response_type,
            spec.status_code,
            fallback,
        )
    return fallback


def render(
    error: GatewayError,
    configured: Mapping[str, GatewayResponseSpec],
    context: ErrorContext,
) -> HttpResponse:
    """The response the client gets for ``error`` on an API with ``configured`` responses."""
    selected = select(error, configured)
    if selected is None:
        return error.default_response()
    spec, status = selected
    variables = context_variables(error, context)
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if error.error_type:
        headers.append(("x-amzn-ErrorType", error.error_type))
    for key, expression in spec.response_parameters.items():
        if not key.startswith(_HEADER_PREFIX):
            log.warning("gateway response %s: %s is not a header, ignored", spec.response_type, key)
            continue
        name = key[len(_HEADER_PREFIX) :]
        value = _parameter_value(expression, variables, context)
        if value is None:
            log.warning(
                "gateway response %s: header %s = %s has no value here, left out",
                spec.response_type,
                name,
                expression,
            )
            continue
        headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
        headers.append((name, value))
    template = _json_template(spec.response_templates)
    body = _render_template(template, variables, spec.response_type)
    return HttpResponse(status, headers, body.encode("utf-8"))


def _json_template(templates: Mapping[str, str]) -> str:
    for media_type, template in templates.items():
        if media_type.split(";", 1)[0].strip().lower() == "application/json":
            return template
    return DEFAULT_TEMPLATE


def _parameter_value(
    expression: str, variables: Mapping[str, str], context: ErrorContext
) -> str | None:
    expression = expression.strip()
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    source, _, name = expression.rpartition(".")
    if source == "method.request.header":
        return context.request.header(name)
    if source == "method.request.querystring":
        values = [v for k, v in parse_qsl(context.request.query_string, True) if k == name]
        return values[-1] if values else None
    if source == "method.request.path":
        return context.path_parameters.get(name)
    if source == "stageVariables":
        return context.stage_variables.get(name)
    if expression.startswith("context."):
        return variables.get(expression[len("context.") :])
    return None


def _render_template(template: str, variables: Mapping[str, str], response_type: str) -> str:
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(2) or match.group(3)
        trailing = ""
        while name.endswith("."):  # a sentence's full stop, not part of the name
            name, trailing = name[:-1], "." + trailing
        if name in variables:
            return variables[name] + trailing
        unknown.append(name)
        return match.group(0)

    body = _CONTEXT_REFERENCE.sub(replace, template)
    if unknown or _VTL_LEFTOVER.search(body):
        log.warning(
            "gateway response %s: the template is served as written beyond the $context "
            "variables the local cloud knows (not evaluated: %s)",
            response_type,
            ", ".join(f"$context.{name}" for name in unknown) or "VTL directives or functions",
        )
    return body

"""The integration request and response of non-proxy integrations (HTTP, AWS).

Rules ("Set up data transformations for REST APIs", "Integration passthrough behaviors",
"Integration request/response parameters" in the API Gateway developer guide):

- the request template is chosen by the request's Content-Type (``application/json`` when
  absent); without a template for it, ``passthroughBehavior`` decides: ``WHEN_NO_MATCH`` (the
  default) passes the body through, ``WHEN_NO_TEMPLATES`` passes it only when the integration
  has no template at all, ``NEVER`` refuses with 415 Unsupported Media Type;
- ``requestParameters`` set ``integration.request.header|querystring|path.{name}`` from
  ``method.request.header|querystring|path.{name}``, ``method.request.body``,
  ``stageVariables.{name}``, ``context.{name}`` or a static ``'value'``;
- the integration response is the one whose ``selectionPattern`` (a regex on the backend's
  status code, matching all of it) matches, else the one without pattern (the default); none
  is a configuration error (500). Its status code is the client's; its
  ``responseParameters`` set ``method.response.header.{name}`` from
  ``integration.response.header.{name}``, ``integration.response.body[.JSONPath]`` or a
  static value; its template (the one for the client's Accept type, else
  ``application/json``, else the first) renders the body, ``$input`` being the backend's
  answer; without template the backend's body passes through.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud.apigateway import vtl
from localcloud.apigateway.messages import HttpRequest, HttpResponse
from localcloud.apigateway.model import IntegrationResponseSpec, IntegrationSpec

log = logging.getLogger("localcloud.apigateway")


class UnsupportedMediaType(Exception):
    """No request template for the Content-Type and passthrough refused (AWS: 415)."""


class MappingConfigError(Exception):
    """The mapping cannot be applied as configured (AWS: 500 configuration error)."""


@dataclass(frozen=True)
class MethodRequest:
    """What mapping expressions may read of the client's request."""

    request: HttpRequest
    path_parameters: Mapping[str, str]
    context: Mapping[str, Any]
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, dict[str, str]]:
        headers: dict[str, str] = {}
        for name, value in self.request.headers:
            headers[name] = value
        return {
            "path": dict(self.path_parameters),
            "querystring": dict(parse_qsl(self.request.query_string, keep_blank_values=True)),
            "header": headers,
        }

    def body_text(self) -> str:
        return self.request.body.decode("utf-8", errors="replace")

    def render(self, template: str, body: str | None = None) -> str:
        return vtl.render(
            template,
            body=self.body_text() if body is None else body,
            params=self.params(),
            context=self.context,
            stage_variables=self.stage_variables,
        )


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";", 1)[0].strip().lower()


def request_template(integration: IntegrationSpec, content_type: str | None) -> str | None:
    """The template for the request, None for passthrough, or :class:`UnsupportedMediaType`."""
    wanted = media_type(content_type)
    for key, template in integration.request_templates.items():
        if key.strip().lower() == wanted:
            return template
    behavior = (integration.passthrough_behavior or "WHEN_NO_MATCH").upper()
    if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and integration.request_templates):
        raise UnsupportedMediaType(f"no mapping template for {wanted} ({behavior})")
    return None


def integration_body(integration: IntegrationSpec, method_request: MethodRequest) -> bytes:
    """The integration request's body: the rendered template or the client's body."""
    template = request_template(integration, method_request.request.header("Content-Type"))
    if template is None:
        return method_request.request.body
    return method_request.render(template).encode("utf-8")


def _static(expression: str) -> str | None:
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    return None


def request_value(expression: str, method_request: MethodRequest) -> str | None:
    """The value of a ``requestParameters`` source expression, None when absent."""
    expression = expression.strip()
    static = _static(expression)
    if static is not None:
        return static
    if expression == "method.request.body":
        return method_request.body_text()
    if expression.startswith("method.request.body."):
        document = vtl.Input(method_request.body_text(), {})
        value = document.path("$" + expression[len("method.request.body") :])
        return value if isinstance(value, str) else json.dumps(value)
    source, _, name = expression.rpartition(".")
    params = method_request.params()
    if source == "method.request.header":
        return method_request.request.header(name)
    if source == "method.request.querystring":
        return params["querystring"].get(name)
    if source in ("method.request.path", "method.request.multivaluequerystring"):
        return params["path" if source.endswith("path") else "querystring"].get(name)
    if source == "stageVariables":
        return method_request.stage_variables.get(name)
    if expression.startswith("context."):
        found: Any = method_request.context
        for part in expression.split(".")[1:]:
            found = found.get(part) if isinstance(found, dict) else None
        return None if found is None else str(found)
    raise MappingConfigError(f"unsupported request parameter source {expression!r}")


@dataclass
class IntegrationParameters:
    """``integration.request.*`` values: headers, query parameters and URI path variables."""

    headers: dict[str, str] = field(default_factory=dict)
    querystring: dict[str, str] = field(default_factory=dict)
    path: dict[str, str] = field(default_factory=dict)


def integration_parameters(
    integration: IntegrationSpec, method_request: MethodRequest
) -> IntegrationParameters:
    result = IntegrationParameters()
    targets = {
        "integration.request.header.": result.headers,
        "integration.request.querystring.": result.querystring,
        "integration.request.path.": result.path,
    }
    for key, expression in integration.request_parameters.items():
        for prefix, target in targets.items():
            if key.startswith(prefix):
                value = request_value(expression, method_request)
                if value is not None:
                    target[key[len(prefix) :]] = value
                break
        else:
            raise MappingConfigError(f"unsupported integration request parameter {key!r}")
    return result


_URI_VARIABLE = re.compile(r"\{([A-Za-z0-9_.-]+)\+?\}")


def substitute_uri(uri: str, variables: Mapping[str, str], fallback: Mapping[str, str]) -> str:
    """``{name}`` in the URI from ``integration.request.path.name``.

    Leniency of the local cloud: a variable without a request parameter takes the method's
    path parameter of the same name (what the console adds for ``{proxy}`` on AWS).
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        if name in fallback:
            return fallback[name]
        raise MappingConfigError(f"the integration URI variable {{{name}}} has no value")

    return _URI_VARIABLE.sub(replace, uri)


def select_response(
    responses: tuple[IntegrationResponseSpec, ...], status: int
) -> IntegrationResponseSpec:
    default = None
    for response in responses:
        if response.selection_pattern:
            if re.fullmatch(response.selection_pattern, str(status), re.DOTALL):
                return response
        elif default is None:
            default = response
    if default is None:
        raise MappingConfigError(
            f"No match for output mapping and no default output mapping specified (status {status})"
        )
    return default


def _response_template(templates: Mapping[str, str], accept: str | None) -> tuple[str, str] | None:
    if not templates:
        return None
    by_type = {key.strip().lower(): (key, value) for key, value in templates.items()}
    for candidate in (accept or "").split(","):
        wanted = candidate.split(";", 1)[0].strip().lower()
        if wanted in by_type:
            return by_type[wanted]
    if "application/json" in by_type:
        return by_type["application/json"]
    return next(iter(by_type.values()))


def integration_response(
    responses: tuple[IntegrationResponseSpec, ...],
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    method_request: MethodRequest,
) -> HttpResponse:
    """The method response of a backend answer, mapped by the integration responses."""
    selected = select_response(responses, status)
    body_text = body.decode("utf-8", errors="replace")
    lowered = {name.lower(): value for name, value in headers.items()}
    out_headers: list[tuple[str, str]] = []
    for key, expression in selected.response_parameters.items():
        prefix = "method.response.header."
        if not key.startswith(prefix):
            log.warning("integration response parameter %s is not a header, ignored", key)
            continue
        value = _response_value(expression.strip(), lowered, body_text)
        if value is not None:
            out_headers.append((key[len(prefix) :], value))
    chosen = _response_template(
        selected.response_templates, method_request.request.header("Accept")
    )
    if chosen is not None and chosen[1].strip():
        content_type, template = chosen
        out_body = method_request.render(template, body=body_text).encode("utf-8")
    else:
        content_type = lowered.get("content-type", "application/json")
        out_body = body
    if not any(name.lower() == "content-type" for name, _ in out_headers):
        out_headers.append(("Content-Type", content_type))
    return HttpResponse(status=int(selected.status_code), headers=out_headers, body=out_body)


def _response_value(expression: str, headers: Mapping[str, str], body: str) -> str | None:
    static = _static(expression)
    if static is not None:
        return static
    if expression.startswith("integration.response.header."):
        return headers.get(expression[len("integration.response.header.") :].lower())
    if expression == "integration.response.body":
        return body
    if expression.startswith("integration.response.body."):
        value = vtl.Input(body, {}).path("$" + expression[len("integration.response.body") :])
        return value if isinstance(value, str) else json.dumps(value)
    raise MappingConfigError(f"unsupported response parameter source {expression!r}")

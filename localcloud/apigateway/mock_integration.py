"""MOCK integrations with static templates: what SAM generates for CORS preflight (OPTIONS).

API Gateway reads ``statusCode`` from the request template, picks the integration response
whose selection pattern matches it (else the default one) and returns that response's static
header values (``'...'``) and body template. Mapping templates with VTL are not rendered here:
such a method answers 500 naming the limitation instead of returning something wrong.
"""

from __future__ import annotations

import json
import re

from localcloud.apigateway.messages import HttpResponse
from localcloud.apigateway.model import IntegrationResponseSpec, IntegrationSpec


class UnsupportedMock(Exception):
    """The MOCK integration needs something this data plane does not implement."""


class MockConfigError(Exception):
    """The MOCK integration has no integration response for its status (AWS: 500)."""


def _is_vtl(template: str) -> bool:
    return "$" in template or "#set" in template or "#if" in template or "#foreach" in template


def _template_for(templates: dict[str, str], content_type: str | None) -> str | None:
    media_type = (content_type or "application/json").split(";", 1)[0].strip().lower()
    for key, template in templates.items():
        if key.lower() == media_type:
            return template
    return templates.get("application/json")


def _status_from_request_template(template: str | None) -> int:
    if not template or not template.strip():
        return 200
    if _is_vtl(template):
        raise UnsupportedMock("VTL in MOCK request templates")
    try:
        document = json.loads(template)
    except ValueError as error:
        raise UnsupportedMock(
            f"MOCK request templates that are not static JSON ({error})"
        ) from error
    status = document.get("statusCode", 200) if isinstance(document, dict) else 200
    return int(status)


def _select(responses: tuple[IntegrationResponseSpec, ...], status: int) -> IntegrationResponseSpec:
    default = None
    for response in responses:
        if response.selection_pattern:
            if re.fullmatch(response.selection_pattern, str(status)):
                return response
        elif default is None:
            default = response
    if default is None:
        raise MockConfigError(f"no integration response for status {status} and no default")
    return default


def mock_response(integration: IntegrationSpec, content_type: str | None) -> HttpResponse:
    status = _status_from_request_template(
        _template_for(dict(integration.request_templates), content_type)
    )
    selected = _select(integration.responses, status)
    headers: list[tuple[str, str]] = []
    for key, value in selected.response_parameters.items():
        prefix = "method.response.header."
        if not key.startswith(prefix):
            continue
        if len(value) < 2 or not (value.startswith("'") and value.endswith("'")):
            raise UnsupportedMock(
                f"MOCK response parameter {key} = {value} (only static '...' values)"
            )
        headers.append((key[len(prefix) :], value[1:-1]))
    body = _template_for(dict(selected.response_templates), "application/json") or ""
    if _is_vtl(body):
        raise UnsupportedMock("VTL in MOCK response templates")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status=int(selected.status_code), headers=headers, body=body.encode())

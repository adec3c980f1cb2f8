"""Request validation: what a method's request validator checks before the integration.

The rules (API Gateway developer guide, "Request validation for REST APIs in API Gateway"):

- ``validateRequestParameters``: every request parameter the method marks required
  (``method.request.querystring|header|path.{name}``: true) is present and not blank. Only
  existence is checked, never type or format. A failure is ``BAD_REQUEST_PARAMETERS`` (400)
  ``Missing required request parameters: [a, b]``.
- ``validateRequestBody``: the body must match the method's request model for the request's
  content type (JSON Schema draft 4). Without a ``Content-Type`` the request is taken as
  ``application/json``; with no model for its content type the ``$default`` model applies, and
  with neither the body is not validated. A body that is not JSON, or does not match, is
  ``BAD_REQUEST_BODY`` (400) ``Invalid request body``; ``$context.error.validationErrorString``
  says why. An empty body is validated as the empty object ``{}``.
- Parameters are checked before the body, and a failure never reaches the integration.

Models may refer to each other (``$ref`` to ``https://apigateway.amazonaws.com/restapis/{id}/
models/{name}``, or ``#/definitions/{name}`` and ``#/components/schemas/{name}`` as an imported
OpenAPI document wrote them): every model of the API is made available under ``definitions``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import fastjsonschema

from localcloud.apigateway import gateway_responses
from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.messages import HttpRequest
from localcloud.apigateway.model import MethodSpec

log = logging.getLogger("localcloud.apigateway")

BAD_REQUEST_PARAMETERS = "BAD_REQUEST_PARAMETERS"
BAD_REQUEST_BODY = "BAD_REQUEST_BODY"
DEFAULT_CONTENT_TYPE = "application/json"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"
_PARAMETER = re.compile(r"^method\.request\.(querystring|header|path)\.(.+)$")
_MODEL_REF = re.compile(
    r"^(?:https?://apigateway\.amazonaws\.com/restapis/[^/]+/models/|#/definitions/"
    r"|#/components/schemas/)([^/]+)$"
)


def validate_request(
    request: HttpRequest,
    method: MethodSpec,
    path_parameters: Mapping[str, str],
    models: Mapping[str, str],
) -> GatewayError | None:
    """The 400 the method's request validator answers, or None when the request passes."""
    validator = method.request_validator
    if validator is None:
        return None
    if validator.validate_parameters:
        missing = missing_parameters(request, method.request_parameters, path_parameters)
        if missing:
            message = f"Missing required request parameters: [{', '.join(missing)}]"
            log.info("400 %s", message)
            return GatewayError(
                BAD_REQUEST_PARAMETERS,
                400,
                message,
                "BadRequestException",
                validation_error=message,
            )
    if validator.validate_body:
        return _validate_body(request, method, models)
    return None


def missing_parameters(
    request: HttpRequest,
    required: Mapping[str, bool],
    path_parameters: Mapping[str, str],
) -> list[str]:
    """The names of the required parameters that are absent or blank, in declaration order."""
    query: dict[str, str] = {}
    for key, text in parse_qsl(request.query_string, keep_blank_values=True):
        if text.strip() or key not in query:
            query[key] = text
    missing: list[str] = []
    for expression, is_required in required.items():
        found = _PARAMETER.match(expression)
        if not is_required or found is None:
            continue
        location, name = found.groups()
        if location == "querystring":
            value: str | None = query.get(name)
        elif location == "header":
            value = request.header(name)
        else:
            value = path_parameters.get(name)
        if value is None or not value.strip():
            missing.append(name)
    return missing


def _media_type(request: HttpRequest) -> str:
    content_type = request.header("Content-Type") or DEFAULT_CONTENT_TYPE
    return content_type.split(";", 1)[0].strip().lower() or DEFAULT_CONTENT_TYPE


def _model_for(method: MethodSpec, media_type: str) -> str | None:
    by_type = {key.strip().lower(): name for key, name in method.request_models.items()}
    return by_type.get(media_type) or by_type.get("$default")


def _invalid_body(reason: str) -> GatewayError:
    log.info("400 Invalid request body: %s", reason)
    return GatewayError(
        BAD_REQUEST_BODY,
        400,
        "Invalid request body",
        "BadRequestException",
        validation_error=reason,
    )


def _validate_body(
    request: HttpRequest, method: MethodSpec, models: Mapping[str, str]
) -> GatewayError | None:
    model_name = _model_for(method, _media_type(request))
    if model_name is None:
        return None
    if model_name not in models:
        log.error(
            "Execution failed due to configuration error: %s %s names the model %r, which the "
            "API does not have",
            method.http_method,
            _media_type(request),
            model_name,
        )
        return GatewayError(
            gateway_responses.API_CONFIGURATION_ERROR,
            500,
            "Internal server error",
            "InternalServerErrorException",
        )
    try:
        check = compiled_model(model_name, tuple(sorted(models.items())))
    except (ValueError, fastjsonschema.JsonSchemaDefinitionException) as error:
        log.error("Execution failed due to configuration error: model %s: %s", model_name, error)
        return GatewayError(
            gateway_responses.API_CONFIGURATION_ERROR,
            500,
            "Internal server error",
            "InternalServerErrorException",
        )
    text = request.body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text) if text else {}
    except ValueError as error:
        return _invalid_body(f"[the body is not JSON: {error}]")
    try:
        check(document)
    except fastjsonschema.JsonSchemaValueException as error:
        return _invalid_body(f"[{error.message}]")
    return None


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        result = {key: _rewrite_refs(value) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            found = _MODEL_REF.match(ref)
            if found:
                result["$ref"] = f"#/definitions/{found.group(1)}"
        return result
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


@lru_cache(maxsize=256)
def compiled_model(model_name: str, models: tuple[tuple[str, str], ...]) -> Callable[[Any], Any]:
    """A validator for ``model_name`` (draft 4 unless the model says otherwise), every model
    of the API reachable under ``#/definitions/``. Cached: models change only on a deploy."""
    schemas = {name: _rewrite_refs(json.loads(text)) for name, text in models}
    root = dict(schemas[model_name])
    definitions = {
        name: {key: value for key, value in schema.items() if key != "$schema"}
        for name, schema in schemas.items()
    }
    definitions.update(root.get("definitions") or {})
    root["definitions"] = definitions
    root.setdefault("$schema", DRAFT_4)
    return fastjsonschema.compile(root)

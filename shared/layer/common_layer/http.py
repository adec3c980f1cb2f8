"""Request parsing and API errors for API Gateway handlers (Powertools event handler).

::

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from common_layer.http import NotFound, install_error_handlers, parse_json_object

    app = APIGatewayRestResolver()
    install_error_handlers(app)

    ITEM = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}

    @app.post("/items")
    def create() -> dict:
        item = parse_json_object(app.current_event.decoded_body, ITEM)  # 400/413 on bad input
        ...

Every error becomes a JSON response ``{"message": "..."}`` with the error's status code.
Powertools' event handler is imported only inside ``install_error_handlers``: a function
that only parses bodies does not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Response

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ApiError",
    "Conflict",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "install_error_handlers",
    "parse_json_object",
]

# Far below API Gateway's 10 MB: a JSON API that accepts megabytes is usually a mistake.
DEFAULT_MAX_BYTES = 1024 * 1024


class ApiError(Exception):
    """An error the client should see: its message and status code become the response."""

    status_code: ClassVar[int] = 500

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class InvalidRequest(ApiError):
    """The request is malformed or fails validation (400)."""

    status_code = 400


class NotFound(ApiError):
    """The resource does not exist (404)."""

    status_code = 404


class MethodNotAllowed(ApiError):
    """The resource exists but not for this method (405); ``Allow`` lists the ones it has."""

    status_code = 405

    def __init__(self, method: str, allowed: Iterable[str], message: str | None = None) -> None:
        self.allowed = sorted({m.upper() for m in allowed})
        super().__init__(
            message or f"method {method.upper()} is not allowed; use {', '.join(self.allowed)}",
            headers={"Allow": ", ".join(self.allowed)},
        )


class Conflict(ApiError):
    """The request conflicts with the resource's current state (409)."""

    status_code = 409


class PayloadTooLarge(ApiError):
    """The body is larger than the endpoint accepts (413)."""

    status_code = 413


def parse_json_object(
    raw_body: str | bytes | None,
    schema: Mapping[str, Any] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Parse a request body that must be a JSON object, optionally checked by a JSON Schema.

    Raises ``PayloadTooLarge`` when the body exceeds ``max_bytes``, and ``InvalidRequest``
    with a message naming what is wrong: not JSON (with the position), not an object, or
    the ``SchemaViolation`` message of ``common_layer.validation.validate`` (a missing or
    unexpected field, a field of the wrong type or value). Pass the decoded body
    (``app.current_event.decoded_body``) when the API may send it base64-encoded.
    """
    data = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body or b""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"body is {len(data)} bytes; the limit is {max_bytes}")
    if not data.strip():
        raise InvalidRequest("body is empty; expected a JSON object")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"body is not valid UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except ValueError as error:
        raise InvalidRequest(f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequest("body is not valid JSON: it is nested too deeply") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"body must be a JSON object, not {_json_type(value)}")
    if schema is not None:
        try:
            validate(value, schema)
        except SchemaViolation as violation:
            raise InvalidRequest(violation.message) from None
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def install_error_handlers(app: ApiGatewayResolver) -> None:
    """Make every API error of ``app`` a JSON response ``{"message": ...}``.

    Registers handlers on a Powertools resolver for ``ApiError`` (and its subclasses),
    for Powertools' own ``ServiceError`` (``BadRequestError``...), and for requests that
    match no route: 405 with an ``Allow`` header when the path exists for other methods,
    else 404. Other exceptions are left alone, so they fail the invocation and count in
    the function's ``Errors`` metric.
    """
    from aws_lambda_powertools.event_handler import content_types
    from aws_lambda_powertools.event_handler.api_gateway import Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError

    def respond(
        status_code: int, message: Any, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(
            status_code=status_code,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps({"message": message}),
            headers=dict(headers or {}),
        )

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return respond(error.status_code, error.message, error.headers)

    @app.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return respond(error.status_code, error.msg)

    @app.not_found
    def _not_found(error: NotFoundError) -> Response:
        method = app.current_event.http_method.upper()
        path = app.current_event.path
        allowed = _allowed_methods(app, path)
        if method in allowed:  # a route matched and raised NotFoundError itself
            return respond(404, error.msg)
        if allowed:
            not_allowed = MethodNotAllowed(method, allowed)
            return respond(not_allowed.status_code, not_allowed.message, not_allowed.headers)
        return respond(404, f"no route for {method} {path}")


def _allowed_methods(app: ApiGatewayResolver, path: str) -> list[str]:
    """Methods that have a route matching ``path``.

    Powertools keeps routes in private lists; if a release renames them this returns
    nothing and the response stays a 404 (the layer's tests pin that behaviour).
    """
    routes = [*getattr(app, "_static_routes", []), *getattr(app, "_dynamic_routes", [])]
    remove_prefix = getattr(app, "_remove_prefix", None)
    stripped = remove_prefix(path) if callable(remove_prefix) else path
    return sorted({route.method for route in routes if route.rule.match(stripped)})

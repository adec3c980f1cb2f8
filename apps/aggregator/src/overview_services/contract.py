"""The contract of the internal services (profile, orders, loyalty) with their caller.

Each service is a Lambda function invoked synchronously (``RequestResponse``) with the
envelope the layer's ``LambdaServiceClient`` sends::

    {"action": "get_profile", "version": 1, "payload": {"customer_id": "c-42"},
     "correlation_id": "optional"}

and answers with a JSON object. A refusal makes the invocation fail with one of the
exception classes below; Lambda reports the class name as ``errorType``, which is what the
caller maps. The names are the contract:

- ``ValidationFailed``: the request breaks the contract; sending it again cannot succeed.
- ``NotFound``: the service holds nothing for the customer (only the profile service, whose
  answer decides whether the customer exists, raises it).
- ``Unavailable``: the service's store failed, or a fault drill said so; try again later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common_layer.validation import SchemaViolation, validate

__all__ = [
    "CLIENT_ERRORS",
    "CUSTOMER_ID_PATTERN",
    "Action",
    "NotFound",
    "Request",
    "ServiceError",
    "Unavailable",
    "ValidationFailed",
    "check",
    "dispatch",
    "parse_request",
]

# Shared with the API: an id the API accepts is one every service accepts.
CUSTOMER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

CUSTOMER_ID_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": CUSTOMER_ID_PATTERN,
    "errorMessage": {"pattern": "must be 1-64 letters, digits, '-' or '_', starting alphanumeric"},
}

ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Request envelope of an internal service call",
    "type": "object",
    "properties": {
        "action": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "version": {"type": "integer", "minimum": 1},
        "payload": {"type": "object"},
        "correlation_id": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^\\S+$"},
    },
    "required": ["action", "version", "payload"],
    "additionalProperties": False,
}


class ServiceError(Exception):
    """Base of the contract's error types (never raised itself)."""


class ValidationFailed(ServiceError):
    """The request does not meet the contract; the message says what to fix."""


class NotFound(ServiceError):
    """The service holds nothing for what the request names."""


class Unavailable(ServiceError):
    """The service could not answer now; the same request may succeed later."""


# Refusals caused by the request, counted apart from faults (ClientErrors metric).
CLIENT_ERRORS: tuple[type[ServiceError], ...] = (ValidationFailed, NotFound)


@dataclass(frozen=True, slots=True)
class Request:
    action: str
    version: int
    payload: Mapping[str, Any]
    correlation_id: str | None = None


Action = Callable[[Mapping[str, Any]], dict[str, Any]]


def check(value: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Validate ``value`` against ``schema``; ``ValidationFailed`` names the field."""
    try:
        validate(value, schema)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None


def parse_request(event: object) -> Request:
    """The envelope of an invocation; ``ValidationFailed`` when it is not one."""
    if not isinstance(event, Mapping):
        raise ValidationFailed(
            "the request must be a JSON object with 'action', 'version' and 'payload'"
        )
    check(event, ENVELOPE_SCHEMA)
    return Request(
        action=event["action"],
        version=event["version"],
        payload=event["payload"],
        correlation_id=event.get("correlation_id"),
    )


def dispatch(request: Request, actions: Mapping[tuple[str, int], Action]) -> dict[str, Any]:
    """Run the action the request names, at the version it names."""
    action = actions.get((request.action, request.version))
    if action is not None:
        return action(request.payload)
    versions = sorted(version for name, version in actions if name == request.action)
    if versions:
        raise ValidationFailed(
            f"version {request.version} of action '{request.action}' is not supported; "
            f"supported: {', '.join(str(v) for v in versions)}"
        )
    names = ", ".join(f"'{name}'" for name in sorted({name for name, _ in actions}))
    raise ValidationFailed(f"unknown action '{request.action}'; supported: {names}")

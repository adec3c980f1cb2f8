"""The pricing service's contract with its callers: the request envelope and the error types.

Callers invoke the function synchronously (``InvocationType=RequestResponse``) with::

    {"action": "quote", "version": 1, "payload": {...}, "correlation_id": "optional"}

and get back the action's JSON object. A request the service refuses makes the invocation
fail: the handler raises one of the exceptions below, and Lambda answers with
``FunctionError: Unhandled`` and ``{"errorType": "<class name>", "errorMessage": "..."}``.
The class names are the contract; renaming one breaks every caller that maps it.

- ``ValidationFailed``: the request breaks the contract (envelope, unknown action or version,
  payload); the message names the field. Sending it again cannot succeed.
- ``NotFound``: the request names something the catalogue does not hold.
- ``Unavailable``: a dependency of the service failed; the same request may succeed later.

Anything else a caller sees (``KeyError``, ``Runtime.ExitError``...) is a bug in the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common_layer.validation import SchemaViolation, validate

__all__ = [
    "CLIENT_ERRORS",
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

ENVELOPE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Request envelope of an internal API call",
    "type": "object",
    "properties": {
        "action": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "version": {"type": "integer", "minimum": 1},
        "payload": {"type": "object"},
        # Ties the caller's logs to the service's; printable and short, as log keys must be.
        "correlation_id": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^\\S+$"},
    },
    "required": ["action", "version", "payload"],
    "additionalProperties": False,
}


class ServiceError(Exception):
    """Base of the error types of the contract (never raised itself)."""


class ValidationFailed(ServiceError):
    """The request does not meet the contract; the message says what to fix."""


class NotFound(ServiceError):
    """The request names something the service does not have."""


class Unavailable(ServiceError):
    """A dependency failed; the caller may try the same request again later."""


# Errors caused by the caller's request, not by the service: counted apart from bugs.
CLIENT_ERRORS: tuple[type[ServiceError], ...] = (ValidationFailed, NotFound)


@dataclass(frozen=True, slots=True)
class Request:
    action: str
    version: int
    payload: Mapping[str, Any]
    correlation_id: str | None = None


Action = Callable[[Mapping[str, Any]], dict[str, Any]]


def check(value: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Validate ``value`` against ``schema``; ValidationFailed names the offending field.

    Payload fields are named relative to the payload (``items[0].quantity``), the way the
    caller built them.
    """
    try:
        validate(value, schema)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None


def parse_request(event: object) -> Request:
    """Read the envelope of an invocation; ValidationFailed when it is not one."""
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
        supported = ", ".join(str(version) for version in versions)
        raise ValidationFailed(
            f"version {request.version} of action '{request.action}' is not supported; "
            f"supported: {supported}"
        )
    names = ", ".join(f"'{name}'" for name in sorted({name for name, _ in actions}))
    raise ValidationFailed(f"unknown action '{request.action}'; supported: {names}")
